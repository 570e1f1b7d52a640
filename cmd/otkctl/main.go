// Command otkctl is otkd's command-line tool: the daemon's management
// commands (status, links, keys, negotiate, rotate, store verify, keyring,
// sync, mpc), which talk to otkd over its API socket (package ctrl/api),
// `keys --shm`, which reads a key store file directly, and the frame diagnostics (otkctl frame
// encode|decode|selftest).
//
// Commands, flags, help (--help on every command exits 0), --version and
// shell completion (otkctl completion bash|zsh|fish) are
// github.com/spf13/cobra's, set up as otkd's are (internal/cli);
// commands.go holds the tree.
//
// Every error ends the process with one line on stderr, "otkctl: " and
// the problem (with --json: one JSON object, {"error": "…", "status": N}),
// and an exit status of its kind (sysexits.h, as otkd's): 0
// success; 1 a failure (the daemon unreachable, or it refused the request:
// unknown, exhausted, not found); 64 bad usage (EX_USAGE): an unknown
// command or flag, a missing or bad flag value, a request the daemon found
// malformed; 65 malformed input data (EX_DATAERR): a frame on stdin, a key
// file the daemon refuses as malformed, a key store file (keys --shm) that
// is not one or has a damaged record, a file given to mpc that is empty,
// too large or not what it should be. 2 is Go's runtime crash status.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError marks errors that exit with status 64 (EX_USAGE).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// dataError marks errors about malformed input data: status 65
// (EX_DATAERR).
type dataError struct{ msg string }

func (e *dataError) Error() string { return e.msg }

func dataf(format string, args ...any) error {
	return &dataError{msg: fmt.Sprintf(format, args...)}
}

// Exit statuses (sysexits.h names).
const (
	exitFailure = 1
	exitUsage   = 64 // EX_USAGE
	exitDataErr = 65 // EX_DATAERR
)

func exitStatus(err error) int {
	var ue *usageError
	var de *dataError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &de):
		return exitDataErr
	}
	return exitFailure
}

const usage = `usage: otkctl <command> [arguments]

commands:
  status              the daemon: node, version, uptime, stores, a line per port
  links               every port: line, peer, handshake, epochs, frame/FEC/round/seed counters
  keys                the keys of the store: id, port, direction, epoch, state, SM3 fingerprint (never key bytes)
  keys --shm FILE     the same, read from the key store FILE through the plugin reader (no daemon needed)
  negotiate --port P  start a new seed negotiation on port P now
  rotate --port P     switch port P to its next session key now
  store verify        check that every persisted key decrypts and matches the shm store
  keyring pools                   the names of the consumer pools; a keyring command given none acts on
                                  the only pool (with several, the daemon's error names them)
  keyring status [--pool NAME] [--consumer N]  the pool's keyrings (windows, fills, counts), or consumer N's key
  keyring connect [--pool NAME] --consumer N   bind consumer N to a key of the current ring (prints its fingerprint)
  keyring disconnect [--pool NAME] --consumer N
                                  release consumer N's key (retired at both ends)
  keyring refill [--pool NAME] --ring R        refill ring R now (it must have no bindings)
  keyring sync [--pool NAME]      the sync with the other end: messages waiting for its ack, tie-breaks, rejections
  sync import FILE                import a vendor key file enveloped to this node
  sync register --identity I --app A          register subscriber I for application A
  sync request --identity I --key K [--app A] bind key K to I and queue its push to A's platform
  sync outbox                     the pushes not yet accepted by their platform
  sync audit [--since T] [--until T] [--kind K] [--identity I] [--app A] [--key K] [--limit N]
                                  the key-sync audit log (ids and fingerprints, never key bytes)
  fleet [--stale-after D]         every otkd of the fleet (controller store on etcd) and every link:
                                  key epochs, fingerprints, last seed and switch, stale ones marked
  mpc status                      threshold custody: this node, epoch, cluster key fingerprint, peers
  mpc peers                       every node's answer: reachable, epoch, cluster key fingerprint
  mpc init|refresh --node URL --cert C --key K --ca CA --totp CODE|--totp-secret-file F
                                  coordinate the cluster's key generation / a proactive refresh (all nodes
                                  up): an operator request to a node's operator endpoint, with the client
                                  certificate and the TOTP code (both factors)
  mpc backup --file F|--seeds|--keyring [--pool NAME] [--label L] [--out CT]
                                  encrypt F to the cluster key and store it, or have the daemon back up the
                                  seeds of every keyring pool (--seeds) or one pool's keyring state: rings,
                                  bindings, their seeds (--keyring); prints the backup's id and fingerprint
  mpc list                        the stored backups: id, label, epoch, size, fingerprint
  mpc delete --id ID --node URL --cert C --key K --ca CA --totp CODE|--totp-secret-file F
                                  delete a stored backup (an operator request, as init)
  mpc recover --id ID|--ciphertext CT --node URL --cert C --key K --ca CA --totp CODE|--totp-secret-file F
              --out FILE|--check  recover through a node's operator endpoint (t nodes); the secret goes to
                                  a new 0600 file, never to stdout
  mpc inspect --file F            summarise a recovered export: pools, seeds (fingerprints and ids, never
                                  their bytes), rings, bindings
  frame encode        seal a 16 830-byte plaintext frame image (stdin) into a wire frame (stdout)
  frame decode        open a wire frame (stdin) into the plaintext frame image (stdout), statistics on stderr
  frame selftest      seal, damage and open random frames and report what the FEC and the cipher did
  completion bash|zsh|fish|powershell
                      print the shell completion script (bash: source <(otkctl completion bash))

The daemon commands take --json (machine-readable output) and --socket PATH
(default $OTKD_SOCKET, else /run/otkd/otkd.sock). Run 'otkctl <command> --help'
or 'otkctl frame <command> --help' for the flags of a command; 'otkctl --version'
for the version, commit, Go version and frame-path kernels.

Key ids in JSON are strings of decimal digits ("id": "1311768467294899695"):
64-bit numbers do not survive a JSON parser that reads numbers as float64
(jq, JavaScript); the fingerprint is the same id in hex.

Exit status (the one line on stderr, "otkctl: …", says what is wrong; with
--json it is one JSON object instead: {"error": "…", "status": N}): 0 success;
1 a failure: the daemon unreachable, or it refused (not found, exhausted, …);
64 bad usage: an unknown command or flag, a missing or bad flag value;
65 malformed input: a frame on stdin, a key file, a key store file (keys --shm).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs otkctl with args and returns its exit status (the package doc);
// an error is one line on stderr, or a JSON object with --json
// (internal/cli).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newTool(stdin, stdout, stderr).Execute(args)
}

// errLine is an error on one line, as the exit line shows it.
func errLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
