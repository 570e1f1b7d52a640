package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
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
		{[]string{"mpc"}, 2, "subcommand \"--socket\""},
		{[]string{"mpc", "bogus"}, 2, "unknown subcommand"},
		{[]string{"mpc", "status"}, 1, "[mpc] enabled = true"},
		{[]string{"mpc", "init"}, 1, "[mpc] enabled = true"},
		{[]string{"mpc", "backup"}, 2, "--file is required"},
		{[]string{"mpc", "backup", "--file", empty}, 2, "is empty"},
		{[]string{"mpc", "backup", "--file", existing, "--label", "a b"}, 2, "label"},
		{append([]string{"mpc", "recover", "--id", "0123456789abcdef"}, op...), 2, "never written to stdout"},
		{append([]string{"mpc", "recover", "--id", "0123456789abcdef", "--out", existing}, op...), 2, "never overwritten"},
		{append([]string{"mpc", "recover", "--out", filepath.Join(dir, "new")}, op...), 2, "--id or --ciphertext"},
		{[]string{"mpc", "recover", "--id", "x", "--check", "--node", "http://x", "--cert", "c", "--key", "k", "--ca", "ca", "--totp", "1"}, 2, "want https://host:port"},
		{[]string{"mpc", "recover", "--id", "x", "--check", "--node", "https://x"}, 2, "are required"},
	} {
		_, e, code := otkEnv(t, nil, append(tc.args, "--socket", sock)...)
		if code != tc.code || !strings.Contains(string(e), tc.want) {
			t.Errorf("otkctl %v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, e)
		}
	}
}
