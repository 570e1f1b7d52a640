package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// TestMPCCommandErrors: bad usage exits 2 naming the problem before
// anything is sent; a daemon without [mpc] gives a clear 503.
func TestMPCCommandErrors(t *testing.T) {
	_, sock := fakeDaemon(t, api.ServerOptions{})
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(existing, []byte("x"), 0o600)
	os.WriteFile(empty, nil, 0o600)
	op := []string{"--node", "https://127.0.0.1:1", "--cert", "c", "--key", "k", "--ca", "ca", "--totp", "123456"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mpc"}, exitUsage, "subcommand \"--socket\""},
		{[]string{"mpc", "bogus"}, exitUsage, "unknown subcommand"},
		{[]string{"mpc", "status"}, 1, "[mpc] enabled = true"},
		{[]string{"mpc", "init"}, exitUsage, "--node, --cert, --key and --ca are required"},
		{[]string{"mpc", "refresh", "--node", "https://x", "--cert", "c", "--key", "k", "--ca", "ca"}, exitUsage, "give --totp or --totp-secret-file"},
		{append([]string{"mpc", "delete"}, op...), exitUsage, "--id is required"},
		{[]string{"mpc", "delete", "--id", "0123456789abcdef"}, exitUsage, "are required"},
		{[]string{"mpc", "backup", "--seeds"}, 1, "[mpc] enabled = true"},
		{[]string{"mpc", "backup", "--seeds", "--keyring"}, exitUsage, "one of --file, --seeds and --keyring"},
		{[]string{"mpc", "backup", "--keyring", "--file", existing}, exitUsage, "one of --file, --seeds and --keyring"},
		{[]string{"mpc", "backup"}, exitUsage, "--file, --seeds or --keyring is required"},
		{[]string{"mpc", "backup", "--seeds", "--pool", "vpn"}, exitUsage, "--pool goes with --keyring (--seeds backs up the seeds of every pool)"},
		{[]string{"mpc", "backup", "--keyring", "--pool", "vpn"}, 1, "[mpc] enabled = true"},
		{[]string{"mpc", "backup", "--file", empty}, exitDataErr, "is empty"},
		{[]string{"mpc", "backup", "--file", existing, "--label", "a b"}, exitUsage, "label"},
		{append([]string{"mpc", "recover", "--id", "0123456789abcdef"}, op...), exitUsage, "never written to stdout"},
		{append([]string{"mpc", "recover", "--id", "0123456789abcdef", "--out", existing}, op...), exitUsage, "never overwritten"},
		{append([]string{"mpc", "recover", "--out", filepath.Join(dir, "new")}, op...), exitUsage, "--id or --ciphertext"},
		{[]string{"mpc", "recover", "--id", "x", "--check", "--node", "http://x", "--cert", "c", "--key", "k", "--ca", "ca", "--totp", "1"}, exitUsage, "want https://host:port"},
		{[]string{"mpc", "recover", "--id", "x", "--check", "--node", "https://x"}, exitUsage, "are required"},
	} {
		_, e, code := otkEnv(t, nil, append(tc.args, "--socket", sock)...)
		if code != tc.code || !strings.Contains(string(e), tc.want) {
			t.Errorf("otkctl %v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, e)
		}
	}
}

// TestMPCInspect: inspect prints an export's summary, seeds as
// fingerprints and ids, and never a seed's bytes.
func TestMPCInspect(t *testing.T) {
	seed := bytes.Repeat([]byte{0xc3, 0x3c}, 16)
	e := &mpcsvc.Export{What: mpcsvc.ExportKeyring, Created: time.Unix(1700000000, 0), Node: "n1", Pool: "default", Window: 4 * time.Second,
		Seeds:    []mpcsvc.ExportSeed{{Source: mpcsvc.SeedRing, Pool: "default", ID: 0xabc, Seed: seed}},
		Rings:    []mpcsvc.ExportRing{{Ring: 0, Filled: true, Epoch: 9, SeedID: 0xabc, Keys: 8}},
		Bindings: []mpcsvc.ExportBinding{{Consumer: 7, Ring: 0, Slot: 1, Epoch: 9, SeedID: 0xabc, KeyID: 0x1234}}}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("OTKDEXPT but cut"), 0o600)
	for _, args := range [][]string{{}, {"--file", other}} {
		_, e, code := otkEnv(t, nil, append([]string{"mpc", "inspect"}, args...)...)
		if code == 0 || (!strings.Contains(string(e), "--file is required") && !strings.Contains(string(e), "not a valid export")) {
			t.Fatalf("inspect %v: exit %d: %s", args, code, e)
		}
	}
	file := filepath.Join(t.TempDir(), "export")
	os.WriteFile(file, b, 0o600)
	fp := e.Seeds[0].Fingerprint()
	text, errOut, code := otkEnv(t, nil, "mpc", "inspect", "--file", file)
	if code != 0 || !strings.Contains(string(text), fp) || !strings.Contains(string(text), "0000000000000abc") ||
		!strings.Contains(string(text), mpcsvc.Fingerprint(b)) || !strings.Contains(string(text), "(format 2)") ||
		!strings.Contains(string(text), "default  ring") {
		t.Fatalf("exit %d: %s%s", code, text, errOut)
	}
	js, _, code := otkEnv(t, nil, "mpc", "inspect", "--json", "--file", file)
	var out struct {
		What  string `json:"what"`
		Seeds []struct {
			Pool        string `json:"pool"`
			Fingerprint string `json:"fingerprint"`
			Bits        int    `json:"bits"`
		} `json:"seeds"`
		Bindings []struct {
			Consumer uint64 `json:"consumer,string"`
		} `json:"bindings"`
	}
	if err := json.Unmarshal(js, &out); err != nil || code != 0 || out.What != "keyring" || len(out.Seeds) != 1 ||
		out.Seeds[0].Fingerprint != fp || out.Seeds[0].Pool != "default" || out.Seeds[0].Bits != 256 || len(out.Bindings) != 1 || out.Bindings[0].Consumer != 7 {
		t.Fatalf("json: exit %d %v: %s", code, err, js)
	}
	for _, o := range [][]byte{text, js} {
		for _, form := range []string{string(seed[:8]), fmt.Sprintf("%x", seed[:8]), "wzzDPMM8"} { // raw, hex, base64
			if strings.Contains(string(o), form) {
				t.Fatalf("inspect printed seed bytes (%q):\n%s", form, o)
			}
		}
	}
}
