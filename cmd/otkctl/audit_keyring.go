package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

// keyringSync is `otkctl keyring sync`: the keyring's sync with the other
// end (what waits for its ack, what its messages did here); ids and
// counters, never key bytes.
func keyringSync(d *daemonFlags, pool string, stdout io.Writer) error {
	var ks keyringsvc.KeyringSync
	if err := d.call("keyring sync", func(ctx context.Context, c *api.Client) (err error) {
		ks, err = keyringsvc.NewClient(c).KeyringSync(ctx, pool)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, ks)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "pool\t%s (side %s)\nstream\t%s\nacknowledged up to\t%d\nwaiting for an ack\t%d\n",
		ks.Pool, ks.Side, ks.Stream, ks.Acked, ks.Pending)
	fmt.Fprintf(tw, "peer stream\t%s\npeer's handled up to\t%d\n", dash(ks.PeerStream), ks.PeerHandled)
	fmt.Fprintf(tw, "peer binds\t%d\npeer rejected\t%d\npeer duplicates\t%d\npeer fills\t%d\ntie-breaks\t%d\nresent\t%d\n",
		ks.PeerBinds, ks.PeerRejected, ks.PeerDuplicates, ks.PeerFills, ks.TieBreaks, ks.Resent)
	return tw.Flush()
}
