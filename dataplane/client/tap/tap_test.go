package tap_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/client/tap"
	"github.com/otkd/otkd/dataplane/client/tap/taptest"
)

// link is what `ip -j link show` says of an interface.
type link struct {
	Flags []string `json:"flags"`
	MTU   int      `json:"mtu"`
	Kind  struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
}

func showLink(t *testing.T, ns *taptest.Netns, name string) (link, bool) {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "-d", "link", "show", "dev", name).Output()
	if err != nil {
		return link{}, false
	}
	var l []link
	if err := json.Unmarshal(out, &l); err != nil || len(l) != 1 {
		t.Fatalf("ip -j link: %v %s", err, out)
	}
	return l[0], true
}

func open(t *testing.T, ns *taptest.Netns, cfg tap.Config) (*tap.Device, error) {
	t.Helper()
	var d *tap.Device
	err := ns.Do(func() (err error) { d, err = tap.Open(cfg); return err })
	if d != nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}

// TestCreate: Open creates a missing interface, up, with the MTU asked;
// Close removes it.
func TestCreate(t *testing.T) {
	ns := taptest.New(t)
	name := taptest.Name("otk")
	d, err := open(t, ns, tap.Config{Name: name, MTU: 9000})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Created() || d.Name() != name || d.MTU() != 9000 {
		t.Fatalf("created %v name %q mtu %d", d.Created(), d.Name(), d.MTU())
	}
	l, ok := showLink(t, ns, name)
	if !ok || l.MTU != 9000 || !slices.Contains(l.Flags, "UP") || l.Kind.Kind != "tun" {
		t.Fatalf("interface: %+v", l)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := showLink(t, ns, name); ok {
		t.Fatal("the interface Open created outlived Close")
	}
}

// TestAttach: Open attaches to an existing persistent TAP, sets its MTU and
// brings it up; Close leaves it.
func TestAttach(t *testing.T) {
	ns := taptest.New(t)
	name := taptest.Name("otk")
	ns.IP(t, "tuntap", "add", "dev", name, "mode", "tap")
	d, err := open(t, ns, tap.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if d.Created() {
		t.Fatal("Created() for an interface that existed")
	}
	if l, _ := showLink(t, ns, name); l.MTU != tap.DefaultMTU || !slices.Contains(l.Flags, "UP") {
		t.Fatalf("interface: %+v", l)
	}
	d.Close()
	if _, ok := showLink(t, ns, name); !ok {
		t.Fatal("Close removed a persistent interface it did not create")
	}
}

// TestErrors: every refusal names its cause and leaves nothing behind.
func TestErrors(t *testing.T) {
	ns := taptest.New(t)
	dummy, peer := taptest.Name("otk"), taptest.Name("otk")
	ns.IP(t, "link", "add", dummy, "type", "veth", "peer", "name", peer)
	tun := taptest.Name("otk")
	ns.IP(t, "tuntap", "add", "dev", tun, "mode", "tun")
	held := taptest.Name("otk")
	if _, err := open(t, ns, tap.Config{Name: held}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  tap.Config
		want error
		says string
	}{
		{tap.Config{Name: "a-name-too-long-for-linux"}, tap.ErrName, "1-15 octets"},
		{tap.Config{Name: ""}, tap.ErrName, "invalid interface name"},
		{tap.Config{Name: "a/b"}, tap.ErrName, `"a/b"`},
		{tap.Config{Name: "otk%d"}, tap.ErrName, "otk%d"},
		{tap.Config{Name: "okname", MTU: 9601}, tap.ErrMTU, "9601, want 68..9600"},
		{tap.Config{Name: "okname", MTU: 67}, tap.ErrMTU, "67"},
		{tap.Config{Name: dummy}, tap.ErrNotTAP, dummy},
		{tap.Config{Name: tun}, tap.ErrNotTAP, tun},
		{tap.Config{Name: held}, tap.ErrBusy, held},
	} {
		d, err := open(t, ns, tc.cfg)
		if d != nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%+v: %v, want %v naming %q", tc.cfg, err, tc.want, tc.says)
		}
	}
	if _, ok := showLink(t, ns, "okname"); ok {
		t.Fatal("a refused Open left an interface")
	}
	if l, _ := showLink(t, ns, dummy); slices.Contains(l.Flags, "UP") {
		t.Fatal("a refused Open changed the existing interface")
	}
}

// TestNoCapNetAdmin: without CAP_NET_ADMIN (dropped on the calling thread
// only) Open says so.
func TestNoCapNetAdmin(t *testing.T) {
	ns := taptest.New(t)
	name := taptest.Name("otk")
	var d *tap.Device
	err := ns.Do(func() (err error) {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err
		}
		data[unix.CAP_NET_ADMIN/32].Effective &^= 1 << (unix.CAP_NET_ADMIN % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err
		}
		d, err = tap.Open(tap.Config{Name: name})
		return err
	})
	if d != nil {
		d.Close()
	}
	if !errors.Is(err, tap.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Fatalf("err %v, want ErrPermission naming CAP_NET_ADMIN", err)
	}
	if _, ok := showLink(t, ns, name); ok {
		t.Fatal("a refused Open left an interface")
	}
}

// TestTraffic exchanges real frames with the kernel: a UDP datagram sent
// in the namespace comes out of the TAP after an ARP request that the test
// answers by writing into it; a datagram the test writes into the TAP
// reaches a socket. Read and Write allocate nothing.
func TestTraffic(t *testing.T) {
	ns := taptest.New(t)
	name := taptest.Name("otk")
	d, err := open(t, ns, tap.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	ns.IP(t, "addr", "add", "10.99.0.1/24", "dev", name)
	var sock, lsn int
	if err := ns.Do(func() (err error) {
		if sock, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err = unix.Connect(sock, &unix.SockaddrInet4{Port: 7777, Addr: [4]byte{10, 99, 0, 2}}); err != nil {
			return err
		}
		if lsn, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.Bind(lsn, &unix.SockaddrInet4{Port: 6666, Addr: [4]byte{10, 99, 0, 1}})
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sock); unix.Close(lsn) })
	unix.SetsockoptTimeval(lsn, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})

	buf := make([]byte, 2048)
	deadline := time.AfterFunc(10*time.Second, func() { d.Close() })
	defer deadline.Stop()
	readType := func(etype uint16) []byte {
		t.Helper()
		for {
			n, err := d.Read(buf)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if n >= 14 && binary.BigEndian.Uint16(buf[12:]) == etype {
				return buf[:n]
			}
		}
	}
	if _, err := unix.Write(sock, []byte("hello through the tap")); err != nil {
		t.Fatal(err)
	}
	arp := readType(0x0806)
	if len(arp) < 42 || !net.IP(arp[38:42]).Equal(net.IPv4(10, 99, 0, 2)) {
		t.Fatalf("not an ARP request for 10.99.0.2: % x", arp)
	}
	ourMAC := []byte{0x02, 0, 0x5e, 0, 0, 2}
	kernelMAC := append([]byte(nil), arp[6:12]...)
	reply := arpReply(ourMAC, kernelMAC)
	if _, err := d.Write(reply); err != nil {
		t.Fatal(err)
	}
	ip := readType(0x0800)
	if !strings.HasSuffix(string(ip), "hello through the tap") {
		t.Fatalf("the datagram did not come out: % x", ip)
	}

	in := udpFrame(ourMAC, kernelMAC, "written into the tap")
	if _, err := d.Write(in); err != nil {
		t.Fatal(err)
	}
	n, _, err := unix.Recvfrom(lsn, buf, 0)
	if err != nil || string(buf[:n]) != "written into the tap" {
		t.Fatalf("socket got %q, %v", buf[:n], err)
	}

	// A frame longer than the buffer is cut to it.
	small := make([]byte, 20)
	x := []byte("x")
	if allocs := testing.AllocsPerRun(20, func() {
		unix.Write(sock, x)
		if n, err := d.Read(small); err != nil || n != len(small) {
			t.Fatalf("read %d, %v", n, err)
		}
		if _, err := d.Write(in); err != nil {
			t.Fatal(err)
		}
		unix.Read(lsn, buf)
	}); allocs != 0 {
		t.Fatalf("%v allocations per read and write", allocs)
	}
}

// TestCloseEndsRead: Close wakes a Read that waits for a frame.
func TestCloseEndsRead(t *testing.T) {
	ns := taptest.New(t)
	d, err := open(t, ns, tap.Config{Name: taptest.Name("otk")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		buf := make([]byte, 1600)
		for { // the kernel may send IPv6 solicitations meanwhile
			if _, err := d.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	d.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Read returned no error after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the Read")
	}
}

func arpReply(src, dst []byte) []byte {
	f := append(append(append([]byte(nil), dst...), src...), 0x08, 0x06)
	f = append(f, 0, 1, 8, 0, 6, 4, 0, 2)
	f = append(append(f, src...), 10, 99, 0, 2)
	f = append(append(f, dst...), 10, 99, 0, 1)
	return f
}

// udpFrame builds an Ethernet frame with an IPv4/UDP datagram from
// 10.99.0.2:7777 to 10.99.0.1:6666.
func udpFrame(src, dst []byte, payload string) []byte {
	f := append(append(append([]byte(nil), dst...), src...), 0x08, 0x00)
	ipLen := 20 + 8 + len(payload)
	ip := []byte{0x45, 0, byte(ipLen >> 8), byte(ipLen), 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 2, 10, 99, 0, 1}
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := []byte{0x1E, 0x61, 0x1A, 0x0A, byte((8 + len(payload)) >> 8), byte(8 + len(payload)), 0, 0}
	return append(append(append(f, ip...), udp...), payload...)
}
