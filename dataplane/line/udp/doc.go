// Package udp is the UDP line: it joins two otkd ports on two hosts (or two
// processes on one host) so that each port's frames travel in UDP datagrams,
// one wire frame of framer.FrameLen (16 830) bytes per datagram. A *Line
// implements the dataplane's Line contract.
//
// # Contract
//
// Dial binds Config.Local and sends every frame to Config.Peer; FromConn does
// the same on a socket the caller has already bound (an ephemeral port in a
// test, a socket handed over by the service manager). Send and Recv may run
// on two different goroutines, but each of them on one goroutine at a time
// (the dataplane's TX and RX goroutines); Stats, LocalAddr, Peer and Close
// are safe from any goroutine. Nothing on the Send and Recv paths allocates
// or takes a lock.
//
//   - Send writes one datagram. Send errors of the network (ECONNREFUSED
//     because the peer is not up yet, an unreachable host, a full socket
//     buffer) do not stop the line: a fibre does not refuse light. They are
//     counted (Stats.SendErrors, Stats.LastSendErrno) and Send returns nil;
//     the frame is lost, which the round protocol tolerates. When
//     Config.FrameRate > 0 Send paces the frames (see below).
//   - Recv waits for the next datagram. A datagram whose source is not
//     Config.Peer is dropped and counted (Stats.Foreign), one of the wrong
//     length too (Stats.Malformed); Recv then waits for the next one.
//   - Close closes the socket. A Send or Recv blocked at that moment and every
//     later one return ErrClosed, which wraps net.ErrClosed:
//     errors.Is(err, net.ErrClosed) holds.
//
// A frame crosses as one datagram of 16 830 bytes: on a link with a
// 1500-byte MTU the kernel cuts it into IP fragments and the receiver's
// kernel reassembles them; a lost fragment loses the whole datagram (the
// kernel counts it, the line never sees it), duplicated and reordered
// fragments are sorted out by IP reassembly, and the UDP checksum covers
// the whole datagram. So a frame is delivered whole or not at all, but
// datagrams may arrive out of order or, if the network duplicates whole
// datagrams, twice: the layers above (the framer's anti-replay filter)
// handle that.
//
// # Batches
//
// With Config.Batch > 1 the line moves up to Batch frames per system call:
// Send copies the frame into a send batch and sends the batch with one
// sendmmsg(2) when it is full, when its oldest frame has waited
// Config.MaxDelay (checked at each Send), before the pacer sleeps, and at
// Flush; Recv receives up to Batch datagrams with one recvmmsg(2) (without
// waiting for more than the first) and hands them out one by one, with the
// same checks, counters and channel-model draws, in the same order, as the
// one-datagram path. A frame therefore waits at most MaxDelay plus one
// frame period in a sender that keeps calling Send (a port's TX loop
// does); a caller that stops sending calls Flush. SendBatch and RecvBatch
// (package batchline) move several frames per call. The system calls are
// written on golang.org/x/sys/unix with buffers, message headers and
// closures made once, so no path allocates; Stats.SendCalls and RecvCalls
// show the batching.
//
// # Channel model
//
// A datagram carries hard bits only; a fibre would give the receiver an
// analogue value per bit. The receiver therefore makes the soft samples of
// the 1984 negotiation bits (data1 then data2 of the negotiation area, MSB
// first) exactly as the simulated fibre (package simfiber) does for the same
// bits: each received bit is mapped to the profile's level (Level0 or
// Level1, noise.Modulate), the simulated fibre's Gaussian noise of standard
// deviation FibreSigma is added (noise.Channel.AddFibreNoise), and the hard
// decisions of those samples (sample > Threshold() decides 1) are written
// back into the frame at the same positions. The RX pipeline then adds its
// own secret local noise to those samples, as on any other line. With the
// same Channel seed, Reorder = 0 and the same frames, the samples are bit
// for bit those simfiber makes (its A→B direction uses the channel seed
// 4·Seed; a test checks this).
//
// Of the profile's impairments the receiver also applies Loss (the datagram
// is dropped: Stats.SimLost) and Burst (bytes of the frame replaced, and the
// soft samples of negotiation bits they cover negated), and, with
// Config.BitErrors, the fibre's bit errors on the bytes without soft
// samples; Latency and Reorder are ignored, since the network brings its own
// delay, loss and reordering. The simulation's randomness comes from
// Config.Seed (noise.Channel: AES-CTR words for the noise and bit errors, a
// PCG for the per-frame decisions): it stands in for a physical effect and
// protects nothing;
// the secret noise of the protocol is drawn by the RX pipeline
// (noise.Local), not here.
//
// # Pacing
//
// A real port sends a frame every 12.19 µs whatever happens; a sender that is
// not paced just floods the socket. With Config.FrameRate > 0, frame i is due
// at start + i/FrameRate. Send transmits at once while it is less than a
// millisecond ahead of schedule and otherwise waits until the frame is due
// (one timer wait per millisecond of frames at high rates, never one sleep
// per frame for sub-millisecond periods; Stats.PacedWaits counts the waits).
// A sender that fell behind catches up at full speed by at most a
// millisecond of frames (or two frames, whichever is more); older lateness is
// forgiven, so a stall is not followed by a long burst.
//
// # Security
//
// UDP is a lab and test transport, not a fibre. The source check only keeps
// stray datagrams off the pipeline; it authenticates nothing, since source
// addresses are trivially forged. Authentication proper is the SM2
// handshake and the session keys: a frame that does not open under the keys
// of the current or previous epoch is dropped and counted by the framer. Nor
// does the line give the negotiation the physics of a fibre: whoever
// captures the datagrams holds exactly the bits that were sent, without the
// independent noise a tap on a fibre suffers, and the simulated fibre noise
// is not secret. Run it over a network you trust and use it to test two-host
// deployments, not to protect traffic.
package udp
