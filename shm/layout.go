package shm

import (
	"encoding/binary"
	"fmt"
	"hash/crc64"
)

// Layout v2 of the shared-memory file. docs/shm.md documents every byte;
// shm/include/otkd_shm.h repeats these numbers and the tests keep the two in
// step. All multi-byte fields are little-endian 64-bit words (the file is only
// ever shared between processes of one host).
const (
	// Magic is the first word of the file: the bytes "OTKDSHM" and a NUL.
	Magic = uint64(0x004d4853444b544f)
	// Version is the layout version this package reads and writes. v2 (from
	// v1): the writer's liveness is an OFD lock on bytes 0..7 that readers
	// test with F_OFD_GETLK (v1: a flock readers took for a moment, which a
	// reader could hold to keep a writer out), and readers check every
	// record's length and checksum before they return it.
	Version = 2

	pageSize   = 4096
	headerSize = pageSize

	// Header word offsets. Words 0..13 are fixed when the file is created and
	// covered by the header checksum at hdrSum; the rest change while the
	// writer runs.
	hdrMagic      = 0
	hdrVersion    = 8
	hdrFileSize   = 16
	hdrHeaderSize = 24
	hdrStatusOff  = 32
	hdrConfigOff  = 40
	hdrIndexOff   = 48
	hdrIndexSlots = 56 // entries per index table (power of two)
	hdrIndexCopy  = 64 // bytes per index copy
	hdrActiveOff  = 72
	hdrSlotsOff   = 80
	hdrSlotCount  = 88
	hdrSlotSize   = 96
	hdrCopySize   = 104
	hdrCreated    = 112
	hdrSum        = 120 // crc64 (ECMA) of bytes 0..119
	hdrWriterPID  = 128
	hdrHeartbeat  = 136
	hdrGeneration = 144
	hdrFixedEnd   = hdrSum

	regionCopySize = 64 // status and config: one cache line per copy

	// Key slot: two copies of copySize bytes, each a 64-bit sequence followed
	// by 15 words of record (see slotWords).
	copySize  = 128
	slotSize  = 2 * copySize
	slotWords = copySize / 8 // including the sequence word

	// Index: each copy is a 64-byte head (sequence + padding) and two open
	// addressing tables of 16-byte entries (key word, slot word): key id →
	// slot and consumer → slot.
	indexHead  = 64
	entrySize  = 16
	numTables  = 2
	tblID      = 0
	tblBinding = 1
	tblActive  = -1 // the active map (writer bookkeeping only)

	// Active map: one word per (port, direction), entry 2*port+dir, holding
	// slot+1 of the active key (0 = none). Not latched: each entry is one
	// atomic word and readers check the slot they land on.
	activeEntries = 1 << 17
	activeSize    = 8 * activeEntries

	// DefaultSlots is the number of key slots when Options.Slots is 0.
	DefaultSlots = 1024
	// MaxSlots bounds Options.Slots (and what a reader accepts).
	MaxSlots = 1 << 16
	// MaxKeyLen is the largest key the slot holds, in bytes.
	MaxKeyLen = 64
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// geometry is the derived layout of a file with a given slot count.
type geometry struct {
	slots     int
	tableSize int // entries per index table
	tableBits uint
	statusOff int
	configOff int
	indexOff  int
	indexCopy int
	activeOff int
	slotsOff  int
	fileSize  int
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// newGeometry computes layout v2 for n slots.
func newGeometry(n int) geometry {
	g := geometry{slots: n}
	g.tableSize = 16
	g.tableBits = 4
	for g.tableSize < 2*n {
		g.tableSize *= 2
		g.tableBits++
	}
	g.statusOff = headerSize
	g.configOff = g.statusOff + 2*regionCopySize
	g.indexOff = g.configOff + 2*regionCopySize
	g.indexCopy = indexHead + numTables*g.tableSize*entrySize
	g.activeOff = roundUp(g.indexOff+2*g.indexCopy, pageSize)
	g.slotsOff = g.activeOff + activeSize
	g.fileSize = roundUp(g.slotsOff+n*slotSize, pageSize)
	return g
}

// encodeHeader writes the fixed header words and their checksum into h
// (at least headerSize bytes).
func (g geometry) encodeHeader(h []byte, created int64) {
	words := []uint64{
		Magic, Version, uint64(g.fileSize), headerSize,
		uint64(g.statusOff), uint64(g.configOff), uint64(g.indexOff),
		uint64(g.tableSize), uint64(g.indexCopy), uint64(g.activeOff), uint64(g.slotsOff),
		uint64(g.slots), slotSize, copySize, uint64(created),
	}
	for i, w := range words {
		binary.LittleEndian.PutUint64(h[8*i:], w)
	}
	binary.LittleEndian.PutUint64(h[hdrSum:], crc64.Checksum(h[:hdrFixedEnd], crcTable))
}

// parseHeader validates a header copy against layout v2 and the size of the
// file it came from. Every failure is an *IncompatibleError naming the field.
func parseHeader(h []byte, fileSize int64) (geometry, error) {
	if len(h) < headerSize || fileSize < headerSize {
		return geometry{}, incompatible("file size", fmt.Sprintf("%d bytes", fileSize),
			fmt.Sprintf("at least the %d-byte header", headerSize))
	}
	word := func(off int) uint64 { return binary.LittleEndian.Uint64(h[off:]) }
	if m := word(hdrMagic); m != Magic {
		return geometry{}, incompatible("magic", fmt.Sprintf("%#016x", m), fmt.Sprintf("%#016x (\"OTKDSHM\")", Magic))
	}
	if v := word(hdrVersion); v != Version {
		return geometry{}, incompatible("layout version", fmt.Sprint(v), fmt.Sprint(Version))
	}
	if got, want := word(hdrSum), crc64.Checksum(h[:hdrFixedEnd], crcTable); got != want {
		return geometry{}, incompatible("header checksum", fmt.Sprintf("%#016x", got), fmt.Sprintf("%#016x (header corrupt)", want))
	}
	n := word(hdrSlotCount)
	if n == 0 || n > MaxSlots {
		return geometry{}, incompatible("slot count", fmt.Sprint(n), fmt.Sprintf("1..%d", MaxSlots))
	}
	g := newGeometry(int(n))
	checks := []struct {
		name      string
		off       int
		wantValue uint64
	}{
		{"header size", hdrHeaderSize, headerSize},
		{"status offset", hdrStatusOff, uint64(g.statusOff)},
		{"config offset", hdrConfigOff, uint64(g.configOff)},
		{"index offset", hdrIndexOff, uint64(g.indexOff)},
		{"index table size", hdrIndexSlots, uint64(g.tableSize)},
		{"index copy size", hdrIndexCopy, uint64(g.indexCopy)},
		{"active map offset", hdrActiveOff, uint64(g.activeOff)},
		{"slots offset", hdrSlotsOff, uint64(g.slotsOff)},
		{"slot size", hdrSlotSize, slotSize},
		{"slot copy size", hdrCopySize, copySize},
		{"declared file size", hdrFileSize, uint64(g.fileSize)},
	}
	for _, c := range checks {
		if got := word(c.off); got != c.wantValue {
			return geometry{}, incompatible(c.name, fmt.Sprint(got), fmt.Sprint(c.wantValue))
		}
	}
	if fileSize < int64(g.fileSize) {
		return geometry{}, incompatible("file size", fmt.Sprintf("%d bytes (truncated)", fileSize),
			fmt.Sprintf("%d bytes", g.fileSize))
	}
	return g, nil
}
