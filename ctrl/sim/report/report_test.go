package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var sampleOut = flag.String("sample", "", "write the sample page to this file")

// sample returns a run like the demo's: counts that agree up to noise, an
// eavesdropper who learns nothing, seeds at a steady pace, one mismatch.
func sample(points, seeds int) *Data {
	r := rand.New(rand.NewPCG(1, 2))
	d := &Data{
		Title:     "otkd demo — sample",
		Generated: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
		Duration:  10 * time.Second,
		Profile:   map[string]string{"noise profile": "lab-25km", "n": "64", "α": "0.25", "m": "4096"},
	}
	for i := range d.Directions {
		x := &d.Directions[i]
		x.Name = [2]string{"A→B", "B→A"}[i]
		for range points {
			c := 20 + 4*r.NormFloat64()
			x.Counts = append(x.Counts, [2]float64{math.Round(c), math.Round(c + 0.8*r.NormFloat64())})
			x.Eve = append(x.Eve, [2]float64{math.Round(c), 20 + r.NormFloat64()})
		}
		for j := range seeds {
			x.Seeds = append(x.Seeds, Seed{
				At:           time.Duration(j+1) * d.Duration / time.Duration(seeds+1),
				Fingerprint:  fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()),
				Disagreement: 0.03 + 0.01*r.Float64(),
				KeptBits:     4096, LeakedBits: 900 + r.IntN(100), Blocks: 4,
				Match: !(i == 1 && j == 7),
			})
		}
		x.EveAgreement, x.EveCorrelation = 0.5012, 0.0123
		x.Rounds, x.Kept, x.Disagreement, x.LeakedBits = 123456, 98765, 0.0345, 45678
		x.KeySwitches, x.FramesSent, x.FramesReceived = 9, 1234567, 1234560
		x.Efficiency, x.StepsPerBlock, x.RoundsPerSeed = 1.523, 2.39, 1468.2
		x.Bound = BoundTerms{Credited: 404.4, Reconciliation: 32.7, Tag: 21.3, Amplification: 42.7, Seed: 256, Slack: 51.7}
	}
	d.Directions[1].Mismatches = 1
	d.Verdict = "1 of 80 seeds differs between the ends"
	d.VerdictBad = true
	for i := range 20 { // a sample every half second
		s := Sample{At: time.Duration(i+1) * 500 * time.Millisecond}
		for dir := range 2 {
			s.FramesPerSecond[dir] = 4000 + 100*float64(dir) + 50*r.Float64()
			s.FECCorrected[dir] = 30 * r.Float64()
			if i == 13 && dir == 1 {
				s.FECUncorrectable[dir] = 2
			}
		}
		d.Timeline = append(d.Timeline, s)
	}
	for dir := range 2 {
		for n := 1; n <= 9; n++ {
			d.Switches = append(d.Switches, Switch{At: time.Duration(n) * time.Second, Direction: dir,
				Number: 250 + n, Epoch: uint8(250 + n), Fingerprint: fmt.Sprintf("%016x", r.Uint64())})
		}
	}
	return d
}

func render(t *testing.T, d *Data) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var svgBlock = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// svgs parses every <svg> block of page as XML and returns them by id.
func svgs(t *testing.T, page string) map[string]*svgNode {
	t.Helper()
	out := map[string]*svgNode{}
	for _, block := range svgBlock.FindAllString(page, -1) {
		var n svgNode
		dec := xml.NewDecoder(strings.NewReader(block))
		dec.Strict = true
		if err := dec.Decode(&n); err != nil {
			t.Fatalf("svg is not well-formed XML: %v\n%.300s", err, block)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("trailing content after svg: %v", err)
		}
		out[n.attr("id")] = &n
	}
	return out
}

// svgNode is a generic XML element.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []svgNode  `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f on n and its descendants.
func (n *svgNode) walk(f func(*svgNode)) {
	f(n)
	for i := range n.Nodes {
		n.Nodes[i].walk(f)
	}
}

// count returns the number of elements named elem under a <g> of class.
func (n *svgNode) count(class, elem string) int {
	c := 0
	n.walk(func(g *svgNode) {
		if g.XMLName.Local == "g" && g.attr("class") == class {
			for _, e := range g.Nodes {
				if e.XMLName.Local == elem {
					c++
				}
			}
		}
	})
	return c
}

var plotIDs = []string{"line-fps", "line-fec", "line-uncorrectable", "line-switches",
	"d0-counts", "d0-eve", "d0-seeds", "d0-disagreement", "d1-counts", "d1-eve", "d1-seeds", "d1-disagreement"}

func TestWriteSample(t *testing.T) {
	d := sample(1000, 40)
	page := render(t, d)
	if *sampleOut != "" {
		if err := os.WriteFile(*sampleOut, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := svgs(t, page)
	if len(s) != len(plotIDs) {
		t.Fatalf("%d svg blocks, want %d", len(s), len(plotIDs))
	}
	for _, id := range plotIDs {
		if s[id] == nil {
			t.Fatalf("no svg %q", id)
		}
	}
	for _, id := range []string{"d0-counts", "d0-eve", "d1-counts", "d1-eve"} {
		if n := s[id].count("pts", "circle"); n != 1000 {
			t.Errorf("%s: %d circles, want 1000", id, n)
		}
	}
	if n := s["d1-disagreement"].count("bars", "rect"); n != 40 {
		t.Errorf("disagreement: %d bars, want 40", n)
	}
	if n := s["d1-seeds"].count("marked", "circle"); n != 1 {
		t.Errorf("seeds: %d marked mismatches, want 1", n)
	}
	// The line over time: one line per direction, the switches ticked.
	for _, id := range []string{"line-fps", "line-fec", "line-uncorrectable", "line-switches"} {
		var classes []string
		ticks := 0
		s[id].walk(func(n *svgNode) {
			switch {
			case n.XMLName.Local == "path":
				classes = append(classes, n.attr("class"))
			case n.XMLName.Local == "line" && n.attr("class") == "switch":
				ticks++
			}
		})
		if strings.Join(classes, " ") != "s0 s1" {
			t.Errorf("%s: paths %q, want one per direction", id, classes)
		}
		if want := map[bool]int{true: 0, false: 18}[id == "line-switches"]; ticks != want {
			t.Errorf("%s: %d switch ticks, want %d", id, ticks, want)
		}
	}
	for _, want := range []string{
		"<title>otkd demo — sample</title>",
		"<h2>A→B</h2>", "<h2>B→A</h2>",
		"Counts of the same rounds", "An eavesdropper&#39;s estimates", "Seeds over time", "Disagreement per key",
		"A&#39;s count", "B&#39;s count", "Eve&#39;s estimate", "seconds since start",
		"Generated 2026-11-22 05:00:00 UTC", "run of 10s",
		"<th>noise profile</th><td>lab-25km</td>", "<th>α</th><td>0.25</td>",
		"<td>4.00</td>",                      // seeds/s
		"<td class=\"bad\">1</td>",           // B→A mismatch in red
		"<td>50.12 %</td>", "<td>0.012</td>", // Eve's agreement and r
		"<td>1\u2009234\u2009567</td>", // frames sent
		"r = 0.012 between Eve",        // caption
		"Seed fingerprints (40)",
		d.Directions[0].Seeds[0].Fingerprint,
		"<td>1.52</td>", "<td>2.39</td>", "<td>1468</td>", // f, steps per block, rounds per seed
		"credited 404 = reconciliation 33 &#43; tag 21 &#43; amplification 43 &#43; seed 256 &#43; slack 52",
		`<p class="verdict bad">1 of 80 seeds differs between the ends</p>`,
		"Key switches (18)", "<td>9.000</td><td>B→A</td><td>259</td><td>3</td>", // switch 259 carries epoch 3
		"What a count is", "In all about A→B 0, B→A 1.",
		"Frames per second", "FEC corrections", "Uncorrectable codewords",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if c := strings.Count(page, `<td class="bad">`); c != 1 {
		t.Errorf("%d red summary cells, want 1", c)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") && !strings.Contains(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("page loads something")
	}
}

func TestWriteEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *Data
	}{
		{"zero", &Data{}},
		{"empty slices", &Data{Directions: [2]Direction{{Seeds: []Seed{}, Counts: [][2]float64{}, Eve: [][2]float64{}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := render(t, tc.d)
			s := svgs(t, page)
			if len(s) != len(plotIDs) {
				t.Fatalf("%d svg blocks, want %d", len(s), len(plotIDs))
			}
			for id, n := range s {
				if c := n.count("pts", "circle"); c != 0 {
					t.Errorf("%s: %d circles in an empty plot", id, c)
				}
			}
			for want, n := range map[string]int{
				`class="nodata"`:           12,
				">no data</text>":          7,
				">no key switches</text>":  1,
				`class="verdict`:           0,
				">no seeds</text>":         4,
				"No seeds.</p>":            2,
				"No parameters recorded.":  1,
				"<title>otkd demo</title>": 1,
				"<h2>A→B</h2>":             1,
				"<h2>B→A</h2>":             1,
				"<td>n/a</td>":             16, // seeds/s, disagreement, Eve's agreement and r, f, steps, rounds and bound per seed
			} {
				if c := strings.Count(page, want); c != n {
					t.Errorf("page holds %q %d times, want %d", want, c, n)
				}
			}
		})
	}
}

// numeric names the attributes that must hold one finite number.
var numeric = map[string]bool{"x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true,
	"cx": true, "cy": true, "r": true, "width": true, "height": true, "dx": true, "dy": true}

var pathSyntax = regexp.MustCompile(`^M-?[0-9.]+ -?[0-9.]+([HV]-?[0-9.]+|L-?[0-9.]+ -?[0-9.]+)*$`)

// checkNumbers fails if an SVG coordinate is not a finite number.
func checkNumbers(t *testing.T, s map[string]*svgNode) {
	t.Helper()
	for id, root := range s {
		root.walk(func(n *svgNode) {
			for _, a := range n.Attrs {
				v := a.Value
				switch {
				case numeric[a.Name.Local]:
					f, err := strconv.ParseFloat(v, 64)
					if err != nil || !finite(f) {
						t.Errorf("%s: <%s %s=%q>", id, n.XMLName.Local, a.Name.Local, v)
					}
				case a.Name.Local == "d" && !pathSyntax.MatchString(v):
					t.Errorf("%s: path d=%q", id, v)
				case strings.Contains(v, "NaN") || strings.Contains(v, "Inf"):
					t.Errorf("%s: <%s %s=%q>", id, n.XMLName.Local, a.Name.Local, v)
				}
			}
		})
	}
}

func TestWriteNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	max := math.MaxFloat64
	for _, tc := range []struct {
		name    string
		pairs   [][2]float64
		circles int
	}{
		{"nan and inf", [][2]float64{{nan, 1}, {1, inf}, {-inf, 2}, {3, 4}, {5, 6}}, 2},
		{"all nan", [][2]float64{{nan, nan}, {inf, -inf}}, 0},
		{"extreme", [][2]float64{{-max, max}, {max, -max}, {0, 0}}, 3},
		{"tiny", [][2]float64{{1e-300, 2e-300}, {3e-300, 5e-324}}, 2},
		{"one point", [][2]float64{{7, 7}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sample(0, 3)
			for i := range d.Directions {
				x := &d.Directions[i]
				x.Counts, x.Eve = tc.pairs, tc.pairs
				x.EveAgreement, x.EveCorrelation, x.Disagreement = nan, inf, -inf
				x.Seeds[1].Disagreement = nan
				x.Seeds[2].Disagreement = inf
			}
			d.Timeline[3].FramesPerSecond[0], d.Timeline[4].FECCorrected[1], d.Timeline[5].FECUncorrectable[0] = nan, inf, -inf
			d.Duration = 0
			page := render(t, d)
			s := svgs(t, page)
			checkNumbers(t, s)
			for _, id := range []string{"d0-counts", "d1-eve"} {
				if n := s[id].count("pts", "circle"); n != tc.circles {
					t.Errorf("%s: %d circles, want %d", id, n, tc.circles)
				}
			}
			if n := s["d0-disagreement"].count("bars", "rect"); n != 1 {
				t.Errorf("disagreement: %d bars, want the 1 finite one", n)
			}
			if !strings.Contains(page, "2 seeds with a NaN or infinite disagreement left out.") {
				t.Error("caption does not count the dropped seeds")
			}
			if !strings.Contains(page, "<td>n/a</td>") {
				t.Error("non-finite summary figures not shown as n/a")
			}
		})
	}
}

func TestWriteSizeBound(t *testing.T) {
	d := sample(3*MaxPoints, 2000)
	page := render(t, d)
	s := svgs(t, page)
	checkNumbers(t, s)
	for _, id := range []string{"d0-counts", "d0-eve", "d1-counts", "d1-eve"} {
		if n := s[id].count("pts", "circle"); n != MaxPoints {
			t.Errorf("%s: %d circles, want MaxPoints", id, n)
		}
	}
	if n := s["d0-disagreement"].count("pts", "circle"); n != 2000 {
		t.Errorf("disagreement: %d points, want 2000", n)
	}
	if !strings.Contains(page, "5\u2009000 of 15\u2009000 pairs shown, evenly spaced.") {
		t.Error("caption does not say the points were thinned")
	}
	t.Logf("%d bytes for 4×%d scatter points and 2×2000 seeds", len(page), MaxPoints)
	if len(page) > 2<<20 {
		t.Errorf("page is %d bytes, want < 2 MiB", len(page))
	}
}

func TestWriteEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>&`
	d := sample(10, 2)
	d.Title = evil
	d.Profile = map[string]string{evil: evil}
	d.Directions[0].Name = evil + "→" + evil
	d.Directions[1].Seeds[0].Fingerprint = evil
	d.Verdict, d.Switches[0].Fingerprint = evil, evil
	page := render(t, d)
	if strings.Contains(page, "<script") {
		t.Fatal("unescaped markup from Data")
	}
	if c := strings.Count(page, "&lt;script&gt;"); c < 8 {
		t.Errorf("escaped text appears %d times, want at least 8", c)
	}
	checkNumbers(t, svgs(t, page))
}

type failWriter struct{}

var errFail = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestWriteErrors(t *testing.T) {
	if err := Write(io.Discard, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("nil data: %v, want ErrNoData", err)
	}
	if err := Write(failWriter{}, sample(1, 1)); !errors.Is(err, errFail) {
		t.Errorf("failing writer: %v, want it wrapped", err)
	}
}

func TestNiceSpan(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels string // the tick labels, joined by spaces; empty: not checked
		ticks  int    // number of ticks; 0: not checked
	}{
		{0, 1, "0.0 0.2 0.4 0.6 0.8 1.0", 0},
		{0, 0, "-0.6 -0.4 -0.2 0.0 0.2 0.4 0.6", 0},
		{3, 3, "2.4 2.6 2.8 3.0 3.2 3.4 3.6", 0},
		{1, 0, "0.0 0.2 0.4 0.6 0.8 1.0", 0},
		{-5, 1234, "-500 0 500 1000 1500", 0},
		{0.5, 40.5, "0 10 20 30 40 50", 0},
		{1e-4, 3e-4, "0.00010 0.00015 0.00020 0.00025 0.00030", 0},
		{12, 31, "10 15 20 25 30 35", 0},
		{math.NaN(), 1, "0.0 0.2 0.4 0.6 0.8 1.0", 0},
		{-math.MaxFloat64, math.MaxFloat64, "", 5},
		{0, 3e9, "0 1e+09 2e+09 3e+09", 0},
	} {
		t.Run(fmt.Sprint(tc.lo, tc.hi), func(t *testing.T) {
			s := niceSpan(tc.lo, tc.hi, nTicks)
			if !(s.step > 0) || !finite(s.step) || !finite(s.lo) || !finite(s.hi) {
				t.Fatalf("span %+v", s)
			}
			lo, hi := math.Min(tc.lo, tc.hi), math.Max(tc.lo, tc.hi)
			if finite(lo) && (s.lo > lo || s.hi < hi) {
				t.Errorf("span %+v does not cover [%g, %g]", s, lo, hi)
			}
			var labels []string
			for _, v := range s.ticks() {
				labels = append(labels, s.label(v))
			}
			if len(labels) < 2 || len(labels) > maxTicks+1 {
				t.Errorf("%d ticks", len(labels))
			}
			if tc.ticks != 0 && len(labels) != tc.ticks {
				t.Errorf("ticks %q, want %d", labels, tc.ticks)
			}
			if got := strings.Join(labels, " "); tc.labels != "" && got != tc.labels {
				t.Errorf("labels %q, want %q", got, tc.labels)
			}
		})
	}
}

func TestTightSpan(t *testing.T) {
	s := tightSpan(0.5, 40.5, nTicks)
	if s.lo != 0.5 || s.hi != 40.5 {
		t.Errorf("span %+v, want [0.5, 40.5]", s)
	}
	var labels []string
	for _, v := range s.ticks() {
		labels = append(labels, s.label(v))
	}
	if got, want := strings.Join(labels, " "), "10 20 30 40"; got != want {
		t.Errorf("ticks %q, want %q", got, want)
	}
}

func BenchmarkWrite2x5000(b *testing.B) {
	d := sample(MaxPoints, 200)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, d); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func TestWriteClient(t *testing.T) {
	d := sample(10, 2)
	if page := render(t, d); strings.Contains(page, "Client") {
		t.Fatal("client rows without client traffic")
	}
	d.Client = &Client{Verdict: "0 frames lost or corrupted across 14 key switches", Directions: [2]ClientDirection{
		{Sent: 398411, Delivered: 398411, Goodput: 420.4e6},
		{Sent: 342543, Delivered: 342540, Lost: 3, OTNDamaged: 1, Goodput: 362e6},
	}}
	page := render(t, d)
	for _, want := range []string{
		"<th>Client frames sent</th><td>398\u2009411</td><td>342\u2009543</td>",
		"<th>Client frames lost</th><td>0</td><td>3</td>",
		"<th>Client frames corrupted</th><td>0</td><td>0</td>",
		"<th>OTN frames lost or damaged</th><td>0</td><td>1</td>",
		"<th>Client goodput</th><td>420.4 Mbit/s</td><td>362.0 Mbit/s</td>",
		`<p class="client">Client traffic: 0 frames lost or corrupted across 14 key switches</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Corruption is shown in red, and the verdict is escaped like the rest.
	d.Client.Directions[1].Corrupted = 2
	d.Client.Verdict, d.Client.Bad = `<b>2 corrupted</b>`, true
	page = render(t, d)
	for _, want := range []string{`<th>Client frames corrupted</th><td>0</td><td class="bad">2</td>`,
		`<p class="client bad">Client traffic: &lt;b&gt;2 corrupted&lt;/b&gt;</p>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
