// Package ichan is the interaction channel of otkd: the codec of the 223-byte
// interaction area every frame carries in each direction, and a reliable,
// ordered message channel on top of it for the controller (key negotiation
// post-processing, key activation, keyring sync). docs/ichan.md is the wire
// contract; this comment is the code's.
//
// Trust. The channel authenticates nothing itself: the port feeds it only
// TLVs of frames whose tag verified under a key of the channel's session
// (wire format v2), so everything it delivers comes from the peer. A
// channel belongs to one session: a new session makes a new Chan (a new
// incarnation) rather than resetting one that the pipelines still use.
//
// # Area
//
// An area is a version byte and TLVs (type, length, value). AreaWriter fills
// one, AreaReader validates one as a whole and walks it. Types 0x01–0x0F
// belong to the round protocol (the dataplane writes them first), 0x10–0x1F
// to this channel. Neither allocates.
//
// # Channel
//
// A Chan is one end. Messages (up to Config.MaxMessage bytes) are cut into
// DATA segments, one per frame at most, sized to the room the round TLVs
// left; the receiver restores order, drops duplicates and acknowledges with
// an ACK (cumulative point plus a 64-bit selective bitmap); a segment
// unacknowledged after Config.RTO frames is sent again. Segments carry the
// sender's incarnation, a random non-zero id drawn by New and Reset.
//
// # Goroutines and hand-offs
//
// Three goroutines use a Chan, each through its own methods only:
//
//		controller ──Send──▶ [sendq SPSC ring] ──▶ TX goroutine: FillTX, once per frame
//		controller ◀─Recv─── [recvq SPSC ring] ◀── RX goroutine: HandleRX, per channel TLV
//		                                 RX ──owed ack (seqlock)──▶ TX   the ACK to send
//		                                 RX ──peer ack (seqlock)──▶ TX   what the peer holds
//		                                 TX ──txNext (atomic)─────▶ RX   to vet peer acks
//		                                 RX ──Notify (cap-1 chan)─▶ controller, per message
//
//	  - Send and Recv: the controller goroutine (one at a time). Send copies
//	    the message into a preallocated slot; Recv copies it out.
//	  - FillTX: the TX goroutine, one call per frame, also with nothing to
//	    send (the calls are the clock of the RTO).
//	  - HandleRX: the RX goroutine, for each TLV of type 0x10–0x1F of an area
//	    the FEC decoded cleanly (an uncorrectable area is ignored whole, an
//	    area AreaReader rejects too).
//	  - Stats, Incarnation, Config, Notify: any goroutine.
//	  - Reset: alone, with the three goroutines stopped and ordered before it
//	    (and restarted after it) by the caller.
//
// The TX window, the RX reorder window and the reassembly buffer each
// belong to one goroutine. Every value crossing goroutines is an atomic or
// sits behind an SPSC ring's atomic publish; the two seqlocks are made of
// atomics and have one writer each, so FillTX and HandleRX are lock-free,
// allocation-free and wait-free but for a bounded seqlock retry (a reader
// that loses it four times tries again at the next frame). The only channel
// operation is Notify's non-blocking send, once per delivered message.
//
// # Restarts
//
// A receiver that sees a DATA segment of an incarnation other than the one
// it follows resets its receive state to that segment's window base: held
// segments and a partial message are dropped, and delivery starts at the
// next segment that begins a message. It remembers the last four
// incarnations it left and ignores their stragglers. A receiver also
// resets when a segment's base is past its own cumulative point (only a
// restart of its own end makes that happen). Acks name the incarnation
// they acknowledge; acks of another are ignored. The sender recomputes its
// selective marks from each new ack, so what a restarted receiver lost is
// sent again. Messages are delivered in order and at most once per
// receiver incarnation; messages in flight across a restart of either end
// may be lost, and a restarted receiver may get again a message its
// previous incarnation got but had not acknowledged.
package ichan
