package framer

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// forEachXORImpl runs f with the assembly kernels (when the CPU has them)
// and with the pure-Go twins.
func forEachXORImpl(t *testing.T, f func(t *testing.T)) {
	saved := useAVX512
	t.Cleanup(func() { useAVX512 = saved })
	if saved {
		t.Run("avx512", func(t *testing.T) { useAVX512 = true; f(t) })
	}
	t.Run("generic", func(t *testing.T) { useAVX512 = false; f(t) })
	useAVX512 = saved
}

// refXorFold is the byte-at-a-time definition the kernels must match.
func refXorFold(dst, a, b []byte) byte {
	var acc byte
	for i := range dst {
		dst[i] = a[i] ^ b[i]
		acc ^= dst[i]
	}
	return acc
}

// TestXorFoldKernels compares xorFold and fold (kernel and twin) with the
// byte-at-a-time definition on random data: every length 0..700, frame
// sizes, every alignment 0..63 of each operand, out-of-place and in place,
// and checks that nothing outside dst[:n] is written.
func TestXorFoldKernels(t *testing.T) {
	forEachXORImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(6, 6))
		lengths := []int{}
		for n := range 701 {
			lengths = append(lengths, n)
		}
		lengths = append(lengths, 3810, 3824, 4080, EncLen, OTU2Len)
		const pad = 128
		for _, n := range lengths {
			offs := [][3]int{{0, 0, 0}, {1, 2, 3}, {63, 17, 5}}
			if n < 300 || n%97 == 0 {
				offs = append(offs, [3]int{rng.IntN(64), rng.IntN(64), rng.IntN(64)})
			}
			for _, o := range offs {
				a := make([]byte, n+2*pad)
				b := make([]byte, n+2*pad)
				d := make([]byte, n+2*pad)
				for _, s := range [][]byte{a, b, d} {
					for i := range s {
						s[i] = byte(rng.Uint32())
					}
				}
				as, bs := a[pad+o[0]:][:n], b[pad+o[1]:][:n]
				want := bytes.Clone(d)
				ws := want[pad+o[2]:][:n]
				wbip := refXorFold(ws, as, bs)
				if got := xorFold(d[pad+o[2]:][:n], as, bs); got != wbip || !bytes.Equal(d, want) {
					t.Fatalf("n=%d offs=%v: xorFold = %#x, want %#x (or bytes differ)", n, o, got, wbip)
				}
				if got := fold(ws); got != wbip {
					t.Fatalf("n=%d offs=%v: fold = %#x, want %#x", n, o, got, wbip)
				}
				// in place: dst is a
				ac := bytes.Clone(a)
				wantIn := bytes.Clone(a)
				refXorFold(wantIn[pad+o[0]:][:n], wantIn[pad+o[0]:][:n], bs)
				inp := ac[pad+o[0]:][:n]
				if got := xorFold(inp, inp, bs); got != wbip || !bytes.Equal(ac, wantIn) {
					t.Fatalf("n=%d offs=%v: in-place xorFold = %#x, want %#x (or bytes differ)", n, o, got, wbip)
				}
			}
		}
	})
}

// TestSealOpenKernelsAgree seals and opens the same frames with the
// kernels and with the twins and requires identical wire frames, plaintext
// and Stats.
func TestSealOpenKernelsAgree(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 kernel on this CPU or build")
	}
	run := func(asm bool, errs bool) (wires, plains [][]byte, stats []Stats) {
		saved := useAVX512
		useAVX512 = asm
		defer func() { useAVX512 = saved }()
		rng := rand.New(rand.NewPCG(9, 9))
		key := keys.Key{9, 8, 7}
		s, _ := NewSealer(1, Options{})
		o, _ := NewOpener(1, Options{})
		o.Install(3, &key)
		for i := range 6 {
			buf := make([]byte, FrameLen)
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			f, _ := View(buf)
			epoch := uint8(3)
			if i == 2 {
				epoch = keys.NullEpoch
			}
			if err := s.Seal(&f, &key, uint32(100+i), epoch); err != nil {
				t.Fatal(err)
			}
			wires = append(wires, bytes.Clone(buf))
			if errs && i%2 == 1 {
				buf[5000] ^= 0x33
				buf[9000] ^= 0x01
			}
			var st Stats
			if err := o.Open(&f, &st); err != nil && epoch != keys.NullEpoch {
				t.Fatal(err)
			}
			plains = append(plains, bytes.Clone(buf))
			stats = append(stats, st)
		}
		return
	}
	for _, errs := range []bool{false, true} {
		w1, p1, s1 := run(true, errs)
		w0, p0, s0 := run(false, errs)
		for i := range w1 {
			if !bytes.Equal(w1[i], w0[i]) || !bytes.Equal(p1[i], p0[i]) || s1[i] != s0[i] {
				t.Fatalf("errors=%v frame %d: kernel and twin disagree", errs, i)
			}
		}
	}
}
