// Package clitest checks the contract of internal/cli on a whole command
// tree (otkd's, otkctl's): every command's --help, --version, the shell
// completion scripts and JSON errors. The two commands' tests call it with
// their real tree, so a command added later is checked without a new test.
package clitest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otkd/otkd/internal/buildinfo"
	"github.com/otkd/otkd/internal/cli"
)

// Run runs a fresh tool (cobra keeps flag values between runs) with args
// and returns its exit status and streams.
type Run func(args ...string) (code int, stdout, stderr string)

// Paths returns the path of every command of the tree below the top one,
// cobra's own help and completion commands included ("keyring status",
// "completion bash"), in tree order. Hidden commands (__complete) are left
// out.
func Paths(root *cobra.Command) [][]string {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, s := range c.Commands() {
			if s.Hidden {
				continue
			}
			p := append(slices.Clone(path), s.Name())
			out = append(out, p)
			walk(s, p)
		}
	}
	walk(root, nil)
	return out
}

// CheckHelp runs `NAME PATH --help`, `NAME PATH -h` and `NAME help PATH`
// for every command of the tree: each exits 0, prints the command's help
// on stdout in the common layout (its usage line, its flags with --help)
// and nothing on stderr. The top command's help is overview.
func CheckHelp(t *testing.T, name, overview string, root *cobra.Command, run Run) {
	t.Helper()
	paths := append([][]string{nil}, Paths(root)...)
	for _, p := range paths {
		for _, args := range [][]string{append(slices.Clone(p), "--help"), append(slices.Clone(p), "-h"), append([]string{"help"}, p...)} {
			code, out, errOut := run(args...)
			if code != 0 || errOut != "" {
				t.Errorf("%s %s: exit %d, stderr %q; want 0 and nothing", name, strings.Join(args, " "), code, errOut)
				continue
			}
			if len(p) == 0 {
				if out != overview {
					t.Errorf("%s %s: stdout is not the overview:\n%s", name, strings.Join(args, " "), out)
				}
				continue
			}
			usage := "Usage:\n  " + name + " " + strings.Join(p, " ")
			if !strings.Contains(out, usage) || !strings.Contains(out, "\nFlags:\n") || !strings.Contains(out, "-h, --help") {
				t.Errorf("%s %s: help lacks %q, its flags or --help:\n%s", name, strings.Join(args, " "), usage, out)
			}
		}
	}
	if len(paths) < 4 {
		t.Fatalf("only %d commands in %s's tree", len(paths), name)
	}
}

// CheckVersion runs `NAME --version`: exit 0, and on stdout the version,
// the commit, the Go toolchain and the kernel this process selected for
// each frame-path stage, as internal/buildinfo has them.
func CheckVersion(t *testing.T, name string, run Run) {
	t.Helper()
	bi := buildinfo.Get()
	code, out, errOut := run("--version")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || errOut != "" || len(lines) != 4 {
		t.Fatalf("%s --version: exit %d, stdout %q, stderr %q", name, code, out, errOut)
	}
	if lines[0] != name+" "+bi.Version || lines[1] != "commit "+bi.Commit ||
		!strings.HasPrefix(lines[2], bi.GoVersion+" ") || lines[3] != "kernels "+bi.KernelList() {
		t.Errorf("%s --version:\n%s\nwant %s %s, commit %s, %s, kernels %s", name, out, name, bi.Version, bi.Commit, bi.GoVersion, bi.KernelList())
	}
	for _, k := range []string{"zuc=", "fec=", "xor=", "noise=", "aes="} {
		if !strings.Contains(lines[3], k) {
			t.Errorf("%s --version names no %s kernel: %q", name, strings.TrimSuffix(k, "="), lines[3])
		}
	}
}

// CheckCompletion generates the completion script of every shell: each is
// non-empty, names the command, and, where the shell is installed, parses
// (bash -n, zsh -n, fish --no-execute). Then it asks cobra's completion
// entry point (what the scripts call) for the words after each group of
// the tree: every subcommand is offered, and a leaf's flags after "--".
func CheckCompletion(t *testing.T, name string, root *cobra.Command, run Run) {
	t.Helper()
	check := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}, "powershell": nil}
	for sh, syntax := range check {
		code, out, errOut := run("completion", sh)
		if code != 0 || errOut != "" || !strings.Contains(out, name) || len(out) < 500 {
			t.Errorf("%s completion %s: exit %d, %d bytes, stderr %q", name, sh, code, len(out), errOut)
			continue
		}
		if syntax == nil {
			continue
		}
		if _, err := exec.LookPath(syntax[0]); err != nil {
			t.Logf("%s not installed: the %s script is not parsed", syntax[0], sh)
			continue
		}
		cmd := exec.Command(syntax[0], syntax[1:]...)
		cmd.Stdin = strings.NewReader(out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s completion %s does not parse: %v\n%s", name, sh, err, b)
		}
	}
	groups := [][]string{nil}
	for _, p := range Paths(root) {
		if c, _, err := root.Find(p); err == nil && c.HasAvailableSubCommands() {
			groups = append(groups, p)
		}
	}
	for _, g := range groups {
		c, _, _ := root.Find(g)
		if len(g) == 0 {
			c = root
		}
		code, out, _ := run(append(append([]string{cobra.ShellCompRequestCmd}, g...), "")...)
		if code != 0 {
			t.Errorf("%s %s %v: exit %d", name, cobra.ShellCompRequestCmd, g, code)
		}
		offered := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			w, _, _ := strings.Cut(l, "\t")
			offered[w] = true
		}
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && !offered[s.Name()] {
				t.Errorf("completion of %q does not offer %s:\n%s", strings.Join(append([]string{name}, g...), " "), s.Name(), out)
			}
		}
	}
	for _, p := range Paths(root) {
		c, _, err := root.Find(p)
		if err != nil || c.HasAvailableSubCommands() || c.DisableFlagParsing || !c.HasAvailableLocalFlags() {
			continue
		}
		_, out, _ := run(append(append([]string{cobra.ShellCompRequestCmd}, p...), "--")...)
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && !strings.Contains(out, "--"+f.Name) {
				t.Errorf("completion of %s %s -- does not offer --%s:\n%s", name, strings.Join(p, " "), f.Name, out)
			}
		})
	}
}

// BashCompletion is the bash-completion package's library, which the
// scripts cobra writes for bash use (as every bash completion does).
const BashCompletion = "/usr/share/bash-completion/bash_completion"

// CheckBashCompletion sources bin's bash completion script in bash and
// completes words (the last one partial) as bash would on TAB: the
// replies must hold want. It skips when bash or the bash-completion
// package is not installed.
func CheckBashCompletion(t *testing.T, bin, name string, words []string, want string) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	if _, err := os.Stat(BashCompletion); err != nil {
		t.Skipf("bash-completion not installed (%v)", err)
	}
	quoted := []string{shellQuote(bin)}
	for _, w := range words {
		quoted = append(quoted, shellQuote(w))
	}
	script := `source ` + BashCompletion + ` || exit 3
source <(` + shellQuote(bin) + ` completion bash) || exit 3
COMP_WORDS=(` + strings.Join(quoted, " ") + `)
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
__start_` + name + `
printf '%s\n' "${COMPREPLY[@]}"
`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", words, err, errOut.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.TrimSpace(l) == want {
			return
		}
	}
	t.Errorf("bash completion of %s %q offers %q, not %q", name, words, out.String(), want)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// JSONError checks a --json error: stderr is exactly one line holding one
// JSON object with exactly the fields error (non-empty) and status (the
// exit status), and returns the error's text.
func JSONError(t *testing.T, what string, code int, stderr string) string {
	t.Helper()
	var je struct {
		Error  *string `json:"error"`
		Status *int    `json:"status"`
	}
	dec := json.NewDecoder(strings.NewReader(stderr))
	dec.DisallowUnknownFields()
	err := dec.Decode(&je)
	if err != nil || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "}\n") ||
		je.Error == nil || *je.Error == "" || je.Status == nil || *je.Status != code {
		t.Errorf("%s: exit %d, stderr %q: not one JSON error with this status (%v)", what, code, stderr, err)
		return ""
	}
	if strings.Contains(stderr, `\u003e`) || strings.Contains(stderr, `\u003c`) || strings.Contains(stderr, `\u0026`) {
		t.Errorf("%s: HTML escapes in %q", what, stderr)
	}
	return *je.Error
}

// Tool returns a Run that builds a fresh tool with mk for each run.
func Tool(mk func(stdout, stderr *bytes.Buffer) *cli.Tool) Run {
	return func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := mk(&o, &e).Execute(args)
		return code, o.String(), e.String()
	}
}
