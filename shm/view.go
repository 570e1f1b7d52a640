package shm

import (
	"sync/atomic"
	"unsafe"
)

// view is a validated window on a mapped file (or, in tests, on heap memory
// laid out the same way). Every access to shared words is a 64-bit atomic
// load or store: plain loads could tear or be reordered by the compiler.
// Offsets are checked once, when the geometry is validated, so the accessors
// below do no bounds checks.
type view struct {
	base unsafe.Pointer
	g    geometry
}

func (v *view) word(off int) *uint64 { return (*uint64)(unsafe.Add(v.base, off)) }

func (v *view) load(off int) uint64 { return atomic.LoadUint64(v.word(off)) }

func (v *view) store(off int, x uint64) { atomic.StoreUint64(v.word(off), x) }

// Seqcount latch, reader side.
//
// Every latched region (a key slot, the status and config regions, the index)
// is two copies, each starting with its own 64-bit sequence. The writer makes
// a copy's sequence odd, rewrites the copy, then makes it even again, and
// always does copy 0 before copy 1. So at any moment at least one copy is
// complete, even if the writer died halfway through the other, and copy 0,
// when stable, is never older than copy 1. A reader copies copy 0 and accepts
// it if its sequence was even and unchanged afterwards; otherwise it tries
// copy 1 the same way.

// Results of readSlot.
const (
	copyTorn = iota // neither copy stayed stable: the writer is at work
	copyOK          // k holds a stable copy that passes record.ok
	copyBad         // a copy was stable but failed record.ok: damage
)

// readSlot copies a consistent, valid copy of slot i into k: copy 0, else
// copy 1. A copy is consistent when its sequence was even and unchanged
// across the copy, and valid when record.ok accepts it (length in range,
// checksum matching, or all zero). Unless it returns copyOK, k holds
// garbage and the caller retries or zeroes it.
func (v *view) readSlot(i int, k *Key) int {
	p := v.slot(i)
	res := copyTorn
	for c := range p {
		if readSlotCopy(&p[c], k) {
			if keyWords(k).ok() {
				return copyOK
			}
			res = copyBad
		}
	}
	return res
}

// slot returns the two copies of slot i.
func (v *view) slot(i int) *[2][slotWords]uint64 {
	return (*[2][slotWords]uint64)(unsafe.Add(v.base, v.g.slotsOff+i*slotSize))
}

// readSlotCopy copies one copy straight into k (whose layout is the
// record's) with atomic loads.
func readSlotCopy(p *[slotWords]uint64, k *Key) bool {
	s := atomic.LoadUint64(&p[0])
	if s&1 != 0 {
		return false
	}
	w := keyWords(k)
	w[0] = atomic.LoadUint64(&p[1])
	w[1] = atomic.LoadUint64(&p[2])
	w[2] = atomic.LoadUint64(&p[3])
	w[3] = atomic.LoadUint64(&p[4])
	w[4] = atomic.LoadUint64(&p[5])
	w[5] = atomic.LoadUint64(&p[6])
	w[6] = atomic.LoadUint64(&p[7])
	w[7] = atomic.LoadUint64(&p[8])
	w[8] = atomic.LoadUint64(&p[9])
	w[9] = atomic.LoadUint64(&p[10])
	w[10] = atomic.LoadUint64(&p[11])
	w[11] = atomic.LoadUint64(&p[12])
	w[12] = atomic.LoadUint64(&p[13])
	w[13] = atomic.LoadUint64(&p[14])
	w[14] = atomic.LoadUint64(&p[15])
	return atomic.LoadUint64(&p[0]) == s
}

// readRegion copies a consistent copy of the status or config region.
func (v *view) readRegion(off int, w *[7]uint64) bool {
	return v.readRegionCopy(off, w) || v.readRegionCopy(off+regionCopySize, w)
}

func (v *view) readRegionCopy(off int, w *[7]uint64) bool {
	p := (*[8]uint64)(unsafe.Add(v.base, off))
	s := atomic.LoadUint64(&p[0])
	if s&1 != 0 {
		return false
	}
	for j := range w {
		w[j] = atomic.LoadUint64(&p[j+1])
	}
	return atomic.LoadUint64(&p[0]) == s
}

// Seqcount latch, writer side. Only the single writer calls these.

// beginCopy makes the sequence at off odd and returns it. A sequence found
// odd (a writer died mid-update) is moved on to the next odd value, never
// just made even: the copy is rewritten in full before endCopy.
func (v *view) beginCopy(off int) uint64 {
	s := v.load(off)
	if s&1 == 0 {
		s++
	} else {
		s += 2
	}
	v.store(off, s)
	return s
}

func (v *view) endCopy(off int, s uint64) { v.store(off, s+1) }

// writeRegion writes w into both copies of the status or config region.
func (v *view) writeRegion(off int, w *[7]uint64) {
	for c := 0; c < 2; c++ {
		base := off + c*regionCopySize
		s := v.beginCopy(base)
		for j := range w {
			v.store(base+8+8*j, w[j])
		}
		v.endCopy(base, s)
	}
}

// Index.
//
// Each index copy holds two open-addressing hash tables with linear probing:
// id (key id → slot) and binding (consumer id → slot). An entry is a key word (0 = empty) and a slot word.
// The writer deletes with backward shift, so there are no tombstones and a
// probe stops at the first empty entry. The writer applies every change to
// copy 0 and then the same change to copy 1 (both copies hold the same
// entries at rest, so the result is identical).

const golden = 0x9E3779B97F4A7C15

// activeIndexKey is the entry of (port, dir) in the active map.
func activeIndexKey(port uint16, dir Dir) uint64 {
	return uint64(port)<<1 | uint64(dir&1)
}

// activeOff is the byte offset of entry ak of the active map.
func (v *view) activeOff(ak uint64) int { return v.g.activeOff + 8*int(ak) }

func (v *view) tableOff(copyOff, tbl int) int {
	return copyOff + indexHead + tbl*v.g.tableSize*entrySize
}

func (v *view) home(key uint64) int { return int((key * golden) >> (64 - v.g.tableBits)) }

// lookup finds key in table tbl of a stable index copy, copy 0 first. ok is
// false when neither copy stayed stable. The probe loop is bounded by the
// table size, so a copy changing underneath cannot make it spin.
func (v *view) lookup(tbl int, key uint64) (slot uint64, found, ok bool) {
	mask := uint64(v.g.tableSize - 1)
	shift := 64 - v.g.tableBits
	for c := 0; c < 2; c++ {
		base := unsafe.Add(v.base, v.g.indexOff+c*v.g.indexCopy)
		seq := (*uint64)(base)
		s := atomic.LoadUint64(seq)
		if s&1 != 0 {
			continue
		}
		t := unsafe.Add(base, indexHead+tbl*v.g.tableSize*entrySize)
		i := (key * golden) >> shift
		slot, found = 0, false
		for n := uint64(0); n <= mask; n++ {
			e := (*[2]uint64)(unsafe.Add(t, i*entrySize))
			k := atomic.LoadUint64(&e[0])
			if k == key {
				slot, found = atomic.LoadUint64(&e[1]), true
				break
			}
			if k == 0 {
				break
			}
			i = (i + 1) & mask
		}
		if atomic.LoadUint64(seq) == s {
			return slot, found, true
		}
	}
	return 0, false, false
}

// indexPut inserts or updates key → slot in one copy (writer only).
func (v *view) indexPut(copyOff, tbl int, key, slot uint64) {
	base := v.tableOff(copyOff, tbl)
	mask := v.g.tableSize - 1
	i := v.home(key)
	for {
		e := base + i*entrySize
		k := v.load(e)
		if k == key || k == 0 {
			v.store(e+8, slot)
			v.store(e, key)
			return
		}
		i = (i + 1) & mask
	}
}

// indexDel removes key from one copy with backward-shift deletion (writer
// only).
func (v *view) indexDel(copyOff, tbl int, key uint64) {
	base := v.tableOff(copyOff, tbl)
	mask := v.g.tableSize - 1
	i := v.home(key)
	for n := 0; ; n++ {
		k := v.load(base + i*entrySize)
		if k == 0 || n == v.g.tableSize {
			return
		}
		if k == key {
			break
		}
		i = (i + 1) & mask
	}
	j := i
	for {
		j = (j + 1) & mask
		ej := base + j*entrySize
		kj := v.load(ej)
		if kj == 0 {
			break
		}
		h := v.home(kj)
		// Move entry j back to the hole at i unless its home lies
		// cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			ei := base + i*entrySize
			v.store(ei+8, v.load(ej+8))
			v.store(ei, kj)
			i = j
		}
	}
	ei := base + i*entrySize
	v.store(ei, 0)
	v.store(ei+8, 0)
}

// indexClear empties all tables of one copy (writer only).
func (v *view) indexClear(copyOff int) {
	for off := copyOff + indexHead; off < copyOff+v.g.indexCopy; off += 8 {
		v.store(off, 0)
	}
}

// updateIndex applies fn to copy 0 and then copy 1, each under its sequence.
func (v *view) updateIndex(fn func(copyOff int)) {
	for c := 0; c < 2; c++ {
		off := v.g.indexOff + c*v.g.indexCopy
		s := v.beginCopy(off)
		fn(off)
		v.endCopy(off, s)
	}
}
