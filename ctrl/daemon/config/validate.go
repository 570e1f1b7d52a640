package config

import (
	"errors"
	"fmt"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/service"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/dataplane/client/tap"
	"github.com/otkd/otkd/dataplane/line/udp"
	"github.com/otkd/otkd/noise"
	"github.com/otkd/otkd/shm"
)

// Sentinels and the error type of the configuration (one definition, in
// ctrl/service, which the features' sections share).
var (
	// ErrInvalid is wrapped by every error of Load, Parse and Validate.
	ErrInvalid = service.ErrInvalid
	// ErrFile is wrapped by every error of CheckFiles.
	ErrFile = service.ErrFile
)

// FieldError names one bad field of a configuration and the reason.
type FieldError = service.FieldError

type problems = service.Problems

var show = service.Show

// Limits that catch mistakes; none is a property of the hardware.
const (
	MaxPorts            = 256
	MaxNameLen          = service.MaxNameLen // node names
	MaxPortNameLen      = 32
	MaxActivationMargin = 1 << 20 // frames, ≈ 12.8 s at the OTU2 rate
	maxSocketPath       = 107     // sun_path holds 108 bytes with the NUL
	maxBlocks           = 64      // negotiation's own bound on MaxBlocks
)

var (
	portNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	groupRE    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$`)
)

// Validate reports every bad field, joined with errors.Join; each is a
// *FieldError wrapping ErrInvalid. It looks at c only: no file is opened.
func (c *Config) Validate() error {
	var ps problems
	c.validateNode(&ps)
	c.validatePorts(&ps)
	c.validateNoise(&ps)
	c.validateNegotiation(&ps)
	c.validatePaths(&ps)
	c.validateRest(&ps)
	c.validateController(&ps)
	keyringsvc.Validate(c.Keyrings, c.keyringTable, c.env(), &ps)
	c.Sync.Validate(&ps)
	c.MPC.Validate(&ps)
	return errors.Join(ps...)
}

func checkNodeName(ps *problems, field, name string) {
	if !ps.CheckName(field, name, "") {
		return
	}
	if err := handshake.CheckID(UserID(name)); err != nil {
		ps.Add(field, name, "not a usable SM2 user id: %v", err)
	}
}

// env is what the features' sections need of the rest of the file.
func (c *Config) env() service.Env {
	e := service.Env{ShmPath: c.Shm.Path, ShmSlots: c.Shm.Slots, PortKeys: PortKeysAtOnce}
	for _, p := range c.Ports {
		e.Ports = append(e.Ports, p.Name)
	}
	if c.Shm.Slots < 1 || c.Shm.Slots > shm.MaxSlots || len(c.Ports) > MaxPorts {
		e.ShmSlots = 0 // reported already: no capacity check
	}
	return e
}

// PortKeysAtOnce is how many keys one [[port]] can have in the daemon's
// map ([shm]) at once: per direction the active key, the one before it
// (ctrl/link/publish keeps 2) and, while it is being published, the next
// one before the oldest is retired.
const PortKeysAtOnce = 2 * 3

func (c *Config) validateNode(ps *problems) {
	checkNodeName(ps, "node.name", c.Node.Name)
	if c.Node.PrivateKey == "" {
		ps.Add("node.private_key", nil, "required, missing: the path of this node's SM2 private key (PEM PKCS#8)")
	}
}

func (c *Config) validatePorts(ps *problems) {
	switch {
	case len(c.Ports) == 0:
		ps.Add("port", nil, "at least one [[port]] table is required")
	case len(c.Ports) > MaxPorts:
		ps.Add("port", len(c.Ports), "more than %d ports", MaxPorts)
	}
	names := map[string]int{}
	ids := map[uint16]int{}
	locals := map[netip.AddrPort]int{}
	peers := map[netip.AddrPort]int{}
	clients := map[string]int{}
	ifaces := map[string]int{}
	for i := range c.Ports {
		p := &c.Ports[i]
		f := func(key string) string { return fmt.Sprintf("port[%d].%s", i, key) }
		switch {
		case p.Name == "":
			ps.Add(f("name"), nil, "required, missing")
		case len(p.Name) > MaxPortNameLen || !portNameRE.MatchString(p.Name):
			ps.Add(f("name"), p.Name, "want 1..%d of [a-z0-9-], not starting or ending with '-' nor holding \"--\"", MaxPortNameLen)
		}
		if j, dup := names[p.Name]; dup && p.Name != "" {
			ps.Add(f("name"), p.Name, "duplicate of port[%d].name", j)
		} else {
			names[p.Name] = i
		}
		if j, dup := ids[p.ID]; dup {
			ps.Add(f("id"), p.ID, "duplicate of port[%d].id", j)
		} else {
			ids[p.ID] = i
		}
		if p.Role != "A" && p.Role != "B" {
			ps.Add(f("role"), p.Role, `want "A" or "B" (the peer's port has the other one)`)
		}
		switch p.Line {
		case "udp":
			validateUDP(ps, i, p, locals, peers)
		case "xdp":
			validateXDP(ps, i, p, ifaces)
		case "simfiber":
			ps.Add(f("line"), p.Line, "the simulated fibre joins two ends inside one process (otkd demo and tests); otkd run supports \"udp\" and \"xdp\"")
		default:
			ps.Add(f("line"), p.Line, `want "udp" or "xdp"`)
		}
		validateWorkers(ps, i, p)
		checkNodeName(ps, f("peer_name"), p.PeerName)
		if p.PeerName != "" && p.PeerName == c.Node.Name {
			ps.Add(f("peer_name"), p.PeerName, "equals node.name: the two ends of a link need different names")
		}
		if p.PeerPublicKey == "" {
			ps.Add(f("peer_public_key"), nil, "required, missing: the path of the peer's SM2 public key (PEM PKIX)")
		}
		if math.IsNaN(p.FrameRate) || math.IsInf(p.FrameRate, 0) || p.FrameRate < 0 {
			ps.Add(f("frame_rate"), p.FrameRate, "want a finite number of frames/s ≥ 0 (0 = unpaced)")
		}
		if d, err := time.ParseDuration(p.SeedTimeout); p.SeedTimeout != "" && (err != nil || d < time.Second) {
			ps.Add(f("seed_timeout"), p.SeedTimeout, "want a duration of at least 1s, e.g. \"5m\"")
		}
		validateClient(ps, f, p, clients, i)
	}
}

// validateClient checks a port's client and client_mtu; clients maps the
// TAP names taken by earlier ports.
func validateClient(ps *problems, f func(string) string, p *Port, clients map[string]int, i int) {
	if p.ClientMTU < client.MinMTU || p.ClientMTU > client.MaxMTU {
		ps.Add(f("client_mtu"), p.ClientMTU, "want %d..%d octets (the client interface's MTU)", client.MinMTU, client.MaxMTU)
	}
	if p.Client == "" {
		return
	}
	if !strings.HasPrefix(p.Client, clientTAPPrefix) {
		ps.Add(f("client"), p.Client, `want "tap:NAME" (a TAP interface) or no client`)
		return
	}
	name := p.ClientTAP()
	if err := tap.CheckName(name); err != nil {
		ps.Add(f("client"), p.Client, "want tap:NAME with NAME a Linux interface name: 1..15 octets, no '/', ':', '%%' or white space")
		return
	}
	if j, dup := clients[name]; dup {
		ps.Add(f("client"), p.Client, "duplicate of port[%d].client: one interface feeds one port", j)
		return
	}
	clients[name] = i
}

// validateUDP checks a port of line "udp": its addresses (unique among
// the ports), batch and max_delay, and that no key of the AF_XDP line is
// set.
func validateUDP(ps *problems, i int, p *Port, locals, peers map[netip.AddrPort]int) {
	f := func(key string) string { return fmt.Sprintf("port[%d].%s", i, key) }
	local, okL := checkAddr(ps, f("local"), p.Local, false)
	peer, okP := checkAddr(ps, f("peer"), p.Peer, true)
	if okL && okP {
		switch {
		case local == peer:
			ps.Add(f("peer"), p.Peer, "equals port[%d].local", i)
		case local.Addr().Unmap().Is4() != peer.Addr().Unmap().Is4():
			ps.Add(f("peer"), p.Peer, "not of the same address family as port[%d].local %q", i, p.Local)
		}
	}
	if j, dup := locals[local]; okL && dup {
		ps.Add(f("local"), p.Local, "duplicate of port[%d].local", j)
	} else if okL {
		locals[local] = i
	}
	if j, dup := peers[peer]; okP && dup {
		ps.Add(f("peer"), p.Peer, "duplicate of port[%d].peer", j)
	} else if okP {
		peers[peer] = i
	}
	if p.Batch < 0 || p.Batch > udp.MaxBatch {
		ps.Add(f("batch"), p.Batch, "want 0…%d frames per system call (0 or 1: one per call)", udp.MaxBatch)
	}
	if p.MaxDelay != "" {
		d, err := time.ParseDuration(p.MaxDelay)
		switch {
		case err != nil || d <= 0 || d > time.Second:
			ps.Add(f("max_delay"), p.MaxDelay, "want a duration above 0 and at most 1s, e.g. \"200us\"")
		case p.Batch <= 1:
			ps.Add(f("max_delay"), p.MaxDelay, "only with batch > 1 (frames wait in a batch only then)")
		}
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"interface", p.Interface != ""}, {"queue", p.Queue != 0}, {"peer_mac", p.PeerMAC != ""},
		{"xdp_mode", p.XDPMode != ""}, {"xdp_attach", p.XDPAttach != ""}} {
		if k.set {
			ps.Add(f(k.key), nil, "only for line = \"xdp\"")
		}
	}
}

// maxIfName is the longest interface name Linux takes (IFNAMSIZ - 1).
const maxIfName = 15

// validateXDP checks a port of line "xdp": interface (one port per
// interface), queue, peer_mac, the modes, and that no key of the UDP line
// is set. Whether the interface exists, supports XDP and may be used is
// only known when otkd opens it.
func validateXDP(ps *problems, i int, p *Port, ifaces map[string]int) {
	f := func(key string) string { return fmt.Sprintf("port[%d].%s", i, key) }
	switch {
	case p.Interface == "":
		ps.Add(f("interface"), nil, "required, missing: the point-to-point Ethernet interface to the peer")
	case len(p.Interface) > maxIfName || strings.ContainsAny(p.Interface, "/ \t\n:") || p.Interface == "." || p.Interface == "..":
		ps.Add(f("interface"), p.Interface, "not an interface name (1..%d bytes, no '/', ':' or white space)", maxIfName)
	default:
		if j, dup := ifaces[p.Interface]; dup {
			ps.Add(f("interface"), p.Interface, "also port[%d]'s: one AF_XDP line per interface", j)
		} else {
			ifaces[p.Interface] = i
		}
	}
	if p.Queue < 0 || p.Queue > xdpMaxQueue {
		ps.Add(f("queue"), p.Queue, "want a receive queue 0…%d", xdpMaxQueue)
	}
	if p.PeerMAC == "" {
		ps.Add(f("peer_mac"), nil, "required, missing: the peer's Ethernet address, e.g. \"02:00:00:00:00:02\"")
	} else if mac, err := net.ParseMAC(p.PeerMAC); err != nil || len(mac) != 6 {
		ps.Add(f("peer_mac"), p.PeerMAC, "want a 6-byte Ethernet address, e.g. \"02:00:00:00:00:02\"")
	} else if mac[0]&1 != 0 || [6]byte(mac) == [6]byte{} {
		ps.Add(f("peer_mac"), p.PeerMAC, "a group or zero address: want the peer's unicast address")
	}
	switch p.XDPMode {
	case "", "auto", "copy", "zero-copy":
	default:
		ps.Add(f("xdp_mode"), p.XDPMode, `want "auto", "copy" or "zero-copy"`)
	}
	switch p.XDPAttach {
	case "", "auto", "driver", "generic":
	default:
		ps.Add(f("xdp_attach"), p.XDPAttach, `want "auto", "driver" or "generic"`)
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"local", p.Local != ""}, {"peer", p.Peer != ""}, {"batch", p.Batch != 0}, {"max_delay", p.MaxDelay != ""}} {
		if k.set {
			ps.Add(f(k.key), nil, "only for line = \"udp\"")
		}
	}
}

// xdpMaxQueue is the highest receive queue the AF_XDP line can bind.
const xdpMaxQueue = 63

// validateWorkers checks workers and cpus: CPUs this process may run on,
// each listed once.
func validateWorkers(ps *problems, i int, p *Port) {
	f := func(key string) string { return fmt.Sprintf("port[%d].%s", i, key) }
	if p.Workers < 0 || p.Workers > dataplane.MaxWorkers {
		ps.Add(f("workers"), p.Workers, "want 0 (chosen from the CPUs) or 1…%d frame workers per direction", dataplane.MaxWorkers)
	}
	if len(p.CPUs) == 0 {
		return
	}
	allowed, err := dataplane.AllowedCPUs()
	if err != nil {
		ps.Add(f("cpus"), fmt.Sprint(p.CPUs), "cannot read the CPUs this process may use: %v", err)
		return
	}
	ok := map[int]bool{}
	for _, c := range allowed {
		ok[c] = true
	}
	seen := map[int]bool{}
	for _, c := range p.CPUs {
		switch {
		case seen[c]:
			ps.Add(f("cpus"), fmt.Sprint(p.CPUs), "CPU %d is listed twice", c)
		case !ok[c]:
			ps.Add(f("cpus"), fmt.Sprint(p.CPUs), "CPU %d is not one this process may run on (%s)", c, cpuRanges(allowed))
		}
		seen[c] = true
	}
}

// cpuRanges writes a sorted CPU list as "0-3,8".
func cpuRanges(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		} else {
			fmt.Fprintf(&b, "%d", cpus[i])
		}
		i = j + 1
	}
	return b.String()
}

// checkAddr parses an ip:port; a peer must name a host, a local address
// may be unspecified (0.0.0.0 or ::).
func checkAddr(ps *problems, field, s string, peer bool) (netip.AddrPort, bool) {
	if s == "" {
		ps.Add(field, nil, "required, missing: want ip:port")
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddrPort(s)
	switch {
	case err != nil:
		ps.Add(field, s, "want ip:port with a literal IP address (e.g. \"127.0.0.1:7400\" or \"[::1]:7400\"): %v", err)
	case a.Addr().Zone() != "":
		ps.Add(field, s, "IPv6 zones are not supported")
	case a.Port() == 0:
		ps.Add(field, s, "port 0: want the fixed UDP port the other end sends to")
	case peer && a.Addr().IsUnspecified():
		ps.Add(field, s, "unspecified address: want the other end's address")
	case peer && a.Addr().IsMulticast():
		ps.Add(field, s, "multicast address: want the other end's unicast address")
	default:
		return a, true
	}
	return netip.AddrPort{}, false
}

// noiseKeys maps noise.Profile's field names to keys of [noise].
var noiseKeys = map[string]string{
	"Level0": "level0", "Level1": "level1", "FibreSigma": "fibre_sigma",
	"LocalSigmaMin": "local_sigma_min", "LocalSigmaMax": "local_sigma_max",
	"Loss": "loss", "Burst": "burst", "BurstLen": "burst_len",
}

// noiseFieldRE finds the field names of noiseKeys in a reason.
var noiseFieldRE = regexp.MustCompile(`\b(Level0|Level1|FibreSigma|LocalSigmaMin|LocalSigmaMax|Loss|Burst|BurstLen)\b`)

// validateNoise applies noise.Profile's own rules and names the keys.
func (c *Config) validateNoise(ps *problems) {
	p := c.NoiseProfile()
	err := p.Validate()
	if err == nil {
		return
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		var pe *noise.ProfileError
		if !errors.As(e, &pe) {
			ps.Add("noise", nil, "%v", e)
			continue
		}
		key, ok := noiseKeys[pe.Field]
		if !ok {
			key = pe.Field
		}
		reason := noiseFieldRE.ReplaceAllStringFunc(pe.Reason, func(f string) string { return "noise." + noiseKeys[f] })
		*ps = append(*ps, &FieldError{Field: "noise." + key, Value: pe.Value, Reason: reason, Err: ErrInvalid})
	}
}

func (c *Config) validateNegotiation(ps *problems) {
	n := c.Negotiation
	before := len(*ps)
	if lo, hi := 2*negotiation.SeedBits, negotiation.MaxBlockRounds; n.N < lo || n.N > hi {
		ps.Add("negotiation.n", n.N, "want %d..%d counts per block (at least twice the %d seed bits)", lo, hi, negotiation.SeedBits)
	}
	if !(n.Alpha >= 0 && n.Alpha <= 3) {
		ps.Add("negotiation.alpha", n.Alpha, "want 0 ≤ alpha ≤ 3 (the guard band is mean ± alpha·std)")
	}
	if !(n.Epsilon > 0 && n.Epsilon <= epsilonMax) {
		ps.Add("negotiation.epsilon", n.Epsilon, "want 0 < epsilon ≤ 2^-64 (5.421010862427522e-20)")
	}
	if !(n.EntropyPerBit > 0 && n.EntropyPerBit <= 1) {
		ps.Add("negotiation.entropy_per_bit", n.EntropyPerBit, "want 0 < entropy_per_bit ≤ 1")
	}
	if !(n.InitialQBER > 0 && n.InitialQBER <= 0.25) {
		ps.Add("negotiation.initial_qber", n.InitialQBER, "want 0 < initial_qber ≤ 0.25")
	}
	if !(n.TargetFailure > 0 && n.TargetFailure < 1) {
		ps.Add("negotiation.target_failure", n.TargetFailure, "want 0 < target_failure < 1")
	}
	if n.MaxBlocks < 1 || n.MaxBlocks > maxBlocks {
		ps.Add("negotiation.max_blocks", n.MaxBlocks, "want 1..%d", maxBlocks)
	}
	if n.ActivationMargin < 1 || n.ActivationMargin > MaxActivationMargin {
		ps.Add("negotiation.activation_margin", n.ActivationMargin, "want 1..%d frames", MaxActivationMargin)
	}
	// negotiation.Params has the last word: a rule added there and not
	// here still stops the daemon.
	if len(*ps) == before {
		if err := c.Params().Validate(); err != nil {
			ps.Add("negotiation", nil, "%v", err)
		}
	}
}

// validatePaths checks that every path is given and that no two name the
// same file.
func (c *Config) validatePaths(ps *problems) {
	type path struct{ field, p string }
	paths := []path{
		{"node.private_key", c.Node.PrivateKey},
		{"shm.path", c.Shm.Path},
		{"store.path", c.Store.Path},
		{"store.kek_file", c.Store.KEKFile},
		{"api.socket", c.API.Socket},
	}
	if !c.ControllerOnEtcd() {
		paths = append(paths, path{"controller.store", c.Controller.Store})
	}
	seen := map[string]string{}
	for _, p := range paths {
		if p.p == "" {
			if p.field != "node.private_key" { // reported by validateNode
				ps.Add(p.field, nil, "required, missing")
			}
			continue
		}
		if strings.IndexByte(p.p, 0) >= 0 {
			ps.Add(p.field, p.p, "contains a NUL byte")
			continue
		}
		clean := filepath.Clean(p.p)
		if other, dup := seen[clean]; dup {
			ps.Add(p.field, p.p, "same file as %s", other)
		} else {
			seen[clean] = p.field
		}
	}
	if len(c.API.Socket) > maxSocketPath {
		ps.Add("api.socket", c.API.Socket, "%d bytes, longer than a unix socket path may be (%d)", len(c.API.Socket), maxSocketPath)
	}
}

// validateController checks [controller.etcd] against controller.store.
func (c *Config) validateController(ps *problems) {
	switch {
	case c.ControllerOnEtcd():
		c.Controller.Etcd.Validate(ps)
	case !c.Controller.Etcd.Empty():
		ps.Add("controller.etcd", nil, "set, but controller.store is a file: set controller.store = %q to use etcd, or remove the table", StoreEtcd)
	}
}

func (c *Config) validateRest(ps *problems) {
	if c.Shm.Slots < 1 || c.Shm.Slots > shm.MaxSlots {
		ps.Add("shm.slots", c.Shm.Slots, "want 1..%d", shm.MaxSlots)
	}
	checkGroup(ps, "shm.group", c.Shm.Group)
	checkGroup(ps, "api.group", c.API.Group)
	if l := c.Metrics.Listen; l != "" {
		a, err := netip.ParseAddrPort(l)
		switch {
		case err != nil:
			ps.Add("metrics.listen", l, "want \"\" (off) or ip:port with a literal IP (e.g. \"127.0.0.1:9464\"): %v", err)
		case a.Port() == 0:
			ps.Add("metrics.listen", l, "port 0: want a fixed port")
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.Add("log.level", c.Log.Level, `want "debug", "info", "warn" or "error"`)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		ps.Add("log.format", c.Log.Format, `want "text" or "json"`)
	}
	if d, err := time.ParseDuration(c.Log.Summary); c.Log.Summary != "0" && (err != nil || d < time.Second) {
		ps.Add("log.summary", c.Log.Summary, `want a duration of at least 1s (e.g. "1m"), or "0" for none`)
	}
}

func checkGroup(ps *problems, field, g string) {
	if g != "" && !groupRE.MatchString(g) {
		ps.Add(field, g, "not a group name or numeric gid")
	}
}
