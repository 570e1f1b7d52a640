package aesctr

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// forEachEngine runs f on the kernel (when this CPU and build have it) and on the
// crypto/aes path.
func forEachEngine(t testing.TB, f func(t testing.TB)) {
	saved := useVAES
	defer func() { useVAES = saved }()
	if saved {
		useVAES = true
		f(t)
	}
	useVAES = false
	f(t)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestSP800_38A is example F.5.1, CTR-AES128.Encrypt: the keystream XORed with the
// four plaintext blocks gives the published ciphertext.
func TestSP800_38A(t *testing.T) {
	key := [16]byte(unhex("2b7e151628aed2a6abf7158809cf4f3c"))
	iv := [16]byte(unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))
	pt := unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	want := unhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff" +
		"5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee")
	forEachEngine(t, func(t testing.TB) {
		var s Stream
		s.Init(&key, &iv)
		ks := make([]byte, Chunk)
		s.Keystream(ks)
		for i := range pt {
			ks[i] ^= pt[i]
		}
		if !bytes.Equal(ks[:len(want)], want) {
			t.Fatalf("%s: ciphertext %x, want %x", Kernel(), ks[:len(want)], want)
		}
	})
}

// TestAgainstCryptoCipher compares both engines with crypto/cipher's CTR on random
// keys and counter blocks, over runs of calls of random lengths.
func TestAgainstCryptoCipher(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	for trial := range 200 {
		var key, iv [16]byte
		for i := range key {
			key[i], iv[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		iv[12], iv[13] = 0, 0 // keep the 32-bit counter far from wrapping
		if trial%5 == 0 {
			iv[12], iv[13], iv[14], iv[15] = 0xff, 0xff, 0xff, 0x00 // 256 blocks left
		}
		lens := []int{}
		total := 0
		for range 1 + rng.IntN(5) {
			n := Chunk * rng.IntN(33)
			if trial%5 == 0 {
				n = Chunk * rng.IntN(4)
			}
			lens = append(lens, n)
			total += n
		}
		want := make([]byte, total)
		b, _ := aes.NewCipher(key[:])
		cipher.NewCTR(b, iv[:]).XORKeyStream(want, want)
		forEachEngine(t, func(t testing.TB) {
			var s Stream
			s.Init(&key, &iv)
			got := make([]byte, 0, total)
			for _, n := range lens {
				buf := make([]byte, n+1)[1:] // unaligned
				s.Keystream(buf)
				got = append(got, buf...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("trial %d (%s): keystream differs from crypto/cipher", trial, Kernel())
			}
		})
	}
}

func TestWrapWipeAndMisuse(t *testing.T) {
	forEachEngine(t, func(t testing.TB) {
		key := [16]byte{1}
		iv := [16]byte{12: 0xff, 13: 0xff, 14: 0xff, 15: 0xf0} // 16 blocks left
		var s Stream
		s.Init(&key, &iv)
		if s.Remaining() != 256 {
			t.Fatalf("Remaining = %d, want 256", s.Remaining())
		}
		s.Keystream(make([]byte, Chunk))
		mustPanic(t, "wrap", func() { s.Keystream(make([]byte, Chunk)) })
		s.Init(&key, &iv)
		mustPanic(t, "odd length", func() { s.Keystream(make([]byte, 100)) })
		s.Wipe()
		if s.rk != [176]byte{} || s.ctr != [16]byte{} || s.stream != nil {
			t.Fatal("Wipe left key material")
		}
		mustPanic(t, "after Wipe", func() { s.Keystream(make([]byte, Chunk)) })
		var z Stream
		mustPanic(t, "zero value", func() { z.Keystream(make([]byte, Chunk)) })
	})
}

func mustPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s: no panic", what)
		}
	}()
	f()
}

func TestZeroAllocs(t *testing.T) {
	forEachEngine(t, func(t testing.TB) {
		var s Stream
		s.Init(&[16]byte{2}, &[16]byte{})
		buf := make([]byte, 32<<10)
		if n := testing.AllocsPerRun(50, func() { s.Keystream(buf) }); n != 0 {
			t.Fatalf("%s: %v allocations per Keystream", Kernel(), n)
		}
	})
}

// BenchmarkKeystream32K is the noise source's block (32 KiB, 8192 samples) on each
// engine; x-crypto-aes is crypto/cipher's time over the kernel's in the same run.
func BenchmarkKeystream32K(b *testing.B) {
	saved := useVAES
	defer func() { useVAES = saved }()
	buf := make([]byte, 32<<10)
	run := func(vaes bool) func() {
		useVAES = vaes
		var s Stream
		s.Init(&[16]byte{3}, &[16]byte{})
		return func() {
			if s.Remaining() < uint64(len(buf)) {
				s.Init(&[16]byte{3}, &[16]byte{})
			}
			s.Keystream(buf)
		}
	}
	for _, e := range []struct {
		name string
		vaes bool
	}{{"vaes", true}, {"crypto-aes", false}} {
		if e.vaes && !saved {
			continue
		}
		b.Run(e.name, func(b *testing.B) {
			f := run(e.vaes)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
		})
	}
}
