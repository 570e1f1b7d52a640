package gfp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// cuts splits n into random pieces (1..maxPiece), so that the word and byte
// paths and the state carried between calls all run.
func cuts(rng *rand.Rand, n, maxPiece int) []int {
	var c []int
	for n > 0 {
		k := min(n, 1+rng.IntN(maxPiece))
		c = append(c, k)
		n -= k
	}
	return c
}

// TestScramblerAgainstReference: the word-at-a-time scrambler equals the
// bit-serial s[n] = d[n] ^ s[n-43] over a stream cut at random places, and
// the descrambler inverts it, in place too.
func TestScramblerAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		data := randBytes(rng, 1+rng.IntN(3000))
		var ref refScrambler
		want := ref.scramble(data)
		var s, d Scrambler
		got := make([]byte, len(data))
		back := make([]byte, len(data))
		off := 0
		for _, k := range cuts(rng, len(data), 40) {
			s.Scramble(got[off:off+k], data[off:off+k])
			off += k
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d: scrambled stream differs from the bit-serial reference", trial)
		}
		copy(back, got)
		off = 0
		for _, k := range cuts(rng, len(data), 40) {
			d.Descramble(back[off:off+k], back[off:off+k])
			off += k
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("trial %d: descrambled stream differs from the data", trial)
		}
	}
}

// TestDescramblerSelfSynchronises: a descrambler that starts in the wrong
// state (or joins mid-stream) is right from bit 43 on; a single bit error on
// the line becomes two, 43 bits apart.
func TestDescramblerSelfSynchronises(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := randBytes(rng, 2000)
	var s Scrambler
	line := make([]byte, len(data))
	s.Scramble(line, data)

	d := Scrambler{s: rng.Uint64()}
	got := make([]byte, len(data))
	d.Descramble(got, line)
	if !bytes.Equal(got[6:], data[6:]) || got[5]&0x1F != data[5]&0x1F {
		t.Fatal("a descrambler with a wrong state is still wrong after 43 bits")
	}

	var d2 Scrambler
	d2.Absorb(line[1000:1010]) // joins at octet 1010 after seeing 10 octets
	d2.Descramble(got[1010:], line[1010:])
	if !bytes.Equal(got[1010:], data[1010:]) {
		t.Fatal("Absorb did not carry the state")
	}

	line[100] ^= 0x80 // bit 800
	var d3 Scrambler
	d3.Descramble(got, line)
	diff := 0
	for i := range data {
		x := got[i] ^ data[i]
		for ; x != 0; x &= x - 1 {
			diff++
		}
	}
	// bits 800 and 843: octet 100 MSB and octet 105 bit 843-840=3 from MSB
	if diff != 2 || got[100]^data[100] != 0x80 || got[105]^data[105] != 0x10 {
		t.Fatalf("one line error became %d errors", diff)
	}
}
