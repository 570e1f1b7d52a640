package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otkd/otkd/internal/cli"
	"github.com/otkd/otkd/internal/cli/clitest"
)

// runTool runs a fresh otkd tree in this process.
var runTool = clitest.Tool(func(o, e *bytes.Buffer) *cli.Tool { return newTool(context.Background(), o, e) })

// TestHelpEveryCommand walks otkd's command tree: --help, -h and `help
// CMD` exit 0 with the help on stdout for every command and subcommand.
func TestHelpEveryCommand(t *testing.T) {
	clitest.CheckHelp(t, "otkd", usage, newTool(context.Background(), nil, nil).Root, runTool)
}

// TestVersion: --version names the version, commit, Go and the kernels.
func TestVersion(t *testing.T) {
	clitest.CheckVersion(t, "otkd", runTool)
}

// TestCompletion: the scripts of every shell parse, every command and flag
// is offered, and bash completes a partial command line through the
// built binary.
func TestCompletion(t *testing.T) {
	clitest.CheckCompletion(t, "otkd", newTool(context.Background(), nil, nil).Root, runTool)
	clitest.CheckBashCompletion(t, otkdBin, "otkd", []string{"de"}, "demo")
	clitest.CheckBashCompletion(t, otkdBin, "otkd", []string{"run", "--con"}, "--config")
}

// TestJSONErrors: with --json an error is one JSON object on stderr with
// the exit status, nothing on stdout (the real binary), and says what the
// line without --json says.
func TestJSONErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"demo", "--json", "--duration", "0s"}, exitUsage, "--duration must be positive"},
		{[]string{"demo", "--json", "--bogus"}, exitUsage, "flag provided but not defined: --bogus"},
		{[]string{"frobnicate", "--json"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"run", "--json", "--config", filepath.Join(dir, "none.toml")}, exitUsage, "--json"},
		// --report is checked before the run (which would take 10 s).
		{[]string{"demo", "--json", "--report", filepath.Join(dir, "no", "such", "dir", "r.html")}, exitCantCreat, "cannot create a file in " + filepath.Join(dir, "no", "such", "dir")},
		{[]string{"demo", "--json", "--report", dir}, exitCantCreat, "not a regular file"},
	} {
		cmd := exec.Command(otkdBin, c.args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		cmd.Run()
		code := cmd.ProcessState.ExitCode()
		what := "otkd " + strings.Join(c.args, " ")
		msg := clitest.JSONError(t, what, code, e.String())
		if code != c.code || o.Len() != 0 || !strings.Contains(msg, c.says) {
			t.Errorf("%s: exit %d, stdout %q, error %q; want %d saying %q", what, code, o.String(), msg, c.code, c.says)
		}
	}
}
