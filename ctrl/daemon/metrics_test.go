package daemon

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/internal/buildinfo"
)

// familiesBefore are the families of a daemon with a UDP port and a
// keyring pool as otkd wrote them by hand before client_golang served
// them: each keeps its name, type and labels.
var familiesBefore = map[string]struct {
	typ    dto.MetricType
	labels string
}{
	"otkd_port_up":                           {dto.MetricType_GAUGE, "port"},
	"otkd_handshake_done":                    {dto.MetricType_GAUGE, "port"},
	"otkd_frames_total":                      {dto.MetricType_COUNTER, "dir port"},
	"otkd_frames_rejected_total":             {dto.MetricType_COUNTER, "port reason"},
	"otkd_frames_missing_total":              {dto.MetricType_COUNTER, "port"},
	"otkd_fec_corrected_symbols_total":       {dto.MetricType_COUNTER, "port"},
	"otkd_fec_uncorrectable_codewords_total": {dto.MetricType_COUNTER, "port"},
	"otkd_bip8_errors_total":                 {dto.MetricType_COUNTER, "port"},
	"otkd_rounds_total":                      {dto.MetricType_COUNTER, "port side"},
	"otkd_rounds_dropped_total":              {dto.MetricType_COUNTER, "port"},
	"otkd_seeds_total":                       {dto.MetricType_COUNTER, "port side"},
	"otkd_negotiation_failures_total":        {dto.MetricType_COUNTER, "port"},
	"otkd_epoch":                             {dto.MetricType_GAUGE, "dir port"},
	"otkd_key_switches_total":                {dto.MetricType_COUNTER, "port"},
	"otkd_sessions_total":                    {dto.MetricType_COUNTER, "port"},
	"otkd_link_healthy":                      {dto.MetricType_GAUGE, "port"},
	"otkd_peer_alive":                        {dto.MetricType_GAUGE, "port"},
	"otkd_tx_key_exhausted":                  {dto.MetricType_GAUGE, "port"},
	"otkd_tx_key_count":                      {dto.MetricType_GAUGE, "port"},
	"otkd_key_rotations_total":               {dto.MetricType_COUNTER, "port"},
	"otkd_handshake_lane_total":              {dto.MetricType_COUNTER, "event port"},
	"otkd_handshake_attempts_total":          {dto.MetricType_COUNTER, "port"},
	"otkd_seconds_since_seed":                {dto.MetricType_GAUGE, "port side"},
	"otkd_line_dropped_total":                {dto.MetricType_COUNTER, "port reason"},
	"otkd_line_frames_total":                 {dto.MetricType_COUNTER, "dir port"},
	"otkd_line_send_errors_total":            {dto.MetricType_COUNTER, "port"},
	"otkd_line_syscalls_total":               {dto.MetricType_COUNTER, "dir port"},
	"otkd_port_workers":                      {dto.MetricType_GAUGE, "port"},
	"otkd_store_keys":                        {dto.MetricType_GAUGE, ""},
	"otkd_store_slots":                       {dto.MetricType_GAUGE, ""},
	"otkd_store_generation":                  {dto.MetricType_GAUGE, ""},
	"otkd_worker_restarts_total":             {dto.MetricType_COUNTER, "worker"},
	"otkd_keyring_events_total":              {dto.MetricType_COUNTER, "event pool"},
	"otkd_keyring_refused_total":             {dto.MetricType_COUNTER, "pool reason"},
	"otkd_keyring_sync_total":                {dto.MetricType_COUNTER, "event pool"},
	"otkd_keyring_sync_pending":              {dto.MetricType_GAUGE, "pool"},
}

// familiesNew are the families added with client_golang.
var familiesNew = map[string]struct {
	typ    dto.MetricType
	labels string
}{
	"otkd_build_info":                        {dto.MetricType_GAUGE, "aes commit fec goversion noise version xor zuc"},
	"otkd_last_seed_timestamp_seconds":       {dto.MetricType_GAUGE, "port side"},
	"otkd_last_key_switch_timestamp_seconds": {dto.MetricType_GAUGE, "dir port"},
	"otkd_disagreement_ratio":                {dto.MetricType_GAUGE, "port side"},
	"otkd_shm_reader_generation":             {dto.MetricType_GAUGE, ""},
	"otkd_shm_writer_alive":                  {dto.MetricType_GAUGE, ""},
	"otkd_shm_heartbeat_timestamp_seconds":   {dto.MetricType_GAUGE, ""},
	"otkd_shm_active_key":                    {dto.MetricType_GAUGE, "direction port"},
	"go_goroutines":                          {dto.MetricType_GAUGE, ""},
	"process_open_fds":                       {dto.MetricType_GAUGE, ""},
}

// startAt runs a daemon from n's configuration with logs at level.
func (n *runningNode) startAt(t *testing.T, level slog.Level) {
	t.Helper()
	cfg, err := config.Load(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.d, err = New(cfg, NewLogs(n.log, level, false)); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.d.Run(ctx) }()
}

// scrape gets the daemon's /metrics page through its handler and parses
// it with the library's own parser.
func scrape(t *testing.T, d *Daemon) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	rec := httptest.NewRecorder()
	d.metricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, page)
	}
	return page, mfs
}

// value returns the sample of family name with the labels (name=value
// pairs), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
			}
			if !found {
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
	return 0, false
}

// TestMetricsAndLogs runs two daemons (a UDP port, a keyring pool) with
// logs at INFO and a summary every 2 s until both directions have made
// seeds and each port logged summaries, then checks:
//   - /metrics parses; every family otkd served before client_golang has
//     its name, type and label names; the new families are there with
//     values that make sense (timestamps of this run, the shm view of a
//     plugin, the build); no label value has a space; the registry reports
//     no error;
//   - the log at INFO has no line per seed or per key, and one summary
//     line per port per interval naming what the port did.
func TestMetricsAndLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two daemons for several seconds")
	}
	a, b := newTestLink(t, "1h")
	for _, n := range []*runningNode{a, b} {
		f, err := os.OpenFile(n.cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("\n[log]\nsummary = \"2s\"\n")
		f.Close()
	}
	start := time.Now()
	a.startAt(t, slog.LevelInfo)
	b.startAt(t, slog.LevelInfo)
	defer b.stop(t)
	defer a.stop(t)
	summaries := func(n *runningNode) []string {
		var out []string
		for _, l := range strings.Split(n.log.String(), "\n") {
			if strings.Contains(l, `msg="port summary"`) && strings.Contains(l, "health=ok") && !strings.Contains(l, " seeds_own=0 ") {
				out = append(out, l)
			}
		}
		return out
	}
	pollDaemons(t, "seeds in both directions and two summaries of a healthy port with seeds", func() bool {
		_, mfs := scrape(t, a.d)
		own, _ := value(mfs, "otkd_seeds_total", "side", "own")
		peer, _ := value(mfs, "otkd_seeds_total", "side", "peer")
		return own >= 2 && peer >= 2 && len(summaries(a)) >= 2
	}, a, b)

	page, mfs := scrape(t, a.d)
	if os.Getenv("OTKD_SHOW_METRICS") != "" {
		t.Logf("/metrics:\n%s", page)
	}
	check := func(want map[string]struct {
		typ    dto.MetricType
		labels string
	}) {
		for name, w := range want {
			mf := mfs[name]
			if mf == nil {
				t.Errorf("no family %s", name)
				continue
			}
			if mf.GetType() != w.typ {
				t.Errorf("%s: type %v, want %v", name, mf.GetType(), w.typ)
			}
			for _, m := range mf.Metric {
				var ln []string
				for _, lp := range m.Label {
					ln = append(ln, lp.GetName())
				}
				if got := strings.Join(ln, " "); got != w.labels {
					t.Errorf("%s: labels %q, want %q", name, got, w.labels)
				}
			}
		}
	}
	check(familiesBefore)
	check(familiesNew)
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, lp := range m.Label {
				if strings.ContainsAny(lp.GetValue(), " \t\n") {
					t.Errorf("%s: label %s=%q has a space", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	if _, err := a.d.registry().Gather(); err != nil {
		t.Errorf("registry: %v", err)
	}

	now := float64(time.Now().UnixNano()) / 1e9
	inRun := func(what string, v float64, ok bool) {
		if !ok || v < float64(start.Unix()) || v > now+1 {
			t.Errorf("%s = %v (present %v), want a time of this run", what, v, ok)
		}
	}
	for _, side := range []string{"own", "peer"} {
		v, ok := value(mfs, "otkd_last_seed_timestamp_seconds", "port", "east", "side", side)
		inRun("last seed "+side, v, ok)
		if r, ok := value(mfs, "otkd_disagreement_ratio", "port", "east", "side", side); !ok || r <= 0 || r >= 0.5 {
			t.Errorf("disagreement %s = %v", side, r)
		}
	}
	for _, dir := range []string{"tx", "rx"} {
		v, ok := value(mfs, "otkd_last_key_switch_timestamp_seconds", "port", "east", "dir", dir)
		inRun("last key switch "+dir, v, ok)
	}
	gen, _ := value(mfs, "otkd_store_generation")
	if v, ok := value(mfs, "otkd_shm_reader_generation"); !ok || v != gen || v == 0 {
		t.Errorf("reader's generation %v, store's %v", v, gen)
	}
	if v, _ := value(mfs, "otkd_shm_writer_alive"); v != 1 {
		t.Errorf("writer alive = %v", v)
	}
	hb, ok := value(mfs, "otkd_shm_heartbeat_timestamp_seconds")
	inRun("shm heartbeat", hb, ok)
	for _, dir := range []string{"AB", "BA"} {
		if v, _ := value(mfs, "otkd_shm_active_key", "port", "east", "direction", dir); v != 1 {
			t.Errorf("active key %s = %v", dir, v)
		}
	}
	bi := buildinfo.Get()
	if v, ok := value(mfs, "otkd_build_info", "version", bi.Version, "goversion", bi.GoVersion, "zuc", bi.Kernels[0].Impl); !ok || v != 1 {
		t.Errorf("build info: %v %v\n%s", v, ok, page)
	}
	if v, ok := value(mfs, "otkd_worker_restarts_total", "worker", "port_east"); !ok || v != 0 {
		t.Errorf("port worker restarts: %v %v", v, ok)
	}

	// The log at INFO: no line per seed or key; summaries name the port's
	// work. (Earlier, each seed logged a line with its fingerprint and each
	// key another: several a second.)
	for _, n := range []*runningNode{a, b} {
		log := n.log.String()
		if m := regexp.MustCompile(`(?m)^.*msg=(seed|key) .*$`).FindString(log); m != "" {
			t.Errorf("%s logs a seed or key at INFO: %s", n.name, m)
		}
		if strings.Contains(log, "level=DEBUG") {
			t.Errorf("%s: DEBUG lines at INFO", n.name)
		}
		line := summaries(n)[0]
		for _, f := range []string{"port=east", "seconds=", "seeds_own=", "seeds_peer=", "switches_tx=", "switches_rx=",
			"frames_tx=", "frames_rx=", "rejected=", "disagreement_own=", "disagreement_peer=", "health=ok"} {
			if !strings.Contains(line, f) {
				t.Errorf("%s: summary lacks %s: %s", n.name, f, line)
			}
		}
		t.Logf("%s: %s", n.name, line)
	}
	// Bounded: what is logged while running is the summaries and a few
	// lines on the session; nothing grows with the seeds.
	_, run, _ := strings.Cut(a.log.String(), `msg="otkd running"`)
	lines := strings.Count(run, "\n")
	sums := strings.Count(run, `msg="port summary"`)
	_, seeds, _ := strings.Cut(page, "\notkd_seeds_total{port=\"east\",side=\"own\"} ")
	if lines > sums+12 {
		t.Errorf("%d lines logged while running, %d of them summaries (seeds: %.20s):\n%s", lines, sums, seeds, run)
	}
}
