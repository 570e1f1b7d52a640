package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

// TestKeyringCommands runs otkctl keyring against the fake daemon.
func TestKeyringCommands(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	run := func(args ...string) (string, string, int) {
		o, e, code := otkEnv(t, nil, append(args, "--socket", sock)...)
		return string(o), string(e), code
	}
	out, _, code := run("keyring", "status")
	if code != 0 || !strings.Contains(out, "RING") || !strings.Contains(out, "pool") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	out, _, code = run("keyring", "connect", "--consumer", "7", "--json")
	var k keyringsvc.KeyringKey
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil || k.Consumer != 7 || k.Fingerprint == "" {
		t.Fatalf("connect: %d %s", code, out)
	}
	out, _, code = run("keyring", "status", "--consumer", "7")
	if code != 0 || !strings.Contains(out, k.Fingerprint) {
		t.Fatalf("status --consumer: %d %s", code, out)
	}
	if out, _, code = run("keyring", "disconnect", "--consumer", "7"); code != 0 || !strings.Contains(out, "retired") {
		t.Fatalf("disconnect: %d %s", code, out)
	}
	if out, _, code = run("keyring", "refill", "--ring", "1", "--json"); code != 0 || !strings.Contains(out, `"refill"`) {
		t.Fatalf("refill: %d %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"keyring", "disconnect", "--consumer", "7"}, 1, "not bound"},
		{[]string{"keyring", "connect", "--consumer", "999"}, 1, "exhausted"},
		{[]string{"keyring", "connect"}, exitUsage, "--consumer is required"},
		{[]string{"keyring", "refill", "--ring", "0"}, 1, "in its window"},
		{[]string{"keyring", "refill", "--ring", "-1"}, exitUsage, "--ring -1: want a ring index"},
		{[]string{"keyring", "refill"}, exitUsage, "--ring is required"},
		{[]string{"keyring", "refill", "--ring", "9"}, exitUsage, "no ring 9"},
		{[]string{"keyring", "shuffle"}, exitUsage, "unknown subcommand"},
	} {
		_, e, code := run(tc.args...)
		if code != tc.code || !strings.Contains(e, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, e, tc.code, tc.msg)
		}
	}
	want := []string{"keyring connect default 7", "keyring disconnect default 7", "keyring refill default 1"}
	if got := fake.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("backend saw %q, want %q", got, want)
	}
}

// TestKeyringPoolFlag: --pool picks the pool; the same consumer in two
// pools gets two keys; without --pool a daemon with several pools refuses
// naming them, and an unknown pool is refused naming the known ones.
func TestKeyringPoolFlag(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	fake.SetPools("vpn", "web")
	run := func(args ...string) (string, string, int) {
		o, e, code := otkEnv(t, nil, append(args, "--socket", sock)...)
		return string(o), string(e), code
	}
	if out, _, code := run("keyring", "pools"); code != 0 || out != "vpn\nweb\n" {
		t.Fatalf("pools: %d %q", code, out)
	}
	keys := map[string]keyringsvc.KeyringKey{}
	for _, pool := range []string{"vpn", "web"} {
		out, e, code := run("keyring", "connect", "--pool", pool, "--consumer", "7", "--json")
		var k keyringsvc.KeyringKey
		if code != 0 || json.Unmarshal([]byte(out), &k) != nil || k.Pool != pool {
			t.Fatalf("connect in %s: %d %s %s", pool, code, out, e)
		}
		keys[pool] = k
	}
	if keys["vpn"].ID == keys["web"].ID {
		t.Fatalf("one key for consumer 7 of both pools: %+v", keys)
	}
	if out, _, code := run("keyring", "status", "--pool", "web", "--consumer", "7"); code != 0 || !strings.Contains(out, keys["web"].Fingerprint) || !strings.Contains(out, "web") {
		t.Fatalf("status --pool web --consumer 7: %d %s", code, out)
	}
	if out, _, code := run("keyring", "disconnect", "--pool", "vpn", "--consumer", "7"); code != 0 || !strings.Contains(out, "of pool vpn") {
		t.Fatalf("disconnect in vpn: %d %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"keyring", "status"}, exitUsage, "2 keyring pools (vpn, web): name one (otkctl --pool NAME)"},
		{[]string{"keyring", "connect", "--consumer", "8"}, exitUsage, "vpn, web"},
		{[]string{"keyring", "status", "--pool", "mail"}, 1, `no keyring pool "mail" here; pools: vpn, web`},
		{[]string{"keyring", "connect", "--pool", "Web", "--consumer", "8"}, exitUsage, `pool "Web"`},
	} {
		_, e, code := run(tc.args...)
		if code != tc.code || !strings.Contains(e, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, e, tc.code, tc.msg)
		}
	}
}

// TestSyncCommands runs otkctl sync against the fake daemon.
func TestSyncCommands(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	run := func(args ...string) (string, string, int) {
		o, e, code := otkEnv(t, nil, append(args, "--socket", sock)...)
		return string(o), string(e), code
	}
	dir := shortDir(t)
	good, bad := filepath.Join(dir, "good.oksf"), filepath.Join(dir, "bad.oksf")
	os.WriteFile(good, []byte(apitest.KeyFileMagic+"rest of a file"), 0o600)
	os.WriteFile(bad, []byte("not a key file"), 0o600)

	if _, e, code := run("sync", "import", bad); code != exitDataErr || !strings.Contains(e, "malformed key file") {
		t.Fatalf("malformed import: %d %s", code, e)
	}
	if out, _, code := run("sync", "import", good, "--json"); code != 0 || !strings.Contains(out, `"imported": 2`) {
		t.Fatalf("import: %d %s", code, out)
	}
	if _, e, code := run("sync", "import", "--json", good); code != 1 || !strings.Contains(e, "already imported") {
		t.Fatalf("second import: %d %s", code, e)
	}
	if _, e, code := run("sync", "import", filepath.Join(dir, "missing")); code != exitUsage || !strings.Contains(e, "no such file") {
		t.Fatalf("missing file: %d %s", code, e)
	}
	if _, e, code := run("sync", "request", "--identity", "imsi:1", "--key", apitest.KeyIDs[0]); code != 1 || !strings.Contains(e, "not registered") {
		t.Fatalf("unregistered: %d %s", code, e)
	}
	if out, _, code := run("sync", "register", "--identity", "imsi:1", "--app", apitest.App); code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("register: %d %s", code, out)
	}
	out, _, code := run("sync", "request", "--identity", "imsi:1", "--key", apitest.KeyIDs[0], "--json")
	var b keysyncsvc.SyncBinding
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil || b.KeyID != apitest.KeyIDs[0] || b.KeyFingerprint == "" {
		t.Fatalf("request: %d %s", code, out)
	}
	out, _, code = run("sync", "outbox")
	if code != 0 || !strings.Contains(out, b.DeliveryID) || !strings.Contains(out, "DELIVERY") {
		t.Fatalf("outbox: %d %s", code, out)
	}
	if _, e, code := run("sync", "register", "--identity", "imsi:1"); code != exitUsage || !strings.Contains(e, "required") {
		t.Fatalf("register without app: %d %s", code, e)
	}
	if n := len(fake.Calls()); n != 3 {
		t.Fatalf("backend saw %q", fake.Calls())
	}
}
