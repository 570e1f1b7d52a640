package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
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
	vpn, web := newPoolEnd(t, "vpn", 0, w, clock), newPoolEnd(t, "web", 0, w, clock)
	ids := map[byte]uint64{}
	seed := func(v byte, at time.Duration, ends ...*ringEnd) {
		var s keys.Seed
		s[0], s[31] = v, 0x5a
		for _, e := range ends {
			e.seeds.add(link.SeedEvent{Direction: keys.AtoB, Seed: &s, At: base.Add(at)})
		}
		ids[v] = (&s).ID()
	}
	seed(1, -5*time.Second, vpn, web)
	seed(2, -time.Second, vpn, web)
	seed(3, -time.Second/2, web)
	for _, e := range []*ringEnd{vpn, web} {
		if _, err := e.ring.Maintain(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vpn.ring.Connect(7); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{cfg: &config.Config{}}
	d.cfg.Node.Name = "n1"
	for name, e := range map[string]*ringEnd{"vpn": vpn, "web": web} {
		d.km.pools = append(d.km.pools, &pool{cfg: config.Keyring{Pool: name}, ring: e.ring, seeds: e.seeds})
	}
	slices.SortFunc(d.km.pools, func(a, b *pool) int { return strings.Compare(a.cfg.Pool, b.cfg.Pool) })

	t.Run("seeds", func(t *testing.T) {
		e := roundTrip(t, d, mpc.ExportSeeds, "")
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
		if e.Seeds[0].Source != mpc.SeedLink || e.Seeds[0].Seed[0] != 1 {
			t.Fatalf("first seed %v %x", e.Seeds[0].Source, e.Seeds[0].Seed[:1])
		}
	})
	t.Run("keyring", func(t *testing.T) {
		for _, tt := range []struct {
			pool     string
			seed     uint64
			bindings int
		}{{"vpn", ids[2], 1}, {"web", ids[3], 0}} {
			e := roundTrip(t, d, mpc.ExportKeyring, tt.pool)
			if e.Pool != tt.pool || e.Window != w || len(e.Rings) != 2 || len(e.Bindings) != tt.bindings ||
				len(e.Seeds) != 1 || e.Seeds[0].ID != tt.seed || e.Seeds[0].Pool != tt.pool || e.Seeds[0].Source != mpc.SeedRing {
				t.Fatalf("pool %s: %+v", tt.pool, e)
			}
			if l := d.exportLabel(e); l != "keyring-n1-"+tt.pool {
				t.Fatalf("label %q", l)
			}
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			what mpc.ExportWhat
			pool string
			is   error
			want string
		}{
			{mpc.ExportKeyring, "", api.ErrBadRequest, "2 keyring pools (vpn, web)"},
			{mpc.ExportKeyring, "mail", api.ErrNotFound, `no keyring pool "mail" here; pools: vpn, web`},
			{mpc.ExportSeeds, "vpn", api.ErrBadRequest, "seeds of every pool"},
		} {
			if _, err := d.export(tt.what, tt.pool); !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s export of pool %q: %v, want %v %q", tt.what, tt.pool, err, tt.is, tt.want)
			}
		}
	})
}

// roundTrip exports what of pool from d, encodes it and parses it back.
func roundTrip(t *testing.T, d *Daemon, what mpc.ExportWhat, pool string) *mpc.Export {
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
	back, err := mpc.ParseExport(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(back.Wipe)
	return back
}
