package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/shm"
)

// bigID is above 2^53: a JSON number of it read as float64 (JavaScript,
// jq, Go's interface{}) comes back as another number.
const bigID uint64 = 0x9E3779B97F4A7C15

// TestJSONIDsAreStrings: 64-bit ids (a key's, a consumer's, a store
// problem's) leave otkctl as JSON strings that survive a parser reading
// numbers as float64, from the shm reader and through the daemon's API;
// "->" is written as is, never \u003e.
func TestJSONIDsAreStrings(t *testing.T) {
	const consumer = 1<<63 + 7
	if uint64(float64(bigID)) == bigID || uint64(float64(uint64(consumer))) == consumer {
		t.Fatal("the test ids survive float64: they prove nothing")
	}
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 4, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	k := shm.Key{ID: bigID, Port: 3, Dir: shm.DirBtoA, Epoch: 7, State: shm.StateActive, Alg: shm.AlgZUC128, Consumer: consumer}
	if err := k.SetMaterial(apitest.KeyMaterial(k.ID)); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(&k); err != nil {
		t.Fatal(err)
	}
	k.Zero()
	out, e, code := otkEnv(t, nil, "keys", "--shm", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var doc map[string]any // numbers as float64
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	keys, _ := doc["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("keys: %s", out)
	}
	key := keys[0].(map[string]any)
	if key["id"] != strconv.FormatUint(bigID, 10) || key["consumer"] != strconv.FormatUint(consumer, 10) {
		t.Fatalf("id %#v, consumer %#v; want the decimal strings of %d and %d", key["id"], key["consumer"], bigID, uint64(consumer))
	}
	// The same ids read back by otkctl's own types.
	var rep shmReport
	if err := json.Unmarshal(out, &rep); err != nil || rep.Keys[0].ID != bigID || rep.Keys[0].Consumer != consumer {
		t.Fatalf("round trip: %v %+v", err, rep.Keys)
	}

	// Through the daemon's API: a store problem naming the key.
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	fake.SetProblems(api.StoreProblem{ID: bigID, Problem: "differs from shm -> republish it"})
	out, e, code = otkEnv(t, nil, "store", "verify", "--json", "--socket", sock)
	if code != 1 {
		t.Fatalf("exit %d: %s %s", code, out, e)
	}
	doc = nil
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	probs, _ := doc["problems"].([]any)
	if len(probs) != 1 || probs[0].(map[string]any)["id"] != strconv.FormatUint(bigID, 10) {
		t.Fatalf("problems: %s", out)
	}
	if !bytes.Contains(out, []byte("shm -> republish")) {
		t.Fatalf("\"->\" not as is: %s", out)
	}

	// No command's JSON escapes "<", ">" or "&".
	for _, args := range [][]string{{"status"}, {"links"}, {"keys"}, {"store", "verify"}, {"keyring", "status"}, {"keyring", "pools"}} {
		out, e, _ := otkEnv(t, nil, slices.Concat(args, []string{"--json", "--socket", sock})...)
		for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`} {
			if bytes.Contains(out, []byte(esc)) || bytes.Contains(e, []byte(esc)) {
				t.Errorf("otkctl %v --json writes %s:\n%s%s", args, esc, out, e)
			}
		}
	}
}

// TestKeysSorted: the keys come out in one order (port, direction, start
// of validity with keys not yet valid last, id) whatever the slots they
// sit in, as a table and in JSON.
func TestKeysSorted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 16, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ks := apitest.ShmKeys() // 11, 12 (valid from t0), 13 (pending), 14 (B→A), 21 (port 2)
	for _, i := range []int{4, 2, 3, 1, 0} {
		if err := w.Put(ks[i]); err != nil {
			t.Fatal(err)
		}
		ks[i].Zero()
	}
	out, e, code := otkEnv(t, nil, "keys", "--shm", path, "--json")
	var rep shmReport
	if code != 0 || json.Unmarshal(out, &rep) != nil {
		t.Fatalf("exit %d: %s %s", code, out, e)
	}
	var ids []uint64
	for _, k := range rep.Keys {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, []uint64{11, 12, 13, 14, 21}) {
		t.Fatalf("JSON order %v", ids)
	}
	out, _, _ = otkEnv(t, nil, "keys", "--shm", path)
	var rows []string
	for _, l := range bytes.Split(out, []byte("\n")) {
		if f := bytes.Fields(l); len(f) > 0 && len(f[0]) == 2 && f[0][0] >= '0' && f[0][0] <= '9' {
			rows = append(rows, string(f[0]))
		}
	}
	if !slices.Equal(rows, []string{"11", "12", "13", "14", "21"}) {
		t.Fatalf("table order %v:\n%s", rows, out)
	}
}
