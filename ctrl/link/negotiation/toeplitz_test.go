package negotiation

import (
	"math/rand/v2"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

// slowToeplitz is the definition: seed bit j = ⊕_i s[i−j+255]·x_i.
func slowToeplitz(x, s []byte) keys.Seed {
	var out keys.Seed
	sbit := func(k int) byte { return s[k/8] >> (7 - k%8) & 1 }
	for j := range SeedBits {
		var v byte
		for i, b := range x {
			v ^= b & sbit(i-j+SeedBits-1)
		}
		out[j/8] |= v << (7 - j%8)
	}
	return out
}

func TestToeplitzMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, l := range []int{1, 63, 64, 65, 520, 1569, 4000} {
		x := randomBits(rng, l)
		s := make([]byte, toeplitzSeedBytes(l))
		for i := range s {
			s[i] = byte(rng.Uint32())
		}
		if pad := (l + SeedBits - 1) % 8; pad != 0 {
			s[len(s)-1] &^= 0xff >> pad
		}
		var got keys.Seed
		toeplitzHash(&got, x, s)
		if want := slowToeplitz(x, s); got != want {
			t.Fatalf("L=%d: fast and reference hashes differ", l)
		}
	}
}

func TestToeplitzLinear(t *testing.T) {
	// h(x ⊕ y) = h(x) ⊕ h(y): the hash is a linear map, as the universality
	// argument assumes.
	rng := rand.New(rand.NewPCG(7, 8))
	l := 777
	x, y := randomBits(rng, l), randomBits(rng, l)
	xy := make([]byte, l)
	for i := range xy {
		xy[i] = x[i] ^ y[i]
	}
	s := make([]byte, toeplitzSeedBytes(l))
	for i := range s {
		s[i] = byte(rng.Uint32())
	}
	var hx, hy, hxy keys.Seed
	toeplitzHash(&hx, x, s)
	toeplitzHash(&hy, y, s)
	toeplitzHash(&hxy, xy, s)
	for i := range hx {
		if hx[i]^hy[i] != hxy[i] {
			t.Fatal("Toeplitz hash is not linear")
		}
	}
}
