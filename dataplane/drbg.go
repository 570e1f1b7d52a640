package dataplane

import (
	"crypto/rand"

	"github.com/otkd/otkd/asm/zuc"
)

// drbg draws the negotiation arrays: a ZUC-128 keystream keyed from
// crypto/rand and re-keyed every 2^30 bytes. Not safe for concurrent use;
// each pipeline has its own. It does not allocate.
type drbg struct {
	z    zuc.State
	buf  [4096]byte
	pos  int
	used uint64
}

// newDRBG returns a generator keyed from crypto/rand, or (tests) from seed
// for its first 2^30 bytes.
func newDRBG(seed *[32]byte) (*drbg, error) {
	d := &drbg{pos: len((&drbg{}).buf)}
	if seed != nil {
		d.z.Init((*[16]byte)(seed[:16]), (*[16]byte)(seed[16:]))
		return d, nil
	}
	return d, d.rekey()
}

func (d *drbg) rekey() error {
	var kiv [32]byte
	if _, err := rand.Read(kiv[:]); err != nil {
		return err
	}
	d.z.Init((*[16]byte)(kiv[:16]), (*[16]byte)(kiv[16:]))
	clear(kiv[:])
	d.used = 0
	return nil
}

// read fills b with random bytes.
func (d *drbg) read(b []byte) {
	for len(b) > 0 {
		if d.pos == len(d.buf) {
			if d.used >= 1<<30 {
				if err := d.rekey(); err != nil {
					panic("dataplane: crypto/rand failed: " + err.Error())
				}
			}
			d.z.Keystream(d.buf[:])
			d.used += uint64(len(d.buf))
			d.pos = 0
		}
		n := copy(b, d.buf[d.pos:])
		clear(d.buf[d.pos : d.pos+n])
		d.pos += n
		b = b[n:]
	}
}

func (d *drbg) wipe() {
	clear(d.buf[:])
	d.z = zuc.State{}
}
