package negotiation

// GF(2^10) arithmetic for the BCH code, with the primitive polynomial
// x^10 + x^3 + 1. Elements are uint16 < 1024; α = 2.

const (
	gfBits  = 10
	gfOrder = 1<<gfBits - 1 // 1023, the multiplicative order of α
	gfPoly  = 1<<10 | 1<<3 | 1
)

var (
	gfExp [2 * gfOrder]uint16 // gfExp[i] = α^i, doubled to skip a mod
	gfLog [gfOrder + 1]uint16 // gfLog[x] = log_α x for x ≠ 0
)

func init() {
	x := uint16(1)
	for i := 0; i < gfOrder; i++ {
		gfExp[i] = x
		gfExp[i+gfOrder] = x
		gfLog[x] = uint16(i)
		x <<= 1
		if x&(1<<gfBits) != 0 {
			x ^= gfPoly
		}
	}
}

func gfMul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// gfDiv returns a/b; b must not be zero.
func gfDiv(a, b uint16) uint16 {
	if a == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+gfOrder-int(gfLog[b])]
}
