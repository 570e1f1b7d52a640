// Package cli is what otkd's two commands (cmd/otkd, cmd/otkctl) share on
// top of github.com/spf13/cobra: one way to build the command tree, to
// parse flags, to show help, versions and shell completions, and to report
// an error.
//
// The contract both commands keep (README, "Exit status"):
//
//   - --help (or -h) on any command, and `NAME help COMMAND…`, print its
//     help on stdout and exit 0: the top command's overview, or a
//     command's text, usage line, subcommands and flags in cobra's layout
//     (the same for every command of both tools);
//   - --version prints the version, the commit, the Go toolchain and the
//     frame-path kernels this process selected (internal/buildinfo);
//   - `NAME completion bash|zsh|fish|powershell` prints a completion script;
//   - flags are GNU style (--name value, --name=value); a long flag with a
//     single dash (-name), which the Go flag package took, is still taken;
//   - every error is one line on stderr, "NAME: " and the problem, and an
//     exit status of its kind (each command classifies); with --json on
//     the command line it is instead one JSON object on one line:
//     {"error": "the problem", "status": N}, N being the exit status.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otkd/otkd/internal/buildinfo"
)

// Config is what a command tells New.
type Config struct {
	Name string // otkd, otkctl
	// Overview is the top command's help: what each command does, the
	// common flags, the exit statuses.
	Overview string
	// Usagef makes a usage error (the command's own type, exit 64).
	Usagef func(format string, args ...any) error
	// Line renders an error on one line, without the "NAME: " prefix.
	Line func(error) string
	// Status is the exit status of an error (not nil).
	Status func(error) int
}

// Tool is a command tree with the shared behaviour (the package doc).
type Tool struct {
	Root *cobra.Command
	cfg  Config
	args []string // of the running Execute
}

// New makes the top command of a tool: run with no subcommand (no command
// given, an unknown command) it is a usage error; its help is
// cfg.Overview; --version prints the build; errors are reported by
// Execute, not by cobra. Add the commands to Root.
func New(cfg Config, stdout, stderr io.Writer) *Tool {
	root := &cobra.Command{Use: cfg.Name, Args: cobra.ArbitraryArgs, SilenceErrors: true, SilenceUsage: true}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			io.WriteString(stderr, cfg.Overview)
			return cfg.Usagef("no command given")
		}
		return cfg.Usagef("unknown command %q (try '%s help')", args[0], cfg.Name)
	}
	bi := buildinfo.Get()
	root.Version = bi.Version
	root.SetVersionTemplate(strings.ReplaceAll(bi.Text(cfg.Name), "{{", "{{`{{`}}"))
	t := &Tool{Root: root, cfg: cfg}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c == root && len(t.args) > 0 && !strings.HasPrefix(t.args[0], "-") {
			// cobra parses the top command's flags when the first word
			// names no command ("otkctl bogus --json"): the word is
			// the problem, not the flag.
			return cfg.Usagef("unknown command %q (try '%s help')", t.args[0], cfg.Name)
		}
		return cfg.Usagef("%s: %s (try '%s --help')", Path(c), FlagError(err), c.CommandPath())
	})
	// `NAME help CMD…`: cobra's own shows the top command's help for a
	// word that names no command, and exits 0; this one refuses it.
	root.SetHelpCommand(&cobra.Command{
		Use: "help [command]", Short: "the help of a command (the same as COMMAND --help)",
		Args: cobra.ArbitraryArgs, DisableFlagsInUseLine: true,
		DisableFlagParsing: true, // its words are command names; --json is read by Execute
		RunE: func(c *cobra.Command, args []string) error {
			var words []string
			for _, a := range args {
				switch {
				case a == "-h" || a == "--help" || a == "-help":
					return c.Help()
				case !strings.HasPrefix(a, "-"):
					words = append(words, a)
				}
			}
			target, rest, err := root.Find(words)
			if err != nil || len(rest) > 0 {
				return cfg.Usagef("help: unknown command %q (try '%s help')", strings.Join(words, " "), cfg.Name)
			}
			target.InitDefaultHelpFlag() // as cobra's help command does: --help listed
			return target.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var subs []cobra.Completion
			for _, s := range target.Commands() {
				if s.IsAvailableCommand() {
					subs = append(subs, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return subs, cobra.ShellCompDirectiveNoFileComp
		},
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			io.WriteString(stdout, cfg.Overview)
			return
		}
		io.WriteString(stdout, Help(c))
	})
	return t
}

// Help is a subcommand's help: what it does, its usage line, its
// subcommands and flags, in cobra's layout (the same for every command of
// both tools).
func Help(c *cobra.Command) string {
	text := c.Long
	if text == "" {
		text = c.Short
	}
	var b strings.Builder
	if text != "" {
		b.WriteString(strings.TrimRight(text, "\n") + "\n\n")
	}
	b.WriteString(c.UsageString())
	return b.String()
}

// Path is a command's name below the top command ("keyring connect"), the
// prefix of its errors.
func Path(c *cobra.Command) string {
	p := c.CommandPath()
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

// FlagError words a flag parse error: an unknown flag as the Go flag
// package said it ("flag provided but not defined: --x"), the others as
// pflag does.
func FlagError(err error) string {
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		if s := ne.GetSpecifiedShortnames(); len(s) > 1 {
			return fmt.Sprintf("flag provided but not defined: -%s (in -%s)", ne.GetSpecifiedName(), s)
		}
		if len(ne.GetSpecifiedShortnames()) == 1 {
			return "flag provided but not defined: -" + ne.GetSpecifiedName()
		}
		return "flag provided but not defined: --" + ne.GetSpecifiedName()
	}
	return err.Error()
}

// NoArgs refuses positional arguments with a usage error naming the first.
func NoArgs(usagef func(string, ...any) error) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("%s: %v %q", Path(c), ErrArgument, args[0])
		}
		return nil
	}
}

// Group makes c a command that only holds subcommands: without one, or
// with a first word that is none of them (a flag too), it is a usage error
// listing them; --help shows its help.
func Group(c *cobra.Command, usagef func(string, ...any) error) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.DisableFlagParsing = true // the first word is the subcommand, whatever it is
	c.DisableFlagsInUseLine = true
	c.RunE = func(c *cobra.Command, args []string) error {
		var subs []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				subs = append(subs, s.Name())
			}
		}
		switch {
		case len(args) == 0:
			return usagef("%s: missing subcommand (%s)", Path(c), strings.Join(subs, ", "))
		case slices.Contains([]string{"-h", "--help", "-help"}, args[0]):
			return c.Help()
		}
		return usagef("%s: unknown subcommand %q (%s)", Path(c), args[0], strings.Join(subs, ", "))
	}
	return c
}

// ErrArgument: a positional argument where a command takes none.
var ErrArgument = errors.New("unexpected argument")

// Execute runs the tool with args and returns the exit status: 0, or the
// status of the error, which it reports on stderr: one line "NAME: …", or
// with --json a JSON object (the package doc).
func (t *Tool) Execute(args []string) int {
	root, cfg := t.Root, t.cfg
	t.args = args
	root.SetArgs(NormalizeArgs(root, args))
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	var h interface{ HelpText() string }
	if errors.As(err, &h) { // --help of a command that parses its own flags
		io.WriteString(root.OutOrStdout(), h.HelpText())
		return 0
	}
	status := cfg.Status(err)
	msg := cfg.Line(err)
	if JSONWanted(cmd, args) {
		b, _ := marshal(struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}{msg, status})
		root.ErrOrStderr().Write(append(b, '\n'))
	} else {
		fmt.Fprintf(root.ErrOrStderr(), "%s: %s\n", cfg.Name, msg)
	}
	return status
}

// marshal encodes v on one line, "->" as is (no HTML escaping).
func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// JSONWanted reports whether the command line asks for JSON: the command's
// --json flag as parsed, or, when parsing failed before it (or the command
// parses its own flags), --json among the arguments.
func JSONWanted(cmd *cobra.Command, args []string) bool {
	if cmd != nil && !cmd.DisableFlagParsing {
		if f := cmd.Flags().Lookup("json"); f != nil && f.Changed {
			return f.Value.String() == "true"
		}
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true", "--json=1", "-json=1":
			return true
		}
	}
	return false
}

// NormalizeArgs rewrites the long flags written with one dash (-json,
// -config=x), as the Go flag package took them, to the two dashes pflag
// reads, for the command args name (its subcommand words first). Only
// names the command has are rewritten, and never a flag's value or what
// follows "--".
func NormalizeArgs(root *cobra.Command, args []string) []string {
	c := root
	i := 0
	for ; i < len(args); i++ {
		next := findSub(c, args[i])
		if next == nil {
			break
		}
		c = next
	}
	fs := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
	fs.AddFlagSet(c.Flags())
	fs.AddFlagSet(c.InheritedFlags())
	return append(slices.Clone(args[:i]), Normalize(fs, args[i:])...)
}

func findSub(c *cobra.Command, name string) *cobra.Command {
	if strings.HasPrefix(name, "-") {
		return nil
	}
	for _, s := range c.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}

// Normalize rewrites single-dash long flags of fs in args (NormalizeArgs).
func Normalize(fs *pflag.FlagSet, args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil && (name == "help" || name == "version") { // added by cobra as it runs
			f = &pflag.Flag{Name: name, NoOptDefVal: "true"}
		}
		if f == nil {
			continue
		}
		if !strings.HasPrefix(a, "--") && (len(name) > 1 || fs.ShorthandLookup(name) == nil) {
			out[i] = "-" + a
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // the next argument is the value
		}
	}
	return out
}

// Parse parses args into fs for a command that parses its own flags (a
// cobra command with DisableFlagParsing): single-dash long flags taken as
// NormalizeArgs does. It returns nil, pflag.ErrHelp for -h or --help, a
// usage error of the flag parse (FlagError's words), or an error wrapping
// ErrArgument naming the first positional argument.
func Parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	if fs.Lookup("help") == nil {
		fs.BoolP("help", "h", false, "help for "+fs.Name())
	}
	if err := fs.Parse(Normalize(fs, args)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return errors.New(FlagError(err))
	}
	if h, _ := fs.GetBool("help"); h {
		return pflag.ErrHelp
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w %q", ErrArgument, fs.Arg(0))
	}
	return nil
}
