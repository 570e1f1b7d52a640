// Package dataplane is otkd's engine: per port, a TX and an RX pipeline that
// move encrypted OTU2 frames over a Line and run the round protocol of the
// key negotiation inside them, one round per frame and direction.
//
// # Pipeline
//
// A Port runs two goroutines, txLoop and rxLoop, and is steered by one
// controller goroutine (package ctrl). They meet only in lock-free SPSC rings
// and atomics; nothing on the per-frame path locks or allocates.
//
//	controller ──ScheduleTX, SwitchSession (atomic mailbox)──▶ txLoop ──Line.Send──▶ fibre
//	controller ──InstallRXGen (ring), ArmChannel (atomic)──▶ rxLoop ◀──Line.Recv── fibre
//	controller ──SetLane (atomic pointer to an immutable message)──▶ txLoop
//	controller ◀──LaneRecv (ring of the peer's lane messages)── rxLoop
//	controller ◀──Counts (ring of round counts)── rxLoop
//	controller ◀─▶ the session's Chan (ichan: reliable messages in the interaction areas)
//	txLoop ──own rounds, responses sent (rings)──▶ rxLoop
//	rxLoop ──rounds to answer, finals to send (rings)──▶ txLoop
//
// txLoop, per frame: take the next COUNT; switch the session key if the
// announced COUNT has come; fill the payload; draw the own round's arrays X1,
// X2 into data1; answer one peer round with fresh arrays in data2 and its C2
// (RESPONSE); send a pending C1 (FINAL); let the interaction channel fill the
// rest of the area; Seal; Send.
//
// rxLoop, per frame: Recv the frame and the soft samples of its negotiation
// bits; add the local secret noise and decide them into the frame (one σ per
// round: one for data1, one for data2); Open; cross-check every round field
// of the unprotected negotiation area against the FEC-protected interaction
// TLVs; compute the error counts (E1 of own rounds when their response
// arrives, E2 of peer rounds when their FINAL arrives) and queue them for the
// controller; hand interaction-channel TLVs to the channel.
//
// # Frame workers
//
// With Config.Workers = W > 1 each direction seals or opens W frames at
// once (workers.go): a sequential front stage (TX: the frame building
// above, up to the Seal; RX: Recv, the local noise and decisions, the keys
// of the frame's position), W workers that run only Seal or Open's
// stateless half (framer.SealWorker, framer.OpenWorker), and a sequential
// back stage that takes the frames back in COUNT order (TX: the BIP-8 and
// Line.Send; RX: the anti-replay window, the BIP-8 and everything after
// Open above, the sink included). The wire bytes, keys, rounds, counters
// and the order the sink and the controller see are those of W = 1, which
// runs one TX and one RX goroutine as described above. Nothing on the
// per-frame path allocates in either form, and nothing locks, but for the
// doorbell (a one-slot channel) that wakes a stage that ran out of work
// and parked.
//
// # The round (one per frame per direction, see docs/protocol.md)
//
// Own round id (32 bits) counts the rounds this end started. The
// negotiation area carries its 16-bit sequence (id mod 65535 + 1); the
// OWNROUND, RESPONSE and FINAL TLVs carry the full id under the FEC. A round
// whose fields disagree, whose interaction area the FEC could not correct,
// or whose partner state is gone is dropped at this end; the other end then
// never gets the message that would make it count the round either, or, when
// it did count it, the post-processing keeps only the round ids both ends
// hold. Rounds run only under a session key (epoch ≥ 1): before the first
// key the negotiation bits would travel in the clear.
//
// # Key epochs, COUNT and sessions
//
// The TX switches to the next session key exactly at the COUNT the controller
// scheduled (ScheduleTX), or at its next frame for a new session
// (SwitchSession, which also replaces a switch still pending); the RX holds
// the current and the previous epoch, so frames in flight across a switch
// still open. COUNT is the port's running frame counter (keyed and null
// frames alike, wrapping at 2^32), so the frame sequence, the MFAS and the
// client stream run on across key switches. A key seals at most
// Config.HardLimit < 2^31 frames, so (key, COUNT) never repeats: the
// controller rotates after Config.SoftLimit frames (TXKeyState), and a key
// that reaches HardLimit is dropped: the TX sends null frames and reports
// it (TXKeyState, Stats.TXKeyExhausted). It refuses a key it used before. Keys handed over are zeroised by the side that retires them.
//
// The RX always opens null-epoch frames (a peer without a key must be able
// to handshake), but takes from them only the handshake lane (package lane).
// The session channel is fed only by frames whose tag verified under a key
// of its session: ArmChannel names the install (InstallRXGen's generation)
// from whose first authentic frame on the RX feeds a new channel; RXOpened
// tells the controller that the peer has sent under a key (its proof of
// holding it); RXAuthenticated counts authentic frames (the peer's
// liveness). While the controller has a lane message set and the TX has a
// key, every Config.LaneEvery-th frame is a null frame carrying it.
package dataplane
