package zuc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// engines lists the kernels this build can run on this CPU: the pure-Go
// twin always, then the assembly kernels the CPU has.
func engines() []Kernel {
	var ks []Kernel
	for _, k := range []Kernel{Generic, AVX2, AVX512, AVX2AES} {
		if Available(k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// withEngine runs f with kernel k selected.
func withEngine(t testing.TB, k Kernel, f func()) {
	t.Helper()
	saved, ok := SetKernel(k)
	if !ok {
		t.Fatalf("kernel %v not available", k)
	}
	defer SetKernel(saved)
	f()
}

// gfniAffine is GF2P8AFFINEQB on one byte, after Intel's definition.
func gfniAffine(q uint64, x, c byte) byte {
	var r byte
	for i := range 8 {
		row := byte(q >> (8 * (7 - i)))
		p := row & x
		p ^= p >> 4
		p ^= p >> 2
		p ^= p >> 1
		r |= (p & 1) << i
	}
	return r ^ c
}

func aesInv(x byte) byte {
	r := byte(1)
	for e := 254; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = aesMul(r, x)
		}
		x = aesMul(x, x)
	}
	return r
}

// TestS1Matrices checks the derivation of gfni.go on a model of the
// instructions: affine-of-AES-inverse after the isomorphism is S1.
func TestS1Matrices(t *testing.T) {
	iso, mat := s1Matrices()
	for x := range 256 {
		y := gfniAffine(mat, aesInv(gfniAffine(iso, byte(x), 0)), 0x55)
		if y != s1[x] {
			t.Fatalf("S1(%#02x) = %#02x by the matrices, want %#02x", x, y, s1[x])
		}
	}
}

func randLanes(rng *rand.Rand) (keys, ivs [16][16]byte) {
	for l := range 16 {
		for i := range 16 {
			keys[l][i] = byte(rng.Uint32())
			ivs[l][i] = byte(rng.Uint32())
		}
	}
	return keys, ivs
}

// testLengths are the per-lane lengths tested: every length up to 160,
// then a sample up to 2100 with every residue modulo 4 and modulo 64.
func testLengths() []int {
	var ls []int
	for n := 0; n <= 160; n++ {
		ls = append(ls, n)
	}
	for _, n := range []int{191, 192, 193, 255, 256, 257, 511, 513, 986, 1023, 1024, 1025, 1501, 1986, 2047, 2048, 2099, 2100} {
		ls = append(ls, n)
	}
	if !testing.Short() {
		for n := 161; n <= 2100; n += 37 {
			ls = append(ls, n)
		}
	}
	return ls
}

// stateStream is lane l's keystream from the reference engine.
func stateStream(key, iv *[16]byte, n int) []byte {
	var z State
	z.Init(key, iv)
	out := make([]byte, n)
	z.Keystream(out)
	return out
}

func TestLanes16AgainstState(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 6))
	buf := make([]byte, 16*2104+1)
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			withEngine(t, eng, func() {
				for _, n := range testLengths() {
					keys, ivs := randLanes(rng)
					var dst [16][]byte
					for l := range dst {
						// Odd offsets: lanes neither aligned nor adjacent.
						off := l*(n+3) + 1
						dst[l] = buf[off : off+n : off+n]
					}
					for i := range buf {
						buf[i] = 0xA5
					}
					var z Lanes16
					z.Init(&keys, &ivs)
					z.Keystream(&dst)
					for l := range 16 {
						if want := stateStream(&keys[l], &ivs[l], n); !bytes.Equal(dst[l], want) {
							t.Fatalf("len %d lane %d: keystream differs from State", n, l)
						}
						// The byte after each lane is untouched.
						if end := l*(n+3) + 1 + n; buf[end] != 0xA5 {
							t.Fatalf("len %d lane %d: wrote past the end", n, l)
						}
					}
				}
			})
		})
	}
}

// TestLanes16Continuation: calls of whole blocks continue the stream; the
// last call may have any length.
func TestLanes16Continuation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, eng := range engines() {
		t.Run(eng.String(), func(t *testing.T) {
			withEngine(t, eng, func() {
				keys, ivs := randLanes(rng)
				var z Lanes16
				z.Init(&keys, &ivs)
				parts := []int{64, 128, 0, 64, 75}
				got := make([][]byte, 16)
				for _, p := range parts {
					var dst [16][]byte
					for l := range dst {
						dst[l] = make([]byte, p)
					}
					z.Keystream(&dst)
					for l := range dst {
						got[l] = append(got[l], dst[l]...)
					}
				}
				for l := range 16 {
					if want := stateStream(&keys[l], &ivs[l], len(got[l])); !bytes.Equal(got[l], want) {
						t.Fatalf("lane %d: continued keystream differs from State", l)
					}
				}
			})
		})
	}
}

// TestLanes16Vectors runs the 3GPP keystream test sets through every lane
// position, with the other lanes keyed differently.
func TestLanes16Vectors(t *testing.T) {
	sets := []struct{ key, iv, ks string }{
		{"00000000000000000000000000000000", "00000000000000000000000000000000", "27bede74018082da"},
		{"ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff", "0657cfa07096398b"},
		{"3d4c4be96a82fdaeb58f641db17b455b", "84319aa8de6915ca1f6bda6bfbd8c766", "14f1c2723279c419"},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, eng := range engines() {
		for si, set := range sets {
			for lane := range 16 {
				t.Run(fmt.Sprintf("%v/set%d/lane%d", eng, si+1, lane), func(t *testing.T) {
					withEngine(t, eng, func() {
						keys, ivs := randLanes(rng)
						keys[lane] = *(*[16]byte)(unhex(t, set.key))
						ivs[lane] = *(*[16]byte)(unhex(t, set.iv))
						var dst [16][]byte
						for l := range dst {
							dst[l] = make([]byte, 8)
						}
						var z Lanes16
						z.Init(&keys, &ivs)
						z.Keystream(&dst)
						if want := unhex(t, set.ks); !bytes.Equal(dst[lane], want) {
							t.Fatalf("keystream %x, want %x", dst[lane], want)
						}
					})
				})
			}
		}
	}
}

// TestSegments16 checks the frame case against sixteen EEA3Keystream
// calls, for both engines, through Segments16 and Segments.
func TestSegments16(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, eng := range engines() {
		for _, segLen := range []int{1, 3, 4, 63, 64, 65, 986, 1000, 2100} {
			t.Run(fmt.Sprintf("%v/%d", eng, segLen), func(t *testing.T) {
				withEngine(t, eng, func() {
					var key [16]byte
					for i := range key {
						key[i] = byte(rng.Uint32())
					}
					count, dir := rng.Uint32(), uint8(rng.IntN(2))
					ks := make([]byte, 16*segLen+1)
					ks[16*segLen] = 0x5A
					Segments16(ks[:16*segLen], segLen, &key, count, dir)
					ks2 := make([]byte, 16*segLen)
					Segments(ks2, 16, segLen, &key, count, dir)
					one := make([]byte, segLen)
					for s := range 16 {
						EEA3Keystream(one, &key, count, uint8(s), dir)
						if !bytes.Equal(one, ks[s*segLen:(s+1)*segLen]) {
							t.Fatalf("Segments16: segment %d differs from EEA3Keystream", s)
						}
						if !bytes.Equal(one, ks2[s*segLen:(s+1)*segLen]) {
							t.Fatalf("Segments: segment %d differs from EEA3Keystream", s)
						}
					}
					if ks[16*segLen] != 0x5A {
						t.Fatal("Segments16 wrote past the last segment")
					}
				})
			})
		}
	}
}

// TestLanes16Engines compares every kernel with the twin on the same
// random lanes, one long call.
func TestLanes16Engines(t *testing.T) {
	if len(engines()) == 1 {
		t.Skip("no assembly kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		keys, ivs := randLanes(rng)
		n := rng.IntN(4096)
		out := make([][16][]byte, len(engines()))
		for e, eng := range engines() {
			withEngine(t, eng, func() {
				for l := range out[e] {
					out[e][l] = make([]byte, n)
				}
				var z Lanes16
				z.Init(&keys, &ivs)
				z.Keystream(&out[e])
			})
		}
		for e := 1; e < len(out); e++ {
			for l := range 16 {
				if !bytes.Equal(out[0][l], out[e][l]) {
					t.Fatalf("len %d lane %d: %v and generic differ", n, l, engines()[e])
				}
			}
		}
	}
}

// TestLanes16PartialBlocks: a call whose length is not a multiple of 64
// discards the rest of its last block; the engines agree on where the next
// call starts, and it is the next 64-byte block of State's stream.
func TestLanes16PartialBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	keys, ivs := randLanes(rng)
	parts := []int{75, 1, 64, 130, 3}
	got := make([][16][]byte, len(engines()))
	for e, eng := range engines() {
		withEngine(t, eng, func() {
			var z Lanes16
			z.Init(&keys, &ivs)
			for _, p := range parts {
				var dst [16][]byte
				for l := range dst {
					dst[l] = make([]byte, p)
				}
				z.Keystream(&dst)
				for l := range dst {
					got[e][l] = append(got[e][l], dst[l]...)
				}
			}
		})
	}
	blocks := 0
	for _, p := range parts {
		blocks += (p + 63) / 64
	}
	for l := range 16 {
		full := stateStream(&keys[l], &ivs[l], 64*blocks)
		var want []byte
		off := 0
		for _, p := range parts {
			want = append(want, full[off:off+p]...)
			off += (p + 63) / 64 * 64
		}
		for e, eng := range engines() {
			if !bytes.Equal(got[e][l], want) {
				t.Fatalf("%s lane %d: partial blocks not skipped as documented", eng, l)
			}
		}
	}
}

func TestLanes16UnequalPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for lanes of different lengths")
		}
	}()
	var dst [16][]byte
	dst[3] = make([]byte, 4)
	var z Lanes16
	z.Keystream(&dst)
}

func TestSegments16NoAlloc(t *testing.T) {
	var key [16]byte
	ks := make([]byte, 16*986)
	for _, eng := range engines() {
		withEngine(t, eng, func() {
			if a := testing.AllocsPerRun(20, func() { Segments16(ks, 986, &key, 1, 0) }); a != 0 {
				t.Fatalf("%s: Segments16 allocates %v times", eng, a)
			}
		})
	}
}

func TestEngineReport(t *testing.T) {
	t.Logf("kernel selected: %v; available: %v", Selected(), engines())
}

// TestS0Nibbles checks the AVX2 kernel's decomposition of S0 into four
// nibble lookups (s0nibble.go).
func TestS0Nibbles(t *testing.T) {
	for x := range 256 {
		if y := s0ByNibbles(byte(x)); y != s0[x] {
			t.Fatalf("S0(%#02x) = %#02x by nibbles, want %#02x", x, y, s0[x])
		}
	}
}

// TestLanes16EEA3Vectors runs the 128-EEA3 test sets 1 and 2 (3GPP
// document 3 §5) through every kernel and lane position, the other lanes
// keyed at random, and set 1 (BEARER 15) through Segments16's sixteenth
// segment.
func TestLanes16EEA3Vectors(t *testing.T) {
	sets := []struct {
		key           string
		count         uint32
		bearer, dir   uint8
		plain, cipher string
	}{
		{"173d14ba5003731d7a60049470f00a29", 0x66035492, 0xf, 0,
			"6cf65340735552ab0c9752fa6f9025fe0bd675d9005875b2",
			"a6c85fc66afb8533aafc2518dfe784940ee1e4b030238cc8"},
		{"e5bd3ea0eb55ade866c6ac58bd54302a", 0x56823, 0x18, 1,
			"14a8ef693d678507bbe7270a7f67ff5006c3525b9807e467c4e56000ba338f5d429559036751822246c80d3b38f07f4be2d8ff5805f5132229bde93bbbdcaf382bf1ee972fbf9977bada8945847a2a6c9ad34a667554e04d1f7fa2c33241bd8f01ba220d",
			"131d43e0dea1be5c5a1bfd971d852cbf712d7b4f57961fea3208afa8bca433f456ad09c7417e58bc69cf8866d1353f74865e80781d202dfb3ecff7fcbc3b190fe82a204ed0e350fc0f6f2613b2f2bca6df5a473a57a4a00d985ebad880d6f23864a07b01"},
	}
	rng := rand.New(rand.NewPCG(33, 3))
	for _, eng := range engines() {
		for si, set := range sets {
			key := [16]byte(unhex(t, set.key))
			plain, cipher := unhex(t, set.plain), unhex(t, set.cipher)
			xor := func(ks []byte) []byte {
				out := make([]byte, len(ks))
				for i := range ks {
					out[i] = ks[i] ^ plain[i]
				}
				return out
			}
			t.Run(fmt.Sprintf("%v/set%d", eng, si+1), func(t *testing.T) {
				withEngine(t, eng, func() {
					for lane := range 16 {
						keys, ivs := randLanes(rng)
						keys[lane] = key
						ivs[lane] = EEA3IV(set.count, set.bearer, set.dir)
						var dst [16][]byte
						for l := range dst {
							dst[l] = make([]byte, len(plain))
						}
						var z Lanes16
						z.Init(&keys, &ivs)
						z.Keystream(&dst)
						if got := xor(dst[lane]); !bytes.Equal(got, cipher) {
							t.Fatalf("lane %d: ciphertext %x, want %x", lane, got, cipher)
						}
					}
					if set.bearer < 16 {
						n := len(plain)
						ks := make([]byte, 16*n)
						Segments16(ks, n, &key, set.count, set.dir)
						b := int(set.bearer)
						if got := xor(ks[b*n : (b+1)*n]); !bytes.Equal(got, cipher) {
							t.Fatalf("Segments16 segment %d: ciphertext %x, want %x", b, got, cipher)
						}
					}
				})
			})
		}
	}
}

// TestBestKernel: AVX-512 if the CPU has it, else AVX2 with GFNI, else AVX2
// with AES-NI, else pure Go; and
// SetKernel refuses what the CPU lacks.
func TestBestKernel(t *testing.T) {
	tests := []struct {
		has  [4]bool
		want Kernel
	}{
		{[4]bool{Generic: true, AVX2: true, AVX512: true, AVX2AES: true}, AVX512},
		{[4]bool{Generic: true, AVX512: true}, AVX512},
		{[4]bool{Generic: true, AVX2: true, AVX2AES: true}, AVX2},
		{[4]bool{Generic: true, AVX2: true}, AVX2},
		{[4]bool{Generic: true, AVX2AES: true}, AVX2AES},
		{[4]bool{Generic: true}, Generic},
	}
	for _, tc := range tests {
		if got := bestKernel(&tc.has); got != tc.want {
			t.Errorf("bestKernel(%v) = %v, want %v", tc.has, got, tc.want)
		}
	}
	if got := bestKernel(&hasKernel); got != Selected() {
		t.Errorf("selected %v, best for this CPU %v", Selected(), got)
	}
	prev := Selected()
	if _, ok := SetKernel(Kernel(7)); ok || Selected() != prev {
		t.Error("SetKernel accepted an unknown kernel")
	}
	for _, k := range []Kernel{AVX2, AVX512, AVX2AES} {
		if !Available(k) {
			if _, ok := SetKernel(k); ok || Selected() != prev {
				t.Errorf("SetKernel accepted %v, which this CPU or build lacks", k)
			}
		}
	}
}

// FuzzKernels: every kernel gives the pure-Go twin's frame keystream, for
// any key, COUNT, DIRECTION and segment length.
func FuzzKernels(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), uint32(0), uint8(0), uint16(986))
	f.Add(make([]byte, 16), uint32(0xffffffff), uint8(1), uint16(1))
	f.Add(bytes.Repeat([]byte{0xff}, 16), uint32(0x66035492), uint8(0), uint16(63))
	f.Fuzz(func(t *testing.T, key []byte, count uint32, dir uint8, segLen uint16) {
		if len(key) != 16 {
			return
		}
		n := int(segLen % 2200)
		ref := make([]byte, 16*n)
		withEngine(t, Generic, func() { Segments16(ref, n, (*[16]byte)(key), count, dir&1) })
		got := make([]byte, 16*n)
		for _, eng := range engines()[1:] {
			withEngine(t, eng, func() { Segments16(got, n, (*[16]byte)(key), count, dir&1) })
			if !bytes.Equal(got, ref) {
				t.Fatalf("%v: Segments16 differs from the pure-Go twin", eng)
			}
		}
	})
}

// edgeLanes returns a Lanes16 state whose first step drives the modular
// sums of the LFSR into their edge cases, one case per lane (cases repeat
// in both halves of eight): the field's zero in every cell, ones, a
// partial sum of exactly 2^31-1 (which a kernel may reduce to 0), a new
// cell that is the field's zero, and in initialisation mode the same two
// with W>>1 in the sum (R2 chosen to make W).
func edgeLanes(rng *rand.Rand) Lanes16 {
	cell := func() uint32 { return 1 + rng.Uint32N(mask31-1) } // [1, 2^31-2]
	var z Lanes16
	for ln := range 16 {
		var s [16]uint32
		for i := range s {
			s[i] = cell()
		}
		r1, r2 := rng.Uint32(), rng.Uint32()
		// a is (1+2^8)s0 + 2^20 s4 + 2^21 s10 + 2^17 s13 mod 2^31-1.
		a := func() uint32 {
			v := uint64(s[0]) + uint64(rotMod(s[0], 8)) + uint64(rotMod(s[4], 20)) +
				uint64(rotMod(s[10], 21)) + uint64(rotMod(s[13], 17))
			return uint32(v % mask31)
		}
		x0 := (s[15]&0x7FFF8000)<<1 | s[14]&0xFFFF
		switch ln % 8 {
		case 0:
			for i := range s {
				s[i] = mask31
			}
			r1, r2 = 0, 0
		case 1:
			for i := range s {
				s[i] = 1
			}
		case 2: // 2^20 s4 + 2^21 s10 = 2^31-1
			s[10] = rotMod(mask31-rotMod(s[4], 20), 31-21)
		case 3: // the partial sum up to s13 is 2^31-1
			s[13] = 1
			if r := a(); r != 0 {
				s[13] = rotMod(mask31-(r-rotMod(1, 17)+mask31)%mask31, 31-17)
			}
		case 4: // the new cell (working mode) is the field's zero
			if r := a(); r == 0 {
				s[15] = mask31
			} else {
				s[15] = rotMod(mask31-r, 31-15)
			}
		case 5: // initialisation: a + W>>1 = 2^31-1
			if r := a(); r != 0 {
				w := (mask31 - r) << 1
				r2 = w - (x0 ^ r1)
			}
		case 6: // initialisation: the new cell is the field's zero
			r := (uint64(a()) + uint64(rotMod(s[15], 15))) % mask31
			w := uint32((mask31 - r) % mask31)
			r2 = w<<1 - (x0 ^ r1)
		}
		for i := range s {
			z.s[i][ln] = s[i]
		}
		z.r1[ln], z.r2[ln] = r1, r2
	}
	return z
}

// TestLanes16EdgeSums runs every kernel from edgeLanes states, in working
// mode (Keystream) and from initialisation (init), and compares keystream
// and state with the pure-Go twin's.
func TestLanes16EdgeSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 1))
	for range 50 {
		base := edgeLanes(rng)
		checkEdges(t, &base)
		var want [2]Lanes16
		var wantKS [2][16][]byte
		for _, eng := range engines() {
			for mode := range 2 {
				z := base
				var dst [16][]byte
				for l := range dst {
					dst[l] = make([]byte, 130)
				}
				withEngine(t, eng, func() {
					if mode == 1 {
						z.init()
					}
					z.Keystream(&dst)
				})
				if eng == Generic {
					want[mode], wantKS[mode] = z, dst
					continue
				}
				if z != want[mode] {
					t.Fatalf("%v mode %d: state differs from the pure-Go twin's", eng, mode)
				}
				for l := range 16 {
					if !bytes.Equal(dst[l], wantKS[mode][l]) {
						t.Fatalf("%v mode %d lane %d: keystream differs from the pure-Go twin's", eng, mode, l)
					}
				}
			}
		}
	}
}

// checkEdges asserts that edgeLanes hit the cases it claims, on State.
func checkEdges(t *testing.T, z *Lanes16) {
	t.Helper()
	for ln := range 16 {
		var st State
		for i := range st.s {
			st.s[i] = z.s[i][ln]
		}
		st.r1, st.r2 = z.r1[ln], z.r2[ln]
		c := &st.s
		part := (uint64(c[0]) + uint64(rotMod(c[0], 8)) + uint64(rotMod(c[4], 20)) +
			uint64(rotMod(c[10], 21))) % mask31
		x0 := (c[15]&0x7FFF8000)<<1 | c[14]&0xFFFF
		w := (x0 ^ st.r1) + st.r2
		var ok bool
		switch ln % 8 {
		case 2:
			ok = uint64(rotMod(c[4], 20))+uint64(rotMod(c[10], 21)) == mask31
		case 3:
			ok = part+uint64(rotMod(c[13], 17)) == mask31
		case 4:
			st.step(false)
			ok = st.s[0] == mask31
		case 5:
			ok = (part+uint64(rotMod(c[13], 17)))%mask31+uint64(w>>1) == mask31
		case 6:
			st.step(true)
			ok = st.s[0] == mask31
		default:
			ok = true
		}
		if !ok {
			t.Fatalf("lane %d: edge case %d not reached", ln, ln%8)
		}
	}
}

// TestLanes16NoAlloc: Init, Init256 and Keystream (with a partial last
// block) allocate nothing on any kernel.
func TestLanes16NoAlloc(t *testing.T) {
	var keys, ivs [16][16]byte
	var keys256 [16][32]byte
	var ivs256 [16][23]byte
	var dst [16][]byte
	for l := range dst {
		dst[l] = make([]byte, 986)
	}
	z := new(Lanes16)
	for _, eng := range engines() {
		withEngine(t, eng, func() {
			a := testing.AllocsPerRun(20, func() {
				z.Init(&keys, &ivs)
				z.Keystream(&dst)
				z.Init256(&keys256, &ivs256)
				z.Keystream(&dst)
			})
			if a != 0 {
				t.Fatalf("%v: Lanes16 allocates %v times", eng, a)
			}
		})
	}
}

// TestS1AES checks the AES-NI route to S1 (s1aes.go): the AES S-box of
// the model against known entries, then S1 through it for every byte.
func TestS1AES(t *testing.T) {
	for y, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7c, 0x53: 0xed, 0xff: 0x16} {
		if got := aesSubBytes(y); got != want {
			t.Fatalf("SubBytes(%#02x) = %#02x, want %#02x", y, got, want)
		}
	}
	for x := range 256 {
		if y := s1ByAES(byte(x)); y != s1[x] {
			t.Fatalf("S1(%#02x) = %#02x through AES, want %#02x", x, y, s1[x])
		}
	}
}
