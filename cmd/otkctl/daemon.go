package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/otkd/otkd/ctrl/api"
)

// DefaultSocket is where otkd listens unless its config says otherwise;
// OTKD_SOCKET overrides it as otkctl's default.
const DefaultSocket = "/run/otkd/otkd.sock"

func defaultSocket() string {
	if s := os.Getenv("OTKD_SOCKET"); s != "" {
		return s
	}
	return DefaultSocket
}

// daemonFlags are the flags every command that talks to otkd has.
type daemonFlags struct {
	socket  *string
	json    *bool
	timeout *time.Duration
}

func addDaemonFlags(fs *flag.FlagSet) *daemonFlags {
	return &daemonFlags{
		socket:  fs.String("socket", defaultSocket(), "otkd's API socket (default from $OTKD_SOCKET, else "+DefaultSocket+")"),
		json:    fs.Bool("json", false, "machine-readable JSON on stdout"),
		timeout: fs.Duration("timeout", 30*time.Second, "give up on otkd after this long"),
	}
}

// call runs fn against the daemon under the timeout. An error keeps the
// "cannot reach otkd at PATH: ..." text of an unreachable daemon and adds
// what to do (hints.go: which otkd runs and where it listens, the group to
// join), prefixes others with the command (a refused write with who may
// write), and makes a request the daemon found malformed a usage error.
func (d *daemonFlags) call(cmd string, fn func(context.Context, *api.Client) error) error {
	c := api.Dial(*d.socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *d.timeout)
	defer cancel()
	err := fn(ctx, c)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, api.ErrUnreachable):
		return withHint(err, unreachableHint(*d.socket, err))
	case errors.Is(err, api.ErrBadRequest):
		return usagef("%s: %v", cmd, err)
	case errors.Is(err, api.ErrForbidden):
		return withHint(fmt.Errorf("%s: %w", cmd, err), forbiddenHint(*d.socket))
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// when prints a time for a table, "-" when unset.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func epochText(e int) string {
	if e < 0 {
		return "-"
	}
	return strconv.Itoa(e)
}

func statusCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	d := addDaemonFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var st api.Status
	if err := d.call("status", func(ctx context.Context, c *api.Client) (err error) {
		st, err = c.Status(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, st)
	}
	up := time.Duration(st.UptimeSeconds * float64(time.Second)).Round(time.Second)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "node\t%s\nversion\t%s\npid\t%d\nhealth\t%s\nuptime\t%v (since %s)\n",
		st.Node, st.Version, st.PID, st.Health, up, when(st.StartedAt))
	fmt.Fprintf(tw, "shm\t%s (generation %d, %d keys)\nstore\t%s\n", st.ShmPath, st.Generation, st.Keys, st.StorePath)
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tID\tROLE\tHANDSHAKE\tTX EPOCH\tRX EPOCH\tSEEDS OWN/PEER\tLAST SWITCH")
	for _, p := range st.Ports {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d/%d\t%s\n", p.Name, p.ID, p.Role, p.Handshake,
			p.TXEpoch, epochText(p.RXEpoch), p.SeedsOwn, p.SeedsPeer, when(p.LastSwitch))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range st.Ports {
		if p.Health != "" && p.Health != "ok" {
			fmt.Fprintf(stdout, "port %s not healthy: %s\n", p.Name, p.Health)
		}
	}
	return nil
}

func linksCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("links", stderr)
	d := addDaemonFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var links []api.Link
	if err := d.call("links", func(ctx context.Context, c *api.Client) (err error) {
		links, err = c.Links(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		if links == nil {
			links = []api.Link{}
		}
		return writeJSON(stdout, struct {
			Links []api.Link `json:"links"`
		}{links})
	}
	for i, l := range links {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printLink(stdout, &l)
	}
	return nil
}

func printLink(w io.Writer, l *api.Link) {
	fmt.Fprintf(w, "port %s (id %d, role %s)\n", l.Name, l.ID, l.Role)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  line\t%s\n  peer\t%s\n  handshake\t%s\n", l.Line, l.Peer, l.Handshake)
	fmt.Fprintf(tw, "  epoch\ttx %d  rx %s\n", l.TXEpoch, epochText(l.RXEpoch))
	fmt.Fprintf(tw, "  frames\ttx %d  rx %d  rejected %d\n", l.FramesTX, l.FramesRX, l.FramesRejected)
	fmt.Fprintf(tw, "  fec\tcorrected %d  uncorrectable %d  bip errors %d\n", l.FECCorrected, l.FECUncorrectable, l.BIPErrors)
	fmt.Fprintf(tw, "  rounds\town %d  peer %d  dropped %d\n", l.RoundsOwn, l.RoundsPeer, l.RoundsDropped)
	fmt.Fprintf(tw, "  seeds\town %d  peer %d  failures %d\n", l.SeedsOwn, l.SeedsPeer, l.Failures)
	fmt.Fprintf(tw, "  disagreement\town %.3f%%  peer %.3f%%\n", 100*l.DisagreementOwn, 100*l.DisagreementPeer)
	for _, d := range []struct {
		name string
		p    *api.Postprocessing
	}{{"own", &l.PostprocessingOwn}, {"peer", &l.PostprocessingPeer}} {
		b := &d.p.PerSeed
		fmt.Fprintf(tw, "  reconciliation %s\tf %.2f  %.2f steps/block  %.0f rounds/seed\n", d.name, d.p.Efficiency, d.p.StepsPerBlock, d.p.RoundsPerSeed)
		fmt.Fprintf(tw, "  bound per seed %s\tcredited %.0f = reconciliation %.0f + tag %.0f + amplification %.0f + seed %.0f + slack %.0f bits\n",
			d.name, b.Credited, b.Reconciliation, b.Tag, b.Amplification, b.Seed, b.Slack)
	}
	fmt.Fprintf(tw, "  key switches\t%d\n  last seed\t%s\n  last switch\t%s\n", l.KeySwitches, when(l.LastSeed), when(l.LastSwitch))
	if c := l.Client; c != nil {
		how := "attached"
		if c.Created {
			how = "created by otkd"
		}
		fmt.Fprintf(tw, "  client\t%s  mtu %d  (%s)\n", c.Interface, c.MTU, how)
		fmt.Fprintf(tw, "  client in\t%d packets  %d bytes\n", c.InPackets, c.InBytes)
		fmt.Fprintf(tw, "  client out\t%d packets  %d bytes\n", c.OutPackets, c.OutBytes)
		d := c.Drops
		fmt.Fprintf(tw, "  client drops\t%d: capacity %d  mtu %d  malformed %d  fcs %d  pfcs %d  delineation %d  queue %d  refused %d\n",
			d.Total(), d.Capacity, d.MTU, d.Malformed, d.FCS, d.PFCS, d.Delineation, d.Queue, d.Refused)
		fmt.Fprintf(tw, "  gfp\tsyncs %d  resyncs %d  corrected %d  frames lost %d  damaged %d  late %d  peer restarts %d  payload mismatch %d\n",
			c.GFPSyncs, c.GFPResyncs, c.GFPCorrected, c.FramesLost, c.FramesDamaged, c.FramesLate, c.PeerRestarts, c.PayloadMismatch)
	}
	tw.Flush()
}

func keysCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys", stderr)
	d := addDaemonFlags(fs)
	shmPath := fs.String("shm", "", "read this key store file directly (no daemon needed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *shmPath != "" {
		if flagSet(fs, "socket") {
			return usagef("keys: --shm and --socket exclude each other")
		}
		return shmKeys(*shmPath, *d.json, stdout)
	}
	var keys []api.KeyInfo
	if err := d.call("keys", func(ctx context.Context, c *api.Client) (err error) {
		keys, err = c.Keys(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		if keys == nil {
			keys = []api.KeyInfo{}
		}
		return writeJSON(stdout, struct {
			Keys []api.KeyInfo `json:"keys"`
		}{keys})
	}
	return printKeys(stdout, keys)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// printKeys prints the key table: metadata and fingerprints (KeyInfo has
// nothing else).
func printKeys(w io.Writer, keys []api.KeyInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPORT\tDIR\tEPOCH\tSTATE\tALG\tLEN\tVALID TO\tFINGERPRINT")
	for _, k := range keys {
		port := k.Port
		if port == "" {
			port = strconv.Itoa(int(k.PortID))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n",
			k.ID, port, k.Direction, k.Epoch, k.State, k.Alg, k.Len, when(k.ValidTo), k.Fingerprint)
	}
	return tw.Flush()
}

// portCmd is negotiate and rotate.
func portCmd(name string, fn func(*api.Client, context.Context, string) error, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	d := addDaemonFlags(fs)
	port := fs.String("port", "", "the port (its name in otkd's config)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *port == "" {
		return usagef("%s: --port is required", name)
	}
	if err := d.call(name, func(ctx context.Context, c *api.Client) error { return fn(c, ctx, *port) }); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, api.ActionResult{Port: *port, Action: name, Status: "accepted"})
	}
	what := map[string]string{"negotiate": "a new seed negotiation", "rotate": "a switch to the next session key"}[name]
	_, err := fmt.Fprintf(stdout, "port %s: %s was accepted\n", *port, what)
	return err
}

func storeCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("store: missing subcommand (verify)")
	}
	if args[0] != "verify" {
		return usagef("store: unknown subcommand %q (verify)", args[0])
	}
	fs := newFlags("store verify", stderr)
	d := addDaemonFlags(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var rep api.StoreReport
	if err := d.call("store verify", func(ctx context.Context, c *api.Client) (err error) {
		rep, err = c.VerifyStore(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		if rep.Problems == nil {
			rep.Problems = []api.StoreProblem{}
		}
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, &rep)
	}
	if !rep.OK {
		return fmt.Errorf("store verify: %d problem(s) found", len(rep.Problems))
	}
	return nil
}

func printReport(w io.Writer, r *api.StoreReport) {
	fmt.Fprintf(w, "store %s: %d keys persisted, %d published in %s, %d match\n",
		r.StorePath, r.Persisted, r.Published, r.ShmPath, r.Matched)
	for _, p := range r.Problems {
		if p.ID == 0 {
			fmt.Fprintf(w, "  store: %s\n", p.Problem)
		} else {
			fmt.Fprintf(w, "  key %d: %s\n", p.ID, p.Problem)
		}
	}
	if r.OK {
		fmt.Fprintln(w, "store ok")
	}
}
