package mpcsvc

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

// TestExportPools: a daemon with two pools, "vpn" and "web", on one port
// (both hold the link's seeds 1 and 2) and web also seed 3. A seeds export
// holds every seed once, under the first pool holding it; a keyring export
// takes the pool (none: an error naming both) and holds that pool's rings,
// bindings and seeds only; both encode and parse back.
func TestExportPools(t *testing.T) {
	const w = 10 * time.Second
	base := time.Unix(1_000_000, 0) // a window boundary
	clock := func() time.Time { return base.Add(3 * time.Second) }
	pools := &testPools{}
	vpn, web := pools.add(t, "vpn", w, clock), pools.add(t, "web", w, clock)
	ids := map[byte]uint64{}
	seed := func(v byte, at time.Duration, ends ...*testPool) {
		var s keys.Seed
		s[0], s[31] = v, 0x5a
		for _, e := range ends {
			e.link = append(e.link, keyring.StateSeed{ID: s.ID(), At: base.Add(at), Seed: s})
		}
		ids[v] = (&s).ID()
	}
	seed(1, -5*time.Second, vpn, web)
	seed(2, -time.Second, vpn, web)
	seed(3, -time.Second/2, web)
	for _, e := range []*testPool{vpn, web} {
		if _, err := e.ring.Maintain(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vpn.ring.Connect(7); err != nil {
		t.Fatal(err)
	}
	d := New(Config{}, pools)
	d.node = "n1"

	t.Run("seeds", func(t *testing.T) {
		e := roundTrip(t, d, ExportSeeds, "")
		type seedOf struct {
			pool string
			id   uint64
		}
		var got []seedOf
		for _, s := range e.Seeds {
			got = append(got, seedOf{s.Pool, s.ID})
		}
		want := []seedOf{{"vpn", ids[1]}, {"vpn", ids[2]}, {"web", ids[3]}} // web's ring seed 3 is its link seed 3
		if e.Pool != "" || e.Window != 0 || !slices.Equal(got, want) {
			t.Fatalf("pool %q window %v seeds %v, want %v", e.Pool, e.Window, got, want)
		}
		if e.Seeds[0].Source != SeedLink || e.Seeds[0].Seed[0] != 1 {
			t.Fatalf("first seed %v %x", e.Seeds[0].Source, e.Seeds[0].Seed[:1])
		}
	})
	t.Run("keyring", func(t *testing.T) {
		for _, tt := range []struct {
			pool     string
			seed     uint64
			bindings int
		}{{"vpn", ids[2], 1}, {"web", ids[3], 0}} {
			e := roundTrip(t, d, ExportKeyring, tt.pool)
			if e.Pool != tt.pool || e.Window != w || len(e.Rings) != 2 || len(e.Bindings) != tt.bindings ||
				len(e.Seeds) != 1 || e.Seeds[0].ID != tt.seed || e.Seeds[0].Pool != tt.pool || e.Seeds[0].Source != SeedRing {
				t.Fatalf("pool %s: %+v", tt.pool, e)
			}
			if l := d.exportLabel(e); l != "keyring-n1-"+tt.pool {
				t.Fatalf("label %q", l)
			}
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			what ExportWhat
			pool string
			is   error
			want string
		}{
			{ExportKeyring, "", api.ErrBadRequest, "2 keyring pools (vpn, web)"},
			{ExportKeyring, "mail", api.ErrNotFound, `no keyring pool "mail" here; pools: vpn, web`},
			{ExportSeeds, "vpn", api.ErrBadRequest, "seeds of every pool"},
		} {
			if _, err := d.export(tt.what, tt.pool); !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s export of pool %q: %v, want %v %q", tt.what, tt.pool, err, tt.is, tt.want)
			}
		}
	})
}

// roundTrip exports what of pool from d, encodes it and parses it back.
func roundTrip(t *testing.T, d *Service, what ExportWhat, pool string) *Export {
	t.Helper()
	e, err := d.export(what, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Wipe()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseExport(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(back.Wipe)
	return back
}

// testPools are keyring pools as the keyring service holds them: a real
// keyring each (filled from the newest of its link's seeds) and the link's
// seeds.
type testPools struct{ pools []*testPool }

type testPool struct {
	name string
	ring *keyring.Keyring
	link []keyring.StateSeed
}

// Seed implements keyring.SeedSource: the newest link seed.
func (p *testPool) Seed() (*keys.Seed, uint64, error) {
	if len(p.link) == 0 {
		return nil, 0, errors.New("no seed")
	}
	s := p.link[len(p.link)-1]
	return &s.Seed, s.ID, nil
}

// add opens pool name (end A, 2 rings of 8 keys of window w) on a real
// store and map.
func (ps *testPools) add(t *testing.T, name string, w time.Duration, now func() time.Time) *testPool {
	t.Helper()
	dir := t.TempDir()
	st, err := kstore.Open(filepath.Join(dir, "ctrl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mp, err := shm.Create(shm.Options{Path: filepath.Join(dir, "keys"), Slots: 64, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Close() })
	p := &testPool{name: name}
	p.ring, err = keyring.Open(keyring.Config{Pool: name, Rings: 2, Window: w, KeysPerRing: 8, KEK: bytes.Repeat([]byte{3}, 16), Now: now}, st, mp, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.ring.Close() })
	ps.pools = append(ps.pools, p)
	return p
}

// PoolNames implements Keyrings.
func (ps *testPools) PoolNames() []string {
	var names []string
	for _, p := range ps.pools {
		names = append(names, p.name)
	}
	return names
}

// ExportPool implements Keyrings.
func (ps *testPools) ExportPool(name string) (*keyring.State, []keyring.StateSeed, error) {
	name, err := api.ResolvePool(name, ps.PoolNames())
	if err != nil {
		return nil, nil, err
	}
	p := ps.pools[slices.Index(ps.PoolNames(), name)]
	st, err := p.ring.Export()
	return st, slices.Clone(p.link), err
}
