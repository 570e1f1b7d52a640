package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"time"
)

//go:embed page.html.tmpl
var pageSource string

// pageTemplate renders a page; html/template escapes every value, in the
// HTML and in the inline SVG alike.
var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// page is the template's view of Data: strings ready to show.
type page struct {
	Title, Generated, Duration string
	Verdict                    string
	VerdictBad                 bool
	LinePlots                  []*plot
	Switches                   []switchRow
	ClientVerdict              string
	ClientBad                  bool
	Profile                    []keyValue
	Names                      [2]string
	Summary                    []summaryRow
	Dirs                       []dirView
}

type keyValue struct{ Key, Value string }

type switchRow struct {
	At, Direction, Number, Epoch, Fingerprint string
}

type summaryRow struct {
	Label string
	Cells [2]cell
}

type cell struct {
	Text string
	Bad  bool // shown in red
}

type dirView struct {
	Name, ID string
	Plots    []*plot
	Seeds    []seedRow
}

type seedRow struct {
	Index                         int
	At, Fingerprint, Disagreement string
	KeptBits, LeakedBits, Blocks  string
	Match                         bool
}

func buildPage(d *Data) *page {
	p := &page{Title: d.Title, Duration: d.Duration.Round(time.Millisecond).String()}
	if p.Title == "" {
		p.Title = "otkd demo"
	}
	if !d.Generated.IsZero() {
		p.Generated = d.Generated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for k, v := range d.Profile {
		p.Profile = append(p.Profile, keyValue{k, v})
	}
	sort.Slice(p.Profile, func(i, j int) bool { return p.Profile[i].Key < p.Profile[j].Key })
	for i := range d.Directions {
		p.Names[i] = directionName(d, i)
	}
	p.Summary = summary(d)
	if c := d.Client; c != nil {
		p.Summary = append(p.Summary, clientSummary(c)...)
		p.ClientVerdict, p.ClientBad = c.Verdict, c.Bad
	}
	for i := range d.Directions {
		p.Dirs = append(p.Dirs, direction(d, i, p.Names[i]))
	}
	p.Verdict, p.VerdictBad = d.Verdict, d.VerdictBad
	p.LinePlots = linePlots(d, p.Names)
	sw := slices.Clone(d.Switches)
	slices.SortStableFunc(sw, func(a, b Switch) int { return cmp.Compare(a.At, b.At) })
	for _, s := range sw {
		name := "?"
		if s.Direction == 0 || s.Direction == 1 {
			name = p.Names[s.Direction]
		}
		p.Switches = append(p.Switches, switchRow{At: fixed(s.At.Seconds(), 3), Direction: name,
			Number: integer(s.Number), Epoch: integer(int(s.Epoch)), Fingerprint: s.Fingerprint})
	}
	return p
}

func directionName(d *Data, i int) string {
	if n := d.Directions[i].Name; n != "" {
		return n
	}
	return [2]string{"A→B", "B→A"}[i]
}

// summary lays out the figures of both directions side by side.
func summary(d *Data) []summaryRow {
	row := func(label string, f func(x *Direction) cell) summaryRow {
		return summaryRow{label, [2]cell{f(&d.Directions[0]), f(&d.Directions[1])}}
	}
	text := func(f func(x *Direction) string) func(x *Direction) cell {
		return func(x *Direction) cell { return cell{Text: f(x)} }
	}
	return []summaryRow{
		row("Seeds", text(func(x *Direction) string { return integer(len(x.Seeds)) })),
		row("Seeds/s", text(func(x *Direction) string { return seedRate(len(x.Seeds), d.Duration) })),
		row("Mismatches", func(x *Direction) cell { return cell{integer(x.Mismatches), x.Mismatches > 0} }),
		row("Failures", text(func(x *Direction) string { return integer(x.Failures) })),
		row("Rounds", text(func(x *Direction) string { return integer(x.Rounds) })),
		row("Kept bits", text(func(x *Direction) string { return integer(x.Kept) })),
		row("Disagreement", text(func(x *Direction) string { return ofKept(x, x.Disagreement) })),
		row("Leaked bits", text(func(x *Direction) string { return integer(x.LeakedBits) })),
		row("Reconciliation efficiency f", text(func(x *Direction) string { return figure(x.Efficiency, 2) })),
		row("Syndrome steps per block", text(func(x *Direction) string { return figure(x.StepsPerBlock, 2) })),
		row("Rounds per seed", text(func(x *Direction) string { return figure(x.RoundsPerSeed, 0) })),
		row("Bound per seed (bits)", text(func(x *Direction) string { return boundText(x.Bound) })),
		row("Eve's agreement", text(func(x *Direction) string { return ofKept(x, x.EveAgreement) })),
		row("Eve's correlation r", text(func(x *Direction) string { return eveR(x) })),
		row("Key switches", text(func(x *Direction) string { return integer(x.KeySwitches) })),
		row("Frames sent", text(func(x *Direction) string { return thousands(x.FramesSent) })),
		row("Frames received", text(func(x *Direction) string { return thousands(x.FramesReceived) })),
	}
}

// direction builds the plots and the seed table of direction i.
func direction(d *Data, i int, name string) dirView {
	x := &d.Directions[i]
	id := fmt.Sprintf("d%d", i)
	e := directionEnds(name)
	v := dirView{Name: name, ID: id, Plots: []*plot{
		countsPlot(id+"-counts", x, e),
		evePlot(id+"-eve", x, e),
		seedsPlot(id+"-seeds", x, d.Duration),
		disagreementPlot(id+"-disagreement", x),
	}}
	for j, s := range x.Seeds {
		v.Seeds = append(v.Seeds, seedRow{
			Index: j + 1, At: fixed(s.At.Seconds(), 3), Fingerprint: s.Fingerprint,
			Disagreement: percent(s.Disagreement, 2),
			KeptBits:     integer(s.KeptBits), LeakedBits: integer(s.LeakedBits), Blocks: integer(s.Blocks),
			Match: s.Match,
		})
	}
	return v
}

// figure formats v with prec decimals, "n/a" for zero (no figure yet) and
// for values that are not finite.
func figure(v float64, prec int) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fixed(v, prec)
}

// boundText writes the bound's terms per seed as their sum.
func boundText(b BoundTerms) string {
	if b.Seed == 0 {
		return "n/a"
	}
	return fmt.Sprintf("credited %s = reconciliation %s + tag %s + amplification %s + seed %s + slack %s",
		fixed(b.Credited, 0), fixed(b.Reconciliation, 0), fixed(b.Tag, 0), fixed(b.Amplification, 0),
		fixed(b.Seed, 0), fixed(b.Slack, 0))
}

// ofKept formats a fraction of the kept bits, "n/a" if none were kept.
func ofKept(x *Direction, v float64) string {
	if x.Kept == 0 {
		return "n/a"
	}
	return percent(v, 2)
}

// eveR formats Eve's correlation, "n/a" if there were no rounds.
func eveR(x *Direction) string {
	if x.Rounds == 0 {
		return "n/a"
	}
	return fixed(x.EveCorrelation, 3)
}

// clientSummary lays out the client traffic of both directions.
func clientSummary(c *Client) []summaryRow {
	row := func(label string, f func(x *ClientDirection) cell) summaryRow {
		return summaryRow{label, [2]cell{f(&c.Directions[0]), f(&c.Directions[1])}}
	}
	return []summaryRow{
		row("Client frames sent", func(x *ClientDirection) cell { return cell{Text: thousands(x.Sent)} }),
		row("Client frames delivered", func(x *ClientDirection) cell { return cell{Text: thousands(x.Delivered)} }),
		row("Client frames lost", func(x *ClientDirection) cell { return cell{Text: thousands(x.Lost)} }),
		row("Client frames corrupted", func(x *ClientDirection) cell { return cell{thousands(x.Corrupted), x.Corrupted > 0} }),
		row("Tail-dropped at the sender", func(x *ClientDirection) cell { return cell{Text: thousands(x.DroppedAtSender)} }),
		row("OTN frames lost or damaged", func(x *ClientDirection) cell { return cell{Text: thousands(x.OTNDamaged)} }),
		row("Client goodput", func(x *ClientDirection) cell { return cell{Text: mbits(x.Goodput)} }),
	}
}

// mbits formats bits per second as Mbit/s, "n/a" when not finite.
func mbits(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return fixed(v/1e6, 1) + " Mbit/s"
}
