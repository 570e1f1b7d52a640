// Package gfp is frame-mapped GFP (GFP-F, ITU-T G.7041/Y.1303) as one
// continuous octet stream: the mapping otkd uses to carry Ethernet client
// frames in the OPU2 payload of its frames (docs/client.md has the byte map).
//
// A GFP client frame is a core header (PLI, the payload area's length, and
// its CRC-16 cHEC, the four octets XORed with B6AB31E0 on the wire), then
// the payload area of PLI octets: the payload header (type field PTI=000,
// PFI, EXI=0000, UPI=0x01 frame-mapped Ethernet, and its CRC-16 tHEC), the
// payload information field (the Ethernet MAC frame from destination address
// through its FCS) and, when PFI=1, the CRC-32 pFCS. The payload area, and
// only the payload area, is scrambled with the x^43+1 self-synchronous
// scrambler, whose state carries from one payload area to the next. An idle
// frame is a core header with PLI=0: B6 AB 31 E0 on the wire.
//
// Encoder writes the stream into whatever spans the caller hands it (the
// four rows of an OPU payload), taking client frames from a Source and
// filling with idle frames when the Source has none. Decoder delineates a
// received stream (HUNT, PRESYNC, SYNC with DELTA=1 and single-bit cHEC
// correction in SYNC) and hands each client frame, descrambled, to a Sink.
// Both move each client byte once (the scrambler pass is the copy) and
// allocate nothing after construction. Neither is safe for concurrent use:
// one goroutine drives each.
//
// The CRCs are table driven: the HEC is CRC-16/XMODEM (x^16+x^12+x^5+1,
// register 0, MSB first) and the pFCS is CRC-32/BZIP2 (the Ethernet
// polynomial, register all ones, MSB first, complemented), not Ethernet's
// bit-reflected CRC: G.7041 sends the octets MSB first and places the x^31
// coefficient in the first pFCS octet's MSB.
package gfp
