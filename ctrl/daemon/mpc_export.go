package daemon

// Exports made by the daemon itself (docs/mpc.md, "Exports"): otkctl mpc
// backup --seeds | --keyring asks for one; the daemon copies the seeds it
// holds or its keyring state, encodes them (mpc.Export), encrypts the
// encoding to the cluster key through MPCBackup, which stores the
// ciphertext and wipes the plaintext, and wipes every copy it made.

import (
	"context"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/mpc"
)

// MPCExport implements api.MPCBackend.
func (d *Daemon) MPCExport(ctx context.Context, what, label string) (api.MPCBackup, error) {
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
	if label == "" {
		label = w.String() + "-" + d.cfg.Node.Name
		if api.CheckMPCLabel(label) != nil { // a node name too long for a label
			label = w.String()
		}
	}
	e, err := d.export(w)
	if err != nil {
		return api.MPCBackup{}, err
	}
	defer e.Wipe()
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
		d.custody.log.Info("mpc export backed up", "what", w.String(), "id", b.ID, "seeds", len(e.Seeds),
			"rings", len(e.Rings), "bindings", len(e.Bindings))
	}
	return b, err
}

// export copies what w names. Seeds: the recent A→B seeds of the keyring
// port's link, then the keyring's kept and ring seeds, each id once.
// Keyring: the rings, the bindings and the ring and kept seeds.
func (d *Daemon) export(w mpc.ExportWhat) (*mpc.Export, error) {
	e := &mpc.Export{What: w, Created: time.Now().UTC(), Node: d.cfg.Node.Name}
	if w == mpc.ExportSeeds && d.km.seeds != nil {
		s := d.km.seeds
		s.mu.Lock()
		for _, h := range s.seeds {
			e.Seeds = append(e.Seeds, mpc.ExportSeed{Source: mpc.SeedLink, ID: h.id, At: h.at, Seed: append([]byte(nil), h.seed[:]...)})
		}
		s.mu.Unlock()
	}
	if d.km.ring == nil {
		if w == mpc.ExportKeyring || len(e.Seeds) == 0 {
			return nil, fmt.Errorf("%w: this otkd runs no keyring ([keyring] enabled = false), so it holds no %s to export", api.ErrConflict, w)
		}
		return e, nil
	}
	st, err := d.km.ring.Export()
	if err != nil {
		e.Wipe()
		return nil, fmt.Errorf("%w: keyring: %v", api.ErrUnavailable, err)
	}
	defer st.Zero()
	e.Pool, e.Window = st.Pool, st.Window
	seen := map[uint64]bool{}
	for _, s := range e.Seeds {
		seen[s.ID] = true
	}
	add := func(src mpc.SeedSource, id uint64, seed []byte) {
		if !seen[id] {
			seen[id] = true
			e.Seeds = append(e.Seeds, mpc.ExportSeed{Source: src, ID: id, Seed: append([]byte(nil), seed...)})
		}
	}
	for _, k := range st.Kept {
		add(mpc.SeedKept, k.ID, k.Seed[:])
	}
	for _, r := range st.Rings {
		if r.Filled {
			add(mpc.SeedRing, r.SeedID, r.Seed[:])
		}
		if w == mpc.ExportKeyring {
			e.Rings = append(e.Rings, mpc.ExportRing{Ring: uint8(r.Ring), Filled: r.Filled, Epoch: r.Epoch, SeedID: r.SeedID, Keys: uint32(r.Keys)})
		}
	}
	if w == mpc.ExportKeyring {
		for _, b := range st.Bindings {
			e.Bindings = append(e.Bindings, mpc.ExportBinding{Consumer: b.Consumer, Ring: uint8(b.Ring), Slot: b.Slot,
				Epoch: b.Epoch, SeedID: b.SeedID, KeyID: b.KeyID})
		}
	}
	if len(e.Seeds) == 0 && w == mpc.ExportSeeds {
		return nil, fmt.Errorf("%w: no seeds yet: the keyring port's link has negotiated none since start and no ring is filled", api.ErrConflict)
	}
	return e, nil
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

// runBackups loops backing up the node's seeds every period until ctx ends
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
		b, err := d.MPCExport(ctx, "seeds", d.timedLabel())
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
