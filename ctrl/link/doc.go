// Package link is the controller of one otkd port: the slow path that runs
// beside the port's TX and RX pipelines and turns what they measure into keys.
//
// One Controller per port, one goroutine (Run). It
//
//   - runs sessions (session.go; docs/protocol.md, "Sessions"): the SM2
//     handshake over the handshake lane of null frames (end A initiates),
//     which yields both directions' first keys and epochs, authenticated by
//     the handshake itself; make before break (A switches on proof that B
//     holds the new key, B on a valid Confirm); lane messages start or
//     answer a handshake only without a usable session or with a dead peer
//     (no authentic frame for DeadAfter), are otherwise ignored and counted,
//     and never end a handshake in progress; attempts time out and retry
//     with backoff; each session gets a fresh interaction channel;
//   - feeds the round counts of the port into two post-processing machines:
//     an Initiator for the direction this end sends (its own rounds) and a
//     Responder for the direction the peer sends, and carries their messages
//     over the interaction channel;
//   - when a seed is made, derives the direction's next session key
//     (kdf.SessionKey) and activates it: the sender announces
//     ACTIVATE{direction, epoch, COUNT, key fingerprint}; the receiver
//     derives the same key from its own copy of the seed, checks the
//     fingerprint, installs it in its RX and answers ACK; only then does the
//     sender's TX switch, at the announced COUNT (or at once when the ACK came
//     later). The receiver holds the previous and the current epoch, so no
//     frame in flight is lost;
//   - rotates the TX key before its COUNT reaches the port's soft limit (from
//     the newest seed, or from the session's link secret before the first
//     seed), and reports a key the TX dropped at the hard limit;
//   - reports its health (Health): no session, a silent peer, an exhausted
//     TX key, or no seed for SeedTimeout, logged once per change.
//
// Every control message on the interaction channel is authenticated: the
// port feeds the channel only from frames whose tag verified under a key of
// the current session.
//
// Messages on the interaction channel start with a kind byte (docs/protocol.md,
// "Control messages"). Keyring messages (kind 0x08, SendKeyring and Sink.Keyring)
// are carried opaque; the channel delivers them once and in order within a
// session, and Sink.Session tells the keyring when a new session starts so it
// can resend what the peer has not acknowledged. Key bytes never leave the process except through the
// Sink (Config.Sink, one interface for every event: seeds, keys, counts, keyring
// messages, sessions), which the daemon uses to publish keys into the shm store; logs,
// errors and Stats carry fingerprints only.
package link
