package noise

import "math"

// Standard normal deviates by the ziggurat method (Marsaglia and Tsang, "The Ziggurat
// Method for Generating Random Variables", 2000), 256 layers, float32 results.
//
// The area under f(x) = exp(-x²/2), x ≥ 0, plus its tail is covered by 256 layers of
// equal area v: layer 0 is the rectangle [0, r] × [0, f(r)] together with the tail
// beyond r; layer i ≥ 1 is the rectangle [0, x_i] × [f(x_i), f(x_{i+1})] with
// x_1 = r > x_2 > … > x_256 = 0. One uniform 32-bit word w gives
//
//	bits 0–7   the layer i,
//	bit  8     the sign,
//	bits 9–31  a 23-bit magnitude m, so that |z| = m · x_i / 2^23.
//
// When m < k_i (= 2^23 · x_{i+1}/x_i) the point lies wholly under the curve and is
// returned at once: this fast path takes exactly one word and no transcendental
// function, and it is taken for 98.5 % of the words (TestZigguratTablesClose).
// Otherwise zigSlow decides the wedge of layer i (one more word; math.Exp only when the
// point lies close to the curve, see zigAbove) or samples the tail of layer 0
// (Marsaglia's exponential rejection, two words and two logs per try), and redraws a whole new word on rejection. The extra words come from a second,
// separate source (see wordSource), so the word of sample i is always word i of the
// batch; a vector kernel can compute the fast lanes of a batch at once and then hand the
// rejected lanes to zigSlow in index order, with results identical to the scalar code.
//
// Accuracy: the method is exact up to the resolution of its uniforms. The fast path
// quantises |z| to x_i/2^23 (≤ 4.4e-7, the float32 resolution at |z| ≈ 4); wedge and
// tail tests use 32-bit uniforms in float64; a deviate never exceeds about
// r + 22.2/r ≈ 9.7 in magnitude (P(|z| > 9) ≈ 2e-19, so nothing observable is lost).
// The tables are computed at start-up: r by bisection so that the 256 layers close at
// the top of the curve (r ≈ 3.6541528854), then v and the layer edges from r.

const (
	zigLayers = 256
	zigBits   = 8 // log2(zigLayers)
	// zigScale converts the 23-bit magnitude to [0, 1).
	zigScale = 1.0 / (1 << (31 - zigBits))
)

var (
	zigX [zigLayers + 1]float64 // layer edges x_i; zigX[0] = v/f(r) is the base layer's virtual width
	zigF [zigLayers + 1]float64 // f(x_i)
	// zigK and zigW are indexed by the low 9 bits of a word (layer i and sign bit 8), so
	// the fast path needs no sign branch: zigK[j] is the fast-accept bound on the 23-bit
	// magnitude of layer j%256, zigW[j] is ±x_i / 2^23 (negative for j ≥ 256).
	zigK [2 * zigLayers]uint32
	zigW [2 * zigLayers]float32
	// zigKW[j] is zigK[j] | bits(zigW[j])<<32: one 8-byte gather fetches both for the
	// AVX-512 kernel.
	zigKW [2 * zigLayers]uint64
	zigV  float64 // area of each layer
	zigR  float64 // right edge of the base layer, x_1
)

func init() { zigSetup() }

func zigf(x float64) float64 { return math.Exp(-0.5 * x * x) }

// zigStack stacks layers of the area that r implies into x (x[0..zigLayers−1]) and
// returns how far the last layer's top, v/x_255 + f(x_255), lies above the curve's top
// 1; +1 when the stack reaches the top before the last layer (r too small).
func zigStack(r float64, x *[zigLayers + 1]float64) (v, over float64) {
	v = r*zigf(r) + math.Sqrt(math.Pi/2)*math.Erfc(r/math.Sqrt2)
	x[0], x[1] = v/zigf(r), r
	for i := 1; i < zigLayers-1; i++ {
		y := v/x[i] + zigf(x[i])
		if y >= 1 {
			return v, 1
		}
		x[i+1] = math.Sqrt(-2 * math.Log(y))
	}
	return v, v/x[zigLayers-1] + zigf(x[zigLayers-1]) - 1
}

// zigSetup finds r by bisection (the overshoot falls as r grows) and fills the tables.
func zigSetup() {
	lo, hi := 2.0, 5.0
	for range 200 {
		mid := (lo + hi) / 2
		if _, over := zigStack(mid, &zigX); over > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	zigR = hi
	zigV, _ = zigStack(zigR, &zigX)
	zigX[zigLayers] = 0
	for i := range zigX {
		zigF[i] = zigf(zigX[i])
	}
	zigF[0] = zigf(zigR) // the base layer's rectangle height, not f(x_0)
	for i := range zigLayers {
		k := uint32(zigX[i+1] / zigX[i] * (1 << (31 - zigBits)))
		w := float32(zigX[i] * zigScale)
		zigK[i], zigK[i+zigLayers] = k, k
		zigW[i], zigW[i+zigLayers] = w, -w
	}
	for j := range zigKW {
		zigKW[j] = uint64(zigK[j]) | uint64(math.Float32bits(zigW[j]))<<32
	}
}

// wordSource supplies the extra uniform 32-bit words that the rare slow path of the
// ziggurat needs. Implementations: *Local (cryptographic keystream) and *Channel (PCG).
type wordSource interface {
	word32() uint32
}

// gaussian maps one uniform word to a standard normal deviate, taking further words
// from src only when the fast path rejects.
func gaussian(w uint32, src wordSource) float32 {
	if z, ok := zigFast(w); ok {
		return z
	}
	return zigSlow(w, src)
}

// zigFast is the ziggurat's fast path; ok is false when the word needs zigSlow. It is
// small enough to inline into the kernels' loops (gaussian is not).
func zigFast(w uint32) (z float32, ok bool) {
	j := w & (2*zigLayers - 1)
	m := w >> (zigBits + 1)
	return float32(m) * zigW[j], m < zigK[j]
}

// zigSlow handles a word that may miss the fast path: the wedge test for layers 1–255,
// the tail for layer 0, a fresh word from src on rejection.
func zigSlow(w uint32, src wordSource) float32 {
	if z, ok := zigFast(w); ok {
		return z // same rounding as the fast path
	}
	return zigMissed(w, src)
}

// zigMissed is zigSlow for a word that is known to miss the fast path (the kernels'
// rejected lanes), without testing it again.
//
//go:noinline
func zigMissed(w uint32, src wordSource) float32 {
	for {
		i := w & (zigLayers - 1)
		m := w >> (zigBits + 1)
		var z float64
		switch {
		case i == 0:
			z = zigTail(src)
		default:
			x := float64(m) * zigScale * zigX[i]
			y := zigF[i] + unit(src.word32())*(zigF[i+1]-zigF[i])
			if zigAbove(i, x, y) {
				w = src.word32()
				if z, ok := zigFast(w); ok {
					return z // same rounding as the fast path
				}
				continue
			}
			z = x
		}
		// The sign bit 8 of w becomes the sign of z without a branch (−z, exactly).
		return float32(math.Float64frombits(math.Float64bits(z) ^ uint64(w&zigLayers)<<(63-zigBits)))
	}
}

// zigWedge holds, per layer i ≥ 1 whose edges x_{i+1} < x_i lie on one side of the
// inflection point x = 1, the lines that bound f on [x_{i+1}, x_i]: the chord through
// both edges and the tangents at both edges. f is convex for x > 1 (the chord lies
// above it, both tangents below) and concave for x < 1 (the other way round).
var zigWedge [zigLayers]struct {
	convex, concave bool
	slope           float64 // the chord: f_i + slope·(x_i − x); slope > 0
}

// zigBoundEps is the margin by which a point must clear a bound before zigAbove trusts
// the bound instead of math.Exp: far above the rounding errors of the bounds
// (≈ 1e-16) and of math.Exp and −x²/2 (< 1e-14 here), far below the layer heights
// (> 1e-5), so it only sends a few more points to the exact test.
const zigBoundEps = 1e-12

func init() {
	for i := 1; i < zigLayers; i++ {
		wd := &zigWedge[i]
		wd.convex, wd.concave = zigX[i+1] >= 1, zigX[i] <= 1
		wd.slope = (zigF[i+1] - zigF[i]) / (zigX[i] - zigX[i+1])
	}
}

// zigAbove reports whether the point (x, y) of layer i's rectangle lies on or above the
// curve, y ≥ math.Exp(−x²/2): the wedge test's rejection, with the same result as that
// expression for every input. Most points are decided by the chord and tangents of the
// layer (no transcendental function); points within zigBoundEps of a bound, points
// outside [x_{i+1}, x_i] and layers that straddle x = 1 take math.Exp.
func zigAbove(i uint32, x, y float64) bool {
	wd := &zigWedge[i]
	xi, xj := zigX[i], zigX[i+1]
	if (wd.convex || wd.concave) && xj <= x && x <= xi {
		chord := zigF[i] + wd.slope*(xi-x)
		ti := zigF[i] * (1 - xi*(x-xi)) // tangent at x_i
		tj := zigF[i+1] * (1 - xj*(x-xj))
		lo, hi := max(ti, tj), chord
		if wd.concave {
			lo, hi = chord, min(ti, tj)
		}
		if y >= hi+zigBoundEps {
			return true
		}
		if y < lo-zigBoundEps {
			return false
		}
	}
	return y >= math.Exp(-0.5*x*x)
}

// zigTail samples the normal tail beyond zigR (Marsaglia 1964): a = −ln(u1)/r,
// b = −ln(u2), accept r + a when 2b ≥ a².
func zigTail(src wordSource) float64 {
	for {
		a := -math.Log(unit(src.word32())) / zigR
		b := -math.Log(unit(src.word32()))
		if 2*b >= a*a {
			return zigR + a
		}
	}
}

// unit maps a word to the open interval (0, 1), never 0 so that its logarithm is finite.
func unit(w uint32) float64 {
	return (float64(w) + 0.5) * (1.0 / (1 << 32))
}
