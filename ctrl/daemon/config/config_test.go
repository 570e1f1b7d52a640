package config

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/noise"
	"github.com/otkd/otkd/shm"
)

// minimal is the smallest valid file: everything else takes its default.
const minimal = `
[node]
name = "a"
private_key = "a.key"

[[port]]
name = "east"
id = 1
role = "A"
local = "127.0.0.1:7400"
peer = "127.0.0.1:7401"
peer_name = "b"
peer_public_key = "b.pub"
`

// secondPort is a valid second [[port]] table for minimal.
const secondPort = `
[[port]]
name = "west"
id = 2
role = "B"
local = "127.0.0.1:7402"
peer = "127.0.0.1:7403"
peer_name = "c"
peer_public_key = "c.pub"
`

func mustParse(t *testing.T, s string) *Config {
	t.Helper()
	c, err := Parse([]byte(s), "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	want := Default()
	want.Node = Node{Name: "a", PrivateKey: "a.key"}
	want.Ports = []Port{{
		Name: "east", ID: 1, Role: "A", Line: "udp", Local: "127.0.0.1:7400", Peer: "127.0.0.1:7401",
		PeerName: "b", PeerPublicKey: "b.pub", FrameRate: 10000, ClientMTU: 1500,
	}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if got := c.NoiseProfile(); got != noise.DefaultProfile() {
		t.Errorf("NoiseProfile = %+v, want noise.DefaultProfile()", got)
	}
	if got := c.Params(); got != negotiation.DefaultParams() {
		t.Errorf("Params = %+v, want negotiation.DefaultParams()", got)
	}
	if got := c.ShmOptions(); got.Path != "/dev/shm/otkd" || got.Slots != shm.DefaultSlots || got.Group != "" {
		t.Errorf("ShmOptions = %+v", got)
	}
	if c.Store.Path != "/var/lib/otkd/keys.db" || c.API.Socket != "/run/otkd/otkd.sock" ||
		c.Metrics.Listen != "" || c.Log != (Log{"info", "text", "1m"}) || c.Negotiation.ActivationMargin != 256 {
		t.Errorf("defaults: %+v", c)
	}
	p := &c.Ports[0]
	if p.LocalAddr() != netip.MustParseAddrPort("127.0.0.1:7400") || p.PeerAddr() != netip.MustParseAddrPort("127.0.0.1:7401") {
		t.Errorf("addresses %v %v", p.LocalAddr(), p.PeerAddr())
	}
	if p.DataplaneRole() != dataplane.RoleA || c.UserID() != "otkd:a" || p.PeerUserID() != "otkd:b" {
		t.Errorf("role %v, ids %q %q", p.DataplaneRole(), c.UserID(), p.PeerUserID())
	}
}

func TestExplicitZeroIsKept(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, `peer_name = "b"`, "peer_name = \"b\"\nframe_rate = 0", 1)+
		"[noise]\nfibre_sigma = 0\n[negotiation]\nalpha = 0\n")
	if c.Ports[0].FrameRate != 0 || c.Noise.FibreSigma != 0 || c.Negotiation.Alpha != 0 {
		t.Fatalf("explicit zeros replaced by defaults: %+v %+v %+v", c.Ports[0], c.Noise, c.Negotiation)
	}
}

func TestExamples(t *testing.T) {
	a, err := Load("../../../examples/otkd-a.toml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("../../../examples/otkd-b.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Ports) != 1 || len(b.Ports) != 1 {
		t.Fatalf("ports: %d, %d", len(a.Ports), len(b.Ports))
	}
	pa, pb := a.Ports[0], b.Ports[0]
	if pa.LocalAddr() != pb.PeerAddr() || pb.LocalAddr() != pa.PeerAddr() {
		t.Errorf("addresses do not mirror: a %s→%s, b %s→%s", pa.Local, pa.Peer, pb.Local, pb.Peer)
	}
	if pa.PeerName != b.Node.Name || pb.PeerName != a.Node.Name || pa.Role == pb.Role || pa.ID != pb.ID {
		t.Errorf("identities do not mirror: %+v %+v", pa, pb)
	}
	if a.Params() != b.Params() || a.NoiseProfile() != b.NoiseProfile() {
		t.Error("the two ends disagree on the negotiation or the noise")
	}
	if a.Params() != negotiation.DefaultParams() || a.NoiseProfile() != noise.DefaultProfile() {
		t.Error("the examples should write the defaults out")
	}
	// Both run on one machine: nothing may be shared.
	fa, fb := a.flatten(), b.flatten()
	for _, key := range []string{"shm.path", "store.path", "store.kek_file", "api.socket", "metrics.listen", "node.private_key"} {
		if lookup(fa, key) == lookup(fb, key) {
			t.Errorf("%s is the same in both examples", key)
		}
	}
	// Every key the schema has is written in the example (commented
	// out only for the optional groups); the keys of the line choice and
	// the frame workers are the operator doc's (docs/lines.md), which
	// writes out a port of each line.
	data, _ := os.ReadFile("../../../examples/otkd-a.toml")
	lines, _ := os.ReadFile("../../../docs/lines.md")
	lineKeys := map[string]bool{"batch": true, "max_delay": true, "interface": true, "queue": true, "peer_mac": true,
		"xdp_mode": true, "xdp_attach": true, "workers": true, "cpus": true}
	for _, f := range fa {
		key := f.key[strings.LastIndexByte(f.key, '.')+1:]
		doc, name := data, "examples/otkd-a.toml"
		if strings.HasPrefix(f.key, "port[") && lineKeys[key] {
			doc, name = lines, "docs/lines.md"
		}
		if f.key != "port" && f.key != "keyring" && !bytes.Contains(doc, []byte(key+" =")) {
			t.Errorf("%s does not document %s", name, f.key)
		}
	}
}

// TestBadConfig checks that each mistake is reported on the right field
// with the reason.
func TestBadConfig(t *testing.T) {
	repl := func(old, new string) string { return strings.Replace(minimal, old, new, 1) }
	tests := []struct {
		name   string
		file   string
		field  string
		reason string
	}{
		{"duplicate port name", minimal + strings.Replace(secondPort, `"west"`, `"east"`, 1), "port[1].name", "duplicate of port[0].name"},
		{"duplicate port id", minimal + strings.Replace(secondPort, "id = 2", "id = 1", 1), "port[1].id", "duplicate of port[0].id"},
		{"duplicate local", minimal + strings.Replace(secondPort, "7402", "7400", 1), "port[1].local", "duplicate of port[0].local"},
		{"duplicate peer", minimal + strings.Replace(secondPort, "7403", "7401", 1), "port[1].peer", "duplicate of port[0].peer"},
		{"bad role", repl(`role = "A"`, `role = "a"`), "port[0].role", `want "A" or "B"`},
		{"missing role", repl(`role = "A"`, ``), "port[0].role", "required, missing"},
		{"address without port", repl(`local = "127.0.0.1:7400"`, `local = "127.0.0.1"`), "port[0].local", "want ip:port"},
		{"host name", repl(`peer = "127.0.0.1:7401"`, `peer = "peer.example:7401"`), "port[0].peer", "literal IP"},
		{"port 0", repl(`local = "127.0.0.1:7400"`, `local = "127.0.0.1:0"`), "port[0].local", "port 0"},
		{"unspecified peer", repl(`peer = "127.0.0.1:7401"`, `peer = "0.0.0.0:7401"`), "port[0].peer", "unspecified"},
		{"peer == local", repl(`peer = "127.0.0.1:7401"`, `peer = "127.0.0.1:7400"`), "port[0].peer", "equals port[0].local"},
		{"mixed families", repl(`peer = "127.0.0.1:7401"`, `peer = "[::1]:7401"`), "port[0].peer", "address family"},
		{"simfiber", repl(`role = "A"`, "role = \"A\"\nline = \"simfiber\""), "port[0].line", "otkd demo"},
		{"unknown line", repl(`role = "A"`, "role = \"A\"\nline = \"tcp\""), "port[0].line", `want "udp" or "xdp"`},
		{"bad port name", repl(`name = "east"`, `name = "East_1"`), "port[0].name", "[a-z0-9-]"},
		{"peer named like node", repl(`peer_name = "b"`, `peer_name = "a"`), "port[0].peer_name", "equals node.name"},
		{"bad peer name", repl(`peer_name = "b"`, `peer_name = "b c"`), "port[0].peer_name", "want letters"},
		{"negative frame rate", repl(`peer_name = "b"`, "peer_name = \"b\"\nframe_rate = -1"), "port[0].frame_rate", "≥ 0"},
		{"nan frame rate", repl(`peer_name = "b"`, "peer_name = \"b\"\nframe_rate = nan"), "port[0].frame_rate", "finite"},
		{"short seed timeout", repl(`peer_name = "b"`, "peer_name = \"b\"\nseed_timeout = \"10ms\""), "port[0].seed_timeout", "at least 1s"},
		{"bad seed timeout", repl(`peer_name = "b"`, "peer_name = \"b\"\nseed_timeout = \"5 minutes\""), "port[0].seed_timeout", "at least 1s"},
		{"client kind", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tun:otkd0\""), "port[0].client", `want "tap:NAME"`},
		{"client without name", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:\""), "port[0].client", "1..15 octets"},
		{"client name too long", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:abcdefghijklmnop\""), "port[0].client", "1..15 octets"},
		{"client name with slash", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:a/b\""), "port[0].client", "no '/'"},
		{"client name template", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:otkd%d\""), "port[0].client", "'%'"},
		{"duplicate client", strings.Replace(minimal, `peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:otkd0\"", 1) + secondPort + "client = \"tap:otkd0\"\n", "port[1].client", "duplicate of port[0].client"},
		{"client mtu small", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:otkd0\"\nclient_mtu = 67"), "port[0].client_mtu", "68..9600"},
		{"client mtu large", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient_mtu = 9601"), "port[0].client_mtu", "68..9600"},
		{"client mtu type", repl(`peer_name = "b"`, "peer_name = \"b\"\nclient_mtu = \"1500\""), "port[0].client_mtu", "incompatible types"},
		{"missing peer key", repl(`peer_public_key = "b.pub"`, ``), "port[0].peer_public_key", "required, missing"},
		{"no port", minimal[:strings.Index(minimal, "[[port]]")], "port", "at least one"},
		{"port as table", strings.Replace(minimal, "[[port]]", "[port]", 1), "port", "incompatible types"},
		{"unknown key", repl(`name = "a"`, "name = \"a\"\nnmae = \"x\""), "node.nmae", "unknown key"},
		{"unknown port key", repl(`role = "A"`, "role = \"A\"\ncolour = \"red\""), "port[0].colour", "unknown key"},
		{"unknown port key, second port", minimal + secondPort + "colour = 1\n", "port[1].colour", "unknown key"},
		{"unknown table", minimal + "[nosie]\nlevel0 = 1\n", "nosie", "unknown key"},
		{"wrong type", repl("id = 1", `id = "one"`), "port[0].id", "incompatible types"},
		{"wrong type, second port", minimal + strings.Replace(secondPort, "id = 2", "id = 2.5", 1), "port[1].id", "incompatible types"},
		{"wrong type, table", minimal + "[negotiation]\nn = \"1000\"\n", "negotiation.n", "incompatible types"},
		{"id out of range", repl("id = 1", "id = 65536"), "port[0].id", "out of range"},
		{"negative id", repl("id = 1", "id = -1"), "port[0].id", "out of range"},
		{"syntax error", repl(`name = "a"`, `name = "a`), "node.name", "line 3"},
		{"missing private key", repl(`private_key = "a.key"`, ``), "node.private_key", "required, missing"},
		{"missing node name", repl(`name = "a"`, ``), "node.name", "required, missing"},
		{"alpha out of range", minimal + "[negotiation]\nalpha = 3.5\n", "negotiation.alpha", "0 ≤ alpha ≤ 3"},
		{"n too small", minimal + "[negotiation]\nn = 100\n", "negotiation.n", "512..16384"},
		{"epsilon too large", minimal + "[negotiation]\nepsilon = 1e-10\n", "negotiation.epsilon", "2^-64"},
		{"entropy per bit", minimal + "[negotiation]\nentropy_per_bit = 1.5\n", "negotiation.entropy_per_bit", "≤ 1"},
		{"qber", minimal + "[negotiation]\ninitial_qber = 0.3\n", "negotiation.initial_qber", "0.25"},
		{"target failure", minimal + "[negotiation]\ntarget_failure = 1\n", "negotiation.target_failure", "< 1"},
		{"max blocks", minimal + "[negotiation]\nmax_blocks = 0\n", "negotiation.max_blocks", "1..64"},
		{"activation margin", minimal + "[negotiation]\nactivation_margin = 0\n", "negotiation.activation_margin", "frames"},
		{"sigma min > max", minimal + "[noise]\nlocal_sigma_min = 0.9\nlocal_sigma_max = 0.5\n", "noise.local_sigma_max", "≥ noise.local_sigma_min"},
		{"sigma min zero", minimal + "[noise]\nlocal_sigma_min = 0.0\n", "noise.local_sigma_min", "> 0"},
		{"levels", minimal + "[noise]\nlevel1 = -2.0\n", "noise.level1", "greater than noise.level0"},
		{"negative fibre sigma", minimal + "[noise]\nfibre_sigma = -0.1\n", "noise.fibre_sigma", "≥ 0"},
		{"loss", minimal + "[noise]\nloss = 1.0\n", "noise.loss", "[0, 1)"},
		{"burst len", minimal + "[noise]\nburst = 0.1\nburst_len = 0\n", "noise.burst_len", "when noise.burst > 0"},
		{"slots", minimal + "[shm]\nslots = 0\n", "shm.slots", "1..65536"},
		{"shm group", minimal + "[shm]\ngroup = \"otkd plugins\"\n", "shm.group", "not a group"},
		{"api group", minimal + "[api]\ngroup = \"a:b\"\n", "api.group", "not a group"},
		{"same path", minimal + "[store]\npath = \"/dev/shm/otkd\"\n", "store.path", "same file as shm.path"},
		{"empty path", minimal + "[store]\nkek_file = \"\"\n", "store.kek_file", "required, missing"},
		{"long socket", minimal + "[api]\nsocket = \"/" + strings.Repeat("s", 120) + "\"\n", "api.socket", "longer than a unix socket path"},
		{"metrics host name", minimal + "[metrics]\nlisten = \"localhost:9464\"\n", "metrics.listen", "literal IP"},
		{"unknown log level", minimal + "[log]\nlevel = \"verbose\"\n", "log.level", `"debug", "info", "warn" or "error"`},
		{"unknown log format", minimal + "[log]\nformat = \"xml\"\n", "log.format", `"text" or "json"`},
		{"summary too often", minimal + "[log]\nsummary = \"100ms\"\n", "log.summary", "at least 1s"},
		{"summary not a duration", minimal + "[log]\nsummary = \"hourly\"\n", "log.summary", "at least 1s"},
		{"negative summary", minimal + "[log]\nsummary = \"-1m\"\n", "log.summary", "at least 1s"},
		{"NUL byte", minimal + "\x00", "", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.file), "test.toml")
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("a Config came back with the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error names %q:\n%v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
			if fe.File != "test.toml" || !strings.Contains(fe.Error(), "test.toml") {
				t.Errorf("error does not name the file: %v", fe)
			}
		})
	}
}

// findField returns the *FieldError of err (a join or not) naming field.
func findField(err error, field string) *FieldError {
	for _, e := range flattenErrs(err) {
		if fe, ok := e.(*FieldError); ok && fe.Field == field {
			return fe
		}
	}
	return nil
}

func flattenErrs(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestAllErrorsReported(t *testing.T) {
	file := minimal + "[negotiation]\nalpha = 9.0\n[log]\nlevel = \"loud\"\nformat = \"xml\"\n"
	file = strings.Replace(file, `role = "A"`, `role = "C"`, 1)
	_, err := Parse([]byte(file), "")
	var fields []string
	for _, e := range flattenErrs(err) {
		fields = append(fields, e.(*FieldError).Field)
	}
	want := []string{"port[0].role", "negotiation.alpha", "log.level", "log.format"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %q, want %q\n%v", fields, want, err)
	}
	if msg := err.Error(); !strings.Contains(msg, `port[0].role = "C": want "A" or "B"`) {
		t.Errorf("message does not show field, value and reason:\n%s", msg)
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "otkd.toml")
	if err := os.WriteFile(name, []byte(minimal+"[store]\npath = \"state/keys.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.PrivateKey != filepath.Join(dir, "a.key") || c.Ports[0].PeerPublicKey != filepath.Join(dir, "b.pub") ||
		c.Store.Path != filepath.Join(dir, "state/keys.db") || c.Shm.Path != DefaultShmPath {
		t.Errorf("paths not resolved against %s: %+v", dir, c)
	}
}

// TestLoadTouchesNothing: loading names files in an empty directory and
// leaves it empty.
func TestLoadTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	file := minimal + "[shm]\npath = \"state/shm\"\n[store]\npath = \"state/keys.db\"\nkek_file = \"state/kek\"\n" +
		"[api]\nsocket = \"state/otkd.sock\"\n"
	name := filepath.Join(dir, "otkd.toml")
	if err := os.WriteFile(name, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckFiles(); err == nil {
		t.Error("CheckFiles found the missing key files")
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("Load or CheckFiles created %v", ents)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"../../../examples/otkd-a.toml", "../../../examples/otkd-b.toml"} {
		c, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		c.Ports = append(c.Ports, Port{Name: "west", ID: 7, Role: "B", Line: "udp", Local: "[::1]:9000",
			Peer: "[::1]:9001", PeerName: "z.example", PeerPublicKey: "/etc/otkd/z.pub", FrameRate: 82025.5,
			Client: "tap:otkd7", ClientMTU: 9000})
		c.Negotiation.Epsilon = 1e-30
		c.Noise.Burst, c.Noise.BurstLen = 0.125, 17
		c.Shm.Group, c.API.Group = "otkd", "1000"
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := c.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		d, err := Parse(buf.Bytes(), "")
		if err != nil {
			t.Fatalf("%v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, d)
		}
	}
}

func TestReloadableDiff(t *testing.T) {
	old := mustParse(t, minimal)

	next := old.Clone()
	next.Log.Level, next.Metrics.Listen = "debug", "127.0.0.1:9464"
	changed, err := old.ReloadableDiff(next)
	if err != nil || !slices.Equal(changed, []string{"metrics.listen", "log.level"}) {
		t.Errorf("changed %q, err %v", changed, err)
	}

	next = old.Clone()
	next.Log.Summary = "0"
	if changed, err := old.ReloadableDiff(next); err != nil || !slices.Equal(changed, []string{"log.summary"}) || next.SummaryInterval() != 0 ||
		old.SummaryInterval() != time.Minute {
		t.Errorf("summary off: changed %q, err %v, intervals %v %v", changed, err, old.SummaryInterval(), next.SummaryInterval())
	}

	if changed, err := old.ReloadableDiff(old.Clone()); err != nil || len(changed) != 0 {
		t.Errorf("no change: changed %q, err %v", changed, err)
	}

	next = old.Clone()
	next.Log.Format = "json"
	next.Ports[0].Peer = "127.0.0.1:7999"
	next.Negotiation.Alpha = 1
	changed, err = old.ReloadableDiff(next)
	if err == nil || changed != nil {
		t.Fatalf("changed %q, err %v", changed, err)
	}
	if !errors.Is(err, ErrNotReloadable) {
		t.Errorf("%v does not wrap ErrNotReloadable", err)
	}
	for _, f := range []string{"port[0].peer", "negotiation.alpha"} {
		if fe := findField(err, f); fe == nil || !strings.Contains(fe.Reason, "restart") {
			t.Errorf("%s not named as needing a restart: %v", f, err)
		}
	}
	if findField(err, "log.format") != nil {
		t.Error("log.format reported as not reloadable")
	}

	next = mustParse(t, minimal+secondPort)
	if _, err := old.ReloadableDiff(next); findField(err, "port") == nil || findField(err, "port[1].name") == nil {
		t.Errorf("an added port is not named: %v", err)
	}

	next = old.Clone()
	next.Log.Level = "loud"
	if _, err := old.ReloadableDiff(next); !errors.Is(err, ErrInvalid) {
		t.Errorf("an invalid new config: %v", err)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	c := mustParse(t, minimal)
	c.Node.PrivateKey = write("a.key", 0o600)
	c.Ports[0].PeerPublicKey = write("b.pub", 0o644)
	c.Store.KEKFile = write("kek", 0o600)
	c.Store.Path = filepath.Join(dir, "keys.db")
	c.Shm.Path = filepath.Join(dir, "shm")
	c.API.Socket = filepath.Join(dir, "otkd.sock")
	if err := c.CheckFiles(); err != nil {
		t.Fatalf("good files: %v", err)
	}

	c.Node.PrivateKey = write("open.key", 0o640)
	c.Ports[0].PeerPublicKey = write("open.pub", 0o666)
	c.Store.KEKFile = write("kek400", 0o400)
	c.Store.Path = filepath.Join(dir, "missing", "keys.db")
	c.Shm.Path = filepath.Join(c.Node.PrivateKey, "shm")
	c.API.Socket = filepath.Join(dir, "none", "otkd.sock")
	c.Shm.Group = "no-such-group-otkd"
	err := c.CheckFiles()
	for _, want := range []struct{ field, reason string }{
		{"node.private_key", "group or others have access"},
		{"port[0].peer_public_key", "may write it"},
		{"store.kek_file", "want 0600"},
		{"store.path", "no such file"},
		{"shm.path", "not a directory"},
		{"api.socket", "no such file"},
		{"shm.group", "unknown group"},
	} {
		fe := findField(err, want.field)
		if fe == nil || !strings.Contains(fe.Reason, want.reason) || !errors.Is(fe, ErrFile) {
			t.Errorf("%s: want %q, got %v", want.field, want.reason, fe)
		}
	}
	c.Node.PrivateKey = dir
	if fe := findField(c.CheckFiles(), "node.private_key"); fe == nil || !strings.Contains(fe.Reason, "not a regular file") {
		t.Errorf("a directory as key file: %v", fe)
	}
}

func TestLogHandler(t *testing.T) {
	c := mustParse(t, minimal+"[log]\nlevel = \"warn\"\nformat = \"json\"\n")
	var buf bytes.Buffer
	h := c.LogHandler(&buf, c.SlogLevel())
	if h.Enabled(t.Context(), c.SlogLevel()-1) {
		t.Error("below warn enabled")
	}
	if !strings.Contains(reflect.TypeOf(h).String(), "JSON") {
		t.Errorf("handler %T, want JSON", h)
	}
}

func TestClient(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, `peer_name = "b"`, "peer_name = \"b\"\nclient = \"tap:otkd0\"\nclient_mtu = 9000", 1))
	p := &c.Ports[0]
	if p.ClientTAP() != "otkd0" || p.ClientMTU != 9000 {
		t.Fatalf("client %q (tap %q), mtu %d", p.Client, p.ClientTAP(), p.ClientMTU)
	}
	if c := mustParse(t, minimal); c.Ports[0].ClientTAP() != "" || c.Ports[0].ClientMTU != DefaultClientMTU {
		t.Fatalf("no client: tap %q, mtu %d", c.Ports[0].ClientTAP(), c.Ports[0].ClientMTU)
	}
	// A client is bound at start: a reload that changes it is refused and
	// names the field.
	next := c.Clone()
	next.Ports[0].Client = "tap:otkd1"
	next.Ports[0].ClientMTU = 1500
	_, err := c.ReloadableDiff(next)
	if !errors.Is(err, ErrNotReloadable) || findField(err, "port[0].client") == nil || findField(err, "port[0].client_mtu") == nil {
		t.Fatalf("reload of the client: %v", err)
	}
}
