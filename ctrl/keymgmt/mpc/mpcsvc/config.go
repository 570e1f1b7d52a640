package mpcsvc

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/service"
)

// Config is the [mpc] table: this node's part in the threshold custody of
// backups (docs/mpc.md). The node key is [node] private_key; the cluster
// has one [[mpc.peer]] per node, this node's included, in index order.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Index is this node's index in Peers, 1..n. Required.
	Index int `toml:"index"`
	// Threshold is t, the nodes needed to recover a backup: 1 < t < n.
	// Required.
	Threshold int `toml:"threshold"`
	// Listen is the ip:port of the cluster endpoint (rounds and partial
	// decryptions, mutual TLS with the cluster CA). Required.
	Listen string `toml:"listen"`
	// OperatorListen is the ip:port of the operator endpoint (recovery,
	// init, refresh and backup deletion: client certificate from the
	// operators' CA + TOTP); "" serves none.
	OperatorListen string `toml:"operator_listen"`
	// CertFile and KeyFile are this node's PEM TLS certificate and key
	// (the key file mode 0600 or 0400); the certificate's subject common
	// name is this node's Peers[Index-1].Name. CAFile holds the cluster CA.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	CAFile   string `toml:"ca_file"`
	// OperatorCAFile holds the operators' CA, distinct from the cluster
	// CA; required with OperatorListen.
	OperatorCAFile string `toml:"operator_ca_file"`
	// RefreshPeriod is a Go duration: node 1 coordinates a proactive
	// refresh this often. "" or "0" turns the timer off.
	RefreshPeriod string `toml:"refresh_period"`
	// BackupPeriod is a Go duration: the node backs up the seeds it holds
	// (an export, like otkctl mpc backup --seeds) this often, once it has
	// a cluster key and seeds. "" or "0" turns the timer off.
	BackupPeriod string `toml:"backup_period"`
	// Peers are the cluster's nodes, in index order.
	Peers []Peer `toml:"peer"`
	// Operators may recover backups through OperatorListen.
	Operators []Operator `toml:"operator"`
}

// Peer is one [[mpc.peer]] table: a node of the cluster.
type Peer struct {
	// Name is the subject common name of the node's cluster certificate.
	Name string `toml:"name"`
	// Address is the host:port of the node's cluster endpoint; the host
	// must be in the node's certificate.
	Address string `toml:"address"`
	// PublicKey is the path of the node's SM2 public key (PEM PKIX, as
	// otkd keygen writes it); it signs the node's round messages.
	PublicKey string `toml:"public_key"`
}

// Operator is one [[mpc.operator]] table.
type Operator struct {
	// Name is the subject common name of the operator's client
	// certificate (issued by the operators' CA).
	Name string `toml:"name"`
	// TOTPSecretFile holds the operator's TOTP secret in base32 (as
	// authenticator apps take it), at least 16 bytes decoded; mode 0600
	// or 0400.
	TOTPSecretFile string `toml:"totp_secret_file"`
}

// Bounds of [mpc].
const (
	MaxNodes         = mpc.MaxNodes
	MinRefreshPeriod = time.Second
)

// RefreshPeriodDuration returns RefreshPeriod parsed; 0 when off or when
// it does not parse (Validate rejects that).
func (m *Config) RefreshPeriodDuration() time.Duration { return period(m.RefreshPeriod) }

// BackupPeriodDuration returns BackupPeriod parsed; 0 when off or when it
// does not parse (Validate rejects that).
func (m *Config) BackupPeriodDuration() time.Duration { return period(m.BackupPeriod) }

// period parses a timer's period: "" and "0" are off (0).
func period(p string) time.Duration {
	if p == "" || p == "0" {
		return 0
	}
	d, err := time.ParseDuration(p)
	if err != nil {
		return 0
	}
	return d
}

// Validate checks an enabled [mpc] table.
func (m *Config) Validate(ps *service.Problems) {
	if !m.Enabled {
		return
	}
	n := len(m.Peers)
	if n < 3 || n > MaxNodes {
		ps.Add("mpc.peer", n, "want 3..%d [[mpc.peer]] tables, one per node, this node's included", MaxNodes)
	}
	if m.Threshold < 2 || (n >= 3 && m.Threshold >= n) {
		ps.Add("mpc.threshold", m.Threshold, "want 1 < t < n (n = %d peers)", n)
	}
	if m.Index < 1 || m.Index > n {
		ps.Add("mpc.index", m.Index, "want this node's position in [[mpc.peer]], 1..%d", n)
	}
	if _, err := netip.ParseAddrPort(m.Listen); err != nil {
		ps.Add("mpc.listen", m.Listen, "want ip:port")
	}
	if m.OperatorListen != "" {
		if _, err := netip.ParseAddrPort(m.OperatorListen); err != nil {
			ps.Add("mpc.operator_listen", m.OperatorListen, "want ip:port")
		} else if m.OperatorListen == m.Listen {
			ps.Add("mpc.operator_listen", m.OperatorListen, "must differ from mpc.listen")
		}
		if m.OperatorCAFile == "" {
			ps.Add("mpc.operator_ca_file", nil, "required with mpc.operator_listen: the operators' CA")
		} else if m.OperatorCAFile == m.CAFile {
			ps.Add("mpc.operator_ca_file", m.OperatorCAFile, "must not be the cluster CA: operators are named by their certificate")
		}
		if len(m.Operators) == 0 {
			ps.Add("mpc.operator", nil, "required with mpc.operator_listen: at least one [[mpc.operator]]")
		}
	}
	for _, f := range []struct{ field, path string }{
		{"mpc.cert_file", m.CertFile}, {"mpc.key_file", m.KeyFile}, {"mpc.ca_file", m.CAFile},
	} {
		if f.path == "" {
			ps.Add(f.field, nil, "required when mpc.enabled")
		}
	}
	for _, t := range []struct{ field, p, eg string }{
		{"mpc.refresh_period", m.RefreshPeriod, "24h"}, {"mpc.backup_period", m.BackupPeriod, "1h"},
	} {
		if t.p == "" || t.p == "0" {
			continue
		}
		if d, err := time.ParseDuration(t.p); err != nil || d < MinRefreshPeriod {
			ps.Add(t.field, t.p, "want a Go duration of at least %v (e.g. %q), or \"0\" for none", MinRefreshPeriod, t.eg)
		}
	}
	validateMPCPeers(ps, m.Peers)
	validateMPCOperators(ps, m.Operators)
}

func validateMPCPeers(ps *service.Problems, peers []Peer) {
	names, addrs := map[string]int{}, map[string]int{}
	for i, p := range peers {
		f := func(k string) string { return fmt.Sprintf("mpc.peer[%d].%s", i, k) }
		ps.CheckName(f("name"), p.Name, ": the subject common name of the certificate")
		if j, dup := names[p.Name]; dup && p.Name != "" {
			ps.Add(f("name"), p.Name, "also the name of mpc.peer[%d]", j)
		}
		names[p.Name] = i
		host, port, err := net.SplitHostPort(p.Address)
		if pn, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || pn < 1 || pn > 65535 {
			ps.Add(f("address"), p.Address, "want host:port")
		} else if j, dup := addrs[p.Address]; dup {
			ps.Add(f("address"), p.Address, "also the address of mpc.peer[%d]", j)
		}
		addrs[p.Address] = i
		if p.PublicKey == "" {
			ps.Add(f("public_key"), nil, "required: the path of the node's SM2 public key (PEM PKIX)")
		}
	}
}

func validateMPCOperators(ps *service.Problems, ops []Operator) {
	names := map[string]int{}
	for i, o := range ops {
		f := func(k string) string { return fmt.Sprintf("mpc.operator[%d].%s", i, k) }
		ps.CheckName(f("name"), o.Name, ": the subject common name of the certificate")
		if j, dup := names[o.Name]; dup && o.Name != "" {
			ps.Add(f("name"), o.Name, "also the name of mpc.operator[%d]", j)
		}
		names[o.Name] = i
		if o.TOTPSecretFile == "" {
			ps.Add(f("totp_secret_file"), nil, "required: the file of the operator's TOTP secret (base32)")
		}
	}
}

// Resolve makes the table's relative paths absolute (abs).
func (m *Config) Resolve(abs func(*string)) {
	for _, p := range []*string{&m.CertFile, &m.KeyFile, &m.CAFile, &m.OperatorCAFile} {
		abs(p)
	}
	for i := range m.Peers {
		abs(&m.Peers[i].PublicKey)
	}
	for i := range m.Operators {
		abs(&m.Operators[i].TOTPSecretFile)
	}
}

// CheckFiles checks the files an enabled table names: key and secret
// files private, public keys and CAs present and not writable by others.
func (m *Config) CheckFiles(f *service.Files) {
	if !m.Enabled {
		return
	}
	f.Private("mpc.key_file", m.KeyFile)
	f.Regular("mpc.cert_file", m.CertFile)
	f.Pinned("mpc.ca_file", m.CAFile)
	if m.OperatorListen != "" {
		f.Pinned("mpc.operator_ca_file", m.OperatorCAFile)
	}
	for i, p := range m.Peers {
		f.Pinned(fmt.Sprintf("mpc.peer[%d].public_key", i), p.PublicKey)
	}
	for i, o := range m.Operators {
		f.Private(fmt.Sprintf("mpc.operator[%d].totp_secret_file", i), o.TOTPSecretFile)
	}
}

// Clone returns a deep copy.
func (m Config) Clone() Config {
	m.Peers = slices.Clone(m.Peers)
	m.Operators = slices.Clone(m.Operators)
	return m
}
