// Command otkctl is otkd's command-line tool. Today it holds the frame
// diagnostics (otkctl frame encode|decode|selftest); the daemon's management
// commands join it when the daemon exists.
//
// Exit status: 0 on success, 2 for bad usage or malformed input (one line on
// stderr naming the problem), 1 for other failures.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// usageError marks errors that exit with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const usage = `usage: otkctl <command> [arguments]

commands:
  frame encode   seal a 16 830-byte plaintext frame image (stdin) into a wire frame (stdout)
  frame decode   open a wire frame (stdin) into the plaintext frame image (stdout), statistics on stderr
  frame selftest seal, damage and open random frames and report what the FEC and the cipher did

run 'otkctl frame <command> -h' for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "otkctl: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "frame":
		return frameCmd(args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		io.WriteString(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (try 'otkctl help')", args[0])
}
