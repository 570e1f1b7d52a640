// Package link is the controller of one otkd port: the slow path that runs
// beside the port's TX and RX pipelines and turns what they measure into keys.
//
// One Controller per port, one goroutine (Run). It
//
//   - runs the SM2 handshake over the interaction channel while the link is
//     still on the null cipher (end A initiates), which yields the epoch-1
//     keys of both directions;
//   - feeds the round counts of the port into two post-processing machines:
//     an Initiator for the direction this end sends (its own rounds) and a
//     Responder for the direction the peer sends, and carries their messages
//     over the interaction channel;
//   - when a seed is made, derives the direction's next session key
//     (negotiation.SessionKey) and activates it: the sender announces
//     ACTIVATE{direction, epoch, COUNT, key fingerprint}; the receiver
//     derives the same key from its own copy of the seed, checks the
//     fingerprint, installs it in its RX and answers ACK; only then does the
//     sender's TX switch, at the announced COUNT (or at once when the ACK came
//     later). The receiver holds the previous and the current epoch, so no
//     frame in flight is lost.
//
// Messages on the interaction channel start with a kind byte (docs/protocol.md,
// "Control messages"). Keyring messages (kind 0x08, SendKeyring/OnKeyring)
// are carried opaque; the channel delivers them once and in order within a
// session, and OnSession tells the keyring when a new session starts so it
// can resend what the peer has not acknowledged. Key bytes never leave the process except through the
// OnKey hook, which the daemon uses to publish keys into the shm store; logs,
// errors and Stats carry fingerprints only.
package link
