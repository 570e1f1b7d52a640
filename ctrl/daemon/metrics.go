package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/internal/buildinfo"
	"github.com/otkd/otkd/shm"
)

// metricsServer serves /metrics in the Prometheus exposition format on the
// configured address ("" = off). A reload with a new address restarts it.
type metricsServer struct {
	d       *Daemon
	mu      sync.Mutex
	addr    string
	restart chan struct{}
}

func newMetricsServer(d *Daemon) *metricsServer {
	return &metricsServer{d: d, addr: d.cfg.Metrics.Listen, restart: make(chan struct{}, 1)}
}

// setAddr changes the address; the running server stops and the supervisor
// starts it again on the new one.
func (m *metricsServer) setAddr(a string) {
	m.mu.Lock()
	m.addr = a
	m.mu.Unlock()
	select {
	case m.restart <- struct{}{}:
	default:
	}
}

var errRestart = errors.New("metrics: address changed")

func (m *metricsServer) run(ctx context.Context) error {
	m.mu.Lock()
	addr := m.addr
	m.mu.Unlock()
	if addr == "" {
		select {
		case <-ctx.Done():
			return nil
		case <-m.restart:
			return errRestart
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.d.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	m.d.log.Info("metrics listening", "addr", l.Addr().String())
	var ret error
	select {
	case <-ctx.Done():
	case <-m.restart:
		ret = errRestart
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return ret
}

// metricsHandler serves the metrics of the daemon's registry (exported
// for tests): a scrape serves what collects, and a sample that breaks the
// service.Metrics contract is logged and left out.
func (d *Daemon) metricsHandler() http.Handler {
	return promhttp.HandlerFor(d.registry(), promhttp.HandlerOpts{
		ErrorLog: promLog{d.log}, ErrorHandling: promhttp.ContinueOnError,
	})
}

// registry is the daemon's Prometheus registry: the Go runtime's and the
// process's collectors of client_golang, and one collector per writer of
// otkd's families (service.Collector): each port, the daemon itself, each
// service. Each reads its counters at scrape time.
func (d *Daemon) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, p := range d.ports {
		reg.MustRegister(service.Collector(p.WriteMetrics))
	}
	reg.MustRegister(service.Collector(d.writeMetrics))
	for _, s := range d.services {
		reg.MustRegister(service.Collector(s.WriteMetrics))
	}
	return reg
}

// promLog logs what the metrics handler could not collect or serve.
type promLog struct{ log *slog.Logger }

func (l promLog) Println(v ...any) { l.log.Error("metrics", "err", fmt.Sprint(v...)) }

// writeMetrics writes the daemon's own families: what it is
// (otkd_build_info), its shm store as it keeps it and as a plugin reads it,
// and its supervisor's restarts. Metric values are counters and gauges:
// no key material.
func (d *Daemon) writeMetrics(mw *service.Metrics) {
	bi := buildinfo.Get()
	lb := []string{"version", bi.Version, "commit", bi.Commit, "goversion", bi.GoVersion}
	for _, k := range bi.Kernels {
		lb = append(lb, k.Name, k.Impl)
	}
	mw.Put("otkd_build_info", "gauge", "1, labelled with what this otkd is: version, commit, Go version and the frame-path kernels selected (zuc, fec, xor, noise, aes).",
		service.Labels(lb...), 1)
	mw.Put("otkd_store_keys", "gauge", "Live keys in the shm store.", "", float64(d.countKeys()))
	mw.Put("otkd_store_slots", "gauge", "Key slots of the shm store.", "", float64(d.reader.Slots()))
	mw.Put("otkd_store_generation", "gauge", "Generation of the shm store (bumped at each start).", "", float64(d.writer.Generation()))
	d.writeShmView(mw)
	for _, wk := range d.workers {
		// Worker names have spaces ("port east"); label values do not.
		mw.Put("otkd_worker_restarts_total", "counter", "Supervisor restarts of each worker.",
			service.Labels("worker", strings.ReplaceAll(wk.name, " ", "_")), float64(wk.restarts.Load()))
	}
}

// writeShmView writes the shm map as a plugin sees it, read through the
// plugin's reader (shm.Reader) on the file: its generation, whether its
// writer is alive, when the writer last refreshed the header, and whether
// each port has an active key in each direction.
func (d *Daemon) writeShmView(mw *service.Metrics) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	r := d.reader
	mw.Put("otkd_shm_reader_generation", "gauge", "Generation of the shm map as a plugin's reader reads it from the file (a plugin reopens when it changes).", "", float64(r.Generation()))
	mw.Put("otkd_shm_writer_alive", "gauge", "1 while a plugin's reader sees the map's writer alive (its liveness lock held); 0: plugins get writer-gone.", "", b(r.WriterAlive()))
	mw.Put("otkd_shm_heartbeat_timestamp_seconds", "gauge", "Unix time the map's writer last refreshed its header, as a plugin's reader reads it.", "", float64(r.Heartbeat())/1e9)
	var k shm.Key
	defer k.Zero()
	for _, p := range d.ports {
		for _, dir := range []shm.Dir{shm.DirAtoB, shm.DirBtoA} {
			err := r.ActiveKey(p.ID(), dir, &k)
			k.Zero()
			mw.Put("otkd_shm_active_key", "gauge", "1 while a plugin's reader finds an active key for the port and direction (AB: A to B) in the map.",
				service.Labels("port", p.Name(), "direction", api.DirName(dir)), b(err == nil))
		}
	}
}
