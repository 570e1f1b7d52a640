package zuc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	gmzuc "github.com/emmansun/gmsm/zuc"
)

// TestZUC256Vectors: the keystream test vectors of the ZUC-256 paper
// (2018, §4.2): twenty words for the all-zero key and IV and for the
// all-ones key and IV (IV17..IV24 = 0x3F, all bytes 0xFF in the packed
// form).
func TestZUC256Vectors(t *testing.T) {
	tests := []struct {
		name  string
		fill  byte
		words [20]uint32
	}{
		{"zero", 0x00, [20]uint32{
			0x58d03ad6, 0x2e032ce2, 0xdafc683a, 0x39bdcb03, 0x52a2bc67,
			0xf1b7de74, 0x163ce3a1, 0x01ef5558, 0x9639d75b, 0x95fa681b,
			0x7f090df7, 0x56391ccc, 0x903b7612, 0x744d544c, 0x17bc3fad,
			0x8b163b08, 0x21787c0b, 0x97775bb8, 0x4943c6bb, 0xe8ad8afd,
		}},
		{"ones", 0xff, [20]uint32{
			0x3356cbae, 0xd1a1c18b, 0x6baa4ffe, 0x343f777c, 0x9e15128f,
			0x251ab65b, 0x949f7b26, 0xef7157f2, 0x96dd2fa9, 0xdf95e3ee,
			0x7a5be02e, 0xc32ba585, 0x505af316, 0xc2f9ded2, 0x7cdbd935,
			0xe441ce11, 0x15fd0a80, 0xbb7aef67, 0x68989416, 0xb8fac8c2,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := [32]byte(bytes.Repeat([]byte{tc.fill}, 32))
			iv := [23]byte(bytes.Repeat([]byte{tc.fill}, 23))
			var z State
			z.Init256(&key, &iv)
			for i, want := range tc.words {
				if w := z.Word(); w != want {
					t.Fatalf("z%d = %08x, want %08x", i+1, w, want)
				}
			}
			// The same words through every 16-lane kernel, in every lane.
			for _, eng := range engines() {
				withEngine(t, eng, func() {
					var keys [16][32]byte
					var ivs [16][23]byte
					for l := range 16 {
						keys[l], ivs[l] = key, iv
					}
					got := lanes256(&keys, &ivs, 80)
					for l := range 16 {
						for i, want := range tc.words {
							if w := binary.BigEndian.Uint32(got[l][4*i:]); w != want {
								t.Fatalf("%v lane %d: z%d = %08x, want %08x", eng, l, i+1, w, want)
							}
						}
					}
				})
			}
		})
	}
}

// lanes256 is n keystream bytes of each lane after Lanes16.Init256.
func lanes256(keys *[16][32]byte, ivs *[16][23]byte, n int) [16][]byte {
	var dst [16][]byte
	for l := range dst {
		dst[l] = make([]byte, n)
	}
	var z Lanes16
	z.Init256(keys, ivs)
	z.Keystream(&dst)
	return dst
}

func randKeyIV256(rng *rand.Rand) (key [32]byte, iv [23]byte) {
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	for i := range iv {
		iv[i] = byte(rng.Uint32())
	}
	return key, iv
}

// TestZUC256AgainstGmsm compares State.Init256 with gmsm's ZUC-256 on
// random keys, IVs and lengths (including lengths that end mid-word).
func TestZUC256AgainstGmsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 6))
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		key, iv := randKeyIV256(rng)
		length := rng.IntN(700)
		if i < 8 {
			length = i
		}
		got := make([]byte, length)
		var z State
		z.Init256(&key, &iv)
		z.Keystream(got)
		c, err := gmzuc.NewCipher(key[:], iv[:])
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, length)
		c.XORKeyStream(want, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (key %x iv %x len %d): keystream differs from gmsm", i, key, iv, length)
		}
	}
}

// TestLanes16Init256 checks the 16-lane ZUC-256 initialisation on every
// kernel against State.Init256, on random keys and IVs per lane.
func TestLanes16Init256(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 16))
	for _, eng := range engines() {
		for _, n := range []int{1, 4, 63, 64, 65, 200, 1000} {
			t.Run(fmt.Sprintf("%v/%d", eng, n), func(t *testing.T) {
				withEngine(t, eng, func() {
					var keys [16][32]byte
					var ivs [16][23]byte
					for l := range 16 {
						keys[l], ivs[l] = randKeyIV256(rng)
					}
					got := lanes256(&keys, &ivs, n)
					for l := range 16 {
						var z State
						z.Init256(&keys[l], &ivs[l])
						want := make([]byte, n)
						z.Keystream(want)
						if !bytes.Equal(got[l], want) {
							t.Fatalf("lane %d: keystream differs from State.Init256", l)
						}
					}
				})
			})
		}
	}
}

func TestInit256NoAlloc(t *testing.T) {
	var key [32]byte
	var iv [23]byte
	var out [16]byte
	a := testing.AllocsPerRun(20, func() {
		var z State
		z.Init256(&key, &iv)
		z.Keystream(out[:])
	})
	if a != 0 {
		t.Fatalf("Init256 and Keystream allocate %v times", a)
	}
}

// BenchmarkInit256 is one ZUC-256 key derivation as ctrl's KDFs run it:
// initialisation and 16 keystream bytes, beside gmsm's NewCipher.
func BenchmarkInit256(b *testing.B) {
	var key [32]byte
	var iv [23]byte
	var out [16]byte
	b.Run("otkd", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			iv[0] = byte(i)
			var z State
			z.Init256(&key, &iv)
			z.Keystream(out[:])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	})
	b.Run("gmsm", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			iv[0] = byte(i)
			c, err := gmzuc.NewCipher(key[:], iv[:])
			if err != nil {
				b.Fatal(err)
			}
			c.XORKeyStream(out[:], out[:])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	})
}
