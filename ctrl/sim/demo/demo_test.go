package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClientTraffic runs a short demo with client traffic: frames cross
// both ways, none is corrupted or reordered, every loss is explained by
// damage on the fibre, and the verdict says so.
func TestClientTraffic(t *testing.T) {
	// Long enough for the handshake and some traffic also on a busy
	// machine with the pure-Go kernels (-tags noasm) or -race.
	dur := 5 * time.Second
	if testing.Short() {
		dur = 4 * time.Second
	}
	sum, err := Run(context.Background(), Options{Duration: dur, ClientLoad: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Client
	if c == nil || c.Load != 0.25 {
		t.Fatalf("no client summary: %+v", sum)
	}
	for _, d := range c.Directions {
		if d.Delivered == 0 || d.Corrupted != 0 || d.OutOfOrder != 0 || d.Delivered > d.Sent {
			t.Errorf("%s: %+v", d.Name, d)
		}
	}
	if c.Corrupted != 0 || !c.Explained || c.Line == "" {
		t.Errorf("verdict: %+v", c)
	}
	t.Logf("%s", c.Line)
}

// TestNoClient: without client traffic the summary has none and the
// frames carry the test pattern, as before.
func TestNoClient(t *testing.T) {
	sum, err := Run(context.Background(), Options{Duration: time.Second, NoClient: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Client != nil {
		t.Fatalf("client summary without client traffic: %+v", sum.Client)
	}
}

// TestReport runs a short demo with a report: the summary names the file
// it wrote (absolute), the verdict heads both, the page holds the line
// over time (frames/s, FEC) and the key-switch timeline with the switches
// the summary counts, and the JSON names no temporary store file.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	sum, err := Run(context.Background(), Options{Duration: 4 * time.Second, NoClient: true, ReportPath: "run.html"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "run.html")
	if sum.Report != want {
		t.Fatalf("summary names the report %q, want %q", sum.Report, want)
	}
	page, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sum.Verdict, "OK: ") || !sum.OK {
		t.Fatalf("verdict %q (ok %v)", sum.Verdict, sum.OK)
	}
	switches := sum.Directions[0].KeySwitches + sum.Directions[1].KeySwitches
	for _, s := range []string{
		`<p class="verdict">` + html.EscapeString(sum.Verdict) + `</p>`,
		"Frames per second", "FEC corrections", "Uncorrectable codewords", "What a count is",
		fmt.Sprintf("Key switches (%d)", switches),
	} {
		if !strings.Contains(string(page), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"files"`) || len(sum.Shm.Files) != 0 {
		t.Errorf("summary names the removed temporary stores: %s", sum.Shm.Files)
	}
	fps := 0.0
	for _, d := range sum.Directions {
		fps += d.FramesPerSec
	}
	if fps <= 0 || sum.Directions[0].FECCorrected+sum.Directions[1].FECCorrected == 0 {
		t.Errorf("no frames or no FEC corrections: %+v", sum.Directions)
	}
}

// TestReportPathChecked: a report path that cannot be written is refused
// before the link runs (no summary, nothing left in the directory).
func TestReportPathChecked(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := []string{filepath.Join(dir, "missing", "r.html"), dir}
	if os.Geteuid() != 0 { // root writes anywhere
		cases = append(cases, filepath.Join(ro, "r.html"))
	}
	for _, path := range cases {
		sum, err := Run(context.Background(), Options{Duration: time.Hour, NoClient: true, ReportPath: path})
		if !errors.Is(err, ErrReport) || sum != nil {
			t.Errorf("%s: %v, summary %v; want ErrReport before the run", path, err, sum)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the check left files: %v", ents)
	}
	if abs, err := CheckReportPath(filepath.Join(dir, "ok.html")); err != nil || abs != filepath.Join(dir, "ok.html") {
		t.Errorf("a writable path: %q, %v", abs, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the check left files: %v", ents)
	}
}
