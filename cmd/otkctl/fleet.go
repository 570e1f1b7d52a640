package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/cluster/fleet"
)

// fleetCmd is `otkctl fleet`: the fleet as the daemon reads it from etcd.
// A node is stale when its lease expired; a link direction when an end is
// stale or no seed came within the ports' seed_timeout (or --stale-after).
func fleetCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fleet", stderr)
	d := addDaemonFlags(fs)
	after := fs.Duration("stale-after", 0, "mark a link direction stale after this long without a seed (default: the ports' seed_timeout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *after != 0 && (*after < time.Second || *after > fleet.MaxStaleAfter) {
		return usagef("fleet: --stale-after %v: want 1s to %v", *after, fleet.MaxStaleAfter)
	}
	var v fleet.View
	if err := d.call("fleet", func(ctx context.Context, c *api.Client) (err error) {
		v, err = fleet.NewClient(c).Fleet(ctx, *after)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, v)
	}
	return printFleet(stdout, &v)
}

func printFleet(w io.Writer, v *fleet.View) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tVERSION\tSTARTED\tUPDATED\tPORTS")
	for _, n := range v.Nodes {
		state := "alive"
		if n.Stale {
			state = "STALE"
		}
		ports := make([]string, len(n.Ports))
		for i, p := range n.Ports {
			ports[i] = p.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, state, dash(n.Version), when(n.Started), when(n.Updated), dash(strings.Join(ports, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range v.Nodes {
		if n.Reason != "" {
			fmt.Fprintf(w, "node %s: %s\n", n.Name, n.Reason)
		}
		for _, e := range n.Errors {
			fmt.Fprintf(w, "node %s: %s\n", n.Name, e)
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK\tDIR\tSTATE\tEPOCH\tFINGERPRINT\tLAST SEED\tSEED AGE\tLAST SWITCH\tSEEDS")
	for _, l := range v.Links {
		name := end(l.A) + " - " + end(l.B)
		for _, d := range l.Directions {
			state := "ok"
			if d.Stale {
				state = "STALE"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%v\t%s\t%d\n", name, d.Dir, state, d.Epoch, dash(d.Fingerprint),
				when(d.LastSeed), time.Duration(d.SeedAge).Round(time.Second), when(d.LastSwitch), d.Seeds)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range v.Links {
		for _, d := range l.Directions {
			if d.Reason != "" {
				fmt.Fprintf(w, "link %s - %s %s: %s\n", end(l.A), end(l.B), d.Dir, d.Reason)
			}
		}
	}
	return nil
}

// end names a link's end "node/port" ("node/?" when the node is not in the
// fleet).
func end(e fleet.End) string {
	if e.Port == "" {
		return e.Node + "/?"
	}
	return e.Node + "/" + e.Port
}
