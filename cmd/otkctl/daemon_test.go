package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/api/apitest"
	"github.com/otkd/otkd/shm"
)

// shortDir is a temporary directory with a path short enough for a unix
// socket (t.TempDir embeds the test name).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "otkctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// fakeDaemon serves the apitest backend on a fresh socket until the test
// ends; it stands in for otkd.
func fakeDaemon(t *testing.T, opts api.ServerOptions) (*apitest.Backend, string) {
	t.Helper()
	fake := apitest.New()
	path := filepath.Join(shortDir(t), "otkd.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts.Routes = append(apitest.Routes(fake), opts.Routes...)
	go func() { done <- api.NewServer(fake, opts).Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return fake, path
}

// otkEnv runs the real otkctl binary with extra environment variables.
func otkEnv(t *testing.T, env []string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(otkctl, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	checkNoKeyBytes(t, args, o.Bytes())
	checkNoKeyBytes(t, args, e.Bytes())
	return o.Bytes(), e.Bytes(), code
}

// errorText is otkctl's error on stderr as its text line: with --json it
// is a JSON object, {"error": "…", "status": N}, N the exit status, which
// says the same as "otkctl: …".
func errorText(t *testing.T, stderr []byte, code int) string {
	t.Helper()
	if !bytes.HasPrefix(stderr, []byte("{")) {
		return string(stderr)
	}
	var je struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	dec := json.NewDecoder(bytes.NewReader(stderr))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&je); err != nil || je.Status != code || bytes.Count(stderr, []byte("\n")) != 1 {
		t.Fatalf("JSON error %q: %v (exit %d)", stderr, err, code)
	}
	return "otkctl: " + je.Error + "\n"
}

// checkNoKeyBytes fails if out holds the bytes of any fake key: raw, hex
// (either case, whole or the first 8 bytes) or base64.
func checkNoKeyBytes(t *testing.T, args []string, out []byte) {
	t.Helper()
	for _, k := range apitest.ShmKeys() {
		m := apitest.KeyMaterial(k.ID)
		k.Zero()
		h := hex.EncodeToString(m)
		for _, form := range []string{string(m), string(m[:8]), h, h[:16], strings.ToUpper(h[:16]),
			base64.StdEncoding.EncodeToString(m), "de ad be ef", "DE AD BE EF"} {
			if bytes.Contains(out, []byte(form)) {
				t.Fatalf("otkctl %s printed key bytes of key %d (%q)", strings.Join(args, " "), k.ID, form)
			}
		}
	}
}

// fingerprints returns id → fingerprint of the fake's keys.
func fingerprints() map[uint64]string {
	m := map[uint64]string{}
	for _, k := range apitest.ShmKeys() {
		fp := k.Fingerprint()
		m[k.ID] = hex.EncodeToString(fp[:])
		k.Zero()
	}
	return m
}

func TestDaemonCommands(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	fps := fingerprints()
	cases := []struct {
		args  []string
		wants []string
	}{
		{[]string{"status"}, []string{"node-a", "0.0.0-test", "4242", "1h2m3s", "/dev/shm/otkd-test.keys (generation 7, 5 keys)",
			"PORT", "KEY SWITCHES", "p0", "done", "259", "3/2", "2026-11-22T05:00:00Z", "pending"}},
		{[]string{"links"}, []string{"port p0 (id 1, role A)", "udp 192.0.2.7:7400", "node-b", "tx 1000000  rx 999990", "tx 3  rx 3  (8-bit, wraps at 256; tx key switches 3)",
			"corrected 1234  uncorrectable 1", "own 3  peer 2  failures 1", "own 0.400%", "port p1 (id 2, role B)", "simfiber",
			"reconciliation own   f 1.52  2.40 steps/block  1468 rounds/seed",
			"credited 404 = reconciliation 33 + tag 21 + amplification 43 + seed 256 + slack 51 bits",
			"tap:otkd0  mtu 1500  (created by otkd)", "5000 packets  4000000 bytes", "4990 packets  3990000 bytes",
			"10: capacity 7  mtu 0  malformed 0  fcs 0  pfcs 1  delineation 2", "syncs 2  resyncs 1", "frames lost 1"}},
		{[]string{"keys"}, []string{"FINGERPRINT", "12  p0    AB   3      active", "13  p0    AB   4      pending", "21  p1",
			fps[11], fps[12], fps[13], fps[14], fps[21]}},
		{[]string{"negotiate", "--port", "p0"}, []string{"port p0: a new seed negotiation was accepted"}},
		{[]string{"rotate", "--port", "p1"}, []string{"port p1: a switch to the next session key was accepted"}},
		{[]string{"store", "verify"}, []string{"5 keys persisted", "5 match", "store ok"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, e, code := otkEnv(t, nil, append(tc.args, "--socket", sock)...)
			if code != 0 || len(e) != 0 {
				t.Fatalf("exit %d: %s", code, e)
			}
			for _, w := range tc.wants {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if got := fake.Calls(); !reflect.DeepEqual(got, []string{"negotiate p0", "rotate p1"}) {
		t.Fatalf("daemon saw %q", got)
	}
}

func TestDaemonCommandsJSON(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	ctx := context.Background()
	wantStatus, _ := fake.Status(ctx)
	wantLinks, _ := fake.Links(ctx)
	wantKeys, _ := fake.Keys(ctx)
	wantReport, _ := fake.VerifyStore(ctx)
	var (
		st     api.Status
		links  struct{ Links []api.Link }
		keys   struct{ Keys []api.KeyInfo }
		action api.ActionResult
		rep    api.StoreReport
	)
	cases := []struct {
		args       []string
		into, want any
	}{
		{[]string{"status"}, &st, &wantStatus},
		{[]string{"links"}, &links, &struct{ Links []api.Link }{wantLinks}},
		{[]string{"keys"}, &keys, &struct{ Keys []api.KeyInfo }{wantKeys}},
		{[]string{"negotiate", "--port", "p0"}, &action, &api.ActionResult{Port: "p0", Action: "negotiate", Status: "accepted"}},
		{[]string{"rotate", "--port", "p0"}, &action, &api.ActionResult{Port: "p0", Action: "rotate", Status: "accepted"}},
		{[]string{"store", "verify"}, &rep, &wantReport},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, e, code := otkEnv(t, nil, append(tc.args, "--json", "--socket", sock)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, e)
			}
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			if !reflect.DeepEqual(tc.into, tc.want) {
				t.Fatalf("got %+v\nwant %+v", tc.into, tc.want)
			}
		})
	}
}

func TestSocketChoice(t *testing.T) {
	_, sock := fakeDaemon(t, api.ServerOptions{})
	missing := filepath.Join(shortDir(t), "none.sock")
	// OTKD_SOCKET sets the default...
	if out, e, code := otkEnv(t, []string{"OTKD_SOCKET=" + sock}, "status"); code != 0 || !bytes.Contains(out, []byte("node-a")) {
		t.Fatalf("OTKD_SOCKET: exit %d: %s", code, e)
	}
	// ...and --socket overrides it.
	if _, e, code := otkEnv(t, []string{"OTKD_SOCKET=" + missing}, "status", "--socket", sock); code != 0 {
		t.Fatalf("--socket over OTKD_SOCKET: exit %d: %s", code, e)
	}
	_, e, code := otkEnv(t, []string{"OTKD_SOCKET=" + sock}, "status", "--socket", missing)
	if code != 1 || !strings.Contains(string(e), missing) {
		t.Fatalf("--socket to a missing socket: exit %d: %s", code, e)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	dir := shortDir(t)
	missing := filepath.Join(dir, "none.sock")
	for _, args := range [][]string{{"status"}, {"links", "--json"}, {"keys"}, {"negotiate", "--port", "p0"},
		{"rotate", "--port", "p0"}, {"store", "verify"}} {
		out, e, code := otkEnv(t, []string{"OTKD_SOCKET=" + missing}, args...)
		// One line: the error, where otkctl looks, and whether otkd runs
		// (other tests on this host may run one: either answer is right).
		want := "otkctl: cannot reach otkd at " + missing + ": connect: no such file or directory; no socket there " +
			"(otkctl uses --socket PATH, else $OTKD_SOCKET, else /run/otkd/otkd.sock); "
		s := errorText(t, e, code)
		if code != 1 || len(out) != 0 || !strings.HasPrefix(s, want) || strings.Count(s, "\n") != 1 ||
			!strings.Contains(s, "no otkd process found: start it") && !strings.Contains(s, "otkd pid ") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want %q and whether otkd runs", args, code, out, e, want)
		}
	}
}

func TestDaemonErrors(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	_, refusing := fakeDaemon(t, api.ServerOptions{WriteUIDs: []uint32{uint32(os.Getuid()) + 1}})
	cases := []struct {
		name  string
		args  []string
		code  int
		wants string
	}{
		{"unknown port", []string{"negotiate", "--port", "p9", "--socket", sock}, 1, `negotiate: unknown port "p9"`},
		{"conflict", []string{"rotate", "--port", apitest.Busy, "--socket", sock}, 1, "already running"},
		{"malformed port", []string{"rotate", "--port", "a b", "--socket", sock}, exitUsage, "port name"},
		{"missing port", []string{"negotiate", "--socket", sock}, exitUsage, "--port is required"},
		{"stray argument", []string{"status", "now", "--socket", sock}, exitUsage, `unexpected argument "now"`},
		{"unknown flag", []string{"links", "--bogus"}, exitUsage, "bogus"},
		{"store without verify", []string{"store"}, exitUsage, "missing subcommand"},
		{"store frobnicate", []string{"store", "frobnicate"}, exitUsage, `unknown subcommand "frobnicate"`},
		{"shm and socket", []string{"keys", "--shm", "/nonexistent", "--socket", sock}, exitUsage, "exclude each other"},
		{"forbidden negotiate", []string{"negotiate", "--port", "p0", "--socket", refusing}, 1,
			"negotiate: uid " + strconv.Itoa(os.Getuid()) + " may not POST /v1/ports/p0/negotiate"},
		{"forbidden verify", []string{"store", "verify", "--json", "--socket", refusing}, 1, "may not POST /v1/store/verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, e, code := otkEnv(t, nil, tc.args...)
			if code != tc.code || len(out) != 0 {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tc.code, out, e)
			}
			lines := strings.Split(strings.TrimSpace(errorText(t, e, code)), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "otkctl: ") || !strings.Contains(last, tc.wants) {
				t.Fatalf("error line %q does not name %q", last, tc.wants)
			}
		})
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached the daemon: %q", calls)
	}
}

func TestStoreVerifyProblems(t *testing.T) {
	fake, sock := fakeDaemon(t, api.ServerOptions{})
	fake.SetProblems(api.StoreProblem{ID: 13, Problem: "does not decrypt"}, api.StoreProblem{Problem: "store file unreadable"})
	out, e, code := otkEnv(t, nil, "store", "verify", "--socket", sock)
	if code != 1 || !bytes.Contains(out, []byte("key 13: does not decrypt")) || !bytes.Contains(out, []byte("store: store file unreadable")) ||
		!bytes.Contains(e, []byte("otkctl: store verify: 2 problem(s) found")) {
		t.Fatalf("exit %d\n%s\n%s", code, out, e)
	}
	out, _, code = otkEnv(t, nil, "store", "verify", "--json", "--socket", sock)
	var rep api.StoreReport
	if code != 1 || json.Unmarshal(out, &rep) != nil || rep.OK || len(rep.Problems) != 2 {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
}

// publish writes the fake's keys into a real shm file, as the daemon would.
func publish(t *testing.T) (*shm.Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 16, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range apitest.ShmKeys() {
		if err := w.Put(k); err != nil {
			t.Fatal(err)
		}
		k.Zero()
	}
	return w, path
}

func TestKeysFromShm(t *testing.T) {
	w, path := publish(t)
	defer w.Close()
	out, e, code := otkEnv(t, nil, "keys", "--shm", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var rep shmReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if rep.Source != "shm" || rep.Path != path || rep.Generation != w.Generation() || !rep.WriterAlive ||
		rep.WriterPID != uint64(os.Getpid()) || rep.Slots != 16 {
		t.Fatalf("header facts %+v", rep)
	}
	// What a plugin sees is what the daemon reports, less the port names.
	want, _ := apitest.New().Keys(context.Background())
	for i := range want {
		want[i].Port = ""
	}
	byID := func(ks []api.KeyInfo) map[uint64]api.KeyInfo {
		m := map[uint64]api.KeyInfo{}
		for _, k := range ks {
			m[k.ID] = k
		}
		return m
	}
	if got := byID(rep.Keys); !reflect.DeepEqual(got, byID(want)) {
		t.Fatalf("keys from shm\n%+v\nwant\n%+v", got, byID(want))
	}

	out, e, code = otkEnv(t, nil, "keys", "--shm", path)
	fps := fingerprints()
	if code != 0 || !bytes.Contains(out, []byte("(alive), 5 of 16 slots used")) || !bytes.Contains(out, []byte("14  1     BA   3      active")) ||
		!bytes.Contains(out, []byte(fps[14])) {
		t.Fatalf("exit %d: %s%s", code, out, e)
	}

	// The keys stay readable after the writer is gone, and the tool says so.
	w.Close()
	out, e, code = otkEnv(t, nil, "keys", "--shm", path)
	if code != 0 || !bytes.Contains(out, []byte("not running")) || !bytes.Contains(out, []byte(fps[21])) {
		t.Fatalf("after the writer closed: exit %d: %s%s", code, out, e)
	}
}

func TestKeysFromBadShm(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a key store "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		code  int
		wants string
	}{
		{junk, exitDataErr, "incompatible file"},
		{filepath.Join(dir, "missing"), 1, "no such file"},
	} {
		out, e, code := otkEnv(t, nil, "keys", "--shm", tc.path)
		if code != tc.code || len(out) != 0 || !strings.Contains(string(e), tc.wants) {
			t.Fatalf("%s: exit %d: %s%s", tc.path, code, out, e)
		}
	}
}

// TestKeysFromDamagedShm: a key record whose length byte says 200 (the
// record holds at most 64) is reported as damaged, one line, exit 65;
// it made `otkctl keys --shm` panic (slice bounds out of range).
func TestKeysFromDamagedShm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.shm")
	w, err := shm.Create(shm.Options{Path: path, Slots: 64, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	k := &shm.Key{ID: 1, Port: 1, State: shm.StateActive, Alg: shm.AlgZUC128}
	k.SetMaterial(bytes.Repeat([]byte{0x5a}, 16))
	if err := w.Put(k); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	const slots64 = 1064960 // slots offset of a 64-slot map (docs/shm.md); the key is in slot 0
	for _, copyOff := range []int64{0, 128} {
		if _, err := f.WriteAt([]byte{200}, slots64+copyOff+8+14); err != nil { // byte 22 of the copy: length
			t.Fatal(err)
		}
	}
	f.Close()
	out, e, code := otkEnv(t, nil, "keys", "--shm", path)
	if code != exitDataErr || len(out) != 0 || strings.Count(string(e), "\n") != 1 || !strings.Contains(string(e), "damaged") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 65 and one line saying the record is damaged", code, out, e)
	}
	t.Logf("%s", e)
}
