// Package apitest provides a fake api.Backend with fixed, recognisable
// contents, for tests of the API, its clients and otkctl.
package apitest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/shm"
)

// Port names with special behaviour in Negotiate and Rotate, besides the
// real ports "p0" and "p1": Busy answers api.ErrConflict, Down
// api.ErrUnavailable, Locked api.ErrForbidden, Panic panics and Slow
// blocks until the context ends.
const (
	Busy   = "busy"
	Down   = "down"
	Locked = "locked"
	Panic  = "panic"
	Slow   = "slow"
)

// Started is the fake daemon's start time.
var Started = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// Backend is a fake api.Backend: two ports ("p0", id 1, role A; "p1",
// id 2, role B) and the keys of ShmKeys. It records the write calls it
// accepts. Safe for concurrent use; the zero value is not usable, call New.
type Backend struct {
	mu       sync.Mutex
	calls    []string
	problems []api.StoreProblem
	k        *keymgmt // keyring and key sync, made on first use
}

// SetProblems sets the problems VerifyStore reports (none by default).
func (b *Backend) SetProblems(p ...api.StoreProblem) {
	b.mu.Lock()
	b.problems = append([]api.StoreProblem(nil), p...)
	b.mu.Unlock()
}

// New returns a fake backend.
func New() *Backend { return &Backend{} }

// Calls returns the accepted write calls, e.g. "negotiate p0".
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

var ports = map[string]uint16{"p0": 1, "p1": 2}

var portNames = map[uint16]string{1: "p0", 2: "p1"}

// Status implements api.Backend.
func (b *Backend) Status(context.Context) (api.Status, error) {
	return api.Status{
		Node: "node-a", Version: "0.0.0-test", PID: 4242, StartedAt: Started,
		UptimeSeconds: 3723, Health: "ok", ShmPath: "/dev/shm/otkd-test.keys",
		StorePath: "/var/lib/otkd/test.db", Generation: 7, Keys: len(ShmKeys()),
		Ports: []api.PortSummary{
			{Name: "p0", ID: 1, Role: "A", Handshake: "done", TXEpoch: 3, RXEpoch: 3, KeySwitches: 259, SeedsOwn: 3, SeedsPeer: 2, LastSwitch: Started.Add(time.Hour)},
			{Name: "p1", ID: 2, Role: "B", Handshake: "pending", TXEpoch: 0, RXEpoch: -1},
		},
	}, nil
}

// Links implements api.Backend.
func (b *Backend) Links(context.Context) ([]api.Link, error) {
	return []api.Link{
		{Name: "p0", ID: 1, Role: "A", Line: "udp 192.0.2.7:7400", Peer: "node-b", Handshake: "done",
			TXEpoch: 3, RXEpoch: 3, FramesTX: 1000000, FramesRX: 999990, FramesRejected: 2,
			FECCorrected: 1234, FECUncorrectable: 1, RoundsOwn: 3000, RoundsPeer: 2900, RoundsDropped: 5,
			SeedsOwn: 3, SeedsPeer: 2, Failures: 1, KeySwitches: 3, DisagreementOwn: 0.004, DisagreementPeer: 0.0041,
			PostprocessingOwn: api.Postprocessing{Efficiency: 1.52, RoundsPerSeed: 1468, StepsPerBlock: 2.4,
				PerSeed: api.BoundTerms{Credited: 404, Reconciliation: 33, Tag: 21, Amplification: 43, Seed: 256, Slack: 51}},
			LastSeed: Started.Add(50 * time.Minute), LastSwitch: Started.Add(time.Hour),
			Client: &api.ClientCounters{Interface: "tap:otkd0", MTU: 1500, Created: true,
				InPackets: 5000, InBytes: 4000000, OutPackets: 4990, OutBytes: 3990000,
				Drops:      api.ClientDrops{Capacity: 7, Delineation: 2, PFCS: 1},
				FramesLost: 1, GFPSyncs: 2, GFPResyncs: 1}},
		{Name: "p1", ID: 2, Role: "B", Line: "simfiber", Peer: "node-c", Handshake: "pending", RXEpoch: -1},
	}, nil
}

// ShmKeys returns the fake's keys with their key bytes (KeyMaterial), for
// a test that publishes them in a real shm file. Put them in order: each
// active key supersedes the one before it.
func ShmKeys() []*shm.Key {
	t0 := Started.UnixNano()
	specs := []shm.Key{
		{ID: 11, Port: 1, Dir: shm.DirAtoB, Epoch: 2, State: shm.StateSuperseded, ValidFrom: t0},
		{ID: 12, Port: 1, Dir: shm.DirAtoB, Epoch: 3, State: shm.StateActive, ValidFrom: t0, ValidTo: t0 + int64(24*time.Hour)},
		{ID: 13, Port: 1, Dir: shm.DirAtoB, Epoch: 4, State: shm.StatePending},
		{ID: 14, Port: 1, Dir: shm.DirBtoA, Epoch: 3, State: shm.StateActive, Consumer: 99},
		{ID: 21, Port: 2, Dir: shm.DirAtoB, Epoch: 1, State: shm.StateActive},
	}
	out := make([]*shm.Key, len(specs))
	for i := range specs {
		k := specs[i]
		k.Alg = shm.AlgZUC128
		if err := k.SetMaterial(KeyMaterial(k.ID)); err != nil {
			panic(err)
		}
		out[i] = &k
	}
	return out
}

// KeyMaterial is the key bytes of key id: 16 bytes that start with
// DE AD BE EF and carry the id, easy to look for in outputs.
func KeyMaterial(id uint64) []byte {
	b := []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x5A, 0xA5, 0xC3, 0x3C, 0, 0, 0, 0, 0, 0, 0, 0}
	for i := range 8 {
		b[8+i] = byte(id >> (8 * i))
	}
	return b
}

// Keys implements api.Backend.
func (b *Backend) Keys(context.Context) ([]api.KeyInfo, error) {
	var out []api.KeyInfo
	for _, k := range ShmKeys() {
		out = append(out, api.KeyInfoFromShm(k, portNames[k.Port]))
		k.Zero()
	}
	return out, nil
}

// Negotiate implements api.Backend.
func (b *Backend) Negotiate(ctx context.Context, port string) error {
	return b.write(ctx, "negotiate", port)
}

// Rotate implements api.Backend.
func (b *Backend) Rotate(ctx context.Context, port string) error {
	return b.write(ctx, "rotate", port)
}

func (b *Backend) write(ctx context.Context, op, port string) error {
	switch port {
	case Busy:
		return fmt.Errorf("%s %s: a negotiation is already running: %w", op, port, api.ErrConflict)
	case Down:
		return fmt.Errorf("%s %s: the daemon is stopping: %w", op, port, api.ErrUnavailable)
	case Locked:
		return fmt.Errorf("%s %s: the port is locked by its operator: %w", op, port, api.ErrForbidden)
	case Panic:
		panic("apitest: " + op + " panicked")
	case Slow:
		<-ctx.Done()
		return ctx.Err()
	}
	if _, ok := ports[port]; !ok {
		return fmt.Errorf("%w %q", api.ErrUnknownPort, port)
	}
	b.mu.Lock()
	b.calls = append(b.calls, op+" "+port)
	b.mu.Unlock()
	return nil
}

// VerifyStore implements api.Backend.
func (b *Backend) VerifyStore(context.Context) (api.StoreReport, error) {
	n := len(ShmKeys())
	b.mu.Lock()
	problems := append([]api.StoreProblem{}, b.problems...)
	b.mu.Unlock()
	return api.StoreReport{
		OK: len(problems) == 0, StorePath: "/var/lib/otkd/test.db", ShmPath: "/dev/shm/otkd-test.keys",
		Persisted: n, Published: n, Matched: n - len(problems), Problems: problems,
	}, nil
}
