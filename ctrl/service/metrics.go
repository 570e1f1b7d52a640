package service

import (
	"fmt"
	"io"
)

// Metrics writes metric families in the Prometheus text format: a
// family's HELP and TYPE lines come before its first sample. Values are
// counters and gauges of what the daemon and its services did, never key
// material.
type Metrics struct {
	w    io.Writer
	seen map[string]bool
}

// NewMetrics writes to w.
func NewMetrics(w io.Writer) *Metrics { return &Metrics{w: w, seen: map[string]bool{}} }

// Put writes one sample of family name (typ "counter" or "gauge"; help is
// written with the family's first sample) with labels (`a="x",b="y"`, or
// "").
func (m *Metrics) Put(name, typ, help, labels string, v float64) {
	if !m.seen[name] {
		m.seen[name] = true
		fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(m.w, "%s%s %g\n", name, labels, v)
}

// Reason writes the samples of a family labelled by one label's values
// (`reason="x"`, …): its help goes with the first; prefix starts every
// label set (a port's label, or "").
func (m *Metrics) Reason(name, typ, help, prefix, label string, values []Labelled) {
	for i, v := range values {
		h := help
		if i > 0 {
			h = ""
		}
		lb := fmt.Sprintf("%s=%q", label, v.Label)
		if prefix != "" {
			lb = prefix + "," + lb
		}
		m.Put(name, typ, h, lb, v.Value)
	}
}

// Labelled is one sample of Reason.
type Labelled struct {
	Label string
	Value float64
}
