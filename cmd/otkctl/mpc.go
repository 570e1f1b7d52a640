package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// The custody commands: `otkctl mpc status|peers|init|refresh|backup|list|
// delete|recover|inspect`. init, refresh, delete and recover are operator
// requests: they go to a node's operator endpoint with the operator's
// client certificate and TOTP code (the local socket refuses the first
// three).

// mpcStatusCmd is `otkctl mpc status`.
func mpcStatusCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error { return mpcStatus(d, std.out) }
}

// mpcPeersCmd is `otkctl mpc peers`.
func mpcPeersCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error { return mpcPeers(d, std.out) }
}

// mpcListCmd is `otkctl mpc list`.
func mpcListCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	return func([]string) error { return mpcList(d, std.out) }
}

// mpcRoundCmd is `otkctl mpc init` and `mpc refresh`.
func mpcRoundCmd(init bool) declare {
	name := "mpc refresh"
	if init {
		name = "mpc init"
	}
	return func(fs *pflag.FlagSet, std stdio) func([]string) error {
		d := addDaemonFlags(fs)
		o := addOpFlags(fs)
		return func([]string) error {
			if err := o.check(name); err != nil {
				return err
			}
			return mpcRound(name, init, d, o, std.out)
		}
	}
}

// mpcDeleteCmd is `otkctl mpc delete`.
func mpcDeleteCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	const name = "mpc delete"
	d := addDaemonFlags(fs)
	o := addOpFlags(fs)
	id := fs.String("id", "", "the backup to delete (from the store of the node --node names); required")
	return func([]string) error {
		if *id == "" {
			return usagef("mpc delete: --id is required")
		}
		if err := o.check(name); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), *d.timeout)
		defer cancel()
		var res mpcsvc.MPCBackupResult
		if err := o.post(ctx, name, mpcsvc.PathOpDelete+"?id="+url.QueryEscape(*id), &res); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, res)
		}
		_, err := fmt.Fprintf(std.out, "backup %s deleted from the store of %s (copies of its ciphertext elsewhere stay recoverable)\n", res.ID, *o.node)
		return err
	}
}

func mpcStatus(d *daemonFlags, stdout io.Writer) error {
	var st mpcsvc.MPCStatus
	if err := d.call("mpc status", func(ctx context.Context, c *api.Client) (err error) {
		st, err = mpcsvc.NewClient(c).MPCStatus(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, st)
	}
	key := st.ClusterKey
	if key == "" {
		key = "- (no key yet: otkctl mpc init)"
	}
	refresh := "off on this node"
	if st.RefreshPeriodSeconds > 0 {
		refresh = time.Duration(st.RefreshPeriodSeconds * float64(time.Second)).String()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "node\t%d of %d (threshold %d)\nepoch\t%d\ncluster key\t%s\nnode key\t%s\n", st.Index, st.Nodes, st.Threshold, st.Epoch, key, st.NodeKey)
	fmt.Fprintf(tw, "listen\t%s\noperator listen\t%s\nrefresh\t%s\nlast round\t%s\n", st.Listen, orDash(st.OperatorListen), refresh, when(st.LastRound))
	if st.LastRoundError != "" {
		fmt.Fprintf(tw, "last round error\t%s\n", st.LastRoundError)
	}
	fmt.Fprintf(tw, "backups\t%d\n", st.Backups)
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tADDRESS\tNODE KEY\t")
	for _, p := range st.Peers {
		self := ""
		if p.Self {
			self = "(this node)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", p.Index, p.Name, p.Address, p.NodeKey, self)
	}
	return tw.Flush()
}

// mpcPeers prints what every node answers on its cluster endpoint, so a
// node that is down, behind or on another key shows.
func mpcPeers(d *daemonFlags, stdout io.Writer) error {
	var ps []mpcsvc.MPCPeerState
	if err := d.call("mpc peers", func(ctx context.Context, c *api.Client) (err error) {
		ps, err = mpcsvc.NewClient(c).MPCPeers(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, ps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tREACHABLE\tEPOCH\tCLUSTER KEY\tERROR")
	for _, p := range ps {
		fmt.Fprintf(tw, "%d\t%s\t%v\t%d\t%s\t%s\n", p.Index, p.Name, p.Reachable, p.Epoch, orDash(p.ClusterKey), orDash(p.Error))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mpcRound asks the node --node names to coordinate a round.
func mpcRound(name string, init bool, d *daemonFlags, o *opFlags, stdout io.Writer) error {
	path := mpcsvc.PathOpRefresh
	if init {
		path = mpcsvc.PathOpInit
	}
	ctx, cancel := context.WithTimeout(context.Background(), *d.timeout)
	defer cancel()
	var r mpcsvc.MPCRound
	if err := o.post(ctx, name, path, &r); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, r)
	}
	what := "cluster key generated"
	if !init {
		what = "shares refreshed, cluster key unchanged"
	}
	fmt.Fprintf(stdout, "%s: epoch %d, cluster key %s, qualified dealers %v\n", what, r.Epoch, r.ClusterKey, r.Qualified)
	if len(r.CaughtUp) > 0 {
		fmt.Fprintf(stdout, "nodes %v were first handed the commit of the round they missed\n", r.CaughtUp)
	}
	return nil
}

// mpcBackupCmd encrypts a file to the cluster key through the daemon, or has
// the daemon back up its own seeds or keyring state (an export); it prints
// the backup's id and fingerprint.
func mpcBackupCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	file := fs.String("file", "", "the secret to back up (\"-\" for stdin)")
	seeds := fs.Bool("seeds", false, "back up the seeds the daemon holds (an export; see mpc inspect)")
	keyring := fs.Bool("keyring", false, "back up the state of one pool's keyring: rings, bindings and their seeds (an export)")
	pool := fs.String("pool", "", "with --keyring: the consumer pool (default: the daemon's only pool; --seeds covers every pool)")
	label := fs.String("label", "", "a label for the backup (up to 64 of [A-Za-z0-9._-]; exports default to seeds-NODE or keyring-NODE)")
	out := fs.String("out", "", "also write the backup's ciphertext to this file")
	return func([]string) error {
		what := ""
		switch {
		case *seeds && *keyring, (*seeds || *keyring) && *file != "":
			return usagef("mpc backup: give one of --file, --seeds and --keyring")
		case *seeds:
			what = "seeds"
		case *keyring:
			what = "keyring"
		case *file == "":
			return usagef("mpc backup: --file, --seeds or --keyring is required")
		}
		if *pool != "" && !*keyring {
			return usagef("mpc backup: --pool goes with --keyring (--seeds backs up the seeds of every pool)")
		}
		if err := mpcsvc.CheckMPCLabel(*label); err != nil {
			return usagef("mpc backup: %v", err)
		}
		var data []byte
		if what == "" {
			var err error
			if data, err = readSecret(*file, std.in); err != nil {
				return err
			}
			defer clear(data)
		}
		var b mpcsvc.MPCBackup
		if err := d.call("mpc backup", func(ctx context.Context, c *api.Client) (err error) {
			if what != "" {
				b, err = mpcsvc.NewClient(c).MPCExport(ctx, what, *pool, *label)
			} else {
				b, err = mpcsvc.NewClient(c).MPCBackup(ctx, *label, data)
			}
			if err != nil || *out == "" {
				return err
			}
			full, err := mpcsvc.NewClient(c).MPCBackupGet(ctx, b.ID)
			if err == nil {
				err = os.WriteFile(*out, full.Ciphertext, 0o644)
			}
			return err
		}); err != nil {
			return err
		}
		if *d.json {
			return writeJSON(std.out, b)
		}
		_, err := fmt.Fprintf(std.out, "backup %s: %d bytes, fingerprint %s, cluster epoch %d\n", b.ID, b.Size, b.Fingerprint, b.Epoch)
		return err
	}
}

func readSecret(file string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("mpc backup: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, mpcsvc.MaxMPCBackupBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("mpc backup: reading %s: %w", file, err)
	case len(data) == 0:
		return nil, dataf("mpc backup: %s is empty", file)
	case len(data) > mpcsvc.MaxMPCBackupBytes:
		clear(data)
		return nil, dataf("mpc backup: %s is larger than %d bytes", file, mpcsvc.MaxMPCBackupBytes)
	}
	return data, nil
}

func mpcList(d *daemonFlags, stdout io.Writer) error {
	var l []mpcsvc.MPCBackup
	if err := d.call("mpc list", func(ctx context.Context, c *api.Client) (err error) {
		l, err = mpcsvc.NewClient(c).MPCBackups(ctx)
		return err
	}); err != nil {
		return err
	}
	if *d.json {
		return writeJSON(stdout, l)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tEPOCH\tSIZE\tFINGERPRINT")
	for _, b := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", b.ID, orDash(b.Label), when(b.Created), b.Epoch, b.Size, b.Fingerprint)
	}
	return tw.Flush()
}

// recoverResult is what recover prints: never the secret.
type recoverResult struct {
	ID          string `json:"id,omitempty"`
	Size        int    `json:"size"`
	Fingerprint string `json:"fingerprint"`
	Matches     *bool  `json:"matches_backup,omitempty"` // against the stored backup's fingerprint
	Out         string `json:"out,omitempty"`
}

// mpcRecoverCmd asks a node's operator endpoint to recover a backup, with the
// operator's client certificate and TOTP code. The secret goes to --out
// (created 0600, never overwritten) or, with --check, nowhere: only its
// fingerprint is printed. It is never written to stdout.
func mpcRecoverCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	d := addDaemonFlags(fs)
	id := fs.String("id", "", "the backup's id (its ciphertext is read from the local otkd)")
	ctFile := fs.String("ciphertext", "", "read the backup's ciphertext from this file instead of --id")
	o := addOpFlags(fs)
	out := fs.String("out", "", "write the recovered secret to this new file (mode 0600)")
	check := fs.Bool("check", false, "recover, print the fingerprint and discard the secret (no --out)")
	return func([]string) error {
		switch {
		case (*id == "") == (*ctFile == ""):
			return usagef("mpc recover: give --id or --ciphertext")
		case (*out == "") == !*check:
			return usagef("mpc recover: give --out FILE (the secret is never written to stdout) or --check")
		}
		if err := o.check("mpc recover"); err != nil {
			return err
		}
		if *out != "" {
			if _, err := os.Lstat(*out); err == nil {
				return usagef("mpc recover: --out %s exists; it is never overwritten", *out)
			}
		}
		res := recoverResult{ID: *id, Out: *out}
		ct, want, err := recoverCiphertext(d, *id, *ctFile)
		if err != nil {
			return err
		}
		client, node, totp, err := o.dial("mpc recover")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), *d.timeout)
		defer cancel()
		secret, err := postRecover(ctx, client, node, ct, totp)
		if err != nil {
			return err
		}
		defer clear(secret)
		res.Size, res.Fingerprint = len(secret), mpcsvc.Fingerprint(secret)
		if want != "" {
			ok := want == res.Fingerprint
			res.Matches = &ok
		}
		if *out != "" {
			if err := writeNew(*out, secret); err != nil {
				return err
			}
		}
		if *d.json {
			return writeJSON(std.out, res)
		}
		fmt.Fprintf(std.out, "recovered %d bytes, fingerprint %s", res.Size, res.Fingerprint)
		if res.Matches != nil {
			fmt.Fprintf(std.out, " (%s backup %s)", map[bool]string{true: "matches", false: "DOES NOT MATCH"}[*res.Matches], res.ID)
		}
		if *out != "" {
			fmt.Fprintf(std.out, ", written to %s", *out)
		}
		fmt.Fprintln(std.out)
		if res.Matches != nil && !*res.Matches {
			return errors.New("mpc recover: the recovered secret's fingerprint differs from the backup's")
		}
		return nil
	}
}

// recoverCiphertext reads the ciphertext from the local daemon (by id, with
// the fingerprint to expect) or from a file.
func recoverCiphertext(d *daemonFlags, id, file string) (ct []byte, fingerprint string, err error) {
	if file != "" {
		ct, err = os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("mpc recover: %w", err)
		}
		return ct, "", nil
	}
	var b mpcsvc.MPCBackup
	err = d.call("mpc recover", func(ctx context.Context, c *api.Client) (err error) {
		b, err = mpcsvc.NewClient(c).MPCBackupGet(ctx, id)
		return err
	})
	return b.Ciphertext, b.Fingerprint, err
}

func operatorClient(cmd, certFile, keyFile, caFile string) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s: --cert/--key: %w", cmd, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: --ca: %w", cmd, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, dataf("%s: --ca %s: no PEM certificate in it", cmd, caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: mpc.MutualTLS(cert, nil, pool)}}, nil
}

// postRecover calls the operator endpoint and returns the secret.
func postRecover(ctx context.Context, client *http.Client, node string, ct []byte, code string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, node+mpc.PathRecover, bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	req.Header.Set(mpc.HeaderTOTP, code)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mpc recover: %s: %w", node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("mpc recover: %s: %w", node, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusUnauthorized:
		return nil, errors.New("mpc recover: operator not authenticated: the client certificate or the TOTP code was refused (a code is accepted once)")
	case http.StatusServiceUnavailable:
		return nil, fmt.Errorf("mpc recover: fewer than t nodes gave a valid partial decryption: %s", strings.TrimSpace(string(body)))
	}
	return nil, fmt.Errorf("mpc recover: %s: %s", resp.Status, strings.TrimSpace(string(body)))
}

// writeNew writes data to a new file with mode 0600.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mpc recover: --out: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("mpc recover: --out: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("mpc recover: --out: %w", err)
	}
	return nil
}
