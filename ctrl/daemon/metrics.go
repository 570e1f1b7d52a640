package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/service"
)

// metricsServer serves /metrics in the Prometheus text format on the
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

// metricsHandler serves the metrics (exported for tests).
func (d *Daemon) metricsHandler() http.Handler { return http.HandlerFunc(d.writeMetrics) }

// writeMetrics writes every metric: the ports', the store's, the
// services' and the supervisor's. Metric values are counters and
// fingerprint-free gauges: no key material.
func (d *Daemon) writeMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	mw := service.NewMetrics(w)
	for _, p := range d.ports {
		p.WriteMetrics(mw)
	}
	mw.Put("otkd_store_keys", "gauge", "Live keys in the shm store.", "", float64(d.countKeys()))
	mw.Put("otkd_store_slots", "gauge", "Key slots of the shm store.", "", float64(d.reader.Slots()))
	mw.Put("otkd_store_generation", "gauge", "Generation of the shm store (bumped at each start).", "", float64(d.writer.Generation()))
	for _, s := range d.services {
		s.WriteMetrics(mw)
	}
	for _, wk := range d.workers {
		mw.Put("otkd_worker_restarts_total", "counter", "Supervisor restarts of each worker.", fmt.Sprintf("worker=%q", wk.name), float64(wk.restarts.Load()))
	}
}
