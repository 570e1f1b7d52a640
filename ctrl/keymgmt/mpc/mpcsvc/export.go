package mpcsvc

// Exports made by the daemon itself (docs/mpc.md, "Exports"): otkctl mpc
// backup --seeds | --keyring [--pool P] asks for one; the daemon copies the
// seeds of every keyring pool or the state of one pool's keyring, encodes
// them (Export), encrypts the encoding to the cluster key through
// MPCBackup, which stores the ciphertext and wipes the plaintext, and
// wipes every copy it made. The backup timer exports the seeds of every
// pool.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/internal/keys"
)

// MPCExport implements MPCBackend.
func (s *Service) MPCExport(ctx context.Context, what, pool, label string) (MPCBackup, error) {
	if s.run == nil {
		return MPCBackup{}, errNoMPC
	}
	w, err := ParseExportWhat(what)
	if err != nil {
		return MPCBackup{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	if err := CheckMPCLabel(label); err != nil {
		return MPCBackup{}, err
	}
	e, err := s.export(w, pool)
	if err != nil {
		return MPCBackup{}, err
	}
	defer e.Wipe()
	if label == "" {
		label = s.exportLabel(e)
	}
	data, err := e.Marshal()
	if err != nil {
		return MPCBackup{}, fmt.Errorf("%w: %v", api.ErrInternal, err)
	}
	if len(data) > MaxMPCBackupBytes {
		clear(data)
		return MPCBackup{}, fmt.Errorf("%w: the %s export is %d bytes, more than a backup holds (%d)", api.ErrConflict, w, len(data), MaxMPCBackupBytes)
	}
	b, err := s.MPCBackup(ctx, label, data) // wipes data
	if err == nil {
		s.run.log.Info("mpc export backed up", "what", w.String(), "pool", e.Pool, "id", b.ID, "seeds", len(e.Seeds),
			"rings", len(e.Rings), "bindings", len(e.Bindings))
	}
	return b, err
}

// Keyrings is what the daemon's exports read of its keyring pools (the
// keyring service, keyringsvc.Service): the pools' names in configuration
// order, and for a pool ("" the only one, as api.ResolvePool) copies of
// its keyring's state and of the recent A→B seeds of its port's link,
// oldest first, which the caller zeroes.
type Keyrings interface {
	PoolNames() []string
	ExportPool(pool string) (*keyring.State, []keyring.StateSeed, error)
}

// pools returns the keyring pools' names (none without keyrings).
func (s *Service) pools() []string {
	if s.keyrings == nil {
		return nil
	}
	return s.keyrings.PoolNames()
}

// exportLabel is the default label of e: seeds-NODE, keyring-NODE, or
// keyring-NODE-POOL when the daemon runs several pools; without the node
// when that is too long for a label, and without the pool too after that.
func (s *Service) exportLabel(e *Export) string {
	cands := []string{e.What.String() + "-" + s.node}
	if e.What == ExportKeyring && len(s.pools()) > 1 {
		cands = []string{cands[0] + "-" + e.Pool, e.What.String() + "-" + e.Pool}
	}
	for _, l := range cands {
		if CheckMPCLabel(l) == nil {
			return l
		}
	}
	return e.What.String()
}

// export copies what w names. Seeds: of every pool in configuration order,
// the recent A→B seeds of its port's link, then its keyring's kept and
// ring seeds, each id once (under the first pool holding it). Keyring: the
// rings, the bindings and the ring and kept seeds of the pool named (""
// the only one).
func (s *Service) export(w ExportWhat, name string) (*Export, error) {
	pools := s.pools()
	if len(pools) == 0 {
		return nil, fmt.Errorf("%w: this otkd runs no keyring ([keyring] enabled = false, no [[keyring]] pools), so it holds no %s to export", api.ErrConflict, w)
	}
	e := &Export{What: w, Created: time.Now().UTC(), Node: s.node}
	if w == ExportSeeds {
		if name != "" {
			return nil, fmt.Errorf("%w: a seeds export holds the seeds of every pool; --pool %q is for --keyring", api.ErrBadRequest, name)
		}
		seen := map[uint64]bool{}
		for _, p := range pools {
			if err := s.exportSeeds(e, p, seen); err != nil {
				e.Wipe()
				return nil, err
			}
		}
		if len(e.Seeds) == 0 {
			return nil, fmt.Errorf("%w: no seeds yet: no keyring port's link has negotiated any since start and no ring is filled (pools %s)", api.ErrConflict, strings.Join(pools, ", "))
		}
		return e, nil
	}
	if err := s.exportKeyring(e, name); err != nil {
		e.Wipe()
		return nil, err
	}
	return e, nil
}

// exportSeeds appends the seeds of pool that seen does not hold yet: the
// recent link seeds, then the kept and ring seeds of its keyring.
func (s *Service) exportSeeds(e *Export, pool string, seen map[uint64]bool) error {
	st, link, err := s.keyrings.ExportPool(pool)
	if err != nil {
		return err
	}
	defer st.Zero()
	defer wipeSeeds(link)
	add := func(src SeedSource, id uint64, at time.Time, seed *keys.Seed) {
		if !seen[id] {
			seen[id] = true
			e.Seeds = append(e.Seeds, ExportSeed{Source: src, Pool: pool, ID: id, At: at, Seed: bytes.Clone(seed[:])})
		}
	}
	for i := range link {
		add(SeedLink, link[i].ID, link[i].At, &link[i].Seed)
	}
	for i := range st.Kept {
		add(SeedKept, st.Kept[i].ID, time.Time{}, &st.Kept[i].Seed)
	}
	for i, r := range st.Rings {
		if r.Filled {
			add(SeedRing, r.SeedID, time.Time{}, &st.Rings[i].Seed)
		}
	}
	return nil
}

// exportKeyring fills e with the state of pool's keyring: pool, window,
// rings, bindings, and the kept and ring seeds, each id once.
func (s *Service) exportKeyring(e *Export, pool string) error {
	st, link, err := s.keyrings.ExportPool(pool)
	if err != nil {
		return err
	}
	wipeSeeds(link)
	defer st.Zero()
	e.Pool, e.Window = st.Pool, st.Window
	seen := map[uint64]bool{}
	add := func(src SeedSource, id uint64, seed *keys.Seed) {
		if !seen[id] {
			seen[id] = true
			e.Seeds = append(e.Seeds, ExportSeed{Source: src, Pool: st.Pool, ID: id, Seed: bytes.Clone(seed[:])})
		}
	}
	for i := range st.Kept {
		add(SeedKept, st.Kept[i].ID, &st.Kept[i].Seed)
	}
	for i, r := range st.Rings {
		if r.Filled {
			add(SeedRing, r.SeedID, &st.Rings[i].Seed)
		}
		e.Rings = append(e.Rings, ExportRing{Ring: uint8(r.Ring), Filled: r.Filled, Epoch: r.Epoch, SeedID: r.SeedID, Keys: uint32(r.Keys)})
	}
	for _, b := range st.Bindings {
		e.Bindings = append(e.Bindings, ExportBinding{Consumer: b.Consumer, Ring: uint8(b.Ring), Slot: b.Slot,
			Epoch: b.Epoch, SeedID: b.SeedID, KeyID: b.KeyID})
	}
	return nil
}

func wipeSeeds(ss []keyring.StateSeed) {
	for i := range ss {
		ss[i].Seed.Zero()
	}
}

// timedLabel labels the backups of the backup timer; timedKeep is how many
// of them the node keeps (the oldest beyond go when a new one is stored).
const timedKeep = 8

func (s *Service) timedLabel() string {
	if l := "seeds-" + s.node + "-timed"; CheckMPCLabel(l) == nil {
		return l
	}
	return "seeds-timed"
}

// runBackups loops backing up the seeds of every pool every period until ctx ends
// ([mpc] backup_period). Without a cluster key or seeds yet it waits for
// the next period; a failure is logged and tried again one period later.
func (s *Service) runBackups(ctx context.Context, period time.Duration) error {
	return s.run.every(ctx, period, "timed backup", func(ctx context.Context) error {
		b, err := s.MPCExport(ctx, "seeds", "", s.timedLabel())
		if err != nil {
			return err
		}
		if err := s.pruneTimed(b.ID); err != nil {
			s.run.log.Warn("mpc timed backup: pruning the old ones failed", "err", err)
		}
		return nil
	})
}

// pruneTimed deletes the timer's backups beyond the newest timedKeep
// (newest is the one just stored).
func (s *Service) pruneTimed(newest string) error {
	l, err := s.MPCBackups(context.Background())
	if err != nil {
		return err
	}
	var timed []string // oldest first
	for _, b := range l {
		if b.Label == s.timedLabel() && b.ID != newest {
			timed = append(timed, b.ID)
		}
	}
	for _, id := range timed[:max(0, len(timed)+1-timedKeep)] {
		if err := s.deleteBackup(id); err != nil {
			return err
		}
	}
	return nil
}
