package port

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/dataplane/client/tap"
)

// clientRun is a port's client: its TAP interface and the mapper between
// the interface and the port's frames. Both live for the daemon's whole
// life, across restarts of the port: a TAP that otkd created goes away
// with its descriptor, taking the operator's addresses with it, and the
// mapper holds the GFP stream, which runs on across a port restart.
//
// The mapper's TX and RX sides belong to one goroutine each at a time: the
// port incarnation that runs (runPort returns only after its pipelines
// have stopped, and the next incarnation starts after that), and the
// client worker (Serve runs one reader and one writer, and returns only
// after both have stopped).
type clientRun struct {
	spec string // as configured, "tap:NAME"
	name string
	mtu  int
	m    *client.Mapper
	log  *slog.Logger

	// dev is the open interface the next run of the client worker serves;
	// Serve closes it when it returns, and the worker opens it again.
	// Only Start, the client worker and close (after the workers) touch it.
	dev     *tap.Device
	created atomic.Bool // the interface was created by otkd (rather than attached)

	// next is the COUNT the port's next incarnation starts at; only the
	// port worker touches it after Start.
	next uint32
}

// openClient opens the TAP interface of port i and builds its mapper.
func openClient(i int, pc *config.Port, log *slog.Logger) (*clientRun, error) {
	c := &clientRun{spec: pc.Client, name: pc.ClientTAP(), mtu: pc.ClientMTU, log: log.With("port", pc.Name, "client", pc.Client)}
	m, err := client.New(client.Config{MTU: c.mtu})
	if err != nil {
		return nil, fmt.Errorf("port[%d].client_mtu: %w", i, err)
	}
	dev, err := tap.Open(tap.Config{Name: c.name, MTU: c.mtu})
	if err != nil {
		return nil, fmt.Errorf("port[%d].client = %q: %w", i, c.spec, err)
	}
	c.m, c.dev = m, dev
	c.created.Store(dev.Created())
	// A random first COUNT: a peer that saw an earlier run of this daemon
	// then sees a new sequence (a restart: its GFP receiver resynchronises
	// at once) rather than frames that seem to come late.
	c.next = rand.Uint32()
	how := "attached"
	if dev.Created() {
		how = "created (it goes away when otkd stops)"
	}
	c.log.Info("client interface "+how, "interface", c.name, "mtu", c.mtu, "up", true)
	return c, nil
}

// portConfig plugs the mapper into a port incarnation's configuration:
// it fills the frames' payload, takes the payload of the frames received,
// and the incarnation's COUNT runs on from the last one's.
func (c *clientRun) portConfig(pc *dataplane.Config) {
	pc.Payload, pc.Sink, pc.FirstCount = c.m, c.m, c.next
}

// portStopped records where the stopped incarnation's COUNT ended. The
// next one starts one further on: the frame the TX was building when the
// port stopped may have taken client octets without being sent, and the
// gap of one COUNT makes the peer resynchronise there instead of reading
// a stream with a hole in it.
func (c *clientRun) portStopped(p *dataplane.Port) {
	if p.Stats().TXFrames > 0 {
		c.next = p.TXCount() + 2
	}
}

// run is the client worker: it serves the interface until ctx ends or the
// interface fails. After a failure (the interface was deleted, say) the
// supervisor runs it again and it opens the interface again.
func (c *clientRun) run(ctx context.Context) error {
	dev := c.dev
	c.dev = nil
	if dev == nil {
		var err error
		if dev, err = tap.Open(tap.Config{Name: c.name, MTU: c.mtu}); err != nil {
			return fmt.Errorf("client %s: %w", c.spec, err)
		}
		if dev.Created() {
			c.log.Warn("client interface created again: give it its addresses again", "interface", c.name, "mtu", c.mtu)
		} else {
			c.log.Info("client interface attached again", "interface", c.name, "mtu", c.mtu)
		}
		c.created.Store(dev.Created())
	}
	if err := c.m.Serve(ctx, dev); err != nil {
		return fmt.Errorf("client %s: %w", c.spec, err)
	}
	return nil
}

// close closes an interface no worker took.
func (c *clientRun) close() {
	if c.dev != nil {
		c.dev.Close()
		c.dev = nil
	}
}

// OpenClient opens the port's client interface (client = "tap:NAME"), if
// it has one; i is the port's index in the configuration, for errors.
func (p *Port) OpenClient(i int) error {
	if p.cfg.Client == "" {
		return nil
	}
	c, err := openClient(i, &p.cfg, p.log)
	if err != nil {
		return err
	}
	p.client = c
	return nil
}

// CloseClient closes a client interface no worker took.
func (p *Port) CloseClient() {
	if p.client != nil {
		p.client.close()
	}
}

// counters returns the client's counters for the API.
func (c *clientRun) counters() *api.ClientCounters {
	cc := &api.ClientCounters{Interface: c.spec, MTU: c.mtu, Created: c.created.Load()}
	cc.SetClientCounters(c.m.Stats())
	return cc
}

// writeClientMetrics writes the counters of a port's client.
func writeClientMetrics(mw *service.Metrics, lb string, c *api.ClientCounters) {
	b := 0.0
	if c.Created {
		b = 1
	}
	mw.Put("otkd_client_info", "gauge", "A port's client interface; created=\"1\" when otkd created it (it goes away when otkd stops).",
		fmt.Sprintf("%s,interface=%q,mtu=\"%d\",created=\"%g\"", lb, c.Interface, c.MTU, b), 1)
	mw.Reason("otkd_client_packets_total", "counter", "Client frames taken from the client (in, queued for the line) and delivered to it (out).",
		lb, "dir", []service.Labelled{{Label: "in", Value: float64(c.InPackets)}, {Label: "out", Value: float64(c.OutPackets)}})
	mw.Reason("otkd_client_bytes_total", "counter", "Client octets (Ethernet frames without FCS) in and out.",
		lb, "dir", []service.Labelled{{Label: "in", Value: float64(c.InBytes)}, {Label: "out", Value: float64(c.OutBytes)}})
	mw.Reason("otkd_client_drops_total", "counter", "Client frames dropped, by reason: capacity (tail drop at the client side), mtu, malformed, fcs, pfcs, delineation (cut by a break of the GFP stream), queue (the client writer fell behind), refused (the interface refused the write).",
		lb, "reason", []service.Labelled{
			{Label: "capacity", Value: float64(c.Drops.Capacity)}, {Label: "mtu", Value: float64(c.Drops.MTU)}, {Label: "malformed", Value: float64(c.Drops.Malformed)},
			{Label: "fcs", Value: float64(c.Drops.FCS)}, {Label: "pfcs", Value: float64(c.Drops.PFCS)}, {Label: "delineation", Value: float64(c.Drops.Delineation)},
			{Label: "queue", Value: float64(c.Drops.Queue)}, {Label: "refused", Value: float64(c.Drops.Refused)}})
	mw.Reason("otkd_client_stream_events_total", "counter", "Breaks of the received GFP stream: OTN frames lost or rejected before it (lost), received damaged beyond the FEC (damaged), late or repeated (late), a restarted peer sequence (peer_restart), a payload type other than GFP (payload_mismatch, frames).",
		lb, "event", []service.Labelled{{Label: "lost", Value: float64(c.FramesLost)}, {Label: "damaged", Value: float64(c.FramesDamaged)},
			{Label: "late", Value: float64(c.FramesLate)}, {Label: "peer_restart", Value: float64(c.PeerRestarts)}, {Label: "payload_mismatch", Value: float64(c.PayloadMismatch)}})
	mw.Put("otkd_client_gfp_syncs_total", "counter", "Entries into GFP frame delineation (SYNC).", lb, float64(c.GFPSyncs))
	mw.Put("otkd_client_gfp_resyncs_total", "counter", "Losses of GFP frame delineation: the receiver hunts again.", lb, float64(c.GFPResyncs))
	mw.Put("otkd_client_gfp_corrected_total", "counter", "GFP core headers with a single bit error corrected.", lb, float64(c.GFPCorrected))
}
