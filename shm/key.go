package shm

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/otkd/otkd/internal/keys"
)

// Dir is the direction of a link a key protects: otkd's one Direction
// type (0 = A→B, 1 = B→A; docs/design.md).
type Dir = keys.Direction

// Directions.
const (
	DirAtoB = keys.AtoB
	DirBtoA = keys.BtoA
)

// State is the life-cycle state of a key slot.
type State uint8

// Key states. A retired key is zeroised and its slot becomes StateEmpty, so
// readers never see StateRetired in the map; the writer uses it in errors.
const (
	StateEmpty      State = 0
	StatePending    State = 1 // published ahead of its activation
	StateActive     State = 2 // the current key of its (port, direction)
	StateSuperseded State = 3 // was active, replaced; kept until retired
	StateRetired    State = 4
)

func (s State) String() string {
	switch s {
	case StateEmpty:
		return "empty"
	case StatePending:
		return "pending"
	case StateActive:
		return "active"
	case StateSuperseded:
		return "superseded"
	case StateRetired:
		return "retired"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Alg is the cipher a key is for.
type Alg uint8

// Algorithms.
const (
	AlgZUC128 Alg = 1
	AlgZUC256 Alg = 2
	AlgSM4    Alg = 3
)

func (a Alg) String() string {
	switch a {
	case AlgZUC128:
		return "ZUC-128"
	case AlgZUC256:
		return "ZUC-256"
	case AlgSM4:
		return "SM4"
	}
	return fmt.Sprintf("alg(%d)", uint8(a))
}

// Key is one key record as stored in a slot. Readers fill a caller-owned Key;
// the writer takes one in Put. The key bytes are unexported so that fmt,
// encoding/json and slog never see them: String, GoString, Format and
// LogValue print the fingerprint instead. The zero value is an empty key.
type Key struct {
	ID        uint64 // non-zero, unique among live keys
	Port      uint16
	Dir       Dir
	Epoch     uint8
	State     State
	Alg       Alg
	Len       uint8 // key length in bytes, 1..MaxKeyLen
	reserved  uint8
	ValidFrom int64  // unix ns, 0 = no lower bound
	ValidTo   int64  // unix ns, 0 = no upper bound
	Consumer  uint64 // bound consumer id, 0 = none
	Serial    uint64 // writer's update counter when the record was written
	material  [MaxKeyLen]byte
	Sum       uint64 // checksum of the record (see Verify)
}

// Key's memory layout is the slot record's (words 1..15 of a copy) on a
// little-endian machine, so that a reader copies the words straight into the
// caller's Key. These constants fail to compile if the layout drifts.
const (
	_ uintptr = unsafe.Sizeof(Key{}) - RecordSize
	_ uintptr = RecordSize - unsafe.Sizeof(Key{})
	_ uintptr = unsafe.Offsetof(Key{}.ValidFrom) - 16
	_ uintptr = 16 - unsafe.Offsetof(Key{}.ValidFrom)
	_ uintptr = unsafe.Offsetof(Key{}.material) - 48
	_ uintptr = 48 - unsafe.Offsetof(Key{}.material)
)

// keyWords views k as the record words it mirrors.
func keyWords(k *Key) *record { return (*record)(unsafe.Pointer(k)) }

// Material returns the key bytes, k's own storage (no copy, no allocation).
// Do not keep the slice beyond k's use; call Zero when done. A Key whose Len
// is out of range (only a Key filled by hand can be: readers never return
// one) has no material: nil, never a panic.
func (k *Key) Material() []byte {
	if k.Len > MaxKeyLen {
		return nil
	}
	return k.material[:k.Len]
}

// SetMaterial copies b (1..MaxKeyLen bytes) into k, sets Len and zeroes the
// rest of the storage.
func (k *Key) SetMaterial(b []byte) error {
	if len(b) == 0 || len(b) > MaxKeyLen {
		return invalid("key length %d, want 1..%d", len(b), MaxKeyLen)
	}
	clear(k.material[:])
	copy(k.material[:], b)
	k.Len = uint8(len(b))
	return nil
}

// Zero overwrites the whole record, key bytes included.
func (k *Key) Zero() { *k = Key{} }

// Fingerprint is the key's one public name, safe to log: the first 8 bytes
// of SM3("otkd v1 session key" ‖ key bytes) (docs/shm.md, "Key
// fingerprint"); its String is 16 hex digits. A key published by otkd has
// that fingerprint, read big-endian, as its ID.
func (k *Key) Fingerprint() keys.Fingerprint { return keys.FingerprintOf(k.Material()) }

// record words 1..15 of a slot copy (word 0 is the sequence).
type record [slotWords - 1]uint64

const recSum = slotWords - 2 // index of the checksum in record

func (k *Key) encode(r *record) {
	r[0] = k.ID
	r[1] = uint64(k.Port) | uint64(k.Dir)<<16 | uint64(k.Epoch)<<24 |
		uint64(k.State)<<32 | uint64(k.Alg)<<40 | uint64(k.Len)<<48
	r[2] = uint64(k.ValidFrom)
	r[3] = uint64(k.ValidTo)
	r[4] = k.Consumer
	r[5] = k.Serial
	for i := 0; i < 8; i++ {
		r[6+i] = binary.LittleEndian.Uint64(k.material[8*i:])
	}
	r[recSum] = r.sum()
}

func (r *record) decode(k *Key) {
	k.ID = r[0]
	k.Port = uint16(r[1])
	k.Dir = Dir(r[1] >> 16)
	k.Epoch = uint8(r[1] >> 24)
	k.State = State(r[1] >> 32)
	k.Alg = Alg(r[1] >> 40)
	k.Len = uint8(r[1] >> 48)
	k.ValidFrom = int64(r[2])
	k.ValidTo = int64(r[3])
	k.Consumer = r[4]
	k.Serial = r[5]
	for i := 0; i < 8; i++ {
		binary.LittleEndian.PutUint64(k.material[8*i:], r[6+i])
	}
	k.Sum = r[recSum]
}

// sum is crc64 (ECMA polynomial, as hash/crc64) over record words 0..13 in
// little-endian byte order. Readers run it on every record they return, so
// it works a word at a time with the slicing-by-8 tables (crcSlices) in two
// independent chains, words 0..6 and 7..13, joined by crcAdvance56 (the
// CRC is linear: the state after words 0..13 is the state after words 0..6
// advanced over 56 zero bytes, xor the state of words 7..13 started from
// 0). That halves the chain of dependent table loads; hash/crc64 would in
// addition copy the words to bytes and compare its 2 KiB table on every
// call. TestRecordSumIsCRC64 checks it against hash/crc64.
func (r *record) sum() uint64 {
	a, b := ^uint64(0), uint64(0)
	for i := 0; i < recSum/2; i++ {
		a = crcWord(a, r[i])
		b = crcWord(b, r[recSum/2+i])
	}
	t := &crcAdvance56
	a = t[0][byte(a)] ^ t[1][byte(a>>8)] ^ t[2][byte(a>>16)] ^ t[3][byte(a>>24)] ^
		t[4][byte(a>>32)] ^ t[5][byte(a>>40)] ^ t[6][byte(a>>48)] ^ t[7][byte(a>>56)]
	return ^(a ^ b)
}

// crcWord advances crc state c over the 8 little-endian bytes of w.
func crcWord(c, w uint64) uint64 {
	t := &crcSlices
	c ^= w
	return t[7][byte(c)] ^ t[6][byte(c>>8)] ^ t[5][byte(c>>16)] ^ t[4][byte(c>>24)] ^
		t[3][byte(c>>32)] ^ t[2][byte(c>>40)] ^ t[1][byte(c>>48)] ^ t[0][byte(c>>56)]
}

// crcSlices are the slicing-by-8 tables of crcTable: crcSlices[0] is the
// byte-wise table, crcSlices[k][b] the crc of byte b followed by k zero
// bytes.
var crcSlices = func() (t [8][256]uint64) {
	for i := range 256 {
		t[0][i] = crcTable[i]
	}
	for k := 1; k < 8; k++ {
		for i := range 256 {
			c := t[k-1][i]
			t[k][i] = t[0][byte(c)] ^ c>>8
		}
	}
	return t
}()

// crcAdvance56[k][b] is the crc state b<<8k advanced over 56 zero bytes
// (half a record); the map is linear, so a state advances byte by byte
// through these tables.
var crcAdvance56 = func() (t [8][256]uint64) {
	for k := range 8 {
		for b := range 256 {
			c := uint64(b) << (8 * k)
			for range 8 * recSum / 2 {
				c = crcSlices[0][byte(c)] ^ c>>8
			}
			t[k][b] = c
		}
	}
	return t
}()

// ok reports whether r is a record a reader may return: all zero (an
// empty slot), or a key id, a length of 1..MaxKeyLen and a checksum that
// matches. Anything else is damage (a scribbled map, a foreign writer) and
// readers treat it like a torn copy: try again, then ErrChecksum.
func (r *record) ok() bool {
	if r[0] == 0 {
		return *r == record{}
	}
	if l := uint8(r[1] >> 48); l == 0 || l > MaxKeyLen {
		return false
	}
	return r.sum() == r[recSum]
}

// Verify recomputes the checksum over the record as copied (every field,
// the reserved byte and all 64 key bytes) and compares it with Sum, and
// checks the length. Readers run the same check on every record before
// they return it (a record that fails it is never returned); Verify is for
// a Key obtained some other way, and the stress tests run it again.
func (k *Key) Verify() error {
	w := keyWords(k)
	if k.ID == 0 || !w.ok() {
		return ErrChecksum
	}
	return nil
}

// Valid reports whether t lies within [ValidFrom, ValidTo) (0 = unbounded).
func (k *Key) Valid(t time.Time) bool {
	n := t.UnixNano()
	return (k.ValidFrom == 0 || n >= k.ValidFrom) && (k.ValidTo == 0 || n < k.ValidTo)
}

// String describes k without its key bytes.
func (k Key) String() string {
	return fmt.Sprintf("key{id=%d port=%d dir=%d epoch=%d state=%s alg=%s len=%d consumer=%d fp=%s}",
		k.ID, k.Port, k.Dir, k.Epoch, k.State, k.Alg, k.Len, k.Consumer, k.Fingerprint())
}

// GoString is String: %#v never prints key bytes either.
func (k Key) GoString() string { return "shm." + k.String() }

// Format makes every fmt verb print String.
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// LogValue makes slog print String.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Health is the daemon's own summary published in the status region.
type Health uint32

// Health values.
const (
	HealthUnknown  Health = 0
	HealthOK       Health = 1
	HealthDegraded Health = 2
	HealthStopped  Health = 3
)

// Status is the status region: always readable, updated by the writer on
// every key change and by SetStatus.
type Status struct {
	Generation uint64 // bumped on every writer (re)start
	WriterPID  uint64
	Serial     uint64 // number of committed updates in this generation
	Keys       uint32 // live (non-empty) key slots
	Active     uint32 // active keys
	UpdatedAt  int64  // unix ns of the last update
	Health     Health // set by the daemon
	Code       uint32 // daemon-defined detail for Health
}

func (s *Status) encode(w *[7]uint64) {
	*w = [7]uint64{s.Generation, s.WriterPID, s.Serial, uint64(s.Keys) | uint64(s.Active)<<32,
		uint64(s.UpdatedAt), uint64(s.Health) | uint64(s.Code)<<32, 0}
}

func (s *Status) decode(w *[7]uint64) {
	s.Generation, s.WriterPID, s.Serial = w[0], w[1], w[2]
	s.Keys, s.Active = uint32(w[3]), uint32(w[3]>>32)
	s.UpdatedAt = int64(w[4])
	s.Health, s.Code = Health(w[5]), uint32(w[5]>>32)
}

// Config is the config region: parameters plugins need, set by the daemon.
type Config struct {
	Serial        uint64 // bumped by every SetConfig
	NodeID        uint64
	RekeyInterval time.Duration
	KeyLifetime   time.Duration
	Grace         time.Duration // how long a superseded key stays usable
	DefaultAlg    Alg
	Flags         uint32
}

func (c *Config) encode(w *[7]uint64) {
	*w = [7]uint64{c.Serial, c.NodeID, uint64(c.RekeyInterval), uint64(c.KeyLifetime),
		uint64(c.Grace), uint64(c.DefaultAlg) | uint64(c.Flags)<<32, 0}
}

func (c *Config) decode(w *[7]uint64) {
	c.Serial, c.NodeID = w[0], w[1]
	c.RekeyInterval, c.KeyLifetime, c.Grace = time.Duration(w[2]), time.Duration(w[3]), time.Duration(w[4])
	c.DefaultAlg, c.Flags = Alg(w[5]), uint32(w[5]>>32)
}

// RecordSize is the size of a key record outside the map (MarshalRecord):
// words 1..15 of a slot copy, little-endian, checksum last.
const RecordSize = 8 * (slotWords - 1)

// MarshalRecord writes k in the slot record format (checksum computed) into
// b, for persistence. b holds key bytes: the caller zeroes it after use.
func (k *Key) MarshalRecord(b *[RecordSize]byte) {
	var r record
	k.encode(&r)
	for i, x := range r {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	clear(r[:])
}

// UnmarshalRecord fills k from b and verifies its checksum.
func (k *Key) UnmarshalRecord(b *[RecordSize]byte) error {
	var r record
	for i := range r {
		r[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	r.decode(k)
	clear(r[:])
	return k.Verify()
}
