package mpcsvc

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/otkd/otkd/internal/keys"
)

// An export is what a node backs up of its own key material: the seeds it
// holds, or its keyring state. It is the plaintext of a backup, encrypted
// to the cluster key and wiped; after recovery, ParseExport reads it.
// Layout (integers big-endian; docs/mpc.md, "Exports"):
//
//	magic "OTKDEXPT" | version:1 = 2 | what:1 | created:8 (Unix ns) |
//	node_len:1 | node | pool_len:1 | pool | window:8 (ns) | count:2 |
//	count records | SM3 of every byte before it:32
//
// Records, each a type byte then its fields:
//
//	1 seed     source:1 | id:8 | at:8 (Unix ns, 0 unknown) |
//	           pool_len:1 | pool | len:1 | seed
//	2 ring     ring:1 | filled:1 | epoch:8 | seed id:8 | keys:4
//	3 binding  consumer:8 | ring:1 | slot:4 | epoch:8 | seed id:8 | key id:8
//
// The header's pool and window are the keyring's of a keyring export (one
// pool); a seeds export covers every pool, so its header has none and each
// seed names the pool it came from. Version 1, written before a daemon
// could run several pools, has no pool in seed records: ParseExport still
// reads it and gives each seed the header's pool.
const exportMagic = "OTKDEXPT"

// ExportVersion is the version Marshal writes; ParseExport reads it and
// version 1.
const ExportVersion = 2

// ExportWhat says what an export holds.
type ExportWhat uint8

// What an export holds.
const (
	ExportSeeds   ExportWhat = 1 // seed records only
	ExportKeyring ExportWhat = 2 // rings, bindings and the seeds they need
)

// String returns "seeds" or "keyring".
func (w ExportWhat) String() string {
	switch w {
	case ExportSeeds:
		return "seeds"
	case ExportKeyring:
		return "keyring"
	}
	return fmt.Sprintf("what(%d)", uint8(w))
}

// backupLabel separates a backup's fingerprint from every other digest.
const backupLabel = "otkd/mpc/backup-fingerprint/v1"

// Fingerprint returns the fingerprint of a backup's plaintext:
// keys.Digest over its own label and msg (the first 8 bytes of SM3, in
// hex). A backup is a file, not one key, so it is not named like a key;
// tools and logs show it so that a recovered secret can be matched to its
// backup without being printed.
func Fingerprint(msg []byte) string { return keys.Digest(backupLabel, msg) }

// ParseExportWhat parses "seeds" or "keyring".
func ParseExportWhat(s string) (ExportWhat, error) {
	switch s {
	case "seeds":
		return ExportSeeds, nil
	case "keyring":
		return ExportKeyring, nil
	}
	return 0, fmt.Errorf("mpc export: export %q: want seeds or keyring", s)
}

// SeedSource says where a node held an exported seed.
type SeedSource uint8

// Sources of exported seeds.
const (
	SeedLink    SeedSource = 1 // a recent seed of the keyring port's link (A→B), in memory
	SeedKept    SeedSource = 2 // a seed end B's keyring keeps for fill messages
	SeedRing    SeedSource = 3 // the seed a ring is filled from
	maxSeedKind            = SeedRing
)

// String names the source.
func (s SeedSource) String() string {
	switch s {
	case SeedLink:
		return "link"
	case SeedKept:
		return "kept"
	case SeedRing:
		return "ring"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// ExportSeed is one seed. Seed is key material: Export.Wipe clears it.
type ExportSeed struct {
	Source SeedSource
	Pool   string    // the keyring pool that held it (each seed is exported once, under the first pool holding it)
	ID     uint64    // the keyring's seed id (keys.Seed.ID: its fingerprint as a number)
	At     time.Time // when the node got it; zero if unknown
	Seed   []byte
}

// Fingerprint is the seed's fingerprint as the daemon logs it: the one
// fingerprint of every otkd key (keys.FingerprintOf), whose number is the
// seed's id.
func (s *ExportSeed) Fingerprint() string { return keys.FingerprintOf(s.Seed).String() }

// ExportRing is one keyring ring: which seed filled it for which window.
type ExportRing struct {
	Ring   uint8
	Filled bool
	Epoch  uint64 // window index
	SeedID uint64
	Keys   uint32
}

// ExportBinding is a consumer's key: where it is and what it derives from.
type ExportBinding struct {
	Consumer uint64
	Ring     uint8
	Slot     uint32
	Epoch    uint64
	SeedID   uint64
	KeyID    uint64
}

// Export is a node's export. Not safe for concurrent use.
type Export struct {
	Version  uint8 // the format ParseExport read; Marshal writes ExportVersion whatever it says
	What     ExportWhat
	Created  time.Time
	Node     string
	Pool     string        // the keyring's pool of a keyring export; "" in a seeds export (version 1: the only pool)
	Window   time.Duration // the keyring's window of a keyring export; 0 in a seeds export
	Seeds    []ExportSeed
	Rings    []ExportRing
	Bindings []ExportBinding
}

// Errors of exports.
var ErrExport = errors.New("mpc export: not a valid export")

const (
	seedRecLen = 1 + 8 + 8 + 1
	ringRecLen = 1 + 1 + 8 + 8 + 4
	bindRecLen = 8 + 1 + 4 + 8 + 8 + 8
	maxRecords = 1<<16 - 1
)

// Marshal encodes e. The result holds the seeds: the caller wipes it.
func (e *Export) Marshal() ([]byte, error) {
	n := len(e.Seeds) + len(e.Rings) + len(e.Bindings)
	switch {
	case e.What != ExportSeeds && e.What != ExportKeyring:
		return nil, fmt.Errorf("%w: what %d", ErrExport, e.What)
	case e.Node == "" || len(e.Node) > 255 || len(e.Pool) > 255:
		return nil, fmt.Errorf("%w: node name of 1 to 255 bytes and pool of up to 255 wanted", ErrExport)
	case n > maxRecords:
		return nil, fmt.Errorf("%w: %d records, at most %d", ErrExport, n, maxRecords)
	case e.What == ExportSeeds && len(e.Rings)+len(e.Bindings) > 0:
		return nil, fmt.Errorf("%w: a seeds export holds seeds only", ErrExport)
	case e.What == ExportSeeds && (e.Pool != "" || e.Window != 0):
		return nil, fmt.Errorf("%w: a seeds export names no pool or window in its header (each seed names its pool)", ErrExport)
	case e.What == ExportKeyring && e.Pool == "":
		return nil, fmt.Errorf("%w: a keyring export names its pool", ErrExport)
	}
	b := make([]byte, 0, 64+n*48+sm3.Size)
	b = append(b, exportMagic...)
	b = append(b, ExportVersion, byte(e.What))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created.UnixNano()))
	b = append(append(b, byte(len(e.Node))), e.Node...)
	b = append(append(b, byte(len(e.Pool))), e.Pool...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Window))
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	for _, s := range e.Seeds {
		if err := e.checkSeed(&s); err != nil {
			clear(b)
			return nil, err
		}
		b = append(b, 1, byte(s.Source))
		b = binary.BigEndian.AppendUint64(b, s.ID)
		b = binary.BigEndian.AppendUint64(b, unixNano(s.At))
		b = append(append(b, byte(len(s.Pool))), s.Pool...)
		b = append(append(b, byte(len(s.Seed))), s.Seed...)
	}
	for _, r := range e.Rings {
		b = append(b, 2, r.Ring, boolByte(r.Filled))
		b = binary.BigEndian.AppendUint64(b, r.Epoch)
		b = binary.BigEndian.AppendUint64(b, r.SeedID)
		b = binary.BigEndian.AppendUint32(b, r.Keys)
	}
	for _, x := range e.Bindings {
		b = binary.BigEndian.AppendUint64(append(b, 3), x.Consumer)
		b = append(b, x.Ring)
		b = binary.BigEndian.AppendUint32(b, x.Slot)
		b = binary.BigEndian.AppendUint64(b, x.Epoch)
		b = binary.BigEndian.AppendUint64(b, x.SeedID)
		b = binary.BigEndian.AppendUint64(b, x.KeyID)
	}
	sum := sm3.Sum(b)
	return append(b, sum[:]...), nil
}

// checkSeed checks a seed record of e: a known source, 1 to 255 bytes, a
// pool of 1 to 255 bytes, which in a keyring export is the header's.
func (e *Export) checkSeed(s *ExportSeed) error {
	switch {
	case s.Source == 0 || s.Source > maxSeedKind || len(s.Seed) == 0 || len(s.Seed) > 255:
		return fmt.Errorf("%w: seed %016x: source %d, %d bytes", ErrExport, s.ID, s.Source, len(s.Seed))
	case s.Pool == "" || len(s.Pool) > 255:
		return fmt.Errorf("%w: seed %016x: pool of 1 to 255 bytes wanted, got %d", ErrExport, s.ID, len(s.Pool))
	case e.What == ExportKeyring && s.Pool != e.Pool:
		return fmt.Errorf("%w: seed %016x: pool %q in a keyring export of pool %q", ErrExport, s.ID, s.Pool, e.Pool)
	}
	return nil
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// IsExport reports whether b starts like an export (its magic).
func IsExport(b []byte) bool { return bytes.HasPrefix(b, []byte(exportMagic)) }

// ParseExport decodes an export, checking its checksum first. The seeds
// are copied: the caller may wipe b and wipes the result with Wipe.
func ParseExport(b []byte) (*Export, error) {
	if !IsExport(b) {
		return nil, fmt.Errorf("%w: no %q magic", ErrExport, exportMagic)
	}
	if len(b) < len(exportMagic)+2+8+1+1+8+2+sm3.Size {
		return nil, fmt.Errorf("%w: %d bytes, too short", ErrExport, len(b))
	}
	body, tail := b[:len(b)-sm3.Size], b[len(b)-sm3.Size:]
	if sum := sm3.Sum(body); subtle.ConstantTimeCompare(sum[:], tail) != 1 {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or altered)", ErrExport)
	}
	r := &xreader{b: body[len(exportMagic):]}
	e := &Export{Version: r.u8()}
	if e.Version != 1 && e.Version != ExportVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads 1 and %d", ErrExport, e.Version, ExportVersion)
	}
	if e.What = ExportWhat(r.u8()); e.What != ExportSeeds && e.What != ExportKeyring {
		return nil, fmt.Errorf("%w: what %d", ErrExport, e.What)
	}
	e.Created = time.Unix(0, int64(r.u64())).UTC()
	if e.Node = string(r.bytes(int(r.u8()))); e.Node == "" {
		return nil, fmt.Errorf("%w: no node name", ErrExport)
	}
	e.Pool = string(r.bytes(int(r.u8())))
	e.Window = time.Duration(r.u64())
	if err := e.checkHeader(); err != nil {
		return nil, err
	}
	n := int(r.u16())
	for i := 0; i < n && r.err == nil; i++ {
		if err := e.parseRecord(r, i); err != nil {
			e.Wipe()
			return nil, err
		}
	}
	if r.err != nil || len(r.b) != 0 {
		e.Wipe()
		return nil, fmt.Errorf("%w: %d records do not fill the body exactly", ErrExport, n)
	}
	return e, nil
}

// checkHeader checks the pool and window of a version 2 header (version
// 1 gave a seeds export the keyring's, if any).
func (e *Export) checkHeader() error {
	switch {
	case e.Version == 1:
		return nil
	case e.What == ExportSeeds && (e.Pool != "" || e.Window != 0):
		return fmt.Errorf("%w: a seeds export with pool %q and window %v in its header (each seed names its pool)", ErrExport, e.Pool, e.Window)
	case e.What == ExportKeyring && e.Pool == "":
		return fmt.Errorf("%w: a keyring export naming no pool", ErrExport)
	}
	return nil
}

func (e *Export) parseRecord(r *xreader, i int) error {
	switch typ := r.u8(); typ {
	case 1:
		s := ExportSeed{Source: SeedSource(r.u8()), ID: r.u64(), Pool: e.Pool}
		if at := r.u64(); at != 0 {
			s.At = time.Unix(0, int64(at)).UTC()
		}
		if e.Version != 1 {
			s.Pool = string(r.bytes(int(r.u8())))
		}
		raw := r.bytes(int(r.u8()))
		if r.err != nil {
			return r.err
		}
		if s.Source == 0 || s.Source > maxSeedKind || len(raw) == 0 {
			return fmt.Errorf("%w: record %d: seed of source %d and %d bytes", ErrExport, i, s.Source, len(raw))
		}
		if s.Seed = raw; e.Version != 1 {
			if err := e.checkSeed(&s); err != nil {
				return fmt.Errorf("%w (record %d)", err, i)
			}
		}
		s.Seed = bytes.Clone(raw)
		e.Seeds = append(e.Seeds, s)
	case 2:
		ring := ExportRing{Ring: r.u8()}
		filled := r.u8()
		ring.Filled, ring.Epoch, ring.SeedID, ring.Keys = filled == 1, r.u64(), r.u64(), r.u32()
		if filled > 1 {
			return fmt.Errorf("%w: record %d: ring filled flag %d", ErrExport, i, filled)
		}
		e.Rings = append(e.Rings, ring)
	case 3:
		x := ExportBinding{Consumer: r.u64(), Ring: r.u8(), Slot: r.u32(), Epoch: r.u64(), SeedID: r.u64(), KeyID: r.u64()}
		e.Bindings = append(e.Bindings, x)
	default:
		return fmt.Errorf("%w: record %d: unknown type %d", ErrExport, i, typ)
	}
	if e.What == ExportSeeds && len(e.Rings)+len(e.Bindings) > 0 {
		return fmt.Errorf("%w: record %d: a seeds export holds seeds only", ErrExport, i)
	}
	return r.err
}

// Wipe clears the seeds.
func (e *Export) Wipe() {
	for i := range e.Seeds {
		clear(e.Seeds[i].Seed)
	}
}

// xreader reads big-endian fields; the first short read sets err and
// every later read returns zeros.
type xreader struct {
	b   []byte
	err error
}

func (r *xreader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrExport)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *xreader) u8() uint8 {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *xreader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *xreader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *xreader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
