package port

import (
	"fmt"

	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/dataplane/line/xdp"
	"github.com/otkd/otkd/noise"
)

// line is a port's line with what the daemon reports about it.
type line interface {
	dataplane.Line
	// describe names the line for logs and otkctl links.
	describe() string
	// writeMetrics writes the line's counters.
	writeMetrics(mw *service.Metrics, lb string)
}

// openLine opens the line a port's configuration names.
func openLine(pc *config.Port, prof noise.Profile) (line, error) {
	switch pc.Line {
	case "xdp":
		mode, attach := xdp.ModeAuto, xdp.AttachAuto
		switch pc.XDPMode {
		case "copy":
			mode = xdp.ModeCopy
		case "zero-copy":
			mode = xdp.ModeZeroCopy
		}
		switch pc.XDPAttach {
		case "driver":
			attach = xdp.AttachDriver
		case "generic":
			attach = xdp.AttachGeneric
		}
		l, err := xdp.Open(xdp.Config{Interface: pc.Interface, Queue: pc.Queue, Peer: pc.PeerHardwareAddr(),
			Profile: prof, FrameRate: pc.FrameRate, Mode: mode, Attach: attach})
		if err != nil {
			return nil, err
		}
		return xdpLine{l}, nil
	default:
		l, err := udp.Dial(udp.Config{Local: pc.LocalAddr(), Peer: pc.PeerAddr(), Profile: prof, FrameRate: pc.FrameRate,
			Batch: pc.Batch, MaxDelay: pc.MaxDelayDuration()})
		if err != nil {
			return nil, err
		}
		return udpLine{l, pc.Batch}, nil
	}
}

type udpLine struct {
	*udp.Line
	batch int
}

func (l udpLine) describe() string {
	if l.batch > 1 {
		return fmt.Sprintf("udp %s -> %s, batch %d", l.LocalAddr(), l.Peer(), l.batch)
	}
	return fmt.Sprintf("udp %s -> %s", l.LocalAddr(), l.Peer())
}

func (l udpLine) writeMetrics(mw *service.Metrics, lb string) {
	ls := l.Stats()
	writeLineMetrics(mw, lb, ls.Foreign, ls.Malformed, ls.Sent, ls.Received)
	mw.Put("otkd_line_send_errors_total", "counter", "Frames the network refused.", lb, float64(ls.SendErrors))
	mw.Reason("otkd_line_syscalls_total", "counter", "System calls of the UDP line that moved frames (sendto or sendmmsg; recvfrom or recvmmsg): frames per call is the batching.",
		lb, "dir", []service.Labelled{{Label: "tx", Value: float64(ls.SendCalls)}, {Label: "rx", Value: float64(ls.RecvCalls)}})
}

// writeLineMetrics writes what every line counts: datagrams dropped and
// frames moved.
func writeLineMetrics(mw *service.Metrics, lb string, foreign, malformed, sent, received uint64) {
	mw.Reason("otkd_line_dropped_total", "counter", "Datagrams the line dropped: from an unknown source (foreign) or of the wrong size (malformed).",
		lb, "reason", []service.Labelled{{Label: "foreign", Value: float64(foreign)}, {Label: "malformed", Value: float64(malformed)}})
	mw.Reason("otkd_line_frames_total", "counter", "Frames the line handed to the medium (tx) and delivered (rx).",
		lb, "dir", []service.Labelled{{Label: "tx", Value: float64(sent)}, {Label: "rx", Value: float64(received)}})
}

type xdpLine struct{ *xdp.Line }

func (l xdpLine) describe() string { return l.String() }

func (l xdpLine) writeMetrics(mw *service.Metrics, lb string) {
	ls := l.Stats()
	writeLineMetrics(mw, lb, ls.Foreign, ls.Malformed, ls.Sent, ls.Received)
	mw.Put("otkd_xdp_chunks_sent_total", "counter", "Ethernet chunks the AF_XDP line sent.", lb, float64(ls.SentChunks))
	mw.Reason("otkd_xdp_frames_dropped_total", "counter", "Frames the AF_XDP receiver dropped, by reason: part of their chunks missing or out of order (incomplete), no chunk at all (missed), not newer than one delivered (stale).",
		lb, "reason", []service.Labelled{{Label: "incomplete", Value: float64(ls.Incomplete)}, {Label: "missed", Value: float64(ls.Missed)}, {Label: "stale", Value: float64(ls.Stale)}})
	mw.Reason("otkd_xdp_chunks_dropped_total", "counter", "Chunks the AF_XDP receiver skipped: out of order or of a dropped frame (stray), the repeat of the chunk just taken (duplicate).",
		lb, "reason", []service.Labelled{{Label: "stray", Value: float64(ls.Stray)}, {Label: "duplicate", Value: float64(ls.DupChunks)}})
	mw.Reason("otkd_xdp_kernel_dropped_total", "counter", "The kernel's AF_XDP socket counters: packets dropped, RX ring full, fill ring empty, invalid TX descriptors.",
		lb, "reason", []service.Labelled{{Label: "dropped", Value: float64(ls.KernelRXDropped)}, {Label: "rx_ring_full", Value: float64(ls.KernelRXRingFull)},
			{Label: "fill_ring_empty", Value: float64(ls.KernelFillEmpty)}, {Label: "tx_invalid", Value: float64(ls.KernelTXInvalid)}})
}

// lineName describes a port's line from its configuration (before it is
// open).
func lineName(pc *config.Port) string {
	if pc.Line == "xdp" {
		return fmt.Sprintf("xdp line %s → %s", pc.Interface, pc.PeerMAC)
	}
	return fmt.Sprintf("udp %s -> %s", pc.Local, pc.Peer)
}

// workersOf returns the frame workers of a port: its workers key, or the
// default from the CPUs it may use, shared among ports.
func workersOf(pc *config.Port, ports int) int {
	allowed, err := dataplane.AllowedCPUs()
	n := len(allowed)
	if err != nil || n == 0 {
		n = 1
	}
	return pc.EffectiveWorkers(ports, n)
}
