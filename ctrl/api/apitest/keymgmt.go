package apitest

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

// Consumers with special behaviour in KeyringConnect: Exhausted answers
// api.ErrConflict (the ring has no unbound key left).
const Exhausted = 999

// Names the fake's key sync knows: App is the one configured application,
// KeyIDs the ids a valid key file (one starting with KeyFileMagic) imports.
const (
	App          = "vpn.example"
	KeyFileMagic = "OKSF"
)

// KeyIDs are the key ids a valid fake key file imports.
var KeyIDs = []string{"vendor:0001", "vendor:0002"}

// Pools are the fake's keyring pools unless SetPools changes them.
var Pools = []string{"default"}

// poolConsumer names a consumer of a pool.
type poolConsumer struct {
	pool     string
	consumer uint64
}

// keymgmt is the fake's keyring and key-sync state.
type keymgmt struct {
	pools    []string
	bound    map[poolConsumer]keyringsvc.KeyringKey
	next     uint32
	imported map[string]bool
	subs     map[string]string // identity → app
	binds    map[string]keysyncsvc.SyncBinding
}

func (b *Backend) km() *keymgmt {
	if b.k == nil {
		b.k = &keymgmt{pools: Pools, bound: map[poolConsumer]keyringsvc.KeyringKey{}, imported: map[string]bool{}, subs: map[string]string{}, binds: map[string]keysyncsvc.SyncBinding{}}
	}
	return b.k
}

// SetPools sets the fake's keyring pools (Pools by default).
func (b *Backend) SetPools(pools ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.km().pools = append([]string(nil), pools...)
}

// KeyringPools implements api.Backend.
func (b *Backend) KeyringPools(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.km().pools...), nil
}

// resolve is api.ResolvePool over the fake's pools; caller holds mu.
func (b *Backend) resolve(pool string) (string, error) {
	return api.ResolvePool(pool, b.km().pools)
}

// KeyringStatus implements api.Backend: two rings of 8 keys, ring 0 current.
func (b *Backend) KeyringStatus(_ context.Context, pool string) (keyringsvc.KeyringStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pool, err := b.resolve(pool)
	if err != nil {
		return keyringsvc.KeyringStatus{}, err
	}
	n := 0
	for pc := range b.km().bound {
		if pc.pool == pool {
			n++
		}
	}
	st := keyringsvc.KeyringStatus{Pool: pool, Port: "p0", Side: "A", WindowSeconds: 60, Now: Started, Connects: uint64(n)}
	for i := range 2 {
		r := keyringsvc.KeyringRing{Ring: i, Current: i == 0, Filled: true, Epoch: uint64(100 + i), SeedID: "00000000000000aa",
			WindowStart: Started.Add(time.Duration(i) * time.Minute), WindowEnd: Started.Add(time.Duration(i+1) * time.Minute), Keys: 8, Free: 4}
		if i == 0 {
			r.Bound, r.Free = n, 4-n
		}
		st.Rings = append(st.Rings, r)
	}
	return st, nil
}

// KeyringConnect implements api.Backend.
func (b *Backend) KeyringConnect(_ context.Context, pool string, consumer uint64) (keyringsvc.KeyringKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pool, err := b.resolve(pool)
	if err != nil {
		return keyringsvc.KeyringKey{}, err
	}
	if consumer == Exhausted {
		return keyringsvc.KeyringKey{}, fmt.Errorf("keyring: keyring exhausted: ring 0: %w", api.ErrConflict)
	}
	k := b.km()
	if key, ok := k.bound[poolConsumer{pool, consumer}]; ok {
		return key, nil
	}
	id := 0x1000 + uint64(k.next)
	key := keyringsvc.KeyringKey{Pool: pool, Consumer: consumer, Fingerprint: fmt.Sprintf("%016x", id), ID: id, Slot: 2 * k.next,
		Epoch: 100, SeedID: "00000000000000aa", Alg: "ZUC-128", ValidFrom: Started, ValidTo: Started.Add(2 * time.Minute)}
	k.next++
	k.bound[poolConsumer{pool, consumer}] = key
	b.calls = append(b.calls, fmt.Sprintf("keyring connect %s %d", pool, consumer))
	return key, nil
}

// KeyringDisconnect implements api.Backend.
func (b *Backend) KeyringDisconnect(_ context.Context, pool string, consumer uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	pool, err := b.resolve(pool)
	if err != nil {
		return err
	}
	if _, ok := b.km().bound[poolConsumer{pool, consumer}]; !ok {
		return fmt.Errorf("keyring: consumer not bound: consumer %d: %w", consumer, api.ErrNotFound)
	}
	delete(b.k.bound, poolConsumer{pool, consumer})
	b.calls = append(b.calls, fmt.Sprintf("keyring disconnect %s %d", pool, consumer))
	return nil
}

// KeyringLookup implements api.Backend.
func (b *Backend) KeyringLookup(_ context.Context, pool string, consumer uint64) (keyringsvc.KeyringKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pool, err := b.resolve(pool)
	if err != nil {
		return keyringsvc.KeyringKey{}, err
	}
	key, ok := b.km().bound[poolConsumer{pool, consumer}]
	if !ok {
		return keyringsvc.KeyringKey{}, fmt.Errorf("keyring: consumer not bound: consumer %d: %w", consumer, api.ErrNotFound)
	}
	return key, nil
}

// KeyringRefill implements api.Backend: ring 0 is in its window (conflict),
// ring 1 refills, others do not exist.
func (b *Backend) KeyringRefill(_ context.Context, pool string, ring int) error {
	b.mu.Lock()
	pool, err := b.resolve(pool)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	switch ring {
	case 0:
		return fmt.Errorf("keyring: ring is in its window: ring 0: %w", api.ErrConflict)
	case 1:
		b.mu.Lock()
		b.calls = append(b.calls, "keyring refill "+pool+" 1")
		b.mu.Unlock()
		return nil
	}
	return fmt.Errorf("keyring: no ring %d: %w", ring, api.ErrBadRequest)
}

// SyncImport implements api.Backend: a file starting with KeyFileMagic
// imports KeyIDs (once: again is a conflict); anything else is malformed.
func (b *Backend) SyncImport(_ context.Context, file []byte) (int, error) {
	if !bytes.HasPrefix(file, []byte(KeyFileMagic)) {
		return 0, fmt.Errorf("keysync: malformed key file: bad magic: %w", api.ErrBadRequest)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.km()
	if k.imported[KeyIDs[0]] {
		return 0, fmt.Errorf("keysync: key id already imported: %s: %w", KeyIDs[0], api.ErrConflict)
	}
	for _, id := range KeyIDs {
		k.imported[id] = true
	}
	b.calls = append(b.calls, "sync import")
	return len(KeyIDs), nil
}

// SyncRegister implements api.Backend: only App is configured.
func (b *Backend) SyncRegister(_ context.Context, identity, app string) error {
	if identity == "" {
		return fmt.Errorf("keysync: malformed subscriber identity: %w", api.ErrBadRequest)
	}
	if app != App {
		return fmt.Errorf("keysync: no platform configured for the application: %q: %w", app, api.ErrBadRequest)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.km().subs[identity] = app
	b.calls = append(b.calls, "sync register "+identity+" "+app)
	return nil
}

// SyncRequest implements api.Backend.
func (b *Backend) SyncRequest(_ context.Context, identity, keyID, app string) (keysyncsvc.SyncBinding, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.km()
	reg, ok := k.subs[identity]
	switch {
	case !ok || (app != "" && app != reg):
		return keysyncsvc.SyncBinding{}, fmt.Errorf("keysync: identity not registered for the application: %q: %w", identity, api.ErrNotFound)
	case !k.imported[keyID]:
		return keysyncsvc.SyncBinding{}, fmt.Errorf("keysync: unknown key id: %q: %w", keyID, api.ErrNotFound)
	}
	if bd, ok := k.binds[keyID]; ok {
		if bd.Identity == identity {
			return bd, nil
		}
		return keysyncsvc.SyncBinding{}, fmt.Errorf("keysync: key already bound: %q: %w", keyID, api.ErrConflict)
	}
	bd := keysyncsvc.SyncBinding{Identity: identity, App: reg, KeyID: keyID, KeyFingerprint: "fp-" + keyID,
		DeliveryID: fmt.Sprintf("%032x", len(k.binds)+1), Bound: Started}
	k.binds[keyID] = bd
	b.calls = append(b.calls, "sync request "+identity+" "+keyID)
	return bd, nil
}

// SyncOutbox implements api.Backend: every binding is pending.
func (b *Backend) SyncOutbox(context.Context) ([]keysyncsvc.SyncPending, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []keysyncsvc.SyncPending
	for _, id := range KeyIDs {
		if bd, ok := b.km().binds[id]; ok {
			out = append(out, keysyncsvc.SyncPending{DeliveryID: bd.DeliveryID, Identity: bd.Identity, App: bd.App, KeyID: id,
				KeyFingerprint: bd.KeyFingerprint, Created: Started, NextAt: Started})
		}
	}
	return out, nil
}
