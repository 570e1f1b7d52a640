package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// maxBars is the most seeds the disagreement plot draws as bars; above it,
// points.
const maxBars = 150

// ends names the two ends of a direction for axis titles.
type ends struct{ from, to string }

func directionEnds(name string) ends {
	if from, to, ok := endNames(name); ok {
		return ends{from + "'s", to + "'s"}
	}
	return ends{"initiator's", "responder's"}
}

// countsPlot draws the initiator's against the responder's counts on equal
// scales, with the diagonal and the two means.
func countsPlot(id string, d *Direction, e ends) *plot {
	p := newPlot(id, "Counts of the same rounds", e.from+" count", e.to+" count")
	ok, dropped := finitePairs(d.Counts)
	s := thin(ok, MaxPoints)
	if len(s) == 0 {
		p.caption("No counts were recorded.")
		p.pairNotes(len(d.Counts), 0, dropped)
		return p.empty("no data")
	}
	xlo, xhi := bounds(s, 0)
	ylo, yhi := bounds(s, 1)
	sp := niceSpan(math.Min(xlo, ylo), math.Max(xhi, yhi), nTicks)
	a := axes{sp, sp}
	p.setAxes(a)
	p.scatterPoints(a, s)
	p.Lines = append(p.Lines, line{a.px(sp.lo), a.py(sp.lo), a.px(sp.hi), a.py(sp.hi), "diag"})
	m := pairMoments(ok)
	if finite(m.mx) && finite(m.my) {
		p.Lines = append(p.Lines,
			line{a.px(m.mx), a.py(sp.lo), a.px(m.mx), a.py(sp.hi), "mean"},
			line{a.px(sp.lo), a.py(m.my), a.px(sp.hi), a.py(m.my), "mean"})
	}
	p.caption("%s rounds; means %s %s, %s %s (dashed); r = %s.",
		integer(len(ok)), e.from, fixed(m.mx, 2), e.to, fixed(m.my, 2), fixed(m.r, 3))
	p.caption("The dotted line is equal counts: the points should hug it.")
	p.pairNotes(len(d.Counts), len(s), dropped)
	return p
}

// evePlot draws the initiator's counts against the eavesdropper's
// estimates of them.
func evePlot(id string, d *Direction, e ends) *plot {
	p := newPlot(id, "An eavesdropper's estimates", e.from+" count", "Eve's estimate")
	ok, dropped := finitePairs(d.Eve)
	s := thin(ok, MaxPoints)
	p.caption("r = %s between Eve's estimates and the counts; Eve's bits agree with %s of the kept bits.",
		eveR(d), ofKept(d, d.EveAgreement))
	if len(s) == 0 {
		p.caption("No estimates were recorded.")
		p.pairNotes(len(d.Eve), 0, dropped)
		return p.empty("no data")
	}
	xlo, xhi := bounds(s, 0)
	ylo, yhi := bounds(s, 1)
	a := axes{niceSpan(xlo, xhi, nTicks), niceSpan(ylo, yhi, nTicks)}
	p.setAxes(a)
	p.scatterPoints(a, s)
	p.caption("A shapeless cloud (r near 0, agreement near 50 %%) means the estimates tell Eve nothing.")
	p.pairNotes(len(d.Eve), len(s), dropped)
	return p
}

// seedsPlot draws the cumulative number of seeds against time as a step
// line; seeds whose fingerprints differ are marked red.
func seedsPlot(id string, d *Direction, run time.Duration) *plot {
	p := newPlot(id, "Seeds over time", "seconds since start", "seeds")
	if len(d.Seeds) == 0 {
		p.caption("No seeds were made.")
		return p.empty("no seeds")
	}
	at := make([]float64, len(d.Seeds))
	for i, s := range d.Seeds {
		at[i] = s.At.Seconds()
	}
	sort.Float64s(at) // "in order" is trusted for the count, not for time
	end := math.Max(run.Seconds(), at[len(at)-1])
	a := axes{niceSpan(math.Min(0, at[0]), end, nTicks), niceSpan(0, float64(len(at)), nTicks)}
	p.setAxes(a)
	p.Path = stepPath(a, at, end)
	for i, s := range d.Seeds {
		if !s.Match {
			p.Marked = append(p.Marked, point{a.px(s.At.Seconds()), a.py(float64(i + 1))})
		}
	}
	p.caption("%s in %s s: %s seeds/s.", plural(len(d.Seeds), "seed"), fixed(end, 1), seedRate(len(d.Seeds), run))
	if len(p.Marked) > 0 {
		p.caption("Red: %s whose fingerprints differ between the ends.", plural(len(p.Marked), "seed"))
	}
	return p
}

// stepPath returns the "d" of a step line through the sorted times at,
// rising by one at each, drawn until end. At most MaxPoints steps are
// drawn; the heights stay exact.
func stepPath(a axes, at []float64, end float64) string {
	idx := make([]int, len(at))
	for i := range idx {
		idx[i] = i
	}
	b := []byte("M" + a.px(math.Min(0, at[0])) + " " + a.py(0))
	for _, i := range thin(idx, MaxPoints) {
		b = append(b, 'H')
		b = append(b, a.px(at[i])...)
		b = append(b, 'V')
		b = append(b, a.py(float64(i+1))...)
	}
	b = append(b, 'V')
	b = append(b, a.py(float64(len(at)))...)
	b = append(b, 'H')
	b = append(b, a.px(end)...)
	return string(b)
}

// disagreementPlot draws each seed's disagreement in percent by seed
// index: bars for a few seeds, points for many; mismatches in red.
func disagreementPlot(id string, d *Direction) *plot {
	p := newPlot(id, "Disagreement per key", "seed", "disagreement (%)")
	type val struct {
		i     int
		v     float64
		match bool
	}
	var vs []val
	for i, s := range d.Seeds {
		if finite(s.Disagreement) {
			vs = append(vs, val{i + 1, s.Disagreement * 100, s.Match})
		}
	}
	dropped := len(d.Seeds) - len(vs)
	if len(vs) == 0 {
		p.caption("No seeds were made.")
		if dropped > 0 {
			p.caption("%s with a NaN or infinite disagreement left out.", plural(dropped, "seed"))
		}
		return p.empty("no seeds")
	}
	lo, hi, sum := 0.0, 0.0, 0.0
	for _, v := range vs {
		lo, hi, sum = math.Min(lo, v.v), math.Max(hi, v.v), sum+v.v
	}
	ymax := hi
	if hi == lo {
		ymax = lo + 1
	}
	a := axes{tightSpan(0.5, float64(len(d.Seeds))+0.5, nTicks), niceSpan(lo, ymax, nTicks)}
	p.setAxes(a)
	shown := thin(vs, MaxPoints)
	width := areaW / (a.x.hi - a.x.lo) * 0.8
	for _, v := range shown {
		x, y := float64(v.i), v.v
		switch {
		case len(vs) <= maxBars:
			class := "bar"
			if !v.match {
				class = "bad"
			}
			top, base := marginT+areaH-a.y.frac(math.Max(y, 0))*areaH, marginT+areaH-a.y.frac(math.Min(y, 0))*areaH
			p.Bars = append(p.Bars, bar{coord(marginL + a.x.frac(x)*areaW - width/2), coord(top), coord(width), coord(base - top), class})
		case v.match:
			p.Points = append(p.Points, point{a.px(x), a.py(y)})
		default:
			p.Marked = append(p.Marked, point{a.px(x), a.py(y)})
		}
	}
	mean := sum / float64(len(vs))
	if finite(mean) {
		p.Lines = append(p.Lines, line{a.px(a.x.lo), a.py(mean), a.px(a.x.hi), a.py(mean), "mean"})
	}
	p.caption("Before reconciliation; mean %s %% (dashed), max %s %%.", fixed(mean, 2), fixed(hi, 2))
	if d.Mismatches > 0 || hasMismatch(d.Seeds) {
		p.caption("Red: seeds whose fingerprints differ between the ends.")
	}
	if len(shown) < len(vs) {
		p.caption("%s of %s seeds shown, evenly spaced.", integer(len(shown)), integer(len(vs)))
	}
	if dropped > 0 {
		p.caption("%s with a NaN or infinite disagreement left out.", plural(dropped, "seed"))
	}
	return p
}

func hasMismatch(s []Seed) bool {
	for _, x := range s {
		if !x.Match {
			return true
		}
	}
	return false
}

// seedRate formats seeds per second of the run.
func seedRate(n int, run time.Duration) string {
	if run <= 0 {
		return "n/a"
	}
	return fixed(float64(n)/run.Seconds(), 2)
}

// plural returns "1 seed", "2 seeds".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return integer(n) + " " + noun + "s"
}

// linePlots draws the line over time from the samples and the switches:
// frames per second, FEC corrected symbols and uncorrectable codewords per
// second, one line per direction, the key switches as vertical marks; and
// the key-switch timeline, the switches of each direction counted up.
func linePlots(d *Data, names [2]string) []*plot {
	legend := fmt.Sprintf("Blue: %s, brown: %s.", names[0], names[1])
	var at []float64
	var series [3][2][]float64
	for _, s := range d.Timeline {
		if !finite(s.At.Seconds()) {
			continue
		}
		at = append(at, s.At.Seconds())
		for dir := range 2 {
			series[0][dir] = append(series[0][dir], s.FramesPerSecond[dir])
			series[1][dir] = append(series[1][dir], s.FECCorrected[dir])
			series[2][dir] = append(series[2][dir], s.FECUncorrectable[dir])
		}
	}
	var switchAt [2][]float64
	for _, s := range d.Switches {
		if (s.Direction == 0 || s.Direction == 1) && finite(s.At.Seconds()) {
			switchAt[s.Direction] = append(switchAt[s.Direction], s.At.Seconds())
		}
	}
	end := d.Duration.Seconds()
	if len(at) > 0 {
		end = math.Max(end, at[len(at)-1])
	}
	plots := []*plot{
		timePlot("line-fps", "Frames per second", "frames/s", at, series[0], switchAt, end),
		timePlot("line-fec", "FEC corrections", "corrected symbols/s", at, series[1], switchAt, end),
		timePlot("line-uncorrectable", "Uncorrectable codewords", "codewords/s", at, series[2], switchAt, end),
	}
	plots[0].caption("Frames each sender sent per second. %s", legend)
	plots[1].caption("RS(255,239) symbols the receiver corrected per second: the fibre's bit errors the FEC removed. %s", legend)
	plots[2].caption("RS(255,239) codewords the FEC could not correct per second (0 on a clean line): the client frames such an OTN frame carried are dropped and counted, never delivered damaged. %s", legend)
	if len(at) > 0 {
		var total [2]float64 // rates × their intervals: the run's totals
		for i := range at {
			prev := 0.0
			if i > 0 {
				prev = at[i-1]
			}
			for dir := range 2 {
				if v := series[2][dir][i]; finite(v) {
					total[dir] += v * (at[i] - prev)
				}
			}
		}
		plots[2].caption("In all about %s %s, %s %s.", names[0], fixed(total[0], 0), names[1], fixed(total[1], 0))
	}
	for _, p := range plots[:3] {
		if len(switchAt[0])+len(switchAt[1]) > 0 {
			p.caption("Green ticks: key switches.")
		}
	}

	sw := newPlot("line-switches", "Key switches", "seconds since start", "switches since start")
	n := max(len(switchAt[0]), len(switchAt[1]))
	if n == 0 {
		sw.caption("No key switches.")
		return append(plots, sw.empty("no key switches"))
	}
	a := axes{niceSpan(0, math.Max(end, 1e-9), nTicks), niceSpan(0, float64(n), nTicks)}
	sw.setAxes(a)
	for dir := range 2 {
		if len(switchAt[dir]) == 0 {
			continue
		}
		t := slices.Clone(switchAt[dir])
		slices.Sort(t)
		sw.Series = append(sw.Series, path{stepPath(a, t, math.Max(end, t[len(t)-1])), fmt.Sprintf("s%d", dir)})
	}
	sw.caption("Each direction's switches to a new session key, counted up (%s and %s); the table below lists them with the 8-bit epoch the frames carry. %s",
		integer(len(switchAt[0])), integer(len(switchAt[1])), legend)
	return append(plots, sw)
}

// timePlot draws one line per direction of ys against at (seconds), with
// the switch times as short ticks at the top of the area.
func timePlot(id, title, ylabel string, at []float64, ys [2][]float64, switchAt [2][]float64, end float64) *plot {
	p := newPlot(id, title, "seconds since start", ylabel)
	if len(at) == 0 {
		p.caption("No samples were taken.")
		return p.empty("no data")
	}
	hi := 0.0
	for dir := range 2 {
		for _, v := range ys[dir] {
			if finite(v) {
				hi = math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		hi = 1
	}
	a := axes{niceSpan(0, math.Max(end, 1e-9), nTicks), niceSpan(0, hi, nTicks)}
	p.setAxes(a)
	idx := make([]int, len(at))
	for i := range idx {
		idx[i] = i
	}
	for dir := range 2 {
		var b strings.Builder
		for _, i := range thin(idx, MaxPoints) {
			v := ys[dir][i]
			if !finite(v) {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("M")
			} else {
				b.WriteString("L")
			}
			b.WriteString(a.px(at[i]) + " " + a.py(v))
		}
		if b.Len() > 0 {
			p.Series = append(p.Series, path{b.String(), fmt.Sprintf("s%d", dir)})
		}
	}
	for dir := range 2 {
		for _, t := range thin(switchAt[dir], MaxPoints) {
			if t < a.x.lo || t > a.x.hi {
				continue
			}
			y0 := marginT + float64(dir)*8
			p.Lines = append(p.Lines, line{a.px(t), coord(y0), a.px(t), coord(y0 + 8), "switch"})
		}
	}
	return p
}
