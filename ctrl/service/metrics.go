package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Metrics is how the daemon and its services write their metric families.
// The daemon serves them on [metrics] listen through
// github.com/prometheus/client_golang: each writer (a service's
// WriteMetrics, a port's, the daemon's own) is one collector of the
// daemon's registry (Collector), called at each scrape. A writer reads its
// counters then (atomics, Stats snapshots) and Puts one sample per value:
// nothing is counted twice and nothing on the frame path knows about
// metrics. The library checks names, escapes label values, sorts families
// and their samples and writes the exposition format.
//
// The contract of a writer:
//
//   - A family is a name ("otkd_<what>[_<unit>]", counters ending in
//     _total), a type ("counter" or "gauge") and a help text. Every sample
//     of a family has the same type and help; the help may be given with the
//     family's first sample only ("" after). A family may be written by
//     several writers (each port writes otkd_frames_total with its own
//     port label): their types and helps must then be the same.
//   - Labels are name="value" pairs separated by commas, the value quoted
//     as Go's %q quotes it (fmt.Sprintf("pool=%q", name), or Labels). The
//     library escapes the values on the page. Label values are names and
//     enumerations without spaces (port="east", reason="tag"), never key
//     material.
//   - No two samples of a family have the same label values.
//
// A sample that breaks the contract (an unknown type, labels that do not
// parse, a name the library refuses) does not reach the page: the scrape
// serves the others and the daemon logs the error (Check finds it in
// tests).
//
// The API is these three methods (Put, Reason, Labels) and Collector; a
// new feature adds its families in its WriteMetrics with them, and the
// daemon registers it. README.md ("Metrics") lists every family.
type Metrics struct {
	samples []sample
	fams    map[string]*family
	order   []string
	w       io.Writer // NewMetrics: each sample also written here at once
}

// NewMetrics returns a Metrics that also writes each sample to w as it is
// put, one text line (a family's HELP and TYPE lines before its first), as
// the writer gave it: for a test that reads what one writer wrote without
// a registry (Text checks the contract the way the daemon serves it).
func NewMetrics(w io.Writer) *Metrics { return &Metrics{w: w} }

type sample struct {
	name        string
	names, vals []string
	v           float64
	err         error
}

type family struct {
	typ  prometheus.ValueType
	help string
	err  error // the family's own problem (type, conflicting type)
}

// Put writes one sample of family name (typ "counter" or "gauge"; help
// is the family's, "" after its first sample) with labels (`a="x",b="y"`,
// or "").
func (m *Metrics) Put(name, typ, help, labels string, v float64) {
	if m.fams == nil {
		m.fams = map[string]*family{}
	}
	f := m.fams[name]
	if f == nil {
		f = &family{}
		switch typ {
		case "counter":
			f.typ = prometheus.CounterValue
		case "gauge":
			f.typ = prometheus.GaugeValue
		default:
			f.err = fmt.Errorf("metric %s: type %q: want counter or gauge", name, typ)
		}
		if !validName(name) {
			// The library takes any UTF-8 name; otkd's are the classic
			// form every scraper and query language reads unquoted.
			f.err = fmt.Errorf("metric %q: want a name of [a-zA-Z0-9_:], not starting with a digit", name)
		}
		m.fams[name] = f
		m.order = append(m.order, name)
		if m.w != nil {
			fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		}
	} else if f.err == nil && typeName(f.typ) != typ {
		f.err = fmt.Errorf("metric %s: written as %s and as %q", name, typeName(f.typ), typ)
	}
	if f.help == "" {
		f.help = help
	}
	names, vals, err := parseLabels(labels)
	if err != nil {
		err = fmt.Errorf("metric %s: labels %s: %w", name, labels, err)
	}
	m.samples = append(m.samples, sample{name: name, names: names, vals: vals, v: v, err: err})
	if m.w != nil {
		if labels != "" {
			labels = "{" + labels + "}"
		}
		fmt.Fprintf(m.w, "%s%s %g\n", name, labels, v)
	}
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
		lb := label + "=" + strconv.Quote(v.Label)
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

// Labels renders label pairs for Put: Labels("port", "east", "dir", "tx")
// is `port="east",dir="tx"`. An odd count leaves the last name out.
func Labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(kv[i+1]))
	}
	return b.String()
}

func typeName(t prometheus.ValueType) string {
	if t == prometheus.CounterValue {
		return "counter"
	}
	return "gauge"
}

// ErrLabels: a label string that is not name="value" pairs.
var ErrLabels = errors.New("not name=\"value\" pairs")

// parseLabels reads `a="x",b="y"`: names as Prometheus allows them,
// values as Go quotes them (strconv.Unquote).
func parseLabels(s string) (names, vals []string, err error) {
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || !validLabelName(s[:eq]) {
			return nil, nil, fmt.Errorf("%w: bad name at %q", ErrLabels, s)
		}
		name := s[:eq]
		s = s[eq+1:]
		end := quotedEnd(s)
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: %s: value not quoted", ErrLabels, name)
		}
		v, err := strconv.Unquote(s[:end])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrLabels, name, err)
		}
		names, vals = append(names, name), append(vals, v)
		s = s[end:]
		if s != "" {
			if s[0] != ',' || len(s) == 1 {
				return nil, nil, fmt.Errorf("%w: %q after %s", ErrLabels, s, name)
			}
			s = s[1:]
		}
	}
	return names, vals, nil
}

// quotedEnd returns the length of the double-quoted string s starts with,
// or -1.
func quotedEnd(s string) int {
	if len(s) < 2 || s[0] != '"' {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func validName(n string) bool {
	for i, c := range n {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return n != ""
}

func validLabelName(n string) bool {
	for i, c := range n {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return n != "" && !strings.HasPrefix(n, "__")
}

// emit sends the samples as constant metrics, each family with the help
// of its first sample that has one.
func (m *Metrics) emit(ch chan<- prometheus.Metric) {
	descs := map[string]*prometheus.Desc{}
	for _, s := range m.samples {
		f := m.fams[s.name]
		key := s.name + "\x00" + strings.Join(s.names, "\x00")
		d := descs[key]
		if d == nil {
			d = prometheus.NewDesc(s.name, f.help, s.names, nil)
			descs[key] = d
		}
		err := errors.Join(f.err, s.err)
		if f.help == "" {
			err = errors.Join(err, fmt.Errorf("metric %s: no help text", s.name))
		}
		var pm prometheus.Metric
		if err == nil {
			pm, err = prometheus.NewConstMetric(d, f.typ, s.v, s.vals...)
		}
		if err != nil {
			pm = prometheus.NewInvalidMetric(d, err)
		}
		ch <- pm
	}
}

// Collector makes a writer of metric families a collector of the daemon's
// registry: at each scrape it calls write with a fresh Metrics and sends
// what it wrote. It describes nothing in advance (an unchecked collector:
// which families and labels exist depends on the configuration and on
// what runs); the registry still checks every scrape for consistency.
func Collector(write func(*Metrics)) prometheus.Collector { return collector(write) }

type collector func(*Metrics)

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	var m Metrics
	c(&m)
	m.emit(ch)
}

// Text renders what the writers write, as a scrape of a registry holding
// only them would show it (the Prometheus text format), with an error for
// every sample that breaks the contract. For tests and tools.
func Text(writers ...func(*Metrics)) (string, error) {
	reg := prometheus.NewPedanticRegistry()
	for _, w := range writers {
		if err := reg.Register(Collector(w)); err != nil {
			return "", err
		}
	}
	mfs, err := reg.Gather()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	sort.Slice(mfs, func(i, j int) bool { return mfs[i].GetName() < mfs[j].GetName() })
	for _, mf := range mfs {
		if e := enc.Encode(mf); e != nil {
			return "", e
		}
	}
	return buf.String(), err
}
