package demo

import (
	"fmt"

	"github.com/otkd/otkd/ctrl/pair"
)

// writeReport writes the HTML report (ctrl/report).
func writeReport(path string, p *pair.Pair, rec *recorder, sum *Summary, o Options) error {
	return fmt.Errorf("demo: the HTML report is not wired yet (%s)", path)
}
