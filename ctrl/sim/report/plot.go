package report

import (
	"fmt"
	"math"
	"strings"
)

// Plot geometry in SVG user units: the viewBox and the margins around the
// plotting area, which hold the tick labels and axis titles.
const (
	plotW, plotH                    = 440, 340
	marginL, marginR, marginT, marB = 62, 14, 12, 44
	areaW, areaH                    = plotW - marginL - marginR, plotH - marginT - marB
	nTicks                          = 5
	pointR                          = "1.6"
)

// plot is what the "plot" template draws. Every number is preformatted; the
// template only places and escapes.
type plot struct {
	ID, Title     string
	Caption       []string // sentences under the plot
	W, H          int
	Left, Top     string
	AreaW, AreaH  string
	XLabel        string
	YLabel        string
	XLabelX       string
	XLabelY       string
	YLabelY       string
	XTicks        []tick
	YTicks        []tick
	Lines         []line  // reference lines drawn over the points
	Path          string  // a step line, "d" of a path, empty if none
	Series        []path  // further lines, each with its class (see the legend in the caption)
	Bars          []bar   // bars from the x axis
	Points        []point // ordinary points (circles)
	Marked        []point // highlighted points (red circles)
	NoData        string  // shown in the middle of an empty plot
	XRight, YDown string  // far edges of the area
}

type tick struct{ Pos, Label string }

type line struct{ X1, Y1, X2, Y2, Class string }

type bar struct{ X, Y, W, H, Class string }

type point struct{ X, Y string }

type path struct{ D, Class string }

// axes maps data coordinates onto the plotting area.
type axes struct{ x, y span }

func (a axes) px(v float64) string { return coord(marginL + a.x.frac(v)*areaW) }
func (a axes) py(v float64) string { return coord(marginT + areaH - a.y.frac(v)*areaH) }

// newPlot returns an empty plot with its frame placed.
func newPlot(id, title, xlabel, ylabel string) *plot {
	return &plot{
		ID: id, Title: title, W: plotW, H: plotH,
		Left: coord(marginL), Top: coord(marginT),
		AreaW: coord(areaW), AreaH: coord(areaH),
		XRight: coord(marginL + areaW), YDown: coord(marginT + areaH),
		XLabel: xlabel, YLabel: ylabel,
		XLabelX: coord(marginL + areaW/2), XLabelY: coord(plotH - 8),
		YLabelY: coord(marginT + areaH/2),
	}
}

// setAxes fixes the scales and writes the ticks.
func (p *plot) setAxes(a axes) {
	for _, v := range a.x.ticks() {
		p.XTicks = append(p.XTicks, tick{a.px(v), a.x.label(v)})
	}
	for _, v := range a.y.ticks() {
		p.YTicks = append(p.YTicks, tick{a.py(v), a.y.label(v)})
	}
}

func (p *plot) caption(format string, args ...any) {
	p.Caption = append(p.Caption, fmt.Sprintf(format, args...))
}

// empty marks the plot as having nothing to show, on a unit frame.
func (p *plot) empty(note string) *plot {
	p.NoData = note
	p.setAxes(axes{niceSpan(0, 1, nTicks), niceSpan(0, 1, nTicks)})
	return p
}

// thin returns at most max elements of s, evenly spaced, first one kept.
func thin[T any](s []T, max int) []T {
	if len(s) <= max {
		return s
	}
	out := make([]T, max)
	for i := range out {
		out[i] = s[i*len(s)/max]
	}
	return out
}

// finitePairs returns the pairs of s with both values finite, and how many
// it dropped.
func finitePairs(s [][2]float64) (ok [][2]float64, dropped int) {
	ok = make([][2]float64, 0, len(s))
	for _, p := range s {
		if finite(p[0]) && finite(p[1]) {
			ok = append(ok, p)
		}
	}
	return ok, len(s) - len(ok)
}

// moments are the means, standard deviations and Pearson's r of pairs.
type moments struct{ mx, my, sx, sy, r float64 }

func pairMoments(s [][2]float64) moments {
	var m moments
	n := float64(len(s))
	for _, p := range s {
		m.mx += p[0] / n
		m.my += p[1] / n
	}
	var cxy, cxx, cyy float64
	for _, p := range s {
		dx, dy := p[0]-m.mx, p[1]-m.my
		cxy, cxx, cyy = cxy+dx*dy, cxx+dx*dx, cyy+dy*dy
	}
	m.sx, m.sy = math.Sqrt(cxx/n), math.Sqrt(cyy/n)
	m.r = cxy / math.Sqrt(cxx*cyy)
	return m
}

// bounds returns the smallest and largest values of column c.
func bounds(s [][2]float64, c int) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range s {
		lo, hi = math.Min(lo, p[c]), math.Max(hi, p[c])
	}
	return lo, hi
}

// scatterPoints places the pairs as points. The thinning note goes to the
// caption.
func (p *plot) scatterPoints(a axes, s [][2]float64) {
	p.Points = make([]point, len(s))
	for i, v := range s {
		p.Points[i] = point{a.px(v[0]), a.py(v[1])}
	}
}

// pairNotes adds the caption sentences about what was left out.
func (p *plot) pairNotes(total, shown, dropped int) {
	if shown < total-dropped {
		p.caption("%s of %s pairs shown, evenly spaced.", integer(shown), integer(total-dropped))
	}
	if dropped > 0 {
		p.caption("%s with a NaN or infinite value left out.", plural(dropped, "pair"))
	}
}

// endNames splits "A→B" into its two ends; ok is false for other names.
func endNames(name string) (from, to string, ok bool) {
	from, to, ok = strings.Cut(name, "→")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	return from, to, ok && from != "" && to != ""
}
