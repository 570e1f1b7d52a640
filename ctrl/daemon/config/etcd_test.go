package config

import (
	"strings"
	"testing"
)

// TestControllerOnEtcd: store = "etcd" takes the [controller.etcd] table,
// resolves its files beside the configuration and leaves store itself
// alone (it is no path then).
func TestControllerOnEtcd(t *testing.T) {
	c, err := Parse([]byte(minimal+`
[controller]
store = "etcd"
[controller.etcd]
endpoints = ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
ca_file = "etcd-ca.pem"
cert_file = "etcd.pem"
key_file = "etcd.key"
prefix = "/fleet-a/"
request_timeout = "2s"
lease_ttl = "4s"
`), "/etc/otkd/otkd.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := c.Controller.Etcd
	if !c.ControllerOnEtcd() || c.Controller.Store != "etcd" || e.CAFile != "/etc/otkd/etcd-ca.pem" || e.KeyFile != "/etc/otkd/etcd.key" || len(e.Endpoints) != 2 {
		t.Fatalf("controller %+v", c.Controller)
	}
	d := c.Clone()
	d.Controller.Etcd.Endpoints[0] = "x"
	if c.Controller.Etcd.Endpoints[0] == "x" {
		t.Error("Clone shares the endpoints")
	}
	d = c.Clone()
	d.Controller.Etcd.Endpoints = append(d.Controller.Etcd.Endpoints, "https://10.0.0.3:2379")
	if _, err := c.ReloadableDiff(d); err == nil || !strings.Contains(err.Error(), "controller.etcd.endpoints") {
		t.Errorf("changed endpoints: %v, want not reloadable", err)
	}
}

func TestBadControllerEtcd(t *testing.T) {
	const on = "\n[controller]\nstore = \"etcd\"\n[controller.etcd]\n"
	const tlsFiles = "ca_file = \"ca\"\ncert_file = \"c\"\nkey_file = \"k\"\n"
	tests := []struct {
		name, file, field, reason string
	}{
		{"no endpoints", on, "controller.etcd.endpoints", "required"},
		{"http off loopback", on + "endpoints = [\"http://10.0.0.1:2379\"]\n", "controller.etcd.endpoints[0]", "loopback"},
		{"no port", on + "endpoints = [\"https://10.0.0.1\"]\n" + tlsFiles, "controller.etcd.endpoints[0]", "scheme://host:port"},
		{"a path", on + "endpoints = [\"https://10.0.0.1:2379/v3\"]\n" + tlsFiles, "controller.etcd.endpoints[0]", "nothing more"},
		{"unix", on + "endpoints = [\"unix://x:1\"]\n", "controller.etcd.endpoints[0]", "https"},
		{"https without cert", on + "endpoints = [\"https://10.0.0.1:2379\"]\nca_file = \"ca\"\n", "controller.etcd.cert_file", "required with https"},
		{"cert without https", on + "endpoints = [\"http://127.0.0.1:2379\"]\n" + tlsFiles, "controller.etcd.endpoints", "want https"},
		{"relative prefix", on + "endpoints = [\"http://127.0.0.1:2379\"]\nprefix = \"otkd\"\n", "controller.etcd.prefix", "starts and ends"},
		{"empty segment", on + "endpoints = [\"http://127.0.0.1:2379\"]\nprefix = \"/a//b/\"\n", "controller.etcd.prefix", "empty segment"},
		{"bad dial timeout", on + "endpoints = [\"http://127.0.0.1:2379\"]\ndial_timeout = \"soon\"\n", "controller.etcd.dial_timeout", "Go duration"},
		{"tiny request timeout", on + "endpoints = [\"http://127.0.0.1:2379\"]\nrequest_timeout = \"1ms\"\n", "controller.etcd.request_timeout", "want 100ms"},
		{"fractional lease", on + "endpoints = [\"http://127.0.0.1:2379\"]\nlease_ttl = \"2500ms\"\n", "controller.etcd.lease_ttl", "whole seconds"},
		{"short lease", on + "endpoints = [\"http://127.0.0.1:2379\"]\nlease_ttl = \"1s\"\n", "controller.etcd.lease_ttl", "want 2s"},
		{"few txn ops", on + "endpoints = [\"http://127.0.0.1:2379\"]\nmax_txn_ops = 3\n", "controller.etcd.max_txn_ops", "16 or more"},
		{"table without etcd", "\n[controller.etcd]\nendpoints = [\"http://127.0.0.1:2379\"]\n", "controller.etcd", `store = "etcd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.file), "test.toml")
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error for %s in %v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
		})
	}
}

// TestSyncReplicaKeys: [sync] private_key (the platform key replicas
// share) is resolved beside the file; audit_retention wants a duration of
// at least a minute.
func TestSyncReplicaKeys(t *testing.T) {
	const sy = "\n[sync]\nenabled = true\nplatforms = { \"vpn\" = \"https://x/k\" }\nca_file = \"ca\"\ncert_file = \"c\"\nkey_file = \"k\"\n"
	c, err := Parse([]byte(minimal+sy+"private_key = \"sync.key\"\naudit_retention = \"2160h\"\n"), "/etc/otkd/otkd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sync.PrivateKey != "/etc/otkd/sync.key" || c.Sync.Retention().Hours() != 2160 {
		t.Fatalf("sync %+v", c.Sync)
	}
	for _, bad := range []string{"10s", "forever", "-1h"} {
		_, err := Parse([]byte(minimal+sy+"audit_retention = \""+bad+"\"\n"), "test.toml")
		if fe := findField(err, "sync.audit_retention"); fe == nil || !strings.Contains(fe.Reason, "at least 1m") {
			t.Errorf("audit_retention %q: %v", bad, err)
		}
	}
}
