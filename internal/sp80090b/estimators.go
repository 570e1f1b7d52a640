package sp80090b

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// zAlpha is the upper 0.995 quantile of the standard normal distribution,
// the 99 % confidence bound the standard uses throughout.
const zAlpha = 2.5758293035489008

// ErrInput reports a sequence that is not one bit per byte.
var ErrInput = errors.New("sp80090b: input must be one bit (0 or 1) per byte")

// Estimate is one estimator's result.
type Estimate struct {
	Name       string
	MinEntropy float64 // bits per input bit, in [0, 1]
	Ran        bool    // false: the sequence is too short for this estimator
	// P is the probability bound the estimate is −log2 of (per bit; for
	// Compression per 6-bit block, for Markov per 128-bit sequence).
	P float64
	// Detail holds the estimator's intermediate values, named as in the
	// standard (and as the reference implementation prints them).
	Detail map[string]float64
}

// Report is the result of NonIID.
type Report struct {
	Bits      int
	Estimates []Estimate
	// MinEntropy is the minimum over the estimators that ran: the assessed
	// min-entropy per bit.
	MinEntropy float64
}

// String lists the estimates, one per line, and the minimum.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bits\n", r.Bits)
	for _, e := range r.Estimates {
		if !e.Ran {
			fmt.Fprintf(&b, "  %-24s not run (too short)\n", e.Name)
			continue
		}
		fmt.Fprintf(&b, "  %-24s %.6f\n", e.Name, e.MinEntropy)
	}
	fmt.Fprintf(&b, "  %-24s %.6f", "min-entropy (minimum)", r.MinEntropy)
	return b.String()
}

// NonIID runs the ten non-IID estimators on bits (one bit per byte).
func NonIID(bits []byte) (Report, error) {
	for i, b := range bits {
		if b > 1 {
			return Report{}, fmt.Errorf("%w: byte %d is %d", ErrInput, i, b)
		}
	}
	if len(bits) < 2 {
		return Report{}, fmt.Errorf("%w: %d bits", ErrInput, len(bits))
	}
	tt, lrs := TupleEstimates(bits)
	r := Report{Bits: len(bits), Estimates: []Estimate{
		MostCommonValue(bits), Collision(bits), Markov(bits), Compression(bits), tt, lrs,
		MultiMCW(bits), Lag(bits), MultiMMC(bits), LZ78Y(bits),
	}}
	r.MinEntropy = 1
	for _, e := range r.Estimates {
		if e.Ran {
			r.MinEntropy = min(r.MinEntropy, e.MinEntropy)
		}
	}
	return r, nil
}

// upper is the 99 % upper confidence bound of a proportion p from n
// observations (n − 1 in the variance, as the standard writes it), at most 1.
func upper(p float64, n int) float64 {
	return min(1, p+zAlpha*math.Sqrt(p*(1-p)/float64(n-1)))
}

// MostCommonValue is the estimate of §6.3.1.
func MostCommonValue(s []byte) Estimate {
	ones := 0
	for _, b := range s {
		ones += int(b)
	}
	mode := max(ones, len(s)-ones)
	p := float64(mode) / float64(len(s))
	pu := upper(p, len(s))
	return Estimate{Name: "Most Common Value", Ran: true, P: pu, MinEntropy: -math.Log2(pu),
		Detail: map[string]float64{"Mode count": float64(mode), "p-hat": p, "p_u": pu}}
}

// Collision is the estimate of §6.3.2 for binary data. Walking the sequence,
// each collision takes t = 2 bits (two equal bits) or t = 3 (among three
// bits two are equal). For independent bits with P(1) = p the mean wait is
// E[t] = 2 + 2p(1−p), so the standard's equation of step 7 reduces to
// X̄' = −2p² + 2p + 2, solved in closed form (p ≥ 1/2); X̄' ≥ 2.5 has no
// solution and gives 1 bit per bit (step 8).
func Collision(s []byte) Estimate {
	e := Estimate{Name: "Collision", Detail: map[string]float64{}}
	i, v := 0, 0
	var sq float64
	for i < len(s)-1 {
		t := 2
		if s[i] != s[i+1] {
			if i >= len(s)-2 {
				break
			}
			t = 3
		}
		v++
		sq += float64(t * t)
		i += t
	}
	if v < 2 {
		return e
	}
	mean := float64(i) / float64(v)
	sigma := math.Sqrt((sq - float64(i)*mean) / float64(v-1))
	xp := max(2, mean-zAlpha*sigma/math.Sqrt(float64(v)))
	e.Ran = true
	e.Detail["v"], e.Detail["Sum t_i"], e.Detail["X-bar"], e.Detail["sigma-hat"], e.Detail["X-bar'"] =
		float64(v), float64(i), mean, sigma, xp
	e.P, e.MinEntropy = 0.5, 1
	if xp < 2.5 {
		e.P = 0.5 + math.Sqrt(1.25-0.5*xp)
		e.MinEntropy = -math.Log2(e.P)
	}
	e.Detail["p"] = e.P
	return e
}

// Markov is the estimate of §6.3.3 for binary data: the probability of the
// most likely 128-bit sequence under the fitted first-order Markov model,
// among the six candidate sequences of the standard.
func Markov(s []byte) Estimate {
	var c0, c00, c10 int
	for i := 0; i < len(s)-1; i++ {
		if s[i] == 0 {
			c0++
			if s[i+1] == 0 {
				c00++
			}
		} else if s[i+1] == 0 {
			c10++
		}
	}
	c1 := len(s) - 1 - c0
	var p00, p01, p10, p11 float64
	if c0 > 0 {
		p00 = float64(c00) / float64(c0)
		p01 = 1 - p00
	}
	if c1 > 0 {
		p10 = float64(c10) / float64(c1)
		p11 = 1 - p10
	}
	if s[len(s)-1] == 0 {
		c0++
	}
	p0 := float64(c0) / float64(len(s))
	p1 := 1 - p0
	lg := math.Log2
	h := 128.0
	cand := func(ok bool, v float64) {
		if ok {
			h = min(h, v)
		}
	}
	cand(p00 > 0, -lg(p0)-127*lg(p00))                      // 00…0
	cand(p01 > 0 && p10 > 0, -lg(p0)-64*lg(p01)-63*lg(p10)) // 0101…01
	cand(p01 > 0 && p11 > 0, -lg(p0)-lg(p01)-126*lg(p11))   // 011…1
	cand(p10 > 0 && p00 > 0, -lg(p1)-lg(p10)-126*lg(p00))   // 100…0
	cand(p10 > 0 && p01 > 0, -lg(p1)-64*lg(p10)-63*lg(p01)) // 1010…10
	cand(p11 > 0, -lg(p1)-127*lg(p11))                      // 11…1
	return Estimate{Name: "Markov", Ran: true, P: math.Exp2(-h), MinEntropy: min(h/128, 1),
		Detail: map[string]float64{"P_0": p0, "P_1": p1, "P_{0,0}": p00, "P_{0,1}": p01, "P_{1,0}": p10,
			"P_{1,1}": p11, "p-hat_max": math.Exp2(-h)}}
}

// Compression is the estimate of §6.3.4 for binary data (Maurer's universal
// statistic on 6-bit blocks, d = 1000 dictionary blocks).
func Compression(s []byte) Estimate {
	const b, d = 6, 1000
	e := Estimate{Name: "Compression", Detail: map[string]float64{}}
	nb := len(s) / b
	if nb <= d+1 {
		return e
	}
	block := func(i int) int {
		x := 0
		for j := range b {
			x = x<<1 | int(s[i*b+j]&1)
		}
		return x
	}
	var dict [1 << b]int
	for i := range d {
		dict[block(i)] = i + 1
	}
	v := nb - d
	var sum, sq float64
	for i := d; i < nb; i++ {
		x := block(i)
		l := math.Log2(float64(i + 1 - dict[x]))
		sum += l
		sq += l * l
		dict[x] = i + 1
	}
	mean := sum / float64(v)
	sigma := 0.5907 * math.Sqrt(sq/float64(v-1)-mean*mean)
	xp := mean - zAlpha*sigma/math.Sqrt(float64(v))
	e.Ran = true
	e.Detail["X-bar"], e.Detail["sigma-hat"], e.Detail["X-bar'"] = mean, sigma, xp
	const k = 1 << b
	expect := func(p float64) float64 { return compressionG(p, d, nb) + (k-1)*compressionG((1-p)/(k-1), d, nb) }
	lo, hi := 1.0/k, 1.0
	if expect(lo) <= xp { // no solution: full entropy (step 8)
		e.P, e.MinEntropy = lo, 1
		e.Detail["p"] = lo
		return e
	}
	// expect decreases in p: bisect for expect(p) = X̄'.
	for range 200 {
		mid := (lo + hi) / 2
		if mid <= lo || mid >= hi {
			break
		}
		if expect(mid) > xp {
			lo = mid
		} else {
			hi = mid
		}
	}
	e.P = (lo + hi) / 2
	e.MinEntropy = min(1, -math.Log2(e.P)/b)
	e.Detail["p"] = e.P
	return e
}

// compressionG is G(z) of §6.3.4 step 7:
//
//	G(z) = 1/v · Σ_{t=d+1}^{nb} Σ_{u=1}^{t} log2(u)·F(z, t, u),
//	F(z, t, u) = z²(1−z)^{u−1} for u < t, z(1−z)^{t−1} for u = t,
//
// computed in one pass: the inner sum over u < t is a running prefix sum.
func compressionG(z float64, d, nb int) float64 {
	var first, second float64 // Σ_t Σ_{u<t} log2(u)(1−z)^{u−1} and Σ_t log2(t)(1−z)^{t−1}
	var prefix float64        // Σ_{u<t} log2(u)(1−z)^{u−1}
	pw := 1.0                 // (1−z)^{t−1}
	for t := 1; t <= nb; t++ {
		lt := math.Log2(float64(t))
		if t > d {
			first += prefix
			second += lt * pw
		}
		prefix += lt * pw
		pw *= 1 - z
	}
	return (z*z*first + z*second) / float64(nb-d)
}

// TupleEstimates are the t-Tuple (§6.3.5) and Longest Repeated Substring
// (§6.3.6) estimates, both from the counts of repeated tuples, which one
// suffix array gives for every tuple length.
func TupleEstimates(s []byte) (tuple, lrs Estimate) {
	tuple = Estimate{Name: "t-Tuple", Detail: map[string]float64{}}
	lrs = Estimate{Name: "LRS", Detail: map[string]float64{}}
	n := len(s)
	q, pairs := tupleCounts(s)
	v := len(q) - 1 // the longest repeated substring
	u := 1
	for u <= v && q[u] >= 35 {
		u++
	}
	pmax := -1.0
	for i := 1; i < u; i++ {
		pmax = max(pmax, math.Pow(float64(q[i])/float64(n-i+1), 1/float64(i)))
	}
	if pmax > 0 {
		pu := upper(pmax, n)
		tuple.Ran, tuple.P, tuple.MinEntropy = true, pu, -math.Log2(pu)
		tuple.Detail["t"], tuple.Detail["p-hat_max"], tuple.Detail["p_u"] = float64(u-1), pmax, pu
	}
	lrs.Detail["u"], lrs.Detail["v"] = float64(u), float64(v)
	if v < u {
		return tuple, lrs
	}
	pmax = 0
	for w := u; w <= v; w++ {
		choices := float64(n-w) * float64(n-w+1) / 2
		pmax = max(pmax, math.Pow(float64(pairs[w])/choices, 1/float64(w)))
	}
	pu := upper(pmax, n)
	lrs.Ran, lrs.P, lrs.MinEntropy = true, pu, -math.Log2(pu)
	lrs.Detail["p-hat"], lrs.Detail["p_u"] = pmax, pu
	return tuple, lrs
}

// MultiMCW is the MultiMCW prediction estimate of §6.3.7 (windows 63, 255,
// 1023 and 4095). Binary windows of odd length never tie; the winner among
// the subpredictors is the last one whose score reaches the best.
func MultiMCW(s []byte) Estimate {
	win := [4]int{63, 255, 1023, 4095}
	e := Estimate{Name: "MultiMCW Prediction"}
	if len(s) < win[3]+1 {
		return e
	}
	var ones, score [4]int
	for j, w := range win {
		for _, b := range s[:w] {
			ones[j] += int(b)
		}
	}
	winner, c, run, maxRun := 0, 0, 0, 0
	for i := win[0]; i < len(s); i++ {
		var pred [4]byte
		for j, w := range win {
			if 2*ones[j] > w {
				pred[j] = 1
			}
		}
		if pred[winner] == s[i] {
			c++
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
		for j, w := range win {
			if i >= w && pred[j] == s[i] {
				score[j]++
				if score[j] >= score[winner] {
					winner = j
				}
			}
		}
		for j, w := range win {
			if i >= w {
				ones[j] += int(s[i]) - int(s[i-w])
			}
		}
	}
	return prediction(e, c, len(s)-win[0], maxRun)
}

// Lag is the Lag prediction estimate of §6.3.8 (lags 1 … 128).
func Lag(s []byte) Estimate {
	const maxLag = 128
	var score [maxLag]int
	winner, high, c, run, maxRun := 0, 0, 0, 0, 0
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-winner-1] {
			c++
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
		for d := 1; d <= maxLag && d <= i; d++ {
			if s[i-d] == s[i] {
				score[d-1]++
				if score[d-1] >= high {
					winner, high = d-1, score[d-1]
				}
			}
		}
	}
	return prediction(Estimate{Name: "Lag Prediction"}, c, len(s)-1, maxRun)
}

// MultiMMC is the MultiMMC prediction estimate of §6.3.9: Markov models of
// order 1 … 16, each dictionary capped at 100 000 (prefix, next) entries. A
// model predicts the more frequent successor of its prefix (1 on a tie); a
// model whose prefix was never seen makes no prediction.
func MultiMMC(s []byte) Estimate {
	const orders, maxEntries = 16, 100000
	e := Estimate{Name: "MultiMMC Prediction"}
	if len(s) < orders+2 {
		return e
	}
	var dict [orders][][2]int32
	var entries, score [orders]int
	pattern := 0
	for d := range orders {
		dict[d] = make([][2]int32, 1<<(d+1))
		pattern = pattern<<1 | int(s[d])
		dict[d][pattern&(1<<(d+1)-1)][s[d+1]] = 1
		entries[d] = 1
	}
	winner, c, run, maxRun := 0, 0, 0, 0
	for i := 2; i < len(s); i++ {
		found, cur := false, winner
		pattern = 0
		for d := 0; d < orders && d <= i-2; d++ {
			pattern |= int(s[i-d-1]) << d
			ent := &dict[d][pattern]
			var pred byte
			if d == 0 || found {
				cnt := ent[1]
				pred = 1
				if ent[0] > ent[1] {
					pred, cnt = 0, ent[0]
				}
				found = cnt != 0
			}
			if !found {
				if entries[d] < maxEntries {
					ent[s[i]] = 1
					entries[d]++
				}
				continue
			}
			if pred == s[i] {
				score[d]++
				if score[d] >= score[winner] {
					winner = d
				}
				if d == cur {
					c++
					run++
					maxRun = max(maxRun, run)
				}
			} else if d == cur {
				run = 0
			}
			if ent[s[i]] != 0 {
				ent[s[i]]++
			} else if entries[d] < maxEntries {
				ent[s[i]] = 1
				entries[d]++
			}
		}
	}
	return prediction(e, c, len(s)-2, maxRun)
}

// LZ78Y is the LZ78Y prediction estimate of §6.3.10: prefixes of 1 … 16
// bits, at most 65 536 dictionary entries in all; the prediction is the
// successor with the highest count over all prefixes found (the longest
// prefix on a tie; 1 on a tie within a prefix).
func LZ78Y(s []byte) Estimate {
	const bLen, maxDict = 16, 65536
	e := Estimate{Name: "LZ78Y Prediction"}
	if len(s) < bLen+3 {
		return e
	}
	var dict [bLen][][2]int32
	for j := range bLen {
		dict[j] = make([][2]int32, 1<<(j+1))
	}
	entries, pattern := 0, 0
	for j := range bLen {
		pattern |= int(s[bLen-j-1]) << j
		dict[j][pattern][s[bLen]] = 1
		entries++
	}
	c, run, maxRun := 0, 0, 0
	for i := bLen + 1; i < len(s); i++ {
		full := 0
		for _, b := range s[i-bLen : i] {
			full = full<<1 | int(b)
		}
		have, pred, best := false, byte(0), int32(0)
		for j := bLen; j > 0; j-- {
			ent := &dict[j-1][full&(1<<j-1)]
			cnt, y := ent[1], byte(1)
			if ent[0] > ent[1] {
				cnt, y = ent[0], 0
			}
			if cnt != 0 {
				if cnt > best {
					best, pred, have = cnt, y, true
				}
				ent[s[i]]++
			} else if entries < maxDict {
				ent[s[i]] = 1
				entries++
			}
		}
		if have && pred == s[i] {
			c++
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
	}
	return prediction(e, c, len(s)-bLen-1, maxRun)
}

// prediction finishes a prediction estimate (§6.3.7–10 steps 3–4) from c
// correct predictions out of n and the longest run of correct ones: the
// larger of the global bound P_global' and, when the run is too long for
// it, the local bound P_local.
func prediction(e Estimate, c, n, maxRun int) Estimate {
	pg := float64(c) / float64(n)
	pgp := 1 - math.Pow(0.01, 1/float64(n))
	if pg > 0 {
		pgp = upper(pg, n)
	}
	r := maxRun + 1
	p := max(0.5, pgp)
	e.Detail = map[string]float64{"C": float64(c), "r": float64(r), "N": float64(n), "P_global": pg, "P_global'": pgp}
	if p < 1 && runBound(p, r, n) > math.Log(0.99) {
		pl := localBound(r, n, p)
		e.Detail["P_local"] = pl
		p = max(p, pl)
	}
	e.Ran, e.P, e.MinEntropy = true, p, -math.Log2(p)
	return e
}

// runBound is the natural log of the probability that n predictions, each
// right with probability p, contain no run of r right ones (the standard's
// approximation: (1 − p·x) / ((r + 1 − r·x)·q) · x^−(n+1), with x the root
// of 1 − x + q·p^r·x^{r+1} found by fixed-point iteration from 1).
func runBound(p float64, r, n int) float64 {
	q := 1 - p
	x, last := 1.0, 0.0
	for i := 0; i <= 65 && x-last > 1e-19*x; i++ {
		last = x
		x = 1 + q*math.Pow(p, float64(r))*math.Pow(x, float64(r+1))
	}
	return math.Log(1-p*x) - math.Log((float64(r)+1-float64(r)*x)*q) - float64(n+1)*math.Log(x)
}

// localBound finds P_local in [lo, 1]: the p at which a run of r right
// predictions among n has probability 1 %. runBound decreases in p.
func localBound(r, n int, lo float64) float64 {
	target := math.Log(0.99)
	hi := 1.0
	for range 200 {
		mid := (lo + hi) / 2
		if mid <= lo || mid >= hi {
			break
		}
		if runBound(mid, r, n) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
