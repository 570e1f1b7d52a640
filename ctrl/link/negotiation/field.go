package negotiation

import (
	"math/bits"
	"sync"
)

// GF(2^m) for the incremental reconciliation, m = 5 … 16: a block of K kept
// bits is one shortened BCH chunk over the smallest field with K ≤ 2^m − 1
// (fieldBits), so that one block needs one confirmation however long it is
// (see incremental.go). The one-shot mode uses the same arithmetic over
// GF(2^10) (bch.go).

// minFieldBits and maxFieldBits bound m. 2^16 − 1 ≥ MaxSpan, the most kept
// bits a block can have.
const (
	minFieldBits = 5
	maxFieldBits = 16
)

// fieldPolys are primitive polynomials of degree m (bit i = coefficient of
// x^i), the usual table entries; TestFieldsPrimitive checks that α = x has
// order 2^m − 1 in each.
var fieldPolys = [maxFieldBits + 1]uint32{
	5:  1<<5 | 1<<2 | 1,
	6:  1<<6 | 1<<1 | 1,
	7:  1<<7 | 1<<3 | 1,
	8:  1<<8 | 1<<4 | 1<<3 | 1<<2 | 1,
	9:  1<<9 | 1<<4 | 1,
	10: 1<<10 | 1<<3 | 1,
	11: 1<<11 | 1<<2 | 1,
	12: 1<<12 | 1<<6 | 1<<4 | 1<<1 | 1,
	13: 1<<13 | 1<<4 | 1<<3 | 1<<1 | 1,
	14: 1<<14 | 1<<10 | 1<<6 | 1<<1 | 1,
	15: 1<<15 | 1<<1 | 1,
	16: 1<<16 | 1<<12 | 1<<3 | 1<<1 | 1,
}

// field is GF(2^m) with α = x. Its tables are read-only once built.
type field struct {
	m     int
	order int      // 2^m − 1, the multiplicative order of α
	exp   []uint16 // exp[i] = α^i for 0 ≤ i < 2·order (doubled to skip a mod)
	log   []uint16 // log[x] = log_α x for x ≠ 0
}

var (
	fieldOnce [maxFieldBits + 1]sync.Once
	fields    [maxFieldBits + 1]*field
)

// fieldBits is m for a block of k kept bits: the smallest m ≥ minFieldBits
// with k ≤ 2^m − 1.
func fieldBits(k int) int { return max(minFieldBits, bits.Len(uint(k))) }

// gf returns GF(2^m), building its tables on first use (safe for
// concurrent use).
func gf(m int) *field {
	fieldOnce[m].Do(func() { fields[m] = newField(m) })
	return fields[m]
}

func newField(m int) *field {
	f := &field{m: m, order: 1<<m - 1}
	f.exp = make([]uint16, 2*f.order)
	f.log = make([]uint16, f.order+1)
	x := uint32(1)
	for i := 0; i < f.order; i++ {
		f.exp[i], f.exp[i+f.order] = uint16(x), uint16(x)
		f.log[x] = uint16(i)
		x <<= 1
		if x&(1<<m) != 0 {
			x ^= fieldPolys[m]
		}
	}
	return f
}

func (f *field) mul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	return f.exp[int(f.log[a])+int(f.log[b])]
}

// div returns a/b; b must not be zero.
func (f *field) div(a, b uint16) uint16 {
	if a == 0 {
		return 0
	}
	return f.exp[int(f.log[a])+f.order-int(f.log[b])]
}

// oddSums writes the odd power sums S_{2k+1}, k = from … from+len(s)−1, of
// bits (one bit per byte) into s: S_j = Σ_{i: bit i set} α^{i·j}.
func (f *field) oddSums(s []uint16, bits []byte, from int) {
	clear(s)
	for i, b := range bits {
		if b == 0 {
			continue
		}
		e := i * (2*from + 1) % f.order // exponent of α^{i·(2·from+1)}
		step := 2 * i % f.order
		for k := range s {
			s[k] ^= f.exp[e]
			e += step
			if e >= f.order {
				e -= f.order
			}
		}
	}
}

// berlekampMassey returns the connection polynomial (coefficient k of x^k
// at index k, trimmed to its degree) of the syndromes s = S_1 … S_{2t} and
// its linear complexity L; ok is false when L > t or the polynomial's
// degree differs from L (then no error pattern of weight ≤ t explains s).
func (f *field) berlekampMassey(s []uint16, t int) (loc []uint16, ok bool) {
	c := make([]uint16, 2*t+2)
	b := make([]uint16, 2*t+2)
	tmp := make([]uint16, 2*t+2)
	c[0], b[0] = 1, 1
	l, m, bd := 0, 1, uint16(1)
	for n := range s {
		d := s[n]
		for i := 1; i <= l; i++ {
			d ^= f.mul(c[i], s[n-i])
		}
		if d == 0 {
			m++
			continue
		}
		coef := f.div(d, bd)
		grow := 2*l <= n
		if grow {
			copy(tmp, c)
		}
		for i := 0; i+m < len(c); i++ {
			c[i+m] ^= f.mul(coef, b[i])
		}
		if grow {
			l = n + 1 - l
			copy(b, tmp)
			bd, m = d, 1
		} else {
			m++
		}
	}
	deg := len(c) - 1
	for deg > 0 && c[deg] == 0 {
		deg--
	}
	if l > t || deg != l {
		return nil, false
	}
	return c[:deg+1], true
}

// roots returns the positions i < n with loc(α^{−i}) = 0, giving up (nil,
// false) as soon as there are more than limit of them.
func (f *field) roots(loc []uint16, n, limit int) ([]int, bool) {
	var pos []int
	logs := make([]int, len(loc))
	for k, c := range loc {
		logs[k] = -1
		if c != 0 {
			logs[k] = int(f.log[c])
		}
	}
	for i := 0; i < n; i++ {
		inv := (f.order - i%f.order) % f.order // exponent of α^{−i}
		v := loc[0]
		e := 0
		for k := 1; k < len(loc); k++ {
			e += inv
			if e >= f.order {
				e -= f.order
			}
			if logs[k] >= 0 {
				v ^= f.exp[logs[k]+e]
			}
		}
		if v == 0 {
			if len(pos) == limit {
				return nil, false
			}
			pos = append(pos, i)
		}
	}
	return pos, true
}
