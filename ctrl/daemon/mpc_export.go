package daemon

// Exports made by the daemon itself (docs/mpc.md, "Exports"): otkctl mpc
// backup --seeds | --keyring [--pool P] asks for one; the daemon copies the
// seeds of every keyring pool or the state of one pool's keyring, encodes
// them (mpc.Export), encrypts the encoding to the cluster key through
// MPCBackup, which stores the ciphertext and wipes the plaintext, and
// wipes every copy it made. The backup timer exports the seeds of every
// pool.

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
)

// MPCExport implements api.MPCBackend.
func (d *Daemon) MPCExport(ctx context.Context, what, pool, label string) (api.MPCBackup, error) {
	if d.custody == nil {
		return api.MPCBackup{}, errNoMPC
	}
	w, err := mpc.ParseExportWhat(what)
	if err != nil {
		return api.MPCBackup{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	if err := api.CheckMPCLabel(label); err != nil {
		return api.MPCBackup{}, err
	}
	e, err := d.export(w, pool)
	if err != nil {
		return api.MPCBackup{}, err
	}
	defer e.Wipe()
	if label == "" {
		label = d.exportLabel(e)
	}
	data, err := e.Marshal()
	if err != nil {
		return api.MPCBackup{}, fmt.Errorf("%w: %v", api.ErrInternal, err)
	}
	if len(data) > api.MaxMPCBackupBytes {
		clear(data)
		return api.MPCBackup{}, fmt.Errorf("%w: the %s export is %d bytes, more than a backup holds (%d)", api.ErrConflict, w, len(data), api.MaxMPCBackupBytes)
	}
	b, err := d.MPCBackup(ctx, label, data) // wipes data
	if err == nil {
		d.custody.log.Info("mpc export backed up", "what", w.String(), "pool", e.Pool, "id", b.ID, "seeds", len(e.Seeds),
			"rings", len(e.Rings), "bindings", len(e.Bindings))
	}
	return b, err
}

// exportLabel is the default label of e: seeds-NODE, keyring-NODE, or
// keyring-NODE-POOL when the daemon runs several pools; without the node
// when that is too long for a label, and without the pool too after that.
func (d *Daemon) exportLabel(e *mpc.Export) string {
	cands := []string{e.What.String() + "-" + d.cfg.Node.Name}
	if e.What == mpc.ExportKeyring && len(d.km.pools) > 1 {
		cands = []string{cands[0] + "-" + e.Pool, e.What.String() + "-" + e.Pool}
	}
	for _, l := range cands {
		if api.CheckMPCLabel(l) == nil {
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
func (d *Daemon) export(w mpc.ExportWhat, name string) (*mpc.Export, error) {
	if len(d.km.pools) == 0 {
		return nil, fmt.Errorf("%w: this otkd runs no keyring ([keyring] enabled = false, no [[keyring]] pools), so it holds no %s to export", api.ErrConflict, w)
	}
	e := &mpc.Export{What: w, Created: time.Now().UTC(), Node: d.cfg.Node.Name}
	if w == mpc.ExportSeeds {
		if name != "" {
			return nil, fmt.Errorf("%w: a seeds export holds the seeds of every pool; --pool %q is for --keyring", api.ErrBadRequest, name)
		}
		seen := map[uint64]bool{}
		for _, p := range d.km.pools {
			if err := p.exportSeeds(e, seen); err != nil {
				e.Wipe()
				return nil, err
			}
		}
		if len(e.Seeds) == 0 {
			return nil, fmt.Errorf("%w: no seeds yet: no keyring port's link has negotiated any since start and no ring is filled (pools %s)", api.ErrConflict, poolNames(d.km.pools))
		}
		return e, nil
	}
	p, err := d.pool(name)
	if err != nil {
		return nil, err
	}
	if err := p.exportKeyring(e); err != nil {
		e.Wipe()
		return nil, err
	}
	return e, nil
}

// exportSeeds appends the seeds of p that seen does not hold yet: the
// recent link seeds, then the kept and ring seeds of its keyring.
func (p *pool) exportSeeds(e *mpc.Export, seen map[uint64]bool) error {
	add := func(s mpc.ExportSeed) {
		if !seen[s.ID] {
			seen[s.ID] = true
			s.Pool, s.Seed = p.cfg.Pool, bytes.Clone(s.Seed)
			e.Seeds = append(e.Seeds, s)
		}
	}
	p.seeds.mu.Lock()
	for _, h := range p.seeds.seeds {
		add(mpc.ExportSeed{Source: mpc.SeedLink, ID: h.id, At: h.at, Seed: h.seed[:]})
	}
	p.seeds.mu.Unlock()
	st, err := p.ring.Export()
	if err != nil {
		return fmt.Errorf("%w: keyring pool %q: %v", api.ErrUnavailable, p.cfg.Pool, err)
	}
	defer st.Zero()
	for _, k := range st.Kept {
		add(mpc.ExportSeed{Source: mpc.SeedKept, ID: k.ID, Seed: k.Seed[:]})
	}
	for _, r := range st.Rings {
		if r.Filled {
			add(mpc.ExportSeed{Source: mpc.SeedRing, ID: r.SeedID, Seed: r.Seed[:]})
		}
	}
	return nil
}

// exportKeyring fills e with the state of p's keyring: pool, window,
// rings, bindings, and the kept and ring seeds, each id once.
func (p *pool) exportKeyring(e *mpc.Export) error {
	st, err := p.ring.Export()
	if err != nil {
		return fmt.Errorf("%w: keyring pool %q: %v", api.ErrUnavailable, p.cfg.Pool, err)
	}
	defer st.Zero()
	e.Pool, e.Window = st.Pool, st.Window
	seen := map[uint64]bool{}
	add := func(src mpc.SeedSource, id uint64, seed []byte) {
		if !seen[id] {
			seen[id] = true
			e.Seeds = append(e.Seeds, mpc.ExportSeed{Source: src, Pool: st.Pool, ID: id, Seed: bytes.Clone(seed)})
		}
	}
	for _, k := range st.Kept {
		add(mpc.SeedKept, k.ID, k.Seed[:])
	}
	for _, r := range st.Rings {
		if r.Filled {
			add(mpc.SeedRing, r.SeedID, r.Seed[:])
		}
		e.Rings = append(e.Rings, mpc.ExportRing{Ring: uint8(r.Ring), Filled: r.Filled, Epoch: r.Epoch, SeedID: r.SeedID, Keys: uint32(r.Keys)})
	}
	for _, b := range st.Bindings {
		e.Bindings = append(e.Bindings, mpc.ExportBinding{Consumer: b.Consumer, Ring: uint8(b.Ring), Slot: b.Slot,
			Epoch: b.Epoch, SeedID: b.SeedID, KeyID: b.KeyID})
	}
	return nil
}

// timedLabel labels the backups of the backup timer; timedKeep is how many
// of them the node keeps (the oldest beyond go when a new one is stored).
const timedKeep = 8

func (d *Daemon) timedLabel() string {
	if l := "seeds-" + d.cfg.Node.Name + "-timed"; api.CheckMPCLabel(l) == nil {
		return l
	}
	return "seeds-timed"
}

// runBackups loops backing up the seeds of every pool every period until ctx ends
// ([mpc] backup_period). Without a cluster key or seeds yet it waits for
// the next period; a failure is logged and tried again one period later.
func (d *Daemon) runBackups(ctx context.Context, period time.Duration) error {
	m := d.custody
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if m.node.Epoch() == 0 {
			m.log.Debug("mpc timed backup skipped: no cluster key yet")
			continue
		}
		b, err := d.MPCExport(ctx, "seeds", "", d.timedLabel())
		if err != nil {
			m.log.Warn("mpc timed backup failed; next try in one period", "err", err, "period", period)
			continue
		}
		if err := d.pruneTimed(b.ID); err != nil {
			m.log.Warn("mpc timed backup: pruning the old ones failed", "err", err)
		}
	}
}

// pruneTimed deletes the timer's backups beyond the newest timedKeep
// (newest is the one just stored).
func (d *Daemon) pruneTimed(newest string) error {
	l, err := d.MPCBackups(context.Background())
	if err != nil {
		return err
	}
	var timed []string // oldest first
	for _, b := range l {
		if b.Label == d.timedLabel() && b.ID != newest {
			timed = append(timed, b.ID)
		}
	}
	for _, id := range timed[:max(0, len(timed)+1-timedKeep)] {
		if err := d.deleteBackup(id); err != nil {
			return err
		}
	}
	return nil
}
