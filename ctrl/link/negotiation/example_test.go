package negotiation_test

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/keys/kdf"
)

// Example runs one direction in one process: both ends get correlated
// counts, the initiator's messages go to the responder and the replies
// back, as the interaction channel would carry them.
func Example() {
	p := negotiation.DefaultParams()
	ini, _ := negotiation.NewInitiator(p, rand.Reader)
	rsp, _ := negotiation.NewResponder(p)
	rng := mrand.New(mrand.NewPCG(1, 2))
	round := uint32(0)
	feed := func() { // crude correlated counts: a shared level plus small noise
		for range p.N {
			round++
			level := rng.IntN(200)
			ini.Add(round, level+rng.IntN(5))
			rsp.Add(round, level+rng.IntN(5))
		}
	}
	carry := func(m negotiation.Message) negotiation.Message { // over the wire
		b, _ := m.MarshalBinary()
		out, _ := negotiation.Unmarshal(b)
		return out
	}
	for {
		m, _ := ini.Next()
		if m == nil {
			feed()
			continue
		}
		for m != nil {
			reply, resB, err := rsp.Handle(carry(m))
			if err != nil {
				fmt.Println(err)
				return
			}
			next, resA, err := ini.Handle(carry(reply))
			if err != nil {
				fmt.Println(err)
				return
			}
			if resA != nil {
				kA, _ := kdf.SessionKey(&resA.Seed, keys.AtoB, 0)
				kB, _ := kdf.SessionKey(&resB.Seed, keys.AtoB, 0)
				fmt.Println("same seed:", resA.Seed == resB.Seed, "same session key:", kA == kB)
				fmt.Println("bound satisfied:", resA.Bound >= negotiation.SeedBits)
				resA.Seed.Zero()
				resB.Seed.Zero()
				return
			}
			m = next
		}
	}
	// Output:
	// same seed: true same session key: true
	// bound satisfied: true
}
