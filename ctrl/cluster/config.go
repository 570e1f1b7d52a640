package cluster

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/service"
)

// Config is the [controller.etcd] table: how this otkd reaches the etcd
// cluster that holds its controller store (with [controller] store =
// "etcd"). The zero value of an optional field is its default.
type Config struct {
	// Endpoints are the client URLs of the etcd members: https, or http
	// on a loopback address only (etcd's traffic carries sealed keys and
	// the fleet's metadata: it travels over TLS off the host).
	Endpoints []string `toml:"endpoints"`
	// CAFile holds the PEM roots that verify the members' certificates;
	// CertFile and KeyFile are this node's PEM client certificate and key
	// (mode 0600 or 0400). All three with https endpoints, none without.
	CAFile   string `toml:"ca_file"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// Prefix is where otkd's keys live in etcd: every otkd of one fleet
	// uses the same. Default DefaultPrefix.
	Prefix string `toml:"prefix"`
	// DialTimeout bounds the first connection, RequestTimeout every
	// request (Go durations). Defaults 5 s and 5 s.
	DialTimeout    string `toml:"dial_timeout"`
	RequestTimeout string `toml:"request_timeout"`
	// LeaseTTL is the lease of this node's registration and leaderships,
	// whole seconds: a node that stops renewing it (killed, cut off) is
	// marked stale and loses what it leads after it. Default 10 s.
	LeaseTTL string `toml:"lease_ttl"`
	// MaxTxnOps is the members' --max-txn-ops (writes and reads checked
	// per transaction). Default 128, etcd's.
	MaxTxnOps int `toml:"max_txn_ops"`
}

// Defaults.
const (
	DefaultPrefix         = "/otkd/"
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultLeaseTTL       = 10 * time.Second
	DefaultMaxTxnOps      = 128
	maxPrefixLen          = 128
)

// Field names the table's keys in errors.
const field = "controller.etcd."

// Validate checks the table (only called with store = "etcd").
func (c *Config) Validate(ps *service.Problems) {
	if len(c.Endpoints) == 0 {
		ps.Add(field+"endpoints", nil, `required with controller.store = "etcd": the client URLs of the etcd members, e.g. ["https://10.0.0.1:2379"]`)
	}
	tlsFiles := 0
	for _, f := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		if f != "" {
			tlsFiles++
		}
	}
	https := false
	for i, e := range c.Endpoints {
		f := fmt.Sprintf("%sendpoints[%d]", field, i)
		u, err := url.Parse(e)
		switch {
		case err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "":
			ps.Add(f, e, "want a URL scheme://host:port and nothing more")
		case u.Scheme == "https":
			https = true
		case u.Scheme == "http" && !loopback(u.Hostname()):
			ps.Add(f, e, "http only on a loopback address: etcd carries the fleet's state, use https with a client certificate")
		case u.Scheme != "http":
			ps.Add(f, e, "want an https (or loopback http) URL")
		}
	}
	switch {
	case https && tlsFiles != 3:
		for _, f := range []struct{ name, path string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
			if f.path == "" {
				ps.Add(field+f.name, nil, "required with https endpoints")
			}
		}
	case !https && tlsFiles != 0 && len(c.Endpoints) > 0:
		ps.Add(field+"endpoints", strings.Join(c.Endpoints, ","), "TLS files are set: want https endpoints")
	}
	if c.Prefix != "" {
		if why := prefixProblem(c.Prefix); why != "" {
			ps.Add(field+"prefix", c.Prefix, "%s", why)
		}
	}
	for _, d := range []struct {
		name, v  string
		min, max time.Duration
		seconds  bool
	}{
		{"dial_timeout", c.DialTimeout, 100 * time.Millisecond, 5 * time.Minute, false},
		{"request_timeout", c.RequestTimeout, 100 * time.Millisecond, 5 * time.Minute, false},
		{"lease_ttl", c.LeaseTTL, 2 * time.Second, 10 * time.Minute, true},
	} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		switch {
		case err != nil:
			ps.Add(field+d.name, d.v, "want a Go duration such as \"5s\"")
		case v < d.min || v > d.max:
			ps.Add(field+d.name, d.v, "want %v to %v", d.min, d.max)
		case d.seconds && v%time.Second != 0:
			ps.Add(field+d.name, d.v, "want whole seconds (etcd leases count seconds)")
		}
	}
	if c.MaxTxnOps != 0 && (c.MaxTxnOps < 16 || c.MaxTxnOps > 1<<20) {
		ps.Add(field+"max_txn_ops", c.MaxTxnOps, "want the members' --max-txn-ops, 16 or more (etcd's default 128)")
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// prefixProblem says what is wrong with an etcd key prefix, "" if nothing.
func prefixProblem(p string) string {
	switch {
	case len(p) > maxPrefixLen:
		return fmt.Sprintf("longer than %d bytes", maxPrefixLen)
	case !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/"):
		return `want a path that starts and ends with "/", e.g. "/otkd/"`
	case strings.Contains(p, "//"):
		return `want no empty segment ("//")`
	}
	for _, r := range p {
		if r <= ' ' || r > '~' {
			return "want printable ASCII without spaces"
		}
	}
	return ""
}

// Resolve makes the table's relative paths absolute (abs).
func (c *Config) Resolve(abs func(*string)) {
	for _, p := range []*string{&c.CAFile, &c.CertFile, &c.KeyFile} {
		if *p != "" {
			abs(p)
		}
	}
}

// CheckFiles checks the files the table names: the key private, the CA
// pinned (no one else may write it).
func (c *Config) CheckFiles(f *service.Files) {
	if c.CertFile == "" {
		return
	}
	f.Private(field+"key_file", c.KeyFile)
	f.Regular(field+"cert_file", c.CertFile)
	f.Pinned(field+"ca_file", c.CAFile)
}

// Clone returns a deep copy.
func (c Config) Clone() Config {
	c.Endpoints = append([]string(nil), c.Endpoints...)
	return c
}

// Empty reports whether the table sets nothing.
func (c *Config) Empty() bool {
	return len(c.Endpoints) == 0 && c.CAFile == "" && c.CertFile == "" && c.KeyFile == "" && c.Prefix == "" &&
		c.DialTimeout == "" && c.RequestTimeout == "" && c.LeaseTTL == "" && c.MaxTxnOps == 0
}

// settings are the table with its defaults applied (after Validate).
type settings struct {
	prefix             string
	dial, request, ttl time.Duration
	maxOps             int
	endpoints          []string
	caFile, cert, key  string
}

func (c *Config) settings() settings {
	s := settings{prefix: c.Prefix, dial: DefaultDialTimeout, request: DefaultRequestTimeout, ttl: DefaultLeaseTTL,
		maxOps: c.MaxTxnOps, endpoints: c.Endpoints, caFile: c.CAFile, cert: c.CertFile, key: c.KeyFile}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.maxOps == 0 {
		s.maxOps = DefaultMaxTxnOps
	}
	for _, d := range []struct {
		v   string
		dst *time.Duration
	}{{c.DialTimeout, &s.dial}, {c.RequestTimeout, &s.request}, {c.LeaseTTL, &s.ttl}} {
		if v, err := time.ParseDuration(d.v); err == nil && v > 0 {
			*d.dst = v
		}
	}
	return s
}
