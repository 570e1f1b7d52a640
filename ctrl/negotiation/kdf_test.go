package negotiation

import (
	"math/rand/v2"
	"testing"

	gmzuc "github.com/emmansun/gmsm/zuc"
)

// gmsmSessionKey is SessionKey on gmsm's ZUC-256, the engine it used
// before asm/zuc's.
func gmsmSessionKey(t *testing.T, seed *Seed, dir Direction, index uint64) [SessionKeySize]byte {
	t.Helper()
	iv := kdfIV(dir, index)
	c, err := gmzuc.NewCipher(seed[:], iv[:])
	if err != nil {
		t.Fatal(err)
	}
	var key [SessionKeySize]byte
	c.XORKeyStream(key[:], key[:])
	return key
}

// TestSessionKeyAgainstGmsm: the asm/zuc engine derives the keys gmsm
// derived, on random seeds, directions and indexes.
func TestSessionKeyAgainstGmsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 26))
	for i := range 200 {
		var seed Seed
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		dir, index := Direction(rng.IntN(2)), rng.Uint64()
		if i < 4 {
			index = uint64(i)
		}
		got, err := SessionKey(&seed, dir, index)
		if err != nil {
			t.Fatal(err)
		}
		if want := gmsmSessionKey(t, &seed, dir, index); got != want {
			t.Fatalf("seed %x dir %d index %d: key %x, gmsm %x", seed, dir, index, got, want)
		}
	}
}

func TestSessionKeyNoAlloc(t *testing.T) {
	var seed Seed
	if a := testing.AllocsPerRun(20, func() { SessionKey(&seed, BtoA, 7) }); a != 0 {
		t.Fatalf("SessionKey allocates %v times", a)
	}
}
