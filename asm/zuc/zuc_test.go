package zuc

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gmzuc "github.com/emmansun/gmsm/zuc"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Keystream test sets of the ZUC specification (3GPP ETSI/SAGE document 3,
// §3.3): first two words for key/IV all-zero, all-ones and a random pair.
func TestKeystreamVectors(t *testing.T) {
	tests := []struct {
		name, key, iv string
		z1, z2        uint32
	}{
		{"zero", "00000000000000000000000000000000", "00000000000000000000000000000000", 0x27bede74, 0x018082da},
		{"ones", "ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff", 0x0657cfa0, 0x7096398b},
		{"random", "3d4c4be96a82fdaeb58f641db17b455b", "84319aa8de6915ca1f6bda6bfbd8c766", 0x14f1c272, 0x3279c419},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var z State
			z.Init((*[16]byte)(unhex(t, tc.key)), (*[16]byte)(unhex(t, tc.iv)))
			if w := z.Word(); w != tc.z1 {
				t.Errorf("z1 = %08x, want %08x", w, tc.z1)
			}
			if w := z.Word(); w != tc.z2 {
				t.Errorf("z2 = %08x, want %08x", w, tc.z2)
			}
		})
	}
}

// 128-EEA3 test sets 1 and 2 of the 3GPP specification (document 3 §5).
func TestEEA3Vectors(t *testing.T) {
	tests := []struct {
		key            string
		count          uint32
		bearer, dir    uint8
		plain, cipher_ string
	}{
		{"173d14ba5003731d7a60049470f00a29", 0x66035492, 0xf, 0,
			"6cf65340735552ab0c9752fa6f9025fe0bd675d9005875b2",
			"a6c85fc66afb8533aafc2518dfe784940ee1e4b030238cc8"},
		{"e5bd3ea0eb55ade866c6ac58bd54302a", 0x56823, 0x18, 1,
			"14a8ef693d678507bbe7270a7f67ff5006c3525b9807e467c4e56000ba338f5d429559036751822246c80d3b38f07f4be2d8ff5805f5132229bde93bbbdcaf382bf1ee972fbf9977bada8945847a2a6c9ad34a667554e04d1f7fa2c33241bd8f01ba220d",
			"131d43e0dea1be5c5a1bfd971d852cbf712d7b4f57961fea3208afa8bca433f456ad09c7417e58bc69cf8866d1353f74865e80781d202dfb3ecff7fcbc3b190fe82a204ed0e350fc0f6f2613b2f2bca6df5a473a57a4a00d985ebad880d6f23864a07b01"},
	}
	for i, tc := range tests {
		plain := unhex(t, tc.plain)
		ks := make([]byte, len(plain))
		EEA3Keystream(ks, (*[16]byte)(unhex(t, tc.key)), tc.count, tc.bearer, tc.dir)
		for j := range ks {
			ks[j] ^= plain[j]
		}
		if got := hex.EncodeToString(ks); got != tc.cipher_ {
			t.Errorf("set %d: ciphertext %s, want %s", i+1, got, tc.cipher_)
		}
	}
}

// TestAgainstGmsm compares this engine with gmsm's on random keys, COUNTs,
// bearers, directions and lengths (including lengths that end mid-word).
func TestAgainstGmsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		var key [16]byte
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		count := rng.Uint32()
		bearer := uint8(rng.IntN(32))
		dir := uint8(rng.IntN(2))
		length := rng.IntN(2100)
		if i < 8 {
			length = i // 0..7: empty and sub-word lengths
		}
		got := make([]byte, length)
		EEA3Keystream(got, &key, count, bearer, dir)
		c, err := gmzuc.NewEEACipher(key[:], count, uint32(bearer), uint32(dir))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, length)
		c.XORKeyStream(want, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d (count %#x bearer %d dir %d len %d): keystream differs from gmsm", i, count, bearer, dir, length)
		}
	}
}

func TestSegmentsLayout(t *testing.T) {
	var key [16]byte
	key[0] = 7
	ks := make([]byte, 16*986)
	Segments(ks, 16, 986, &key, 0xdeadbeef, 1)
	one := make([]byte, 986)
	for s := range 16 {
		EEA3Keystream(one, &key, 0xdeadbeef, uint8(s), 1)
		if !bytes.Equal(one, ks[s*986:(s+1)*986]) {
			t.Fatalf("segment %d is not the keystream of bearer %d", s, s)
		}
	}
}

func TestNoAlloc(t *testing.T) {
	var key [16]byte
	ks := make([]byte, 16*986)
	if a := testing.AllocsPerRun(20, func() { Segments(ks, 16, 986, &key, 1, 0) }); a != 0 {
		t.Fatalf("Segments allocates %v times", a)
	}
}

// gmsmSegments is the baseline: gmsm's EEA3, one cipher per segment, on
// the frame layout.
func gmsmSegments(b *testing.B, ks []byte, segLen int, key *[16]byte, count uint32, dir uint8) {
	clear(ks)
	for s := range 16 {
		c, err := gmzuc.NewEEACipher(key[:], count, uint32(s), uint32(dir))
		if err != nil {
			b.Fatal(err)
		}
		seg := ks[s*segLen : (s+1)*segLen]
		c.XORKeyStream(seg, seg)
	}
}

// BenchmarkSegments16x986 is the keystream of one frame's sixteen 986-byte
// segments: each assembly kernel (with, after the timed loop, the kernel
// and gmsm run alternately on the same COUNTs for the x-gmsm ratio), the
// pure-Go twin, and gmsm alone. xline is frames/s over the 82 025 frames/s
// of one OTU2 direction.
func BenchmarkSegments16x986(b *testing.B) {
	const segLen = 986
	var key [16]byte
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	ks := make([]byte, 16*segLen)
	ref := make([]byte, 16*segLen)
	xline := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/82025, "xline")
	}
	run := func(eng Kernel) func(b *testing.B) {
		return func(b *testing.B) {
			if !Available(eng) {
				b.Skipf("no %v kernel in this build or on this CPU", eng)
			}
			withEngine(b, eng, func() {
				b.SetBytes(int64(len(ks)))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					Segments(ks, 16, segLen, &key, uint32(i), 0)
				}
				xline(b)
				if eng == Generic {
					return
				}
				// Alternate the kernel and gmsm on the same frames; the
				// median of the per-frame time ratios resists the
				// scheduler's noise on a shared machine.
				rounds := min(b.N, 1000)
				tAsm := make([]time.Duration, rounds)
				tGm := make([]time.Duration, rounds)
				for i := range rounds {
					t0 := time.Now()
					Segments(ks, 16, segLen, &key, uint32(i), 0)
					t1 := time.Now()
					gmsmSegments(b, ref, segLen, &key, uint32(i), 0)
					tAsm[i], tGm[i] = t1.Sub(t0), time.Since(t1)
					if !bytes.Equal(ks, ref) {
						b.Fatalf("frame %d: kernel and gmsm differ", i)
					}
				}
				ratio := make([]float64, rounds)
				for i := range rounds {
					ratio[i] = float64(tGm[i]) / float64(tAsm[i])
				}
				slices.Sort(ratio)
				b.ReportMetric(ratio[rounds/2], "x-gmsm")
			})
		}
	}
	b.Run("avx512", run(AVX512))
	b.Run("avx2", run(AVX2))
	b.Run("avx2-aesni", run(AVX2AES))
	b.Run("generic", run(Generic))
	b.Run("gmsm", func(b *testing.B) {
		b.SetBytes(int64(len(ks)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			gmsmSegments(b, ks, segLen, &key, uint32(i), 0)
		}
		xline(b)
	})
}
