package keysyncsvc

import (
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
	"github.com/otkd/otkd/ctrl/service"
)

// Config is the [sync] table: key sync to application platforms
// (docs/keysync.md).
type Config struct {
	Enabled bool `toml:"enabled"`
	// Platforms maps an application id to the https URL of its platform.
	Platforms map[string]string `toml:"platforms"`
	// CAFile holds the PEM roots that verify the platforms' certificates.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are this node's PEM client certificate and key
	// (the key file mode 0600 or 0400).
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// PrivateKey is the key-sync platform's SM2 key (PEM PKCS#8, mode 0600
	// or 0400): vendors envelope key files to its public key and keys are
	// sealed at rest under it. Every replica of one key-sync platform (otkd
	// sharing an etcd store) holds the same. "" uses [node] private_key.
	PrivateKey string `toml:"private_key"`
	// AuditRetention is how long audit events are kept (a Go duration, at
	// least a minute); "" keeps them for good.
	AuditRetention string `toml:"audit_retention"`
}

// Retention returns AuditRetention parsed (0 when empty).
func (s *Config) Retention() time.Duration {
	d, _ := time.ParseDuration(s.AuditRetention)
	return d
}

// Validate checks an enabled [sync] table.
func (s *Config) Validate(ps *service.Problems) {
	if !s.Enabled {
		return
	}
	if len(s.Platforms) == 0 {
		ps.Add("sync.platforms", nil, "required when sync.enabled: at least one application id = \"https://…\"")
	}
	for _, app := range slices.Sorted(maps.Keys(s.Platforms)) {
		field := "sync.platforms." + app
		if err := keysync.CheckApp(app); err != nil {
			ps.Add(field, nil, "application id: want 1..64 of [a-z0-9.-], starting and ending with a letter or digit")
			continue
		}
		u, err := url.Parse(s.Platforms[app])
		if err != nil || u.Scheme != "https" || u.Host == "" {
			ps.Add(field, s.Platforms[app], "want an https URL with a host")
		}
	}
	if s.AuditRetention != "" {
		if d, err := time.ParseDuration(s.AuditRetention); err != nil || d < time.Minute {
			ps.Add("sync.audit_retention", s.AuditRetention, "want a Go duration of at least 1m, such as \"2160h\" (90 days)")
		}
	}
	for _, f := range []struct{ field, path string }{
		{"sync.ca_file", s.CAFile}, {"sync.cert_file", s.CertFile}, {"sync.key_file", s.KeyFile},
	} {
		if f.path == "" {
			ps.Add(f.field, nil, "required when sync.enabled")
		}
	}
}

// Resolve makes the table's relative paths absolute (abs).
func (s *Config) Resolve(abs func(*string)) {
	abs(&s.CAFile)
	abs(&s.CertFile)
	abs(&s.KeyFile)
	if s.PrivateKey != "" {
		abs(&s.PrivateKey)
	}
}

// CheckFiles checks the files an enabled table names: the key private.
func (s *Config) CheckFiles(f *service.Files) {
	if !s.Enabled {
		return
	}
	f.Private("sync.key_file", s.KeyFile)
	f.Regular("sync.cert_file", s.CertFile)
	f.Regular("sync.ca_file", s.CAFile)
	if s.PrivateKey != "" {
		f.Private("sync.private_key", s.PrivateKey)
	}
}

// Clone returns a deep copy.
func (s Config) Clone() Config {
	s.Platforms = maps.Clone(s.Platforms)
	return s
}
