package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// /metrics is written by github.com/prometheus/client_golang, which sorts
// the labels of a sample by name: a test names a sample as it reads best
// (`otkd_keyring_events_total{pool="vpn",event="connect"}`) and these
// helpers find it whatever the order of its labels on the page.

// parseMetrics parses a /metrics page, or a whole HTTP response holding
// one (nil if it does not parse).
func parseMetrics(text string) map[string]*dto.MetricFamily {
	if strings.HasPrefix(text, "HTTP/") {
		_, text, _ = strings.Cut(text, "\r\n\r\n")
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil
	}
	return mfs
}

// metricValue returns the value of the sample name{labels} in a /metrics
// text, and whether it is there.
func metricValue(text, sample string) (float64, bool) {
	want := parseMetrics(sample + " 0\n")
	if len(want) != 1 {
		return 0, false
	}
	for name, w := range want {
		labels := map[string]string{}
		for _, lp := range w.Metric[0].Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		mf := parseMetrics(text)[name]
		if mf == nil {
			return 0, false
		}
	next:
		for _, m := range mf.Metric {
			if len(m.Label) != len(labels) {
				continue
			}
			for _, lp := range m.Label {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

// hasLabels reports whether a /metrics text holds the sample name{labels},
// whatever its value and the order of its labels.
func hasLabels(text, sample string) bool {
	_, ok := metricValue(text, sample)
	return ok
}

// hasSample reports whether a /metrics text holds line, a sample and its
// value (`otkd_keyring_sync_pending{pool="default"} 0`).
func hasSample(text, line string) bool {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return false
	}
	want, err := strconv.ParseFloat(line[i+1:], 64)
	if err != nil {
		return false
	}
	v, ok := metricValue(text, line[:i])
	return ok && v == want
}

// checkMetricsDocumented fails if a family of the /metrics text is not
// named in README.md (its "Metrics" table), but the Go runtime's and the
// process's (client_golang's collectors).
func checkMetricsDocumented(t *testing.T, text string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	mfs := parseMetrics(text)
	if len(mfs) == 0 {
		t.Fatalf("no metric families in:\n%s", text)
	}
	for name := range mfs {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not name the metric family %s", name)
		}
	}
}
