package noise_test

import (
	"fmt"

	"github.com/otkd/otkd/noise"
)

// One round of one direction as the simulated line and the RX pipeline run it: the
// sender's arrays X1‖X2 (992 bits) are modulated, the fibre adds its noise, the receiver
// adds its secret noise of this round and decides; the XOR with what was sent shows the
// bit errors (the real protocol never compares them directly: see docs/protocol.md).
func Example() {
	p := noise.DefaultProfile()
	fibre, err := noise.NewChannel(p, 1) // simulation only: not a secret
	if err != nil {
		panic(err)
	}
	local, err := noise.NewLocal(p) // the receiver's secret noise, keyed from crypto/rand
	if err != nil {
		panic(err)
	}

	sent := make([]byte, 124) // X1‖X2, 2 × 496 bits
	for i := range sent {
		sent[i] = byte(i * 73)
	}
	soft := make([]noise.Sample, 8*len(sent))
	decided := make([]byte, len(sent))
	diff := make([]byte, len(sent))

	noise.Modulate(sent, len(soft), soft, &p)
	fibre.AddFibreNoise(soft)
	local.BeginRound()
	local.AddAndDecide(soft, decided)
	noise.XOR(diff, sent, decided)
	errs := noise.PopCount(diff)
	fmt.Println(errs < len(soft)/4) // at most ≈ 12 % of the bits flip in the default profile
	// Output: true
}
