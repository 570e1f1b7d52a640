package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/dataplane"
)

// xdpPort is a valid port of the AF_XDP line for minimal's node.
const xdpPort = `
[[port]]
name = "north"
id = 3
role = "B"
line = "xdp"
interface = "enp65s0f0"
queue = 2
peer_mac = "02:00:00:00:00:02"
xdp_mode = "copy"
xdp_attach = "generic"
peer_name = "d"
peer_public_key = "d.pub"
workers = 2
`

// TestLineKeys: the keys of both lines and of the frame workers parse
// into the Port, with their defaults.
func TestLineKeys(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, `peer_name = "b"`, "peer_name = \"b\"\nbatch = 16\nmax_delay = \"100us\"\ncpus = [0]", 1)+xdpPort)
	u, x := c.Ports[0], c.Ports[1]
	if u.Line != "udp" || u.Batch != 16 || u.MaxDelayDuration() != 100*time.Microsecond || len(u.CPUs) != 1 || u.Workers != 0 {
		t.Fatalf("udp port %+v", u)
	}
	if x.Line != "xdp" || x.Interface != "enp65s0f0" || x.Queue != 2 || x.PeerHardwareAddr().String() != "02:00:00:00:00:02" ||
		x.XDPMode != "copy" || x.XDPAttach != "generic" || x.Workers != 2 || x.Local != "" {
		t.Fatalf("xdp port %+v", x)
	}
	if x.EffectiveWorkers(2, 64) != 2 || u.EffectiveWorkers(2, 64) != 1 {
		t.Fatal("workers given or from cpus")
	}
	u.CPUs = nil
	for _, tc := range []struct{ cpus, ports, want int }{{2, 1, 1}, {4, 1, 2}, {8, 2, 2}, {1, 1, 1}, {64, 1, 8}, {3, 0, 1}} {
		if got := u.EffectiveWorkers(tc.ports, tc.cpus); got != tc.want {
			t.Errorf("%d CPUs, %d ports: %d workers, want %d", tc.cpus, tc.ports, got, tc.want)
		}
	}
}

// TestBadLineKeys: each mistake in the line and worker keys is one error
// naming the field and the reason.
func TestBadLineKeys(t *testing.T) {
	repl := func(s, old, new string) string { return strings.Replace(s, old, new, 1) }
	udpKey := func(k string) string { return repl(minimal, `peer_name = "b"`, "peer_name = \"b\"\n"+k) }
	xdpKey := func(old, new string) string { return minimal + repl(xdpPort, old, new) }
	tests := []struct {
		name, file, field, reason string
	}{
		{"batch too large", udpKey("batch = 65"), "port[0].batch", "0…64"},
		{"negative batch", udpKey("batch = -1"), "port[0].batch", "0…64"},
		{"max_delay without batch", udpKey(`max_delay = "1ms"`), "port[0].max_delay", "only with batch > 1"},
		{"bad max_delay", udpKey("batch = 8\nmax_delay = \"soon\""), "port[0].max_delay", "duration"},
		{"max_delay too long", udpKey("batch = 8\nmax_delay = \"2s\""), "port[0].max_delay", "at most 1s"},
		{"xdp key on udp", udpKey(`interface = "eth0"`), "port[0].interface", `only for line = "xdp"`},
		{"udp key on xdp", xdpKey("workers = 2", "workers = 2\nlocal = \"127.0.0.1:7400\""), "port[1].local", `only for line = "udp"`},
		{"batch on xdp", xdpKey("workers = 2", "workers = 2\nbatch = 4"), "port[1].batch", `only for line = "udp"`},
		{"xdp without interface", xdpKey(`interface = "enp65s0f0"`, ""), "port[1].interface", "required, missing"},
		{"xdp without peer_mac", xdpKey(`peer_mac = "02:00:00:00:00:02"`, ""), "port[1].peer_mac", "required, missing"},
		{"udp without local", repl(minimal, `local = "127.0.0.1:7400"`, ""), "port[0].local", "required, missing"},
		{"bad interface", xdpKey(`"enp65s0f0"`, `"a/b"`), "port[1].interface", "not an interface name"},
		{"long interface", xdpKey(`"enp65s0f0"`, `"enp65s0f0xxxxxxx"`), "port[1].interface", "not an interface name"},
		{"bad mac", xdpKey(`"02:00:00:00:00:02"`, `"02:00:00"`), "port[1].peer_mac", "6-byte"},
		{"group mac", xdpKey(`"02:00:00:00:00:02"`, `"01:00:5e:00:00:01"`), "port[1].peer_mac", "group or zero"},
		{"queue", xdpKey("queue = 2", "queue = 64"), "port[1].queue", "0…63"},
		{"xdp mode", xdpKey(`"copy"`, `"fast"`), "port[1].xdp_mode", `"auto", "copy" or "zero-copy"`},
		{"xdp attach", xdpKey(`"generic"`, `"native"`), "port[1].xdp_attach", `"auto", "driver" or "generic"`},
		{"two lines on one interface", minimal + xdpPort + repl(repl(repl(xdpPort, `"north"`, `"south"`), "id = 3", "id = 4"), `"d"`, `"e"`),
			"port[2].interface", "one AF_XDP line per interface"},
		{"workers", xdpKey("workers = 2", "workers = 65"), "port[1].workers", "1…64"},
		{"negative workers", xdpKey("workers = 2", "workers = -1"), "port[1].workers", "1…64"},
		{"cpu twice", udpKey("cpus = [0, 0]"), "port[0].cpus", "listed twice"},
		{"cpu not allowed", udpKey("cpus = [1023]"), "port[0].cpus", "not one this process may run on"},
		{"cpu negative", udpKey("cpus = [-1]"), "port[0].cpus", "not one this process may run on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), "test.toml")
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v", err)
			}
			fe := findField(err, tt.field)
			if fe == nil {
				t.Fatalf("no error names %q:\n%v", tt.field, err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", fe.Reason, tt.reason)
			}
			if strings.Contains(err.Error(), "\n") && len(flattenErrs(err)) > 2 {
				t.Errorf("one mistake, several errors:\n%v", err)
			}
		})
	}
	if dataplane.MaxWorkers != 64 {
		t.Fatal("the test's bounds assume 64 workers at most")
	}
}
