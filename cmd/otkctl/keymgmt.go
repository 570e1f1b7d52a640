package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
)

// The keyring commands (`otkctl keyring status|connect|disconnect|refill|
// sync|pools`). Each but pools acts on one consumer pool: --pool, by
// default the only pool of the daemon (with several, the daemon's error
// names them).

func addPoolFlag(fs *pflag.FlagSet) *string {
	return fs.String("pool", "", "the consumer pool (default: the daemon's only pool)")
}

// keyringPoolsCmd is `otkctl keyring pools`.
func keyringPoolsCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error { return keyringPools(d, std.out) }
}

// keyringStatusCmd is `otkctl keyring status`: the pool's rings, or a
// consumer's key.
func keyringStatusCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	pool := addPoolFlag(fs)
	consumer := fs.Uint64("consumer", 0, "show this consumer's key instead of the rings")
	return func([]string) error {
		if *consumer != 0 {
			return keyringKeyCmd("keyring status", d, std.out, func(ctx context.Context, c *api.Client) (keyringsvc.KeyringKey, error) {
				return keyringsvc.NewClient(c).KeyringLookup(ctx, *pool, *consumer)
			})
		}
		return keyringStatus(d, *pool, std.out)
	}
}

// keyringBindCmd is `otkctl keyring connect` and `keyring disconnect`.
func keyringBindCmd(connect bool) declare {
	name := "keyring disconnect"
	if connect {
		name = "keyring connect"
	}
	return func(fs *pflag.FlagSet, std stdio) func([]string) error {
		d := addDaemonFlags(fs)
		pool := addPoolFlag(fs)
		consumer := fs.Uint64("consumer", 0, "the consumer id (non-zero)")
		return func([]string) error {
			if *consumer == 0 {
				return usagef("%s: --consumer is required (a non-zero id)", name)
			}
			if connect {
				return keyringKeyCmd(name, d, std.out, func(ctx context.Context, c *api.Client) (keyringsvc.KeyringKey, error) {
					return keyringsvc.NewClient(c).KeyringConnect(ctx, *pool, *consumer)
				})
			}
			if err := d.call(name, func(ctx context.Context, c *api.Client) error {
				return keyringsvc.NewClient(c).KeyringDisconnect(ctx, *pool, *consumer)
			}); err != nil {
				return err
			}
			if *d.json {
				return writeJSON(std.out, keyringsvc.ConsumerResult{Consumer: *consumer, Action: "disconnect", Status: "done"})
			}
			_, err := fmt.Fprintf(std.out, "consumer %d%s disconnected: its key is retired\n", *consumer, ofPool(*pool))
			return err
		}
	}
}

// keyringSyncCmd is `otkctl keyring sync`.
func keyringSyncCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	pool := addPoolFlag(fs)
	return func([]string) error { return keyringSync(d, *pool, std.out) }
}

// keyringRefillCmd is `otkctl keyring refill`.
func keyringRefillCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "keyring refill"
	d := addDaemonFlags(fs)
	pool := addPoolFlag(fs)
	ring := fs.Int("ring", -1, "the ring to refill (0..rings-1)")
	return func([]string) error {
		switch {
		case !flagSet(fs, "ring"):
			return usagef("%s: --ring is required", name)
		case *ring < 0:
			return usagef("%s: --ring %d: want a ring index 0..rings-1", name, *ring)
		}
		if err := d.call(name, func(ctx context.Context, c *api.Client) error {
			return keyringsvc.NewClient(c).KeyringRefill(ctx, *pool, *ring)
		}); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, keyringsvc.RingResult{Ring: *ring, Action: "refill", Status: "done"})
		}
		_, err := fmt.Fprintf(std.out, "ring %d%s refilled\n", *ring, ofPool(*pool))
		return err
	}
}

// ofPool names pool in a message ("" for the only pool).
func ofPool(pool string) string {
	if pool == "" {
		return ""
	}
	return " of pool " + pool
}

// keyringPools is `otkctl keyring pools`: the daemon's pools.
func keyringPools(d *daemonFlags, stdout io.Writer) error {
	var ps []string
	if err := d.call("keyring pools", func(ctx context.Context, c *api.Client) (err error) {
		ps, err = keyringsvc.NewClient(c).KeyringPools(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, keyringsvc.KeyringPools{Pools: ps})
	}
	for _, p := range ps {
		if _, err := fmt.Fprintln(stdout, p); err != nil {
			return err
		}
	}
	return nil
}

func keyringStatus(d *daemonFlags, pool string, stdout io.Writer) error {
	var st keyringsvc.KeyringStatus
	if err := d.call("keyring status", func(ctx context.Context, c *api.Client) (err error) {
		st, err = keyringsvc.NewClient(c).KeyringStatus(ctx, pool)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "pool\t%s\nport\t%s (side %s)\nshm\t%s\nwindow\t%v\ncurrent ring\t%d\n", st.Pool, st.Port, st.Side, st.Shm,
		time.Duration(st.WindowSeconds*float64(time.Second)), st.Current)
	fmt.Fprintf(tw, "connects\t%d\ndisconnects\t%d\nrefills\t%d\nexhausted\t%d\nnot ready\t%d\npeer binds\t%d\npeer rejected\t%d\n",
		st.Connects, st.Disconnects, st.Refills, st.Exhausted, st.NotReady, st.PeerBinds, st.PeerRejected)
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RING\tCURRENT\tFILLED\tEPOCH\tSEED\tWINDOW\tKEYS\tFREE\tBOUND\tRETIRED")
	for _, r := range st.Rings {
		fmt.Fprintf(tw, "%d\t%v\t%v\t%d\t%s\t%s .. %s\t%d\t%d\t%d\t%d\n", r.Ring, r.Current, r.Filled, r.Epoch, r.SeedID,
			when(r.WindowStart), when(r.WindowEnd), r.Keys, r.Free, r.Bound, r.Retired)
	}
	return tw.Flush()
}

// keyringKeyCmd prints a consumer's key: ids and validity, never bytes.
func keyringKeyCmd(name string, d *daemonFlags, stdout io.Writer, fn func(context.Context, *api.Client) (keyringsvc.KeyringKey, error)) error {
	var k keyringsvc.KeyringKey
	if err := d.call(name, func(ctx context.Context, c *api.Client) (err error) {
		k, err = fn(ctx, c)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, k)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "pool\t%s\nconsumer\t%d\nfingerprint\t%s\nring\t%d\nslot\t%d\nepoch\t%d\nseed\t%s\nalg\t%s\nvalid\t%s .. %s\n",
		k.Pool, k.Consumer, k.Fingerprint, k.Ring, k.Slot, k.Epoch, k.SeedID, k.Alg, when(k.ValidFrom), when(k.ValidTo))
	return tw.Flush()
}

// The key-sync commands: `otkctl sync import|register|request|outbox|audit`.

// syncRegisterCmd is `otkctl sync register`.
func syncRegisterCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "sync register"
	d := addDaemonFlags(fs)
	identity := fs.String("identity", "", "the subscriber identity")
	app := fs.String("app", "", "the application id")
	return func([]string) error {
		if *identity == "" || *app == "" {
			return usagef("%s: --identity and --app are required", name)
		}
		if err := d.call(name, func(ctx context.Context, c *api.Client) error {
			return keysyncsvc.NewClient(c).SyncRegister(ctx, *identity, *app)
		}); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, keysyncsvc.SyncRegister{Identity: *identity, App: *app})
		}
		_, err := fmt.Fprintf(std.out, "%s registered for %s\n", *identity, *app)
		return err
	}
}

// syncRequestCmd is `otkctl sync request`.
func syncRequestCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "sync request"
	d := addDaemonFlags(fs)
	identity := fs.String("identity", "", "the subscriber identity")
	key := fs.String("key", "", "the key id")
	app := fs.String("app", "", "the application id (when the identity holds several)")
	return func([]string) error {
		if *identity == "" || *key == "" {
			return usagef("%s: --identity and --key are required", name)
		}
		var b keysyncsvc.SyncBinding
		if err := d.call(name, func(ctx context.Context, c *api.Client) (err error) {
			b, err = keysyncsvc.NewClient(c).SyncRequest(ctx, *identity, *key, *app)
			return err
		}); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, b)
		}
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "identity\t%s\napp\t%s\nkey id\t%s\nkey fingerprint\t%s\ndelivery id\t%s\nbound\t%s\ndelivered\t%s\n",
			b.Identity, b.App, b.KeyID, b.KeyFingerprint, b.DeliveryID, when(b.Bound), when(b.Delivered))
		return tw.Flush()
	}
}

// syncOutboxCmd is `otkctl sync outbox`: the pushes not yet accepted, in
// delivery order.
func syncOutboxCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "sync outbox"
	d := addDaemonFlags(fs)
	return func([]string) error {
		var out []keysyncsvc.SyncPending
		if err := d.call(name, func(ctx context.Context, c *api.Client) (err error) {
			out, err = keysyncsvc.NewClient(c).SyncOutbox(ctx)
			return err
		}); err != nil {
			return err
		}
		if *d.json {
			if out == nil {
				out = []keysyncsvc.SyncPending{}
			}
			return writeJSON(std.out, struct {
				Outbox []keysyncsvc.SyncPending `json:"outbox"`
			}{out})
		}
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DELIVERY\tIDENTITY\tAPP\tKEY ID\tKEY FP\tATTEMPTS\tNEXT\tLAST ERROR")
		for _, p := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.DeliveryID, p.Identity, p.App, p.KeyID, p.KeyFingerprint,
				p.Attempts, when(p.NextAt), p.LastError)
		}
		return tw.Flush()
	}
}

// syncImportCmd is `otkctl sync import FILE`: the file is its one
// argument, before or after the flags.
func syncImportCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "sync import"
	d := addDaemonFlags(fs)
	return func(files []string) error {
		if len(files) > 1 {
			return usagef("%s: unexpected argument %q", name, files[1])
		}
		file := ""
		if len(files) == 1 {
			file = files[0]
		}
		if file == "" {
			return usagef("%s: the key file is required (otkctl sync import FILE)", name)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return usagef("%s: %v", name, err)
		}
		if len(data) > keysyncsvc.MaxKeyFileBytes {
			return dataf("%s: %s has %d bytes, more than a key file may (%d)", name, file, len(data), keysyncsvc.MaxKeyFileBytes)
		}
		var n int
		if err := d.call(name, func(ctx context.Context, c *api.Client) (err error) {
			n, err = keysyncsvc.NewClient(c).SyncImport(ctx, data)
			return err
		}); err != nil {
			var ue *usageError
			if errors.As(err, &ue) { // the daemon found the file malformed
				return dataf("%s", ue.msg)
			}
			return err
		}
		if *d.json {
			return writeJSON(std.out, keysyncsvc.SyncImport{Imported: n})
		}
		_, err = fmt.Fprintf(std.out, "%d keys imported from %s\n", n, file)
		return err
	}
}
