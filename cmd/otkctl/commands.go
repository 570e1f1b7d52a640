package main

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/internal/cli"
)

// stdio are a command's streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// declare is a command: it adds the command's flags to fs and returns what
// runs it with its positional arguments (none, unless the command takes
// some: leaf's args).
type declare func(fs *pflag.FlagSet, std stdio) func(args []string) error

// leaf makes the cobra command use (its name and what follows in its usage
// line) that runs d. It takes no positional argument unless args says how
// many it may take (a usage error beyond).
func leaf(std stdio, use, short string, d declare, args ...cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cli.NoArgs(usagef)}
	if len(args) > 0 {
		c.Args = args[0]
	}
	run := d(c.Flags(), std)
	c.RunE = func(_ *cobra.Command, a []string) error { return run(a) }
	return c
}

// group makes a command that holds subcommands (otkctl keyring …).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := cli.Group(&cobra.Command{Use: use, Short: short}, usagef)
	c.AddCommand(subs...)
	return c
}

// plain registers a command written as a plain function, as otkctl's
// commands were before cobra: fn(args, stdout, stderr) parses its own
// flags with newFlags and parseFlags first, before it acts, and returns
// its error. plain learns the flags by calling fn with --help once (which
// returns at the parse), so that the command's help, from --help or from
// `otkctl help CMD`, lists them in the common layout.
func plain(std stdio, use, short string, fn func(args []string, stdout, stderr io.Writer) error) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, DisableFlagParsing: true}
	var h errHelp
	if err := fn([]string{"--help"}, io.Discard, io.Discard); errors.As(err, &h) {
		h.fs.VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" { // set by that call; cobra adds its own
				c.Flags().AddFlag(f)
			}
		})
	}
	c.RunE = func(_ *cobra.Command, a []string) error {
		if err := fn(a, std.out, std.err); !errors.As(err, &h) {
			return err
		}
		return c.Help()
	}
	return c
}

// newTool builds otkctl's command tree on its streams.
func newTool(stdin io.Reader, stdout, stderr io.Writer) *cli.Tool {
	t := cli.New(cli.Config{Name: "otkctl", Overview: usage, Usagef: usagef, Line: errLine, Status: exitStatus}, stdout, stderr)
	std := stdio{stdin, stdout, stderr}
	t.Root.AddCommand(
		leaf(std, "status", "the daemon: node, version, uptime, stores, a line per port", statusCmd),
		leaf(std, "links", "every port: line, peer, handshake, epochs, frame/FEC/round/seed counters", linksCmd),
		leaf(std, "keys", "the keys of the store (--shm FILE: read the key store file, no daemon needed): metadata and fingerprints, never key bytes", keysCmd),
		leaf(std, "negotiate", "start a new seed negotiation on a port now", portCmd("negotiate", (*api.Client).Negotiate)),
		leaf(std, "rotate", "switch a port to its next session key now", portCmd("rotate", (*api.Client).Rotate)),
		group("store", "the daemon's persisted key store",
			leaf(std, "verify", "check that every persisted key decrypts and matches the shm store", storeVerify)),
		group("keyring", "the consumer keyrings of a pool",
			leaf(std, "pools", "the names of the consumer pools", keyringPoolsCmd),
			leaf(std, "status", "the pool's keyrings (windows, fills, counts), or a consumer's key", keyringStatusCmd),
			leaf(std, "connect", "bind a consumer to a key of the current ring (prints its fingerprint)", keyringBindCmd(true)),
			leaf(std, "disconnect", "release a consumer's key (retired at both ends)", keyringBindCmd(false)),
			leaf(std, "refill", "refill a ring now (it must have no bindings)", keyringRefillCmd),
			leaf(std, "sync", "the sync with the other end: messages waiting for its ack, tie-breaks, rejections", keyringSyncCmd)),
		group("sync", "key sync to application platforms",
			leaf(std, "import FILE", "import a vendor key file enveloped to this node", syncImportCmd, cobra.ArbitraryArgs),
			leaf(std, "register", "register a subscriber identity for an application", syncRegisterCmd),
			leaf(std, "request", "bind a key to an identity and queue its push to the application's platform", syncRequestCmd),
			leaf(std, "outbox", "the pushes not yet accepted by their platform", syncOutboxCmd),
			leaf(std, "audit", "the key-sync audit log (ids and fingerprints, never key bytes)", syncAuditCmd)),
		plain(std, "fleet", "every otkd of the fleet (controller store on etcd) and every link, stale ones marked", fleetCmd),
		group("mpc", "threshold custody of backups",
			leaf(std, "status", "this node, epoch, cluster key fingerprint, peers", mpcStatusCmd),
			leaf(std, "peers", "every node's answer: reachable, epoch, cluster key fingerprint", mpcPeersCmd),
			leaf(std, "init", "coordinate the cluster's key generation (an operator request: client certificate and TOTP)", mpcRoundCmd(true)),
			leaf(std, "refresh", "coordinate a proactive refresh of the shares (an operator request)", mpcRoundCmd(false)),
			leaf(std, "backup", "encrypt a file, the seeds or a keyring to the cluster key and store it", mpcBackupCmd),
			leaf(std, "list", "the stored backups: id, label, epoch, size, fingerprint", mpcListCmd),
			leaf(std, "delete", "delete a stored backup (an operator request)", mpcDeleteCmd),
			leaf(std, "recover", "recover a backup through a node's operator endpoint (the secret goes to a new 0600 file)", mpcRecoverCmd),
			leaf(std, "inspect", "summarise a recovered export (fingerprints and ids, never seed bytes)", mpcInspectCmd)),
		group("frame", "frame diagnostics: seal, open, damage OTU2 frames",
			leaf(std, "encode", "seal a plaintext frame image (stdin) into a wire frame (stdout), or a pcap's Ethernet frames", frameEncode),
			leaf(std, "decode", "open a wire frame (stdin) into the plaintext image (stdout), statistics on stderr", frameDecode),
			leaf(std, "selftest", "seal, damage and open random frames and report what the FEC and the cipher did", frameSelftest)),
	)
	// fleet is a plain command: fn(args, stdout, stderr) parses its own
	// flags with newFlags and parseFlags.
	return t
}

// newFlags returns the flag set of a plain command (plain): GNU-style
// flags, the daemon's common ones added with addDaemonFlags.
func newFlags(name string, _ io.Writer) *pflag.FlagSet {
	return pflag.NewFlagSet(name, pflag.ContinueOnError)
}

// parseFlags parses a plain command's flags: --help prints them in the
// layout of every otkctl command (on stdout, exit 0), a bad flag or a
// positional argument is a usage error.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	switch err := cli.Parse(fs, args); {
	case err == nil:
		return nil
	case errors.Is(err, pflag.ErrHelp):
		return errHelp{fs}
	default:
		return usagef("%s: %v (try 'otkctl %s --help')", fs.Name(), err, fs.Name())
	}
}

// errHelp is --help of a plain command: the tool prints HelpText and
// exits 0.
type errHelp struct{ fs *pflag.FlagSet }

func (e errHelp) Error() string { return "help requested" }

// HelpText is a plain command's help, in the common layout.
func (e errHelp) HelpText() string {
	c := &cobra.Command{Use: "otkctl " + e.fs.Name() + " [flags]"}
	c.Flags().AddFlagSet(e.fs)
	return strings.TrimPrefix(cli.Help(c), "\n")
}
