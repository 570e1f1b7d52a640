package keyring

import (
	"encoding/binary"
	"fmt"
)

// SyncOp is what a SyncMsg asks the peer to do.
type SyncOp uint8

// Sync operations.
const (
	// OpBind: a consumer connected here; bind the same key at the peer.
	OpBind SyncOp = 1
	// OpUnbind: a consumer disconnected here; retire the key at the peer.
	OpUnbind SyncOp = 2
	// OpRelease (end B only): B released its own binding of the consumer
	// because end A bound it to another key first (the tie-break); the
	// peer records the slot as used.
	OpRelease SyncOp = 3
	// OpFill (end A only): A filled Ring for window Epoch from the seed
	// SeedID; B fills its ring alike.
	OpFill SyncOp = 4
	// OpAck: every message of stream Stream up to Seq was handled here.
	OpAck SyncOp = 5
)

var opNames = [...]string{OpBind: "bind", OpUnbind: "unbind", OpRelease: "release", OpFill: "fill", OpAck: "ack"}

func (o SyncOp) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// SyncMsg is the message one end's keyring sends the other over the
// interaction channel, so that both ends fill their rings alike and bind a
// consumer to the same ring key. It carries no key bytes: the peer derives
// the key from its own copy of the seed and checks it against KeyID.
//
// Every message but an ack is numbered: Stream names the sender's outbox
// (random, fixed for the life of its store), Seq counts from 1 in it, and
// Acked is the sender's word that the receiver acknowledged every Seq up to
// it (so a receiver that does not know the stream, or lost some of it,
// knows where it starts). The receiver applies a stream's messages once
// and in order and acknowledges them (OpAck with the stream and the
// highest Seq handled); the sender keeps each message in its store until
// acknowledged and sends it again after a new session, so a message is
// neither lost nor applied twice.
//
// Wire format v3 (64 + n bytes, big-endian; v2 was the first 63 bytes
// alone, version 2, without the pool):
//
//	0      version (3)
//	1      op (1 bind, 2 unbind, 3 release, 4 fill, 5 ack)
//	2..9   stream (non-zero)
//	10..17 seq (non-zero)
//	18..25 acked (< seq)
//	26     ring
//	27..30 slot
//	31..38 consumer id
//	39..46 key id
//	47..54 epoch (window index the ring was filled for)
//	55..62 seed id
//	63     n, the length of the pool name (1..MaxPoolLen)
//	64..   pool name (CheckPool)
//
// bind, unbind and release carry a non-zero consumer and key id; fill a
// non-zero seed id and zero consumer, key id and slot; ack nothing but
// stream and seq (the rest zero). Every message names its pool: the
// keyring of one pool refuses another pool's messages, and a daemon with
// several pools on one link hands each message to the keyring it names.
type SyncMsg struct {
	// Pool is the consumer pool (Config.Pool) of the sending keyring;
	// the keyring sets it on what it sends.
	Pool     string
	Op       SyncOp
	Stream   uint64
	Seq      uint64
	Acked    uint64
	Ring     uint8
	Slot     uint32
	Consumer uint64
	KeyID    uint64
	Epoch    uint64
	SeedID   uint64
}

// syncFixedSize is the size of the fields before the pool name (all of a
// version-2 message).
const syncFixedSize = 63

// Encoded sizes of a SyncMsg: its pool name takes 1..MaxPoolLen bytes.
const (
	SyncMsgMinSize = syncFixedSize + 2
	SyncMsgMaxSize = syncFixedSize + 1 + MaxPoolLen
)

// SyncVersion is the version of the sync message this package speaks.
const SyncVersion = 3

// Marshal encodes m.
func (m *SyncMsg) Marshal() []byte {
	b := m.marshalFixed(SyncVersion)
	b = append(b, byte(len(m.Pool)))
	return append(b, m.Pool...)
}

// marshalFixed encodes the fields but the pool with version v.
func (m *SyncMsg) marshalFixed(v byte) []byte {
	b := make([]byte, syncFixedSize, syncFixedSize+1+len(m.Pool))
	b[0], b[1] = v, byte(m.Op)
	binary.BigEndian.PutUint64(b[2:], m.Stream)
	binary.BigEndian.PutUint64(b[10:], m.Seq)
	binary.BigEndian.PutUint64(b[18:], m.Acked)
	b[26] = m.Ring
	binary.BigEndian.PutUint32(b[27:], m.Slot)
	binary.BigEndian.PutUint64(b[31:], m.Consumer)
	binary.BigEndian.PutUint64(b[39:], m.KeyID)
	binary.BigEndian.PutUint64(b[47:], m.Epoch)
	binary.BigEndian.PutUint64(b[55:], m.SeedID)
	return b
}

// Unmarshal decodes b into m; anything but a well-formed version-3
// message is an ErrSyncMsg, and m is left as it was.
func (m *SyncMsg) Unmarshal(b []byte) error {
	if len(b) > 0 && b[0] != SyncVersion {
		if b[0] == 1 || b[0] == 2 {
			return fmt.Errorf("%w: version %d (%d bytes): the peer runs an older otkd; both ends need sync version %d", ErrSyncMsg, b[0], len(b), SyncVersion)
		}
		return fmt.Errorf("%w: version %d, want %d", ErrSyncMsg, b[0], SyncVersion)
	}
	if len(b) < SyncMsgMinSize || len(b) > SyncMsgMaxSize {
		return fmt.Errorf("%w: %d bytes, want %d..%d", ErrSyncMsg, len(b), SyncMsgMinSize, SyncMsgMaxSize)
	}
	if n := int(b[syncFixedSize]); len(b) != syncFixedSize+1+n {
		return fmt.Errorf("%w: %d bytes, pool name of %d bytes", ErrSyncMsg, len(b), n)
	}
	pool := string(b[syncFixedSize+1:])
	if err := CheckPool(pool); err != nil {
		return fmt.Errorf("%w: %v", ErrSyncMsg, err)
	}
	x, err := unmarshalFixed(b[:syncFixedSize])
	if err != nil {
		return err
	}
	x.Pool = pool
	*m = x
	return nil
}

// unmarshalFixed decodes and checks the fields but the pool.
func unmarshalFixed(b []byte) (SyncMsg, error) {
	x := SyncMsg{
		Op:       SyncOp(b[1]),
		Stream:   binary.BigEndian.Uint64(b[2:]),
		Seq:      binary.BigEndian.Uint64(b[10:]),
		Acked:    binary.BigEndian.Uint64(b[18:]),
		Ring:     b[26],
		Slot:     binary.BigEndian.Uint32(b[27:]),
		Consumer: binary.BigEndian.Uint64(b[31:]),
		KeyID:    binary.BigEndian.Uint64(b[39:]),
		Epoch:    binary.BigEndian.Uint64(b[47:]),
		SeedID:   binary.BigEndian.Uint64(b[55:]),
	}
	return x, x.check()
}

// The outbox keeps a message in the version-2 layout, without the pool:
// the bucket names it. Stores written before v3 read back unchanged.
const storedVersion = 2

func (m *SyncMsg) marshalStored() []byte { return m.marshalFixed(storedVersion) }

// unmarshalStored decodes an outbox record of pool.
func unmarshalStored(b []byte, pool string) (SyncMsg, error) {
	if len(b) != syncFixedSize || b[0] != storedVersion {
		return SyncMsg{}, fmt.Errorf("%w: stored message of %d bytes", ErrSyncMsg, len(b))
	}
	m, err := unmarshalFixed(b)
	m.Pool = pool
	return m, err
}

// MaxPoolLen bounds a pool name.
const MaxPoolLen = 32

// CheckPool reports whether name is a valid pool name: 1..MaxPoolLen of
// [a-z0-9-], not starting or ending with '-'. Pool names appear in store
// bucket names, metric labels and the sync message.
func CheckPool(name string) error {
	if name == "" || len(name) > MaxPoolLen || name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("pool name %q: want 1..%d of [a-z0-9-], not starting or ending with '-'", name, MaxPoolLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("pool name %q: want 1..%d of [a-z0-9-], not starting or ending with '-'", name, MaxPoolLen)
		}
	}
	return nil
}

// check applies the field rules of the wire format.
func (m *SyncMsg) check() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s: %s", ErrSyncMsg, m.Op, why) }
	switch {
	case m.Op < OpBind || m.Op > OpAck:
		return fmt.Errorf("%w: op %d", ErrSyncMsg, uint8(m.Op))
	case m.Stream == 0 || m.Seq == 0:
		return bad("zero stream or seq")
	case m.Acked >= m.Seq && m.Op != OpAck:
		return bad(fmt.Sprintf("acked %d not below seq %d", m.Acked, m.Seq))
	case m.Ring >= MaxRings:
		return bad(fmt.Sprintf("ring %d", m.Ring))
	case m.Slot >= MaxKeysPerRing:
		return bad(fmt.Sprintf("slot %d", m.Slot))
	}
	switch m.Op {
	case OpFill:
		if m.SeedID == 0 || m.Consumer != 0 || m.KeyID != 0 || m.Slot != 0 {
			return bad("want a seed id and no consumer, key or slot")
		}
	case OpAck:
		if m.Acked != 0 || m.Ring != 0 || m.Slot != 0 || m.Consumer != 0 || m.KeyID != 0 || m.Epoch != 0 || m.SeedID != 0 {
			return bad("want nothing but stream and seq")
		}
	default:
		if m.Consumer == 0 || m.KeyID == 0 {
			return bad("zero consumer or key id")
		}
	}
	return nil
}

func (m SyncMsg) String() string {
	switch m.Op {
	case OpAck:
		return fmt.Sprintf("sync{%s ack stream=%016x seq=%d}", m.Pool, m.Stream, m.Seq)
	case OpFill:
		return fmt.Sprintf("sync{%s fill #%d ring=%d epoch=%d seed=%016x}", m.Pool, m.Seq, m.Ring, m.Epoch, m.SeedID)
	}
	return fmt.Sprintf("sync{%s %s #%d consumer=%d key=%016x ring=%d slot=%d epoch=%d seed=%016x}",
		m.Pool, m.Op, m.Seq, m.Consumer, m.KeyID, m.Ring, m.Slot, m.Epoch, m.SeedID)
}
