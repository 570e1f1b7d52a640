package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// MPC is the [mpc] table: this node's part in the threshold custody of
// backups (docs/mpc.md). The node key is [node] private_key; the cluster
// has one [[mpc.peer]] per node, this node's included, in index order.
type MPC struct {
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
	Peers []MPCPeer `toml:"peer"`
	// Operators may recover backups through OperatorListen.
	Operators []MPCOperator `toml:"operator"`
}

// MPCPeer is one [[mpc.peer]] table: a node of the cluster.
type MPCPeer struct {
	// Name is the subject common name of the node's cluster certificate.
	Name string `toml:"name"`
	// Address is the host:port of the node's cluster endpoint; the host
	// must be in the node's certificate.
	Address string `toml:"address"`
	// PublicKey is the path of the node's SM2 public key (PEM PKIX, as
	// otkd keygen writes it); it signs the node's round messages.
	PublicKey string `toml:"public_key"`
}

// MPCOperator is one [[mpc.operator]] table.
type MPCOperator struct {
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
	MaxMPCNodes      = 64 // mpc.MaxNodes
	MinRefreshPeriod = time.Second
)

// MPCRefreshPeriod returns MPC.RefreshPeriod parsed; 0 when off or when it
// does not parse (Validate rejects that).
func (c *Config) MPCRefreshPeriod() time.Duration {
	p := c.MPC.RefreshPeriod
	if p == "" || p == "0" {
		return 0
	}
	d, err := time.ParseDuration(p)
	if err != nil {
		return 0
	}
	return d
}

// MPCBackupPeriod returns MPC.BackupPeriod parsed; 0 when off or when it
// does not parse (Validate rejects that).
func (c *Config) MPCBackupPeriod() time.Duration {
	p := c.MPC.BackupPeriod
	if p == "" || p == "0" {
		return 0
	}
	d, err := time.ParseDuration(p)
	if err != nil {
		return 0
	}
	return d
}

func (c *Config) validateMPC(ps *problems) {
	m := c.MPC
	if !m.Enabled {
		return
	}
	n := len(m.Peers)
	if n < 3 || n > MaxMPCNodes {
		ps.add("mpc.peer", n, "want 3..%d [[mpc.peer]] tables, one per node, this node's included", MaxMPCNodes)
	}
	if m.Threshold < 2 || (n >= 3 && m.Threshold >= n) {
		ps.add("mpc.threshold", m.Threshold, "want 1 < t < n (n = %d peers)", n)
	}
	if m.Index < 1 || m.Index > n {
		ps.add("mpc.index", m.Index, "want this node's position in [[mpc.peer]], 1..%d", n)
	}
	if _, err := netip.ParseAddrPort(m.Listen); err != nil {
		ps.add("mpc.listen", m.Listen, "want ip:port")
	}
	if m.OperatorListen != "" {
		if _, err := netip.ParseAddrPort(m.OperatorListen); err != nil {
			ps.add("mpc.operator_listen", m.OperatorListen, "want ip:port")
		} else if m.OperatorListen == m.Listen {
			ps.add("mpc.operator_listen", m.OperatorListen, "must differ from mpc.listen")
		}
		if m.OperatorCAFile == "" {
			ps.add("mpc.operator_ca_file", nil, "required with mpc.operator_listen: the operators' CA")
		} else if m.OperatorCAFile == m.CAFile {
			ps.add("mpc.operator_ca_file", m.OperatorCAFile, "must not be the cluster CA: operators are named by their certificate")
		}
		if len(m.Operators) == 0 {
			ps.add("mpc.operator", nil, "required with mpc.operator_listen: at least one [[mpc.operator]]")
		}
	}
	for _, f := range []struct{ field, path string }{
		{"mpc.cert_file", m.CertFile}, {"mpc.key_file", m.KeyFile}, {"mpc.ca_file", m.CAFile},
	} {
		if f.path == "" {
			ps.add(f.field, nil, "required when mpc.enabled")
		}
	}
	if p := m.RefreshPeriod; p != "" && p != "0" {
		if d, err := time.ParseDuration(p); err != nil || d < MinRefreshPeriod {
			ps.add("mpc.refresh_period", p, "want a Go duration of at least %v (e.g. \"24h\"), or \"0\" for none", MinRefreshPeriod)
		}
	}
	if p := m.BackupPeriod; p != "" && p != "0" {
		if d, err := time.ParseDuration(p); err != nil || d < MinRefreshPeriod {
			ps.add("mpc.backup_period", p, "want a Go duration of at least %v (e.g. \"1h\"), or \"0\" for none", MinRefreshPeriod)
		}
	}
	validateMPCPeers(ps, m.Peers)
	validateMPCOperators(ps, m.Operators)
}

func validateMPCPeers(ps *problems, peers []MPCPeer) {
	names, addrs := map[string]int{}, map[string]int{}
	for i, p := range peers {
		f := func(k string) string { return fmt.Sprintf("mpc.peer[%d].%s", i, k) }
		checkCN(ps, f("name"), p.Name)
		if j, dup := names[p.Name]; dup && p.Name != "" {
			ps.add(f("name"), p.Name, "also the name of mpc.peer[%d]", j)
		}
		names[p.Name] = i
		host, port, err := net.SplitHostPort(p.Address)
		if pn, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || pn < 1 || pn > 65535 {
			ps.add(f("address"), p.Address, "want host:port")
		} else if j, dup := addrs[p.Address]; dup {
			ps.add(f("address"), p.Address, "also the address of mpc.peer[%d]", j)
		}
		addrs[p.Address] = i
		if p.PublicKey == "" {
			ps.add(f("public_key"), nil, "required: the path of the node's SM2 public key (PEM PKIX)")
		}
	}
}

func validateMPCOperators(ps *problems, ops []MPCOperator) {
	names := map[string]int{}
	for i, o := range ops {
		f := func(k string) string { return fmt.Sprintf("mpc.operator[%d].%s", i, k) }
		checkCN(ps, f("name"), o.Name)
		if j, dup := names[o.Name]; dup && o.Name != "" {
			ps.add(f("name"), o.Name, "also the name of mpc.operator[%d]", j)
		}
		names[o.Name] = i
		if o.TOTPSecretFile == "" {
			ps.add(f("totp_secret_file"), nil, "required: the file of the operator's TOTP secret (base32)")
		}
	}
}

// checkCN checks a certificate common name used as a node or operator name.
func checkCN(ps *problems, field, name string) {
	switch {
	case name == "":
		ps.add(field, nil, "required, missing: the subject common name of the certificate")
	case len(name) > MaxNameLen:
		ps.add(field, name, "longer than %d bytes", MaxNameLen)
	case !nodeNameRE.MatchString(name):
		ps.add(field, name, "want letters, digits, '.', '_' and '-', starting and ending with a letter or digit")
	}
}

// resolveMPC makes the [mpc] paths relative to dir.
func (c *Config) resolveMPC(abs func(*string)) {
	m := &c.MPC
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

// checkMPCFiles is CheckFiles for [mpc]: key and secret files private,
// public keys and CAs present and not writable by others.
func (c *Config) checkMPCFiles(keyFile func(field, path string, check func(mode uint32) string)) {
	m := c.MPC
	if !m.Enabled {
		return
	}
	private := func(mode uint32) string {
		if mode&0o077 != 0 {
			return "group or others have access, want 0600 or 0400"
		}
		return ""
	}
	pinned := func(mode uint32) string {
		if mode&0o022 != 0 {
			return "group or others may write it, so it pins nothing"
		}
		return ""
	}
	keyFile("mpc.key_file", m.KeyFile, private)
	keyFile("mpc.cert_file", m.CertFile, func(uint32) string { return "" })
	keyFile("mpc.ca_file", m.CAFile, pinned)
	if m.OperatorListen != "" {
		keyFile("mpc.operator_ca_file", m.OperatorCAFile, pinned)
	}
	for i, p := range m.Peers {
		keyFile(fmt.Sprintf("mpc.peer[%d].public_key", i), p.PublicKey, pinned)
	}
	for i, o := range m.Operators {
		keyFile(fmt.Sprintf("mpc.operator[%d].totp_secret_file", i), o.TOTPSecretFile, private)
	}
}
