// Package cli is what otkd's two commands (cmd/otkd, cmd/otkctl) share to
// read their subcommands' flags: one parse with one rule for positional
// arguments (there are none). Each command words its own errors, which are
// part of its output contract (otkd: one line with a hint; otkctl: the flag
// package's message and flag list).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// ErrArgument: a positional argument where a command takes none.
var ErrArgument = errors.New("unexpected argument")

// Parse parses args into fs. It returns nil, flag.ErrHelp for -h, the flag
// package's error for a bad flag, or an error wrapping ErrArgument naming
// the first positional argument. With quiet, the flag package prints
// nothing (the caller reports); without, it prints its message and the
// flags to fs's output, as it does by default.
func Parse(fs *flag.FlagSet, args []string, quiet bool) error {
	if quiet {
		out := fs.Output()
		fs.SetOutput(io.Discard)
		defer fs.SetOutput(out)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w %q", ErrArgument, fs.Arg(0))
	}
	return nil
}
