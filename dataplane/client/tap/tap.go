// Package tap opens a Linux TAP interface as a client of an otkd port: one
// Ethernet MAC frame, without FCS, per Read and per Write.
//
// Open creates the interface when it does not exist (it then lives as long
// as the Device) or attaches to it when it does (a persistent TAP made with
// `ip tuntap add`, left in place by Close); brings it up and sets its MTU.
// otkd assigns no addresses: the operator does. The file descriptor is
// non-blocking and served by the Go runtime's poller, so a Read that finds
// no frame parks its goroutine (no spinning) and every frame queued at a
// wake-up is read without waiting again; neither Read nor Write allocates.
// The interface and the calls that configure it are in the network
// namespace of the calling thread.
//
// Not done, and why: IFF_VNET_HDR with GSO/TSO would hand over 64 KiB TCP
// segments that otkd would have to cut into MTU-sized frames itself (a
// second copy and the checksums) before mapping them; IFF_MULTI_QUEUE
// would feed several readers where the TX ring has one producer. A TAP fd
// moves one frame per system call either way.
package tap

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MTU limits (the client MTU otkd carries).
const (
	DefaultMTU = 1500
	MinMTU     = 68
	MaxMTU     = 9600
)

// Errors of Open; each wrapped with the interface name.
var (
	ErrNoTun      = errors.New("tap: /dev/net/tun is missing (is the tun module loaded?)")
	ErrPermission = errors.New("tap: permission denied (creating or configuring an interface needs CAP_NET_ADMIN)")
	ErrName       = errors.New("tap: invalid interface name")
	ErrMTU        = errors.New("tap: MTU out of range")
	ErrNotTAP     = errors.New("tap: the interface exists and is not a TAP interface")
	ErrBusy       = errors.New("tap: the interface is attached to another process")
)

// Config says which interface to open.
type Config struct {
	// Name is the interface name: 1-15 octets, no '/', ':', '%' or space.
	Name string
	// MTU is set on the interface: DefaultMTU when 0, MinMTU..MaxMTU.
	MTU int
}

// Device is an open TAP interface. Read and Write may run concurrently
// (one goroutine each); Close ends a Read or Write in progress.
type Device struct {
	f       *os.File
	name    string
	mtu     int
	created bool
}

// Open opens (creating if needed) the TAP interface cfg.Name, sets its MTU
// and brings it up.
func Open(cfg Config) (*Device, error) {
	if err := CheckName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < MinMTU || cfg.MTU > MaxMTU {
		return nil, fmt.Errorf("%w: %d, want %d..%d", ErrMTU, cfg.MTU, MinMTU, MaxMTU)
	}
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: control socket: %w", cfg.Name, err)
	}
	defer unix.Close(sock)
	existed, err := exists(sock, cfg.Name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(cfg.Name, "/dev/net/tun", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	ifr, _ := unix.NewIfreq(cfg.Name)
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return nil, openError(cfg.Name, "TUNSETIFF", err)
	}
	if err := setMTU(sock, cfg.Name, cfg.MTU); err != nil {
		return nil, err
	}
	if err := up(sock, cfg.Name); err != nil {
		return nil, err
	}
	ok = true
	// A non-blocking descriptor goes to the runtime poller.
	f := os.NewFile(uintptr(fd), "tap:"+cfg.Name)
	return &Device{f: f, name: cfg.Name, mtu: cfg.MTU, created: !existed}, nil
}

// CheckName applies the kernel's rules for interface names, and refuses '%'
// (a name template would create another name than asked): the names Open
// accepts.
func CheckName(name string) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/:% \t\n\r\v\f") {
		return fmt.Errorf("%w %q: 1-%d octets, no '/', ':', '%%' or white space", ErrName, name, unix.IFNAMSIZ-1)
	}
	return nil
}

// exists reports whether an interface of that name exists in the current
// network namespace.
func exists(sock int, name string) (bool, error) {
	ifr, _ := unix.NewIfreq(name)
	err := unix.IoctlIfreq(sock, unix.SIOCGIFINDEX, ifr)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENODEV):
		return false, nil
	}
	return false, fmt.Errorf("tap %s: looking the interface up: %w", name, err)
}

// openError names the cause of a failed open or TUNSETIFF.
func openError(name, what string, err error) error {
	var cause error
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		cause = ErrNoTun
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		cause = ErrPermission
	case errors.Is(err, unix.EBUSY):
		cause = ErrBusy
	case errors.Is(err, unix.EINVAL) && what == "TUNSETIFF":
		cause = ErrNotTAP
	default:
		return fmt.Errorf("tap %s: %s: %w", name, what, err)
	}
	return fmt.Errorf("tap %s: %w (%s: %v)", name, cause, what, err)
}

func setMTU(sock int, name string, mtu int) error {
	ifr, _ := unix.NewIfreq(name)
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFMTU, ifr); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("tap %s: %w (setting the MTU: %v)", name, ErrPermission, err)
		}
		return fmt.Errorf("tap %s: setting the MTU to %d: %w", name, mtu, err)
	}
	return nil
}

func up(sock int, name string) error {
	ifr, _ := unix.NewIfreq(name)
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap %s: reading the flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("tap %s: %w (bringing it up: %v)", name, ErrPermission, err)
		}
		return fmt.Errorf("tap %s: bringing it up: %w", name, err)
	}
	return nil
}

// Name returns the interface name.
func (d *Device) Name() string { return d.name }

// MTU returns the MTU Open set.
func (d *Device) MTU() int { return d.mtu }

// Created reports whether Open created the interface (it then goes away
// with Close) rather than attaching to an existing one.
func (d *Device) Created() bool { return d.created }

// Read waits for the next frame the kernel sends out of the interface and
// reads it into p. A frame longer than p is cut to len(p) (the kernel
// reports its full length; Read returns len(p)): a caller that must see
// over-long frames reads into a buffer longer than the longest it takes.
func (d *Device) Read(p []byte) (int, error) {
	n, err := d.f.Read(p)
	return min(n, len(p)), err
}

// Write hands one frame to the kernel as received on the interface. It
// fails (EIO) while the interface is down.
func (d *Device) Write(p []byte) (int, error) { return d.f.Write(p) }

// Close detaches from the interface (which goes away if Open created it)
// and ends a Read or Write in progress with os.ErrClosed.
func (d *Device) Close() error { return d.f.Close() }
