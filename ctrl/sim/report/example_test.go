package report_test

import (
	"log"
	"os"
	"time"

	"github.com/otkd/otkd/ctrl/sim/report"
)

// The demo fills Data from its pair's figures at the end of a run and
// writes the page to the file named by --report.
func ExampleWrite() {
	d := &report.Data{
		Title:     "otkd demo",
		Generated: time.Now(),
		Duration:  10 * time.Second,
		Profile:   map[string]string{"noise profile": "default", "n": "64"},
	}
	d.Directions[0] = report.Direction{
		Name:   "A→B",
		Seeds:  []report.Seed{{At: 2 * time.Second, Fingerprint: "3f9a…", Disagreement: 0.031, KeptBits: 4096, Match: true}},
		Counts: [][2]float64{{20, 21}, {17, 17}, {25, 24}},
		Eve:    [][2]float64{{20, 19.6}, {17, 20.3}, {25, 20.1}},
		Rounds: 3, Kept: 4096, Disagreement: 0.031,
	}
	d.Directions[1].Name = "B→A"
	f, err := os.CreateTemp("", "otkd-report-*.html")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := report.Write(f, d); err != nil {
		log.Fatal(err)
	}
}
