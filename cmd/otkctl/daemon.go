package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

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

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	return &daemonFlags{
		socket:  fs.String("socket", defaultSocket(), "otkd's API socket ($OTKD_SOCKET, when set, is the default)"),
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

// writeJSON writes v indented, "->" as is (no HTML escaping).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeJSONLine writes v on one line, "->" as is.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// sortKeys puts keys in a stable order for tables and JSON: by port,
// direction, start of validity (keys not yet valid last), then id (the daemon and the shm map list
// them in slot order, which changes as keys come and go).
func sortKeys(keys []api.KeyInfo) {
	slices.SortStableFunc(keys, func(a, b api.KeyInfo) int {
		return cmp.Or(cmp.Compare(a.PortID, b.PortID), cmp.Compare(a.Direction, b.Direction),
			cmp.Compare(b2i(a.ValidFrom.IsZero()), b2i(b.ValidFrom.IsZero())), // not yet valid: last
			a.ValidFrom.Compare(b.ValidFrom), cmp.Compare(a.ID, b.ID))
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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

func statusCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error {
		var st api.Status
		if err := d.call("status", func(ctx context.Context, c *api.Client) (err error) {
			st, err = c.Status(ctx)
			return err
		}); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, st)
		}
		up := time.Duration(st.UptimeSeconds * float64(time.Second)).Round(time.Second)
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "node\t%s\nversion\t%s\npid\t%d\nhealth\t%s\nuptime\t%v (since %s)\n",
			st.Node, st.Version, st.PID, st.Health, up, when(st.StartedAt))
		fmt.Fprintf(tw, "shm\t%s (generation %d, %d keys)\nstore\t%s\n", st.ShmPath, st.Generation, st.Keys, st.StorePath)
		tw.Flush()
		fmt.Fprintln(std.out)
		tw = tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		// The epochs are the frame's 8-bit epochs (they wrap at 256); KEY
		// SWITCHES is the full count they wrap from.
		fmt.Fprintln(tw, "PORT\tID\tROLE\tHANDSHAKE\tTX EPOCH\tRX EPOCH\tKEY SWITCHES\tSEEDS OWN/PEER\tLAST SWITCH")
		for _, p := range st.Ports {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d/%d\t%s\n", p.Name, p.ID, p.Role, p.Handshake,
				p.TXEpoch, epochText(p.RXEpoch), p.KeySwitches, p.SeedsOwn, p.SeedsPeer, when(p.LastSwitch))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, p := range st.Ports {
			if p.Health != "" && p.Health != "ok" {
				fmt.Fprintf(std.out, "port %s not healthy: %s\n", p.Name, p.Health)
			}
		}
		return nil
	}
}

func linksCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error {
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
			return writeJSON(std.out, struct {
				Links []api.Link `json:"links"`
			}{links})
		}
		for i, l := range links {
			if i > 0 {
				fmt.Fprintln(std.out)
			}
			printLink(std.out, &l)
		}
		return nil
	}
}

func printLink(w io.Writer, l *api.Link) {
	fmt.Fprintf(w, "port %s (id %d, role %s)\n", l.Name, l.ID, l.Role)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  line\t%s\n  peer\t%s\n  handshake\t%s\n", l.Line, l.Peer, l.Handshake)
	fmt.Fprintf(tw, "  epoch\ttx %d  rx %s  (8-bit, wraps at 256; tx key switches %d)\n", l.TXEpoch, epochText(l.RXEpoch), l.KeySwitches)
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

func keysCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	shmPath := fs.String("shm", "", "read this key store file directly (no daemon needed)")
	return func([]string) error {
		if *shmPath != "" {
			if flagSet(fs, "socket") {
				return usagef("keys: --shm and --socket exclude each other")
			}
			return shmKeys(*shmPath, *d.json, std.out)
		}
		var keys []api.KeyInfo
		if err := d.call("keys", func(ctx context.Context, c *api.Client) (err error) {
			keys, err = c.Keys(ctx)
			return err
		}); err != nil {
			return err
		}
		sortKeys(keys)
		if *d.json {
			if keys == nil {
				keys = []api.KeyInfo{}
			}
			return writeJSON(std.out, struct {
				Keys []api.KeyInfo `json:"keys"`
			}{keys})
		}
		return printKeys(std.out, keys)
	}
}

func flagSet(fs *pflag.FlagSet, name string) bool { return fs.Changed(name) }

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
func portCmd(name string, fn func(*api.Client, context.Context, string) error) declare {
	return func(fs *pflag.FlagSet, std stdio) func([]string) error {
		d := addDaemonFlags(fs)
		port := fs.String("port", "", "the port (its name in otkd's config)")
		return func([]string) error {
			if *port == "" {
				return usagef("%s: --port is required", name)
			}
			if err := d.call(name, func(ctx context.Context, c *api.Client) error { return fn(c, ctx, *port) }); err != nil {
				return err
			}
			if *d.json {
				return writeJSON(std.out, api.ActionResult{Port: *port, Action: name, Status: "accepted"})
			}
			what := map[string]string{"negotiate": "a new seed negotiation", "rotate": "a switch to the next session key"}[name]
			_, err := fmt.Fprintf(std.out, "port %s: %s was accepted\n", *port, what)
			return err
		}
	}
}

// storeVerify is `otkctl store verify`.
func storeVerify(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error {
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
			if err := writeJSON(std.out, rep); err != nil {
				return err
			}
		} else {
			printReport(std.out, &rep)
		}
		if !rep.OK {
			return fmt.Errorf("store verify: %d problem(s) found", len(rep.Problems))
		}
		return nil
	}
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
