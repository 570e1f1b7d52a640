package daemon

import (
	"fmt"
	"slices"

	"github.com/otkd/otkd/ctrl/daemon/config"
)

// Reload applies what may change while running (log level, format and
// summary interval, metrics address) from next, and refuses everything else with an error
// naming the fields. The running configuration is unchanged on error.
func (d *Daemon) Reload(next *config.Config) error {
	notifyReloading()
	defer notify("READY=1")
	changed, err := d.cfg.ReloadableDiff(next)
	if err != nil {
		return err
	}
	if slices.Contains(changed, "log.level") || slices.Contains(changed, "log.format") {
		d.logs.Set(next.SlogLevel(), next.Log.Format == "json")
		d.cfg.Log = next.Log
	}
	if slices.Contains(changed, "log.summary") {
		d.cfg.Log.Summary = next.Log.Summary
		if d.summaries != nil {
			d.summaries.setEvery(next.SummaryInterval())
		}
	}
	if slices.Contains(changed, "metrics.listen") {
		d.cfg.Metrics = next.Metrics
		if d.metrics != nil {
			d.metrics.setAddr(next.Metrics.Listen)
		}
	}
	d.log.Info("configuration reloaded", "changed", fmt.Sprint(changed))
	return nil
}
