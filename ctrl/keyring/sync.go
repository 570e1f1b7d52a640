package keyring

import (
	"encoding/binary"
	"fmt"
)

// SyncOp is what a SyncMsg asks the peer to do.
type SyncOp uint8

// Sync operations.
const (
	OpBind   SyncOp = 1 // consumer connected: bind the same key at the peer
	OpUnbind SyncOp = 2 // consumer disconnected: retire the key at the peer
)

// SyncMsg is the binding message one end sends the other over the
// interaction channel, so that both ends bind a consumer to the same ring
// key. It carries no key bytes: the peer derives the key from its own copy
// of the seed and checks it against KeyID.
//
// Wire format (SyncMsgSize bytes, big-endian):
//
//	0      version (1)
//	1      op (1 bind, 2 unbind)
//	2      ring
//	3..6   slot
//	7..14  consumer id (non-zero)
//	15..22 key id (non-zero)
//	23..30 epoch (window index the ring was filled for)
//	31..38 seed id
type SyncMsg struct {
	Op       SyncOp
	Ring     uint8
	Slot     uint32
	Consumer uint64
	KeyID    uint64
	Epoch    uint64
	SeedID   uint64
}

// SyncMsgSize is the encoded size of a SyncMsg.
const SyncMsgSize = 39

const syncVersion = 1

// Marshal encodes m.
func (m *SyncMsg) Marshal() []byte {
	b := make([]byte, SyncMsgSize)
	b[0], b[1], b[2] = syncVersion, byte(m.Op), m.Ring
	binary.BigEndian.PutUint32(b[3:], m.Slot)
	binary.BigEndian.PutUint64(b[7:], m.Consumer)
	binary.BigEndian.PutUint64(b[15:], m.KeyID)
	binary.BigEndian.PutUint64(b[23:], m.Epoch)
	binary.BigEndian.PutUint64(b[31:], m.SeedID)
	return b
}

// Unmarshal decodes b into m; anything but a well-formed version-1 message
// is an ErrSyncMsg.
func (m *SyncMsg) Unmarshal(b []byte) error {
	if len(b) != SyncMsgSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrSyncMsg, len(b), SyncMsgSize)
	}
	if b[0] != syncVersion {
		return fmt.Errorf("%w: version %d", ErrSyncMsg, b[0])
	}
	op := SyncOp(b[1])
	if op != OpBind && op != OpUnbind {
		return fmt.Errorf("%w: op %d", ErrSyncMsg, b[1])
	}
	if b[2] >= MaxRings {
		return fmt.Errorf("%w: ring %d", ErrSyncMsg, b[2])
	}
	x := SyncMsg{
		Op: op, Ring: b[2],
		Slot:     binary.BigEndian.Uint32(b[3:]),
		Consumer: binary.BigEndian.Uint64(b[7:]),
		KeyID:    binary.BigEndian.Uint64(b[15:]),
		Epoch:    binary.BigEndian.Uint64(b[23:]),
		SeedID:   binary.BigEndian.Uint64(b[31:]),
	}
	if x.Consumer == 0 || x.KeyID == 0 {
		return fmt.Errorf("%w: zero consumer or key id", ErrSyncMsg)
	}
	if x.Slot >= MaxKeysPerRing {
		return fmt.Errorf("%w: slot %d", ErrSyncMsg, x.Slot)
	}
	*m = x
	return nil
}

func (m SyncMsg) String() string {
	op := "bind"
	if m.Op == OpUnbind {
		op = "unbind"
	}
	return fmt.Sprintf("sync{%s consumer=%d key=%016x ring=%d slot=%d epoch=%d seed=%d}",
		op, m.Consumer, m.KeyID, m.Ring, m.Slot, m.Epoch, m.SeedID)
}
