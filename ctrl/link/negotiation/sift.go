package negotiation

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// rounds holds the counts of one direction keyed by round id. Round ids are
// compared in serial-number order relative to base, so that the 32-bit id may
// wrap (at 82 025 rounds/s it does after about 14.5 h). Ids before base have
// been consumed by a block and are refused.
type rounds struct {
	counts   map[uint32]uint16
	base     uint32 // oldest id that may still be stored
	newest   uint32 // newest id added (serial order)
	started  bool   // base and newest are meaningful
	consumed bool   // a block moved base; until then base follows the oldest id
}

func (r *rounds) add(id uint32, count int) error {
	if count < 0 || count > math.MaxUint16 {
		return fmt.Errorf("%w: round %d: count %d out of range", ErrRound, id, count)
	}
	before := r.started && int32(id-r.base) < 0
	if before && r.consumed {
		return fmt.Errorf("%w: round %d already consumed", ErrRound, id)
	}
	if _, dup := r.counts[id]; dup {
		return fmt.Errorf("%w: round %d added twice", ErrRound, id)
	}
	if r.counts == nil {
		r.counts = make(map[uint32]uint16)
	}
	if !r.started || int32(id-r.newest) > 0 {
		r.newest = id
	}
	if !r.started || before {
		r.base, r.started = id, true
	}
	r.counts[id] = uint16(count)
	return nil
}

// oldest returns the stored ids in serial order from base, at most n.
func (r *rounds) oldest(n int) []uint32 {
	ids := make([]uint32, 0, len(r.counts))
	for id := range r.counts {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint32) int {
		oa, ob := a-r.base, b-r.base
		switch {
		case oa < ob:
			return -1
		case oa > ob:
			return 1
		}
		return 0
	})
	return ids[:min(n, len(ids))]
}

// consume deletes every id before end (serial order) and moves base there.
func (r *rounds) consume(end uint32) {
	for id := range r.counts {
		if int32(id-end) < 0 {
			delete(r.counts, id)
		}
	}
	r.base, r.started, r.consumed = end, true, true
}

// block is one block's sifting view at one end: the ids of the range
// [lo, lo+span), which of them this end keeps, and its bit for each.
type block struct {
	lo   uint32
	span int
	kept []byte // bitmap over the span, MSB first
	bit  []byte // bit per offset (0/1), meaningful where kept
}

// siftRange computes mean, standard deviation, guard band and bits over the
// counts this end holds in [lo, lo+span).
func (r *rounds) siftRange(lo uint32, span int, alpha float64) block {
	b := block{lo: lo, span: span, kept: make([]byte, (span+7)/8), bit: make([]byte, span)}
	var sum, sq float64
	n := 0
	for off := 0; off < span; off++ {
		if c, ok := r.counts[lo+uint32(off)]; ok {
			sum += float64(c)
			sq += float64(c) * float64(c)
			n++
		}
	}
	if n < 2 {
		return b
	}
	mu := sum / float64(n)
	sigma := math.Sqrt(max(sq/float64(n)-mu*mu, 0))
	for off := 0; off < span; off++ {
		c, ok := r.counts[lo+uint32(off)]
		if !ok || math.Abs(float64(c)-mu) <= alpha*sigma {
			continue
		}
		b.kept[off/8] |= 0x80 >> (off % 8)
		if float64(c) > mu {
			b.bit[off] = 1
		}
	}
	return b
}

func bitmapGet(m []byte, i int) bool { return m[i/8]&(0x80>>(i%8)) != 0 }

func bitmapCount(m []byte) int {
	n := 0
	for _, x := range m {
		n += bits.OnesCount8(x)
	}
	return n
}

// bitmapAnd returns a AND b (equal lengths).
func bitmapAnd(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] & b[i]
	}
	return out
}

// bitmapSubset reports whether every bit of a is set in b.
func bitmapSubset(a, b []byte) bool {
	for i := range a {
		if a[i]&^b[i] != 0 {
			return false
		}
	}
	return true
}

// keptBits returns the bits at the offsets set in mask, in offset order.
func (b *block) keptBits(mask []byte) []byte {
	out := make([]byte, 0, bitmapCount(mask))
	for off := 0; off < b.span; off++ {
		if bitmapGet(mask, off) {
			out = append(out, b.bit[off])
		}
	}
	return out
}

func (b *block) wipe() { clear(b.bit) }
