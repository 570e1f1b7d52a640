package keyring

import (
	"bytes"
	"math/rand/v2"
	"testing"

	gmzuc "github.com/emmansun/gmsm/zuc"

	"github.com/otkd/otkd/ctrl/negotiation"
)

// TestDeriveKeyAgainstGmsm: the asm/zuc engine derives the ring keys
// gmsm's ZUC-256 derived, on random seeds, rings, epochs, slots and key
// lengths.
func TestDeriveKeyAgainstGmsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 27))
	for range 200 {
		var seed negotiation.Seed
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		ring, epoch, slot := uint8(rng.Uint32()), rng.Uint64(), rng.Uint32()
		n := 1 + rng.IntN(32)
		got := make([]byte, n)
		for i := range got {
			got[i] = 0xA5 // deriveKey overwrites, whatever out held
		}
		if err := deriveKey(got, &seed, ring, epoch, slot); err != nil {
			t.Fatal(err)
		}
		iv := ringIV(ring, epoch, slot)
		c, err := gmzuc.NewCipher(seed[:], iv[:])
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, n)
		c.XORKeyStream(want, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("ring %d epoch %d slot %d len %d: key %x, gmsm %x", ring, epoch, slot, n, got, want)
		}
	}
}

func TestDeriveKeyNoAlloc(t *testing.T) {
	var seed negotiation.Seed
	var out [32]byte
	if a := testing.AllocsPerRun(20, func() { deriveKey(out[:], &seed, 1, 2, 3) }); a != 0 {
		t.Fatalf("deriveKey allocates %v times", a)
	}
}
