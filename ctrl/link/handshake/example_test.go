package handshake_test

import (
	"fmt"

	"github.com/otkd/otkd/ctrl/link/handshake"
)

// Example runs both ends in one process; in otkd each end lives in its own
// daemon and the messages travel over the interaction channel.
func Example() {
	a, _ := handshake.Generate("otkd:node-a", nil) // from config: LoadIdentity
	b, _ := handshake.Generate("otkd:node-b", nil)

	initiator, hello, _ := handshake.NewInitiator(a, b.Peer(), 1, nil) // b.Peer(): LoadPeer
	responder, _ := handshake.NewResponder(b, a.Peer(), 2, nil)

	reply, _, _ := responder.Handle(hello)
	confirm, doneA, _ := initiator.Handle(reply)
	_, doneB, _ := responder.Handle(confirm)

	ka, _ := initiator.Result()
	kb, _ := responder.Result()
	defer ka.Zero()
	defer kb.Zero()
	fmt.Println(doneA, doneB, ka.Fingerprint() == kb.Fingerprint())
	fmt.Printf("%d-byte keys print as %v\n", len(ka.AB), ka.AB)
	// Output:
	// true true true
	// 16-byte keys print as [redacted]
}
