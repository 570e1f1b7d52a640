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
//	controller ──ScheduleTX (atomic mailbox)──▶ txLoop ──Line.Send──▶ fibre
//	controller ──InstallRX (ring)──────────────▶ rxLoop ◀──Line.Recv── fibre
//	controller ◀──Counts (ring of round counts)── rxLoop
//	controller ◀─▶ Chan (ichan: reliable messages in the interaction areas)
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
// # The round (one per frame per direction, see DESIGN.md)
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
// # Key epochs
//
// The TX switches to the next session key exactly at the COUNT the controller
// scheduled; the RX holds the current and the previous epoch, so frames in
// flight across a switch still open. Keys handed over are zeroised by the
// side that retires them. The RX also always opens null-epoch frames: a
// peer that restarted comes back on the null cipher, and its handshake must
// get through (such frames carry only the interaction channel: no rounds,
// no payload). ResetTX puts this end's TX back on the null cipher when the
// controller starts a new session with a restarted peer.
package dataplane
