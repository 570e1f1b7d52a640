package dataplane

import (
	"encoding/binary"

	"github.com/otkd/otkd/dataplane/ichan"

	"github.com/otkd/otkd/framer"
)

const arrLen = framer.ArrayLen // 62 bytes: one 496-bit array

// Round TLVs of the interaction area (types 0x01-0x0F belong to the round
// protocol; docs/ichan.md).
const (
	tlvOwnRound = ichan.TypeOwnRound // {id u32}: the sender's own round in data1
	tlvResponse = ichan.TypeResponse // {id u32, C2 [62]}: answers the peer round id in data2
	tlvFinal    = ichan.TypeFinal    // {id u32, C1 [62]}: closes the sender's round id
)

// ownRound is a round this end started: its arrays X1, X2.
type ownRound struct {
	id     uint32
	x1, x2 [arrLen]byte
}

// answered tells the RX that the TX answered peer round id with XB1.
type answered struct {
	id  uint32
	xb1 [arrLen]byte
}

// toAnswer asks the TX to answer peer round id; xa3 is this end's decision
// of the peer's X1.
type toAnswer struct {
	id  uint32
	xa3 [arrLen]byte
}

// finalItem asks the TX to send C1 for own round id.
type finalItem struct {
	id uint32
	c1 [arrLen]byte
}

// peerRound is the RX's state of a peer round it answered.
type peerRound struct {
	id     uint32
	xa4    [arrLen]byte
	xb1    [arrLen]byte
	haveB1 bool
}

// seq16 is the 16-bit sequence of round id in the negotiation area:
// 1…65535 cycling (0 means none).
func seq16(id uint32) uint16 { return uint16(id%65535) + 1 }

// putArrayTLV encodes {id, arr} into b (4+arrLen bytes).
func putArrayTLV(b *[4 + arrLen]byte, id uint32, arr *[arrLen]byte) []byte {
	binary.BigEndian.PutUint32(b[:4], id)
	copy(b[4:], arr[:])
	return b[:]
}

func xorArrays(dst, a, b *[arrLen]byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}
