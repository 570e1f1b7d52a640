package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/internal/cli"
	"github.com/otkd/otkd/internal/cli/clitest"
)

// runTool runs a fresh otkctl tree in this process (no stdin).
var runTool = clitest.Tool(func(o, e *bytes.Buffer) *cli.Tool { return newTool(nil, o, e) })

// TestHelpEveryCommand walks otkctl's command tree: --help, -h and `help
// CMD` exit 0 with the help on stdout for every command and subcommand.
func TestHelpEveryCommand(t *testing.T) {
	clitest.CheckHelp(t, "otkctl", usage, newTool(nil, nil, nil).Root, runTool)
}

// TestVersion: --version names the version, commit, Go and the kernels.
func TestVersion(t *testing.T) {
	clitest.CheckVersion(t, "otkctl", runTool)
}

// TestCompletion: the scripts of every shell parse, every subcommand and
// flag is offered, and bash completes a real partial command line through
// the built binary.
func TestCompletion(t *testing.T) {
	clitest.CheckCompletion(t, "otkctl", newTool(nil, nil, nil).Root, runTool)
	clitest.CheckBashCompletion(t, otkctl, "otkctl", []string{"keyr"}, "keyring")
	clitest.CheckBashCompletion(t, otkctl, "otkctl", []string{"keyring", "disc"}, "disconnect")
	clitest.CheckBashCompletion(t, otkctl, "otkctl", []string{"keys", "--sh"}, "--shm")
}

// TestJSONErrors: with --json every kind of error (bad usage, the daemon
// unreachable, malformed data, a flag parse that fails before --json is
// read) is one JSON object on stderr with the exit status, and nothing on
// stdout, from the real binary.
func TestJSONErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.shm")
	if err := os.WriteFile(bad, []byte("not a key store -> really"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"status", "--json", "--bogus"}, exitUsage, "flag provided but not defined: --bogus"},
		{[]string{"frobnicate", "--json"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"keyring", "frob", "--json"}, exitUsage, `unknown subcommand "frob"`},
		{[]string{"help", "keyring", "frob", "--json"}, exitUsage, `help: unknown command "keyring frob"`},
		{[]string{"negotiate", "--json"}, exitUsage, "--port is required"},
		{[]string{"links", "-json", "--socket", filepath.Join(dir, "none.sock")}, exitFailure, "cannot reach otkd"},
		{[]string{"fleet", "--json", "--socket", filepath.Join(dir, "none.sock")}, exitFailure, "cannot reach otkd"}, // a plain command
		{[]string{"fleet", "--json", "--stale-after", "1ms"}, exitUsage, "--stale-after 1ms"},
		{[]string{"keys", "--json", "--shm", bad}, exitDataErr, bad},
		{[]string{"mpc", "inspect", "--json", "--file", bad}, exitDataErr, "mpc inspect"},
	} {
		out, e, code := otk(t, nil, c.args...)
		what := "otkctl " + strings.Join(c.args, " ")
		msg := clitest.JSONError(t, what, code, string(e))
		if code != c.code || len(out) != 0 || !strings.Contains(msg, c.says) {
			t.Errorf("%s: exit %d, stdout %q, error %q; want %d saying %q", what, code, out, msg, c.code, c.says)
		}
		// Without --json the same error is the one line "otkctl: …".
		var plain []string
		for _, a := range c.args {
			if a != "--json" && a != "-json" {
				plain = append(plain, a)
			}
		}
		if _, e2, code2 := otk(t, nil, plain...); code2 != code || string(e2) != "otkctl: "+msg+"\n" {
			t.Errorf("otkctl %s: exit %d, %q; want %d, %q", strings.Join(plain, " "), code2, e2, code, "otkctl: "+msg)
		}
	}
}
