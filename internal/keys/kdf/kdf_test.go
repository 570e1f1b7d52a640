package kdf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	gmzuc "github.com/emmansun/gmsm/zuc"

	"github.com/otkd/otkd/internal/keys"
)

// counting fills b with base, base+1, …
func counting(b []byte, base byte) {
	for i := range b {
		b[i] = base + byte(i)
	}
}

func TestSessionKey(t *testing.T) {
	var s keys.Seed
	counting(s[:], 0)
	k0, err := SessionKey(&s, keys.AtoB, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := SessionKey(&s, keys.AtoB, 0); k0 != again {
		t.Fatal("KDF not deterministic")
	}
	seen := map[keys.Key]string{}
	for _, dir := range []keys.Direction{keys.AtoB, keys.BtoA} {
		for idx := range uint64(4) {
			k, err := SessionKey(&s, dir, idx)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("dir %d index %d", dir, idx)
			if prev, dup := seen[k]; dup {
				t.Fatalf("%s and %s give the same key", prev, name)
			}
			seen[k] = name
		}
	}
	if _, err := SessionKey(&s, 2, 0); err == nil {
		t.Error("direction 2 accepted")
	}
	// Regression vector: pins the documented IV layout and keystream use.
	const want = "7f5e3c1d58cb34a8b4029bf78db96035"
	if got := hex.EncodeToString(k0[:]); got != want {
		t.Errorf("SessionKey(0..31, A→B, 0) = %s, want %s", got, want)
	}
}

// gmsmKeystream is the first n bytes of gmsm's ZUC-256 keystream, the
// engine the KDF used before asm/zuc's.
func gmsmKeystream(t *testing.T, seed *keys.Seed, iv []byte, n int) []byte {
	t.Helper()
	c, err := gmzuc.NewCipher(seed[:], iv)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, n)
	c.XORKeyStream(out, out)
	return out
}

// TestKDFAgainstGmsm: the asm/zuc engine derives the session and ring keys
// gmsm's ZUC-256 derived, with the documented IVs, on random seeds,
// directions, indexes, rings, epochs, slots and lengths.
func TestKDFAgainstGmsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 26))
	for i := range 200 {
		var seed keys.Seed
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		dir, index := keys.Direction(rng.IntN(2)), rng.Uint64()
		if i < 4 {
			index = uint64(i)
		}
		got, err := SessionKey(&seed, dir, index)
		if err != nil {
			t.Fatal(err)
		}
		iv := append([]byte("otkdKDF1"), byte(dir))
		iv = append(append(iv, big.NewInt(0).SetUint64(index).FillBytes(make([]byte, 8))...), make([]byte, 6)...)
		if want := gmsmKeystream(t, &seed, iv, keys.KeySize); !bytes.Equal(got[:], want) {
			t.Fatalf("seed %x dir %d index %d: key %x, gmsm %x", seed[:], dir, index, got[:], want)
		}
		ring, epoch, slot := uint8(rng.Uint32()), rng.Uint64(), rng.Uint32()
		n := 1 + rng.IntN(32)
		out := bytes.Repeat([]byte{0xA5}, n) // RingKey overwrites, whatever out held
		RingKey(out, &seed, ring, epoch, slot)
		iv = append([]byte("otkdRNG1"), ring)
		iv = append(iv, big.NewInt(0).SetUint64(epoch).FillBytes(make([]byte, 8))...)
		iv = append(append(iv, big.NewInt(int64(slot)).FillBytes(make([]byte, 4))...), 0, 0)
		if want := gmsmKeystream(t, &seed, iv, n); !bytes.Equal(out, want) {
			t.Fatalf("ring %d epoch %d slot %d len %d: key %x, gmsm %x", ring, epoch, slot, n, out, want)
		}
	}
}

func TestKDFNoAlloc(t *testing.T) {
	var seed keys.Seed
	var out [32]byte
	if a := testing.AllocsPerRun(20, func() { SessionKey(&seed, keys.BtoA, 7) }); a != 0 {
		t.Errorf("SessionKey allocates %v times", a)
	}
	if a := testing.AllocsPerRun(20, func() { RingKey(out[:], &seed, 1, 2, 3) }); a != 0 {
		t.Errorf("RingKey allocates %v times", a)
	}
}

// TestLinkKeyVector pins the rotation keys derived from a link secret
// (docs/protocol.md lists the same vectors).
func TestLinkKeyVector(t *testing.T) {
	var s keys.Secret
	counting(s[:], 0)
	for _, v := range []struct {
		d    keys.Direction
		idx  uint32
		want string
	}{
		{keys.AtoB, 1, "60788417337aaaa04ef34e5e004f2108"},
		{keys.BtoA, 1, "cf3d01f41d6ba5d6d747fcd403117be8"},
		{keys.AtoB, 2, "48046bbec7cc666eed81678a54fcef75"},
	} {
		k, err := LinkKey(&s, v.d, v.idx)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k[:]); got != v.want {
			t.Errorf("direction %d index %d: %s, pinned %s", v.d, v.idx, got, v.want)
		}
	}
}
