package config

import (
	"strings"
	"testing"
	"time"
)

const mpcSection = `
[mpc]
enabled = true
index = 2
threshold = 2
listen = "127.0.0.1:7443"
operator_listen = "127.0.0.1:7444"
cert_file = "mpc.pem"
key_file = "mpc.key"
ca_file = "cluster-ca.pem"
operator_ca_file = "operator-ca.pem"
refresh_period = "24h"
backup_period = "1h"
[[mpc.peer]]
name = "n1"
address = "10.0.0.1:7443"
public_key = "n1.pub"
[[mpc.peer]]
name = "n2"
address = "10.0.0.2:7443"
public_key = "n2.pub"
[[mpc.peer]]
name = "n3"
address = "n3.example:7443"
public_key = "/etc/otkd/n3.pub"
[[mpc.operator]]
name = "alice"
totp_secret_file = "alice.totp"
`

func TestMPCSection(t *testing.T) {
	c, err := Parse([]byte(minimal+mpcSection), "/etc/otkd/otkd.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := c.MPC
	if !m.Enabled || m.Index != 2 || m.Threshold != 2 || len(m.Peers) != 3 || len(m.Operators) != 1 {
		t.Fatalf("%+v", m)
	}
	if m.Peers[0].PublicKey != "/etc/otkd/n1.pub" || m.Operators[0].TOTPSecretFile != "/etc/otkd/alice.totp" || m.CAFile != "/etc/otkd/cluster-ca.pem" {
		t.Errorf("paths not resolved: %+v", m)
	}
	if c.MPC.RefreshPeriodDuration() != 24*time.Hour || c.MPC.BackupPeriodDuration() != time.Hour {
		t.Errorf("refresh period %v, backup period %v", c.MPC.RefreshPeriodDuration(), c.MPC.BackupPeriodDuration())
	}
	d := c.Clone()
	d.MPC.Peers[0].Name = "x"
	if c.MPC.Peers[0].Name != "n1" {
		t.Error("Clone shares the peers")
	}
	if _, err := c.ReloadableDiff(d); err == nil || !strings.Contains(err.Error(), "mpc.peer[0].name") {
		t.Errorf("reload of an mpc change: %v", err)
	}
}

func TestBadMPC(t *testing.T) {
	base := minimal + mpcSection
	tests := []struct {
		name, from, to, field, reason string
	}{
		{"index 0", "index = 2", "index = 0", "mpc.index", "1..3"},
		{"t = n", "threshold = 2", "threshold = 3", "mpc.threshold", "1 < t < n"},
		{"bad listen", `listen = "127.0.0.1:7443"`, `listen = "localhost"`, "mpc.listen", "ip:port"},
		{"same listen", `operator_listen = "127.0.0.1:7444"`, `operator_listen = "127.0.0.1:7443"`, "mpc.operator_listen", "differ"},
		{"operator CA = cluster CA", `operator_ca_file = "operator-ca.pem"`, `operator_ca_file = "cluster-ca.pem"`, "mpc.operator_ca_file", "not be the cluster CA"},
		{"no cert", `cert_file = "mpc.pem"`, ``, "mpc.cert_file", "required"},
		{"bad period", `refresh_period = "24h"`, `refresh_period = "daily"`, "mpc.refresh_period", "Go duration"},
		{"short period", `refresh_period = "24h"`, `refresh_period = "10ms"`, "mpc.refresh_period", "at least 1s"},
		{"bad backup period", `backup_period = "1h"`, `backup_period = "hourly"`, "mpc.backup_period", "Go duration"},
		{"short backup period", `backup_period = "1h"`, `backup_period = "1ms"`, "mpc.backup_period", "at least 1s"},
		{"dup name", `name = "n3"`, `name = "n1"`, "mpc.peer[2].name", "also the name of mpc.peer[0]"},
		{"bad address", `address = "n3.example:7443"`, `address = "n3.example"`, "mpc.peer[2].address", "host:port"},
		{"dup address", `address = "n3.example:7443"`, `address = "10.0.0.1:7443"`, "mpc.peer[2].address", "also the address"},
		{"no public key", `public_key = "/etc/otkd/n3.pub"`, ``, "mpc.peer[2].public_key", "required"},
		{"bad operator", `name = "alice"`, `name = "al ice"`, "mpc.operator[0].name", "letters"},
		{"no totp", `totp_secret_file = "alice.totp"`, ``, "mpc.operator[0].totp_secret_file", "required"},
		{"unknown key", `name = "alice"`, "name = \"alice\"\nsecret = \"x\"", "mpc.operator.secret", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := strings.Replace(base, tt.from, tt.to, 1)
			if file == base {
				t.Fatalf("%q not in the section", tt.from)
			}
			_, err := Parse([]byte(file), "test.toml")
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error for %s in %v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
		})
	}
	// Two peers only.
	two := strings.Replace(base, "[[mpc.peer]]\nname = \"n3\"\naddress = \"n3.example:7443\"\npublic_key = \"/etc/otkd/n3.pub\"\n", "", 1)
	if _, err := Parse([]byte(two), ""); findField(err, "mpc.peer") == nil {
		t.Errorf("two peers: %v", err)
	}
}
