package daemon

// systemd integration (Type=notify, WatchdogSec), through
// github.com/coreos/go-systemd/v22/daemon: READY=1 once the API socket
// listens and the workers run, RELOADING=1 … READY=1 around a SIGHUP
// reload, STOPPING=1 at shutdown, STATUS= lines, and WATCHDOG=1 pings while
// otkd is healthy.
//
// # Watchdog rule
//
// With WATCHDOG_USEC set for this process, the daemon checks its health
// every watchdogCheck (or half the watchdog period, if shorter) and pings
// at half the period only while healthy. It is not healthy while
//   - a port is stuck: its worker runs, but its TX pipeline has not sent a
//     frame for stuckFrames frame periods of the port's frame_rate (the
//     OTU2 rate when unpaced), and at least stuckFloor. A port's TX sends a
//     frame every period whatever the peer does (null frames without a
//     key; a send the network refuses is counted and the frame is lost),
//     so a TX counter that stands still means the pipeline or the line is
//     blocked in this process or its host (a send that cannot complete, a
//     deadlocked goroutine). A silent peer is not a stuck port: restarting
//     otkd cannot make the peer talk, and `otkctl status` names it;
//   - a worker is failing: it restarted crashLoopRuns times in a row, each
//     run ending within backoffReset of its start, and has not run for
//     backoffReset since (supervise.go). The metrics server is left out
//     (worker.optional): restarting otkd for it would cut every link.
// When it becomes unhealthy the daemon sends STATUS= naming the reason and
// logs it once; systemd then kills and restarts otkd WatchdogSec after the
// last ping (deploy/otkd.service: Restart=on-failure). When health returns
// before that, the pings resume and STATUS= says so.
//
// Socket activation is not used: the API socket is made by otkd itself
// with its group and mode from the configuration (api.Listen), the UDP
// lines bind addresses named per port in the configuration, and none
// needs a privileged port; a .socket unit would be a second place to
// configure each of them.

import (
	"context"
	"fmt"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/otkd/otkd/ctrl/daemon/port"
)

// watchdogCheck is how often the health is checked (the port's stuck
// thresholds are port.StuckAfter's: stuckFrames frame periods, at least
// stuckFloor).
const watchdogCheck = 500 * time.Millisecond

// notify sends state to the service manager when NOTIFY_SOCKET is set; it
// is a no-op otherwise. A failed send is ignored: systemd's own timeouts
// report a daemon that never says READY.
func notify(state string) { _, _ = sd.SdNotify(false, state) }

// notifyReloading tells systemd a reload started; READY=1 ends it.
func notifyReloading() {
	notify(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
}

// watchdogInterval returns half the systemd watchdog period, 0 when the
// watchdog is off or meant for another process (WATCHDOG_PID).
func watchdogInterval() time.Duration {
	p, err := sd.SdWatchdogEnabled(false)
	if err != nil || p <= 0 {
		return 0
	}
	return p / 2
}

// txWatch is the watchdog's view of one port's TX progress.
type txWatch struct {
	st any       // the incarnation last seen
	tx uint64    // its TX frame count then
	at time.Time // when the count last moved (or the incarnation appeared)
}

// healthMonitor decides whether the daemon is healthy enough to ping the
// watchdog. One goroutine uses it.
type healthMonitor struct {
	d     *Daemon
	ports []txWatch
}

func newHealthMonitor(d *Daemon) *healthMonitor {
	return &healthMonitor{d: d, ports: make([]txWatch, len(d.ports))}
}

// check returns "" when healthy, else the reasons, separated by "; ".
func (m *healthMonitor) check(now time.Time) string {
	var why []string
	for _, w := range m.d.workers {
		if !w.optional && w.failing(now) {
			why = append(why, fmt.Sprintf("worker %s is failing (%d short runs in a row)", w.name, w.failStreak.Load()))
		}
	}
	for i, p := range m.d.ports {
		if s := m.stuck(i, p, now); s != "" {
			why = append(why, s)
		}
	}
	return strings.Join(why, "; ")
}

// stuck updates port i's TX watch and describes it if stuck.
func (m *healthMonitor) stuck(i int, p *port.Port, now time.Time) string {
	tw := &m.ports[i]
	st, tx := p.Progress()
	if st == nil {
		*tw = txWatch{} // a restart in progress: the crash-loop rule applies
		return ""
	}
	if st != tw.st || tx != tw.tx {
		*tw = txWatch{st: st, tx: tx, at: now}
		return ""
	}
	if limit := p.StuckAfter(); now.Sub(tw.at) >= limit {
		return fmt.Sprintf("port %s is stuck: no frame sent for %v or more", p.Name(), limit)
	}
	return ""
}

// watchdog pings systemd every iv while the daemon is healthy (see the
// rule above), until ctx ends.
func (d *Daemon) watchdog(ctx context.Context, iv time.Duration) {
	m := newHealthMonitor(d)
	t := time.NewTicker(min(iv, watchdogCheck))
	defer t.Stop()
	var last time.Time // last ping
	withheld := ""
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			why := m.check(now)
			switch {
			case why != "" && why != withheld:
				d.log.Error("watchdog not fed: systemd restarts otkd unless this clears", "why", why)
				notify("STATUS=unhealthy, watchdog not fed: " + why)
			case why == "" && withheld != "":
				d.log.Info("watchdog fed again", "was", withheld)
				notify("STATUS=running")
			}
			withheld = why
			if why == "" && now.Sub(last) >= iv {
				notify(sd.SdNotifyWatchdog)
				last = now
			}
		}
	}
}
