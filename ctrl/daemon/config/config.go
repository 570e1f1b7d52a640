package config

import (
	"github.com/otkd/otkd/ctrl/cluster"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync/keysyncsvc"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/noise"
	"github.com/otkd/otkd/shm"
)

// Config is otkd's configuration: one value per key of the file (see the
// package doc for the schema). Load and Parse return a Config with defaults
// applied and validated; a Config built in code should start from Default
// and be checked with Validate. A Config is plain data: it holds paths, never
// key bytes.
type Config struct {
	Node        Node        `toml:"node"`
	Ports       []Port      `toml:"port"`
	Noise       Noise       `toml:"noise"`
	Negotiation Negotiation `toml:"negotiation"`
	Shm         Shm         `toml:"shm"`
	Store       Store       `toml:"store"`
	Controller  Controller  `toml:"controller"`
	// Keyrings are the consumer pools: a [keyring] table (one pool) or
	// [[keyring]] tables (one per pool); the keyring's section
	// (ctrl/keymgmt/keyring/keyringsvc).
	Keyrings []keyringsvc.Pool `toml:"keyring"`
	// Sync is key sync's section (ctrl/keymgmt/keysync/keysyncsvc).
	Sync keysyncsvc.Config `toml:"sync"`
	// MPC is threshold custody's section (ctrl/keymgmt/mpc/mpcsvc).
	MPC     mpcsvc.Config `toml:"mpc"`
	API     API           `toml:"api"`
	Metrics Metrics       `toml:"metrics"`
	Log     Log           `toml:"log"`

	// keyringTable: the file has a [keyring] table rather than
	// [[keyring]] tables (errors name its keys "keyring.x").
	keyringTable bool
}

// Node is the [node] table: this host's identity.
type Node struct {
	// Name names this node; its SM2 user id is "otkd:" + Name. Required.
	Name string `toml:"name"`
	// PrivateKey is the path of its SM2 private key (PEM PKCS#8, mode 0600
	// or 0400). Required.
	PrivateKey string `toml:"private_key"`
}

// Port is one [[port]] table: one end of one link.
type Port struct {
	Name          string  `toml:"name"`            // unique, [a-z0-9-]; required
	ID            uint16  `toml:"id"`              // unique; the port number in shm; required
	Role          string  `toml:"role"`            // "A" or "B"; required
	Line          string  `toml:"line"`            // "udp" (default)
	Local         string  `toml:"local"`           // ip:port bound; required
	Peer          string  `toml:"peer"`            // ip:port of the other end; required
	PeerName      string  `toml:"peer_name"`       // the other end's [node] name; required
	PeerPublicKey string  `toml:"peer_public_key"` // its pinned SM2 public key (PEM PKIX); required
	FrameRate     float64 `toml:"frame_rate"`      // frames/s; default DefaultFrameRate; 0 = unpaced
	SeedTimeout   string  `toml:"seed_timeout"`    // Go duration; no seed for this long is reported; "" = DefaultSeedTimeout
	// Client is the port's client: "tap:NAME" carries the Ethernet frames of
	// the TAP interface NAME (created or attached); "" sends the test pattern.
	Client    string `toml:"client"`
	ClientMTU int    `toml:"client_mtu"` // the client interface's MTU; default DefaultClientMTU

	// line = "udp": frames per sendmmsg/recvmmsg (0 or 1: one per call)
	// and the bound on a frame's wait in the send batch (Go duration, ""
	// = udp.DefaultMaxDelay; only with batch > 1).
	Batch    int    `toml:"batch"`
	MaxDelay string `toml:"max_delay"`
	// line = "xdp": the point-to-point interface, its receive queue, the
	// peer's Ethernet address, the AF_XDP data path ("auto", "copy",
	// "zero-copy") and how the XDP program attaches ("auto", "driver",
	// "generic").
	Interface string `toml:"interface"`
	Queue     int    `toml:"queue"`
	PeerMAC   string `toml:"peer_mac"`
	XDPMode   string `toml:"xdp_mode"`
	XDPAttach string `toml:"xdp_attach"`
	// Frame workers per direction (0: DefaultWorkers) and the CPUs the
	// port's pipeline threads are pinned to (empty: not pinned).
	Workers int   `toml:"workers"`
	CPUs    []int `toml:"cpus"`
}

// Noise is the [noise] table: the fields of noise.Profile that a running
// daemon uses.
type Noise struct {
	Level0        float64 `toml:"level0"`
	Level1        float64 `toml:"level1"`
	FibreSigma    float64 `toml:"fibre_sigma"`
	LocalSigmaMin float64 `toml:"local_sigma_min"`
	LocalSigmaMax float64 `toml:"local_sigma_max"`
	Loss          float64 `toml:"loss"`
	Burst         float64 `toml:"burst"`
	BurstLen      int     `toml:"burst_len"`
}

// Negotiation is the [negotiation] table: negotiation.Params and the
// activation margin.
type Negotiation struct {
	N                int     `toml:"n"`
	Alpha            float64 `toml:"alpha"`
	Epsilon          float64 `toml:"epsilon"`
	EntropyPerBit    float64 `toml:"entropy_per_bit"`
	InitialQBER      float64 `toml:"initial_qber"`
	TargetFailure    float64 `toml:"target_failure"`
	MaxBlocks        int     `toml:"max_blocks"`
	ActivationMargin uint32  `toml:"activation_margin"`
}

// Shm is the [shm] table: the shared-memory key store.
type Shm struct {
	Path  string `toml:"path"`
	Group string `toml:"group"`
	Slots int    `toml:"slots"`
}

// Store is the [store] table: the persistent key store.
type Store struct {
	Path    string `toml:"path"`
	KEKFile string `toml:"kek_file"`
}

// Controller is the [controller] table: the controller's own store.
type Controller struct {
	// Store is the kstore (bbolt) file of the key-management services
	// (keyrings, key sync, custody), or StoreEtcd: the etcd cluster of
	// [controller.etcd], shared by every otkd of a fleet (docs/cluster.md).
	Store string `toml:"store"`
	// Etcd is the [controller.etcd] table (with store = "etcd" only).
	Etcd cluster.Config `toml:"etcd"`
}

// StoreEtcd is the value of controller.store that puts the controller's
// store in etcd.
const StoreEtcd = "etcd"

// ControllerOnEtcd reports whether the controller store is etcd.
func (c *Config) ControllerOnEtcd() bool { return c.Controller.Store == StoreEtcd }

// API is the [api] table: the management socket.
type API struct {
	Socket string `toml:"socket"`
	Group  string `toml:"group"`
}

// Metrics is the [metrics] table.
type Metrics struct {
	// Listen is the ip:port of the Prometheus endpoint; "" turns it off.
	Listen string `toml:"listen"`
}

// Log is the [log] table.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
	// Summary is how often each port logs its summary line at INFO
	// (seeds, switches, frames, rejects, disagreement, health), a Go
	// duration of at least 1s; "0" turns it off.
	Summary string `toml:"summary"`
}

// Defaults that are not taken from another package.
const (
	DefaultFrameRate        = 10000 // frames/s of a UDP line
	DefaultSeedTimeout      = "5m"  // a port without a seed for this long is not healthy
	DefaultActivationMargin = 256   // frames
	DefaultShmPath          = "/dev/shm/otkd"
	DefaultStorePath        = "/var/lib/otkd/keys.db"
	DefaultControllerStore  = "/var/lib/otkd/controller.db"
	DefaultKEKFile          = "/etc/otkd/kek"
	DefaultSocket           = "/run/otkd/otkd.sock"
	DefaultLine             = "udp"
	DefaultClientMTU        = client.DefaultMTU // client_mtu
	DefaultXDPMode          = "auto"
	DefaultXDPAttach        = "auto"
	DefaultLogLevel         = "info"
	DefaultLogFormat        = "text"
	DefaultLogSummary       = "1m"
)

// Default returns the defaults of every field. It has no node and no port,
// so it does not validate as it is: a file must at least name the node, its
// private key and one port.
func Default() *Config {
	np := noise.DefaultProfile()
	pp := negotiation.DefaultParams()
	return &Config{
		Noise: Noise{
			Level0:        float64(np.Level0),
			Level1:        float64(np.Level1),
			FibreSigma:    np.FibreSigma,
			LocalSigmaMin: np.LocalSigmaMin,
			LocalSigmaMax: np.LocalSigmaMax,
			Loss:          np.Loss,
			Burst:         np.Burst,
			BurstLen:      np.BurstLen,
		},
		Negotiation: Negotiation{
			N:                pp.N,
			Alpha:            pp.Alpha,
			Epsilon:          pp.Epsilon,
			EntropyPerBit:    pp.EntropyPerBit,
			InitialQBER:      pp.InitialQBER,
			TargetFailure:    pp.TargetFailure,
			MaxBlocks:        pp.MaxBlocks,
			ActivationMargin: DefaultActivationMargin,
		},
		Shm:        Shm{Path: DefaultShmPath, Slots: shm.DefaultSlots},
		Store:      Store{Path: DefaultStorePath, KEKFile: DefaultKEKFile},
		Controller: Controller{Store: DefaultControllerStore},
		API:        API{Socket: DefaultSocket},
		Log:        Log{Level: DefaultLogLevel, Format: DefaultLogFormat, Summary: DefaultLogSummary},
	}
}

// defaultPort returns a port with the defaults of the optional keys.
func defaultPort() Port {
	return Port{Line: DefaultLine, FrameRate: DefaultFrameRate, ClientMTU: DefaultClientMTU}
}

// ClientTAP returns the name of the port's TAP client interface ("" when
// the port has no client). Validate accepts only "" and "tap:NAME".
func (p *Port) ClientTAP() string {
	name, ok := strings.CutPrefix(p.Client, clientTAPPrefix)
	if !ok {
		return ""
	}
	return name
}

// clientTAPPrefix starts a client of kind TAP.
const clientTAPPrefix = "tap:"

// MaxDelayDuration returns MaxDelay parsed, 0 when it is empty (the UDP
// line's default then applies).
func (p *Port) MaxDelayDuration() time.Duration {
	d, _ := time.ParseDuration(p.MaxDelay)
	return d
}

// PeerHardwareAddr returns PeerMAC parsed; nil if it does not parse.
func (p *Port) PeerHardwareAddr() net.HardwareAddr {
	a, err := net.ParseMAC(p.PeerMAC)
	if err != nil {
		return nil
	}
	return a
}

// DefaultWorkers is the number of frame workers per direction a port gets
// when its workers key is 0: half the CPUs it may use, at least 1 and at
// most 8, where the CPUs it may use are its cpus list or, without one, the
// CPUs the process may run on shared evenly among ports (each direction
// then has a core of its own per worker). On a 2-CPU host: 1 (TX on one
// core, RX on the other).
func DefaultWorkers(cpus, ports int) int {
	if ports < 1 {
		ports = 1
	}
	return min(max(1, cpus/ports/2), 8)
}

// EffectiveWorkers returns the port's workers, DefaultWorkers when it is
// 0; ports is the number of ports and allowed the number of CPUs the
// process may run on.
func (p *Port) EffectiveWorkers(ports, allowed int) int {
	switch {
	case p.Workers > 0:
		return p.Workers
	case len(p.CPUs) > 0:
		return DefaultWorkers(len(p.CPUs), 1)
	}
	return DefaultWorkers(allowed, ports)
}

// SeedTimeoutDuration returns SeedTimeout parsed, DefaultSeedTimeout when
// it is empty (Validate rejects one that does not parse or is under a
// second).
func (p *Port) SeedTimeoutDuration() time.Duration {
	s := p.SeedTimeout
	if s == "" {
		s = DefaultSeedTimeout
	}
	d, _ := time.ParseDuration(s)
	return d
}

// UserID returns this node's SM2 user id, "otkd:" + Node.Name.
func (c *Config) UserID() string { return UserID(c.Node.Name) }

// UserID returns the SM2 user id of the node named name.
func UserID(name string) string { return "otkd:" + name }

// PeerUserID returns the SM2 user id of the port's peer.
func (p *Port) PeerUserID() string { return UserID(p.PeerName) }

// LocalAddr returns Local parsed; the zero AddrPort if it does not parse
// (Validate rejects such a Config).
func (p *Port) LocalAddr() netip.AddrPort { return parseAddr(p.Local) }

// PeerAddr returns Peer parsed; the zero AddrPort if it does not parse.
func (p *Port) PeerAddr() netip.AddrPort { return parseAddr(p.Peer) }

func parseAddr(s string) netip.AddrPort {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}
	}
	return a
}

// DataplaneRole returns Role as a dataplane.Role ("B" → RoleB, anything
// else → RoleA; Validate accepts only "A" and "B").
func (p *Port) DataplaneRole() dataplane.Role {
	if p.Role == "B" {
		return dataplane.RoleB
	}
	return dataplane.RoleA
}

// NoiseProfile returns the noise profile: noise.DefaultProfile with the
// [noise] fields applied.
func (c *Config) NoiseProfile() noise.Profile {
	p := noise.DefaultProfile()
	p.Level0 = noise.Sample(c.Noise.Level0)
	p.Level1 = noise.Sample(c.Noise.Level1)
	p.FibreSigma = c.Noise.FibreSigma
	p.LocalSigmaMin = c.Noise.LocalSigmaMin
	p.LocalSigmaMax = c.Noise.LocalSigmaMax
	p.Loss = c.Noise.Loss
	p.Burst = c.Noise.Burst
	p.BurstLen = c.Noise.BurstLen
	return p
}

// Params returns the post-processing parameters of both directions of
// every port.
func (c *Config) Params() negotiation.Params {
	n := c.Negotiation
	return negotiation.Params{
		N:             n.N,
		Alpha:         n.Alpha,
		Epsilon:       n.Epsilon,
		EntropyPerBit: n.EntropyPerBit,
		InitialQBER:   n.InitialQBER,
		TargetFailure: n.TargetFailure,
		MaxBlocks:     n.MaxBlocks,
	}
}

// ShmOptions returns the [shm] table as shm.Options (Path, Group, Slots);
// the caller adds the logger and the published config.
func (c *Config) ShmOptions() shm.Options {
	return shm.Options{Path: c.Shm.Path, Group: c.Shm.Group, Slots: c.Shm.Slots}
}

// SlogLevel returns Log.Level as a slog.Level (info if it is not one of
// the four names).
func (c *Config) SlogLevel() slog.Level {
	switch c.Log.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// SummaryInterval returns Log.Summary parsed: how often each port logs its
// summary line; 0 for none.
func (c *Config) SummaryInterval() time.Duration {
	d, err := time.ParseDuration(c.Log.Summary)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// LogHandler returns a slog handler writing to w in Log.Format at the level
// of lv, which the daemon sets from SlogLevel (and again on reload).
func (c *Config) LogHandler(w io.Writer, lv slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: lv}
	if c.Log.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// epsilonMax is the largest Negotiation.Epsilon, 2^-64.
var epsilonMax = math.Ldexp(1, -64)
