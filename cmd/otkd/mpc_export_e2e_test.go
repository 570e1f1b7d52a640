package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// inspected is what otkctl mpc inspect --json prints.
type inspected struct {
	What        string `json:"what"`
	Node        string `json:"node"`
	Pool        string `json:"pool"`
	Fingerprint string `json:"fingerprint"`
	Seeds       []struct {
		Pool        string `json:"pool"`
		Source      string `json:"source"`
		ID          string `json:"id"`
		Bits        int    `json:"bits"`
		Fingerprint string `json:"fingerprint"`
	} `json:"seeds"`
	Rings []struct {
		Ring   int    `json:"ring"`
		Filled bool   `json:"filled"`
		Epoch  uint64 `json:"epoch"`
		SeedID string `json:"seed_id"`
	} `json:"rings"`
	Bindings []struct {
		Consumer uint64 `json:"consumer,string"`
		Ring     int    `json:"ring"`
		Slot     uint32 `json:"slot"`
		Epoch    uint64 `json:"epoch"`
		SeedID   string `json:"seed_id"`
		KeyID    string `json:"key_id"`
	} `json:"bindings"`
}

func (in *inspected) seedIDs() []string {
	var ids []string
	for _, s := range in.Seeds {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestCustodySeedExport: nodes 1 (end A) and 2 (end B) of a custody
// cluster are the ends of a real link with a keyring. Node 2 backs up the
// seeds it holds and node 1 its keyring state, both exports made by the
// daemons and encrypted to the cluster key. With node 3 down they are
// recovered through node 1 (2 of 3) and parsed by otkctl mpc inspect: the
// seed fingerprints are those the daemons logged for the link's seeds, the
// ring seed ids and the binding those keyring status shows; no seed byte
// is in any log or CLI output. Node 2's backup timer (backup_period) makes
// a seeds export every second and keeps the newest 8.
func TestCustodySeedExport(t *testing.T) {
	c := newCustodyLinked(t, true)
	c.backup[1] = "1s"
	c.write(1, "0")
	for _, n := range c.nodes {
		n.start(t)
	}
	c.allReachable(t, 0)
	if code, e := c.operator(t, 0, "alice", "", nil, "mpc", "init"); code != 0 {
		t.Fatalf("init: %d %s", code, e)
	}
	a, b := c.nodes[0], c.nodes[1]
	waitAgree(t, a, b, 2) // negotiated seeds flow

	sa, sb := waitRingsAlike(t, a, b)
	var ka keyringsvc.KeyringKey
	if code, e := a.otkctlJSON(t, &ka, "keyring", "connect", "--consumer", "7"); code != 0 {
		t.Fatalf("connect: %d %s", code, e)
	}

	// The exports, each made by its daemon.
	var outputs []string
	var seedBk, ringBk mpcsvc.MPCBackup
	if code, e := b.otkctlJSON(t, &seedBk, "mpc", "backup", "--seeds"); code != 0 || seedBk.Label != "seeds-n2" || seedBk.Epoch != 1 {
		t.Fatalf("seeds backup at node 2: %d %s %+v", code, e, seedBk)
	}
	// The ring seeds node 2 holds right after its export.
	if code, e := b.otkctlJSON(t, &sb, "keyring", "status"); code != 0 {
		t.Fatalf("keyring status: %d %s", code, e)
	}
	if code, e := a.otkctlJSON(t, &ringBk, "mpc", "backup", "--keyring", "--label", "ring-a"); code != 0 || ringBk.Label != "ring-a" {
		t.Fatalf("keyring backup at node 1: %d %s %+v", code, e, ringBk)
	}
	if code, e := c.nodes[2].otkctlJSON(t, nil, "mpc", "backup", "--seeds"); code == 0 || !strings.Contains(e, "no keyring") {
		t.Fatalf("seeds backup at node 3 (no keyring): %d %s", code, e)
	}
	var list []mpcsvc.MPCBackup
	if code, e := b.otkctlJSON(t, &list, "mpc", "list"); code != 0 || !slices.ContainsFunc(list, func(x mpcsvc.MPCBackup) bool {
		return x.ID == seedBk.ID && x.Fingerprint == seedBk.Fingerprint
	}) {
		t.Fatalf("list at node 2: %d %s %+v", code, e, list)
	}
	// The timer's backups: more than 8 made, the newest 8 kept, the
	// operator's untouched.
	poll(t, "node 2's timer makes more than 8 backups, keeping 8", time.Minute, func() bool {
		if strings.Count(b.logString(), "mpc export backed up") < 11 {
			return false
		}
		if code, _ := b.otkctlJSON(t, &list, "mpc", "list"); code != 0 {
			return false
		}
		timed := 0
		for _, x := range list {
			if x.Label == "seeds-n2-timed" && x.Epoch == 1 && x.Size > 0 {
				timed++
			}
		}
		return timed == 8 && slices.ContainsFunc(list, func(x mpcsvc.MPCBackup) bool { return x.ID == seedBk.ID })
	}, b)

	// Node 3 down: nodes 1 and 2 recover both.
	c.nodes[2].stop(t)
	recoverInspect := func(holder int, bk mpcsvc.MPCBackup) (inspected, []byte) {
		t.Helper()
		code, out, file := c.recover(t, c.byID(holder, bk.ID), 0, "alice")
		if code != 0 || !strings.Contains(out, bk.Fingerprint) || !strings.Contains(out, "matches") {
			t.Fatalf("recover %s: exit %d: %s", bk.ID, code, out)
		}
		outputs = append(outputs, out)
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		js, err := exec.Command(otkctlBin, "mpc", "inspect", "--json", "--file", file).CombinedOutput()
		var in inspected
		if err != nil || json.Unmarshal(js, &in) != nil {
			t.Fatalf("inspect: %v\n%s", err, js)
		}
		text, err := exec.Command(otkctlBin, "mpc", "inspect", "--file", file).CombinedOutput()
		if err != nil {
			t.Fatalf("inspect: %v\n%s", err, text)
		}
		outputs = append(outputs, string(js), string(text))
		if in.Fingerprint != bk.Fingerprint {
			t.Fatalf("inspect: export fingerprint %s, backup %s", in.Fingerprint, bk.Fingerprint)
		}
		return in, raw
	}
	seeds, seedRaw := recoverInspect(1, seedBk)
	if seeds.What != "seeds" || seeds.Node != "n2" || len(seeds.Seeds) == 0 || len(seeds.Rings) != 0 {
		t.Fatalf("seeds export: %+v", seeds)
	}
	links := 0
	for _, s := range seeds.Seeds {
		if s.Bits != 256 || !strings.Contains(b.logString(), s.Fingerprint) {
			t.Fatalf("seed %s (%s, %d bits): fingerprint %s not logged by node 2", s.ID, s.Source, s.Bits, s.Fingerprint)
		}
		if s.Source == "link" {
			links++
			if !strings.Contains(a.logString(), s.Fingerprint) {
				t.Fatalf("link seed %s: fingerprint %s not logged by node 1, the other end", s.ID, s.Fingerprint)
			}
		}
	}
	if links == 0 {
		t.Fatalf("seeds export holds no seed of the link: %+v", seeds.Seeds)
	}
	for _, r := range sb.Rings {
		if r.Filled && !slices.Contains(seeds.seedIDs(), r.SeedID) {
			t.Fatalf("ring %d's seed %s (keyring status at node 2) not in the export %v", r.Ring, r.SeedID, seeds.seedIDs())
		}
	}

	ring, ringRaw := recoverInspect(0, ringBk)
	if ring.What != "keyring" || ring.Node != "n1" || ring.Pool == "" || len(ring.Rings) != len(sa.Rings) || len(ring.Bindings) != 1 {
		t.Fatalf("keyring export: %+v", ring)
	}
	bd := ring.Bindings[0]
	if bd.Consumer != 7 || bd.Ring != ka.Ring || bd.Slot != ka.Slot || bd.Epoch != ka.Epoch || bd.SeedID != ka.SeedID ||
		bd.KeyID != fmt.Sprintf("%016x", ka.ID) {
		t.Fatalf("binding %+v, keyring connect gave %+v", bd, ka)
	}
	if r := ring.Rings[ka.Ring]; !r.Filled || r.Epoch != ka.Epoch || r.SeedID != ka.SeedID || !slices.Contains(ring.seedIDs(), ka.SeedID) {
		t.Fatalf("ring %d in the export %+v, bound key %+v, seeds %v", ka.Ring, r, ka, ring.seedIDs())
	}

	// No seed byte anywhere: raw, hex or base64, in the logs or what otkctl printed.
	logs := []string{a.logString(), b.logString(), c.nodes[2].logString()}
	for _, raw := range [][]byte{seedRaw, ringRaw} {
		e, err := mpcsvc.ParseExport(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range e.Seeds {
			for _, text := range append(logs, outputs...) {
				for _, form := range []string{string(s.Seed[:12]), hex.EncodeToString(s.Seed[:12]), base64.StdEncoding.EncodeToString(s.Seed[:12])} {
					if strings.Contains(text, form) {
						t.Fatalf("seed %016x appears in a log or an output", s.ID)
					}
				}
			}
		}
		e.Wipe()
	}
	a.stop(t)
	b.stop(t)
}

// TestCustodyExportPools: nodes 1 (end A) and 2 (end B) run two keyring
// pools, "vpn" and "web", on their link. A keyring backup needs --pool
// (without, the error names both pools) and holds that pool's state only;
// a seeds backup holds the seeds of both pools, each once and naming its
// pool, among them the ring seeds keyring status shows for each pool.
func TestCustodyExportPools(t *testing.T) {
	c := newCustodyLinked(t, true)
	c.pools = []string{"vpn", "web"}
	for i := range c.nodes {
		c.write(i, "0")
		t.Cleanup(func() { os.Remove(c.nodes[i].shm + "-web"); os.Remove(c.nodes[i].shm + "-web.lock") })
	}
	for _, n := range c.nodes {
		n.start(t)
	}
	c.allReachable(t, 0)
	if code, e := c.operator(t, 0, "alice", "", nil, "mpc", "init"); code != 0 {
		t.Fatalf("init: %d %s", code, e)
	}
	a, b := c.nodes[0], c.nodes[1]
	waitAgree(t, a, b, 2) // negotiated seeds flow
	status := map[string]keyringsvc.KeyringStatus{}
	for _, pool := range c.pools {
		waitRingsAlike(t, a, b, "--pool", pool)
		var k keyringsvc.KeyringKey
		if code, e := a.otkctlJSON(t, &k, "keyring", "connect", "--pool", pool, "--consumer", map[string]string{"vpn": "7", "web": "8"}[pool]); code != 0 {
			t.Fatalf("connect in %s: %d %s", pool, code, e)
		}
	}

	if code, e := a.otkctlJSON(t, nil, "mpc", "backup", "--keyring"); code == 0 || !strings.Contains(e, "2 keyring pools (vpn, web)") {
		t.Fatalf("keyring backup without --pool: %d %s", code, e)
	}
	if code, e := a.otkctlJSON(t, nil, "mpc", "backup", "--keyring", "--pool", "mail"); code == 0 || !strings.Contains(e, `no keyring pool "mail" here; pools: vpn, web`) {
		t.Fatalf("keyring backup of an unknown pool: %d %s", code, e)
	}
	var ringBk, seedBk mpcsvc.MPCBackup
	if code, e := a.otkctlJSON(t, &ringBk, "mpc", "backup", "--keyring", "--pool", "web"); code != 0 || ringBk.Label != "keyring-n1-web" {
		t.Fatalf("keyring backup of web at node 1: %d %s %+v", code, e, ringBk)
	}
	if code, e := b.otkctlJSON(t, &seedBk, "mpc", "backup", "--seeds"); code != 0 || seedBk.Label != "seeds-n2" {
		t.Fatalf("seeds backup at node 2: %d %s %+v", code, e, seedBk)
	}
	for _, pool := range c.pools { // the ring seeds node 2 holds right after its export
		var s keyringsvc.KeyringStatus
		if code, e := b.otkctlJSON(t, &s, "keyring", "status", "--pool", pool); code != 0 {
			t.Fatalf("keyring status: %d %s", code, e)
		}
		status[pool] = s
	}

	inspect := func(holder int, bk mpcsvc.MPCBackup) inspected {
		t.Helper()
		code, out, file := c.recover(t, c.byID(holder, bk.ID), 0, "alice")
		if code != 0 || !strings.Contains(out, bk.Fingerprint) {
			t.Fatalf("recover %s: %d %s", bk.ID, code, out)
		}
		js, err := exec.Command(otkctlBin, "mpc", "inspect", "--json", "--file", file).CombinedOutput()
		var in inspected
		if err != nil || json.Unmarshal(js, &in) != nil {
			t.Fatalf("inspect: %v\n%s", err, js)
		}
		return in
	}
	ring := inspect(0, ringBk)
	if ring.What != "keyring" || ring.Pool != "web" || len(ring.Bindings) != 1 || ring.Bindings[0].Consumer != 8 {
		t.Fatalf("keyring export of web: %+v", ring)
	}
	for _, s := range ring.Seeds {
		if s.Pool != "web" {
			t.Fatalf("keyring export of web holds a seed of pool %q", s.Pool)
		}
	}
	seeds := inspect(1, seedBk)
	if seeds.What != "seeds" || seeds.Pool != "" || len(seeds.Seeds) == 0 {
		t.Fatalf("seeds export: %+v", seeds)
	}
	ids := seeds.seedIDs()
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(seeds.Seeds) {
		t.Fatalf("a seed twice in the export: %v", seeds.seedIDs())
	}
	for _, s := range seeds.Seeds {
		if !slices.Contains(c.pools, s.Pool) {
			t.Fatalf("seed %s names pool %q", s.ID, s.Pool)
		}
	}
	for pool, st := range status {
		for _, r := range st.Rings {
			if r.Filled && !slices.Contains(seeds.seedIDs(), r.SeedID) {
				t.Fatalf("pool %s ring %d's seed %s not in the seeds export %v", pool, r.Ring, r.SeedID, seeds.seedIDs())
			}
		}
	}
	a.stop(t)
	b.stop(t)
}
