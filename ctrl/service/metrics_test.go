package service

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestMetricsText: what a writer Puts is what the page shows, through the
// library: help and type once per family, labels sorted by name, values
// escaped by the library whatever the writer's label values hold.
func TestMetricsText(t *testing.T) {
	out, err := Text(func(m *Metrics) {
		m.Put("otkd_things_total", "counter", "Things counted.", `port="east",dir="tx"`, 3)
		m.Put("otkd_things_total", "counter", "", `port="east",dir="rx"`, 4)
		m.Reason("otkd_drops_total", "counter", "Drops by reason.", Labels("port", "east"), "reason",
			[]Labelled{{Label: "tag", Value: 1}, {Label: "replayed", Value: 2}})
		m.Put("otkd_up", "gauge", "Up.", "", 1)
		// A value with a quote, a backslash, a newline and a non-ASCII
		// letter: Go's quoting in, the exposition format's out.
		m.Put("otkd_info", "gauge", "Info.", Labels("name", "a\"b\\c\nd é"), 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# HELP otkd_things_total Things counted.\n# TYPE otkd_things_total counter\n",
		`otkd_things_total{dir="rx",port="east"} 4`,
		`otkd_things_total{dir="tx",port="east"} 3`,
		`otkd_drops_total{port="east",reason="replayed"} 2`,
		"# TYPE otkd_up gauge\notkd_up 1\n",
		`otkd_info{name="a\"b\\c\nd é"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "# HELP otkd_things_total") != 1 {
		t.Errorf("help written twice:\n%s", out)
	}
}

// TestMetricsContract: a sample that breaks the contract is left out with
// an error naming it; the rest of the page is served.
func TestMetricsContract(t *testing.T) {
	cases := []struct {
		name  string
		write func(m *Metrics)
		says  string
	}{
		{"unknown type", func(m *Metrics) { m.Put("otkd_x", "histogram", "X.", "", 1) }, `type "histogram"`},
		{"two types", func(m *Metrics) {
			m.Put("otkd_x", "gauge", "X.", `a="1"`, 1)
			m.Put("otkd_x", "counter", "", `a="2"`, 1)
		}, "written as gauge"},
		{"unquoted value", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a=1`, 1) }, "not quoted"},
		{"unterminated value", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a="1`, 1) }, "not quoted"},
		{"bad label name", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `1a="1"`, 1) }, "bad name"},
		{"reserved label name", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `__a="1"`, 1) }, "bad name"},
		{"trailing comma", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a="1",`, 1) }, "after a"},
		{"junk after value", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a="1"b="2"`, 1) }, "after a"},
		{"bad escape", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a="\q"`, 1) }, "labels"},
		{"no help", func(m *Metrics) { m.Put("otkd_x", "gauge", "", "", 1) }, "no help"},
		{"bad name", func(m *Metrics) { m.Put("otkd x", "gauge", "X.", "", 1) }, "otkd x"},
		{"duplicate", func(m *Metrics) {
			m.Put("otkd_x", "gauge", "X.", `a="1"`, 1)
			m.Put("otkd_x", "gauge", "", `a="1"`, 2)
		}, "same name and label values"},
		{"invalid UTF-8", func(m *Metrics) { m.Put("otkd_x", "gauge", "X.", `a="\xff"`, 1) }, "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Text(c.write, func(m *Metrics) { m.Put("otkd_fine", "gauge", "Fine.", "", 7) })
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v, want one saying %q", err, c.says)
			}
			if !strings.Contains(out, "otkd_fine 7") {
				t.Fatalf("the valid family was lost:\n%s", out)
			}
		})
	}
}

// TestMetricsWritersShareFamilies: two writers (two ports) write one
// family; help and type agree, the page holds both samples.
func TestMetricsWritersShareFamilies(t *testing.T) {
	port := func(name string, v float64) func(*Metrics) {
		return func(m *Metrics) { m.Put("otkd_port_up", "gauge", "Up.", Labels("port", name), v) }
	}
	out, err := Text(port("east", 1), port("west", 0))
	if err != nil || !strings.Contains(out, `otkd_port_up{port="east"} 1`) || !strings.Contains(out, `otkd_port_up{port="west"} 0`) {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := Text(port("east", 1), func(m *Metrics) {
		m.Put("otkd_port_up", "gauge", "Another help.", Labels("port", "west"), 1)
	}); err == nil || !strings.Contains(err.Error(), "help") {
		t.Fatalf("two helps for one family: %v", err)
	}
}

// TestCollectorReadsAtScrape: the collector calls its writer at each
// scrape (no copy of the counters is kept between scrapes).
func TestCollectorReadsAtScrape(t *testing.T) {
	var n float64
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector(func(m *Metrics) { m.Put("otkd_n_total", "counter", "N.", "", n) }))
	for _, want := range []float64{0, 5, 12} {
		n = want
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 || mfs[0].GetType() != dto.MetricType_COUNTER || mfs[0].Metric[0].GetCounter().GetValue() != want {
			t.Fatalf("scrape with n = %v: %v %v", want, err, mfs)
		}
	}
}

func TestLabels(t *testing.T) {
	if got := Labels("port", "east", "dir", `t"x`); got != `port="east",dir="t\"x"` {
		t.Fatalf("Labels = %s", got)
	}
	if got := Labels("port"); got != "" {
		t.Fatalf("odd Labels = %q", got)
	}
	names, vals, err := parseLabels(Labels("a", "x,y=\"z\"", "b", ""))
	if err != nil || strings.Join(names, " ") != "a b" || vals[0] != `x,y="z"` || vals[1] != "" {
		t.Fatalf("round trip: %q %q %v", names, vals, err)
	}
}

// FuzzParseLabels: hostile label strings never panic, and what parses
// renders back to the same pairs.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{``, `a="1"`, `a="1",b="\"\\"`, `a=`, `a="`, `="x"`, `a="1",,b="2"`, `a="\u00e9\x00"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, vals, err := parseLabels(s)
		if err != nil {
			return
		}
		kv := make([]string, 0, 2*len(names))
		for i := range names {
			kv = append(kv, names[i], vals[i])
		}
		n2, v2, err := parseLabels(Labels(kv...))
		if err != nil || strings.Join(n2, "\x00") != strings.Join(names, "\x00") || strings.Join(v2, "\x00") != strings.Join(vals, "\x00") {
			t.Fatalf("%q: %q %q, again %q %q %v", s, names, vals, n2, v2, err)
		}
	})
}
