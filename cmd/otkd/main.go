// Command otkd is the otkd daemon.
//
//	otkd demo [--duration 10s] [--json] [--report FILE.html] [--shm-dir DIR] [--client-load 0.5]
//	otkd run --config FILE [--check]
//	otkd keygen --name NAME --private FILE --public FILE
//	otkd completion bash|zsh|fish|powershell
//	otkd --version
//
// Commands, flags, help (--help on every command exits 0), --version and
// shell completion are github.com/spf13/cobra's, set up as otkctl's are
// (internal/cli).
//
// demo runs both ends of a link in one process over the simulated fibre
// (the first thing to run on a fresh machine); run is the service.
//
// Every error ends the process with one line on stderr, "otkd: " and the
// problem (with --json: one JSON object, {"error": "…", "status": N}), and
// an exit status that says its kind (exitStatus; the values
// of sysexits.h): 0 success, 1 a failure while running (or one a restart
// may cure: another otkd holds the files, no space in /dev/shm), 64 bad
// usage (EX_USAGE), 65 a damaged data file: the key store or the controller store, a key file
// (EX_DATAERR), 73 a file otkd must create is in another user's hands: the
// shm map or its lock file, or one it cannot create: demo --report's
// (EX_CANTCREAT), 78 a bad configuration or a
// file it names, a wrong KEK (EX_CONFIG). Go's runtime uses 2 for a crash;
// otkd never does.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otkd/otkd/asm/aesctr"
	"github.com/otkd/otkd/asm/zuc"
	"github.com/otkd/otkd/ctrl/daemon"
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/sim/demo"
	"github.com/otkd/otkd/dataplane/client/tap"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/internal/asmswitch"
	"github.com/otkd/otkd/internal/cli"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/noise"
	"github.com/otkd/otkd/shm"
	"github.com/otkd/otkd/shm/store"
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: otkd <command> [flags]

commands:
  demo   run both ends of a link in one process over a simulated fibre and show the keys it makes
  run    run the daemon with a configuration file (otkd run --config /etc/otkd/otkd.toml)
  keygen make this node's SM2 key pair (otkd keygen --name a --private node.key --public node.pub)
  completion bash|zsh|fish|powershell
         print the shell completion script (bash: source <(otkd completion bash))

run 'otkd <command> --help' for its flags, 'otkd --version' for the version,
commit, Go version and the frame-path kernels this machine selects.

exit status (one line on stderr, "otkd: …", says what is wrong; with --json,
one JSON object instead: {"error": "…", "status": N}):
  0   success
  1   a failure while running, or one a restart may cure (another otkd holds
      the files or the client interface, no space for the shm map)
  64  bad usage: an unknown command or flag, a bad OTKD_NOASM value
  65  a damaged data file: the key store (store.path), the controller store
      (controller.store), a key file's contents
  73  otkd will not use a file in its way: the shm map or its lock file owned
      by another user, a symbolic link, an unsafe directory (see README);
      demo --report names a file it cannot create (checked before the run)
  78  a bad configuration, or a file it names missing or with unsafe modes,
      or a key-encryption key that does not open the store, or a port's
      client the host cannot give (an interface of that name that is not a
      TAP, no CAP_NET_ADMIN, no /dev/net/tun)
  (2 is Go's runtime crash status; otkd itself never exits with it)
`

// Exit statuses (sysexits.h names).
const (
	exitFailure   = 1
	exitUsage     = 64 // EX_USAGE
	exitDataErr   = 65 // EX_DATAERR
	exitCantCreat = 73 // EX_CANTCREAT
	exitConfig    = 78 // EX_CONFIG
)

// exitStatus is the status of err: its kind, by the sentinels of the
// packages that made it.
func exitStatus(err error) int {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, handshake.ErrKeyFile),
		errors.Is(err, kstore.ErrDamaged), errors.Is(err, kstore.ErrCorrupt):
		return exitDataErr
	case errors.Is(err, shm.ErrUntrusted), errors.Is(err, demo.ErrReport):
		return exitCantCreat
	case errors.Is(err, config.ErrInvalid), errors.Is(err, config.ErrFile),
		errors.Is(err, store.ErrKEK), errors.Is(err, store.ErrWrongKEK),
		errors.Is(err, tap.ErrNotTAP), errors.Is(err, tap.ErrPermission), errors.Is(err, tap.ErrNoTun):
		return exitConfig
	}
	return exitFailure
}

// classed is err with the sentinel class added for exitStatus, its text
// unchanged.
type classed struct{ err, class error }

func (c classed) Error() string   { return c.err.Error() }
func (c classed) Unwrap() []error { return []error{c.err, c.class} }

// oneLine renders err on one line: the lines of a joined error (several
// configuration problems) separated by "; ", a prefix they all share
// ("config: FILE: ") said once, and control characters replaced, so that
// a refusal is always exactly one line.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	prefix := ""
	if len(parts) > 1 {
		prefix = parts[0]
		for _, p := range parts[1:] {
			for !strings.HasPrefix(p, prefix) {
				prefix = prefix[:len(prefix)-1]
			}
		}
		prefix = prefix[:strings.LastIndex(prefix, ": ")+len(": ")] // whole words only; "" if none
		for i := range parts {
			parts[i] = strings.TrimPrefix(parts[i], prefix)
		}
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, prefix+strings.Join(parts, "; "))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs otkd with args and returns its exit status (the package doc);
// an error is one line on stderr, or a JSON object with --json
// (internal/cli).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newTool(ctx, stdout, stderr).Execute(args)
}

// newTool builds otkd's command tree (github.com/spf13/cobra, set up as
// otkctl's is: internal/cli).
func newTool(ctx context.Context, stdout, stderr io.Writer) *cli.Tool {
	t := cli.New(cli.Config{Name: "otkd", Overview: usage, Usagef: usagef, Line: oneLine, Status: exitStatus}, stdout, stderr)
	cmd := func(use, short string, run func(fs *pflag.FlagSet) func() error) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cli.NoArgs(usagef)}
		body := run(c.Flags())
		c.RunE = func(*cobra.Command, []string) error { return body() }
		return c
	}
	// The kernel switch is read at start-up; a value that names no
	// kernel is refused rather than half applied.
	kernels := func(run func() error) func() error {
		return func() error {
			if err := asmswitch.Check(); err != nil {
				return usagef("%v", err)
			}
			return run()
		}
	}
	t.Root.AddCommand(
		cmd("demo", "run both ends of a link in one process over a simulated fibre and show the keys it makes",
			func(fs *pflag.FlagSet) func() error { return kernels(demoCmd(ctx, fs, stdout, stderr)) }),
		cmd("run", "run the daemon with a configuration file",
			func(fs *pflag.FlagSet) func() error { return kernels(runCmd(ctx, fs, stdout, stderr)) }),
		cmd("keygen", "make this node's SM2 key pair",
			func(fs *pflag.FlagSet) func() error { return keygenCmd(fs, stdout) }),
	)
	return t
}

func demoCmd(ctx context.Context, fs *pflag.FlagSet, stdout, stderr io.Writer) func() error {
	dur := fs.Duration("duration", 10*time.Second, "how long to run")
	asJSON := fs.Bool("json", false, "print a machine-readable summary on stdout (progress goes to stderr)")
	reportPath := fs.String("report", "", "write a self-contained HTML report to this file (its directory is checked before the run)")
	shmDir := fs.String("shm-dir", "", "directory for the two key stores (otkd-a, otkd-b); default a temporary one")
	seed := fs.Uint64("seed", 1, "seed of the simulated fibre (the keys stay truly random)")
	quiet := fs.Bool("quiet", false, "no progress line")
	load := fs.Float64("client-load", demo.DefaultClientLoad, "share of each direction's payload capacity offered as client traffic (random Ethernet frames checked at the far end), 0..1; 0: none, the test pattern")
	return func() error {
		if *dur <= 0 {
			return usagef("demo: --duration must be positive")
		}
		if !(*load >= 0 && *load <= 1) {
			return usagef("demo: --client-load must be in 0..1")
		}
		opts := demo.Options{Duration: *dur, ShmDir: *shmDir, Seed: *seed, ReportPath: *reportPath, ClientLoad: *load, NoClient: *load == 0}
		if !*quiet {
			opts.Progress = stdout
			if *asJSON {
				opts.Progress = stderr
			}
			opts.ProgressTTY = isTerminal(opts.Progress)
		}
		sum, err := demo.Run(ctx, opts)
		if sum != nil {
			if *asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if e := enc.Encode(sum); e != nil {
					return e
				}
			} else {
				printSummary(stdout, sum, *shmDir)
			}
		}
		if err != nil {
			return err
		}
		if !sum.OK {
			if sum.Client != nil && (sum.Client.Corrupted > 0 || !sum.Client.Explained) {
				return errors.New("demo: client frames were corrupted, reordered or lost without cause (see the summary)")
			}
			return errors.New("demo: keys did not flow in both directions or did not agree (see the summary)")
		}
		return nil
	}
}

func printSummary(w io.Writer, s *demo.Summary, shmDir string) {
	fmt.Fprintf(w, "\notkd demo: %.1f s, both ends in one process over a simulated fibre\n%s\n\n", s.Seconds, s.Verdict)
	fmt.Fprintf(w, "%-6s %7s %10s %9s %8s %12s %8s %8s %9s %10s\n",
		"dir", "seeds", "mismatch", "seeds/s", "rounds", "disagreement", "epoch", "switches", "frames/s", "eve agree")
	for _, d := range s.Directions {
		fmt.Fprintf(w, "%-6s %7d %10d %9.2f %8d %11.3f%% %8d %8d %9.0f %9.1f%%\n",
			d.Name, d.Seeds, d.Mismatches, d.SeedsPerSecond, d.Rounds, 100*d.Disagreement,
			d.Epoch, d.KeySwitches, d.FramesPerSec, 100*d.EveAgreement)
	}
	fmt.Fprintln(w)
	for _, d := range s.Directions {
		b := d.BoundPerSeed
		fmt.Fprintf(w, "post-processing %s: f %.2f, %.2f steps/block, %.0f rounds/seed; per seed: credited %.0f = "+
			"reconciliation %.0f + tag %.0f + amplification %.0f + seed %.0f + slack %.0f bits\n",
			d.Name, d.Efficiency, d.StepsPerBlock, d.RoundsPerSeed, b.Credited, b.Reconciliation, b.Tag, b.Amplification, b.Output, b.Slack)
	}
	fmt.Fprintln(w)
	for d, fps := range s.Shm.Active {
		fmt.Fprintf(w, "active key %s: A's store %s, B's store %s\n", s.Directions[d].Name, orNone(fps[0]), orNone(fps[1]))
	}
	if shmDir != "" {
		fmt.Fprintf(w, "key stores: %s, %s (read them with: otkctl keys --shm FILE)\n", s.Shm.Files[0], s.Shm.Files[1])
	}
	if c := s.Client; c != nil {
		fmt.Fprintf(w, "\nclient traffic: random Ethernet frames of 60-1514 octets at %.0f %% of the payload capacity, each checked at the far end\n", 100*c.Load)
		fmt.Fprintf(w, "%-6s %10s %10s %6s %9s %10s %14s %12s\n", "dir", "sent", "delivered", "lost", "corrupted", "goodput", "sender drops", "OTN damaged")
		for _, d := range c.Directions {
			fmt.Fprintf(w, "%-6s %10d %10d %6d %9d %5.0f Mbit/s %14d %12d\n", d.Name, d.Sent, d.Delivered, d.Lost,
				d.Corrupted+d.OutOfOrder, d.GoodputMbps, d.DroppedSender, d.OTNFramesLost+d.OTNFramesDamaged)
		}
		fmt.Fprintf(w, "client: %s\n", c.Line)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "\nreport: %s (one self-contained HTML page: open it in a browser)\n", s.Report)
	}
	if s.OK {
		fmt.Fprintln(w, "\nok: keys flowed in both directions, every seed matched, both stores hold the same active keys;")
		fmt.Fprintln(w, "    the eavesdropper on the fibre agrees with the seed bits only by chance (≈ 50 %).")
		if s.Client != nil {
			fmt.Fprintln(w, "    Client frames crossed the link in both directions, none corrupted, each loss explained.")
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func runCmd(ctx context.Context, fs *pflag.FlagSet, stdout, stderr io.Writer) func() error {
	path := fs.String("config", "", "configuration file (TOML); see examples/otkd-a.toml")
	check := fs.Bool("check", false, "validate the configuration and the files it names, then exit")
	return func() error {
		if *path == "" {
			return usagef("run: --config is required")
		}
		cfg, err := config.Load(*path)
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				err = classed{err, config.ErrFile} // the file itself: missing, unreadable
			}
			return err
		}
		logs := daemon.NewLogs(stderr, cfg.SlogLevel(), cfg.Log.Format == "json")
		d, err := daemon.New(cfg, logs)
		if err != nil {
			return err
		}
		if *check {
			fmt.Fprintf(stdout, "%s: configuration ok (%d ports)\n", *path, len(cfg.Ports))
			return nil
		}
		logs.Logger().Info("frame-path kernels", "zuc", zuc.Selected().String(),
			"fec", fec.Kernel(), "xor", framer.XORKernel(), "noise", noise.Kernel(), "aes", aesctr.Kernel())
		if err := d.Start(); err != nil {
			return err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		// Stop, then close: the reload loop ends with the daemon (after Stop
		// no signal is sent on hup, so closing it is safe).
		defer func() { signal.Stop(hup); close(hup) }()
		go func() {
			log := logs.Logger()
			for range hup {
				next, err := config.Load(*path)
				if err == nil {
					err = d.Reload(next)
				}
				if err != nil {
					log.Error("SIGHUP: configuration not reloaded", "err", err)
				}
			}
		}()
		return d.Run(ctx)
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// keygenCmd writes a new SM2 key pair: the private key (PEM PKCS#8, 0600)
// for this node's [node] private_key, the public key (PEM PKIX) for the
// peer's peer_public_key. It never overwrites a file.
func keygenCmd(fs *pflag.FlagSet, stdout io.Writer) func() error {
	name := fs.String("name", "", "this node's [node] name (the user id is otkd:NAME)")
	priv := fs.String("private", "", "file for the private key (created, mode 0600)")
	pub := fs.String("public", "", "file for the public key (created, mode 0644)")
	return func() error {
		if *name == "" || *priv == "" || *pub == "" {
			return usagef("keygen: --name, --private and --public are required")
		}
		id, err := handshake.Generate(config.UserID(*name), rand.Reader)
		if err != nil {
			return usagef("keygen: %v", err)
		}
		if err := handshake.WritePrivateKey(*priv, id.Priv); err != nil {
			return err
		}
		if err := handshake.WritePublicKey(*pub, id.Peer().Pub); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (private, 0600) and %s (public, fingerprint %s)\n", *priv, *pub, keys.PublicFingerprint(id.Peer().Pub))
		return nil
	}
}
