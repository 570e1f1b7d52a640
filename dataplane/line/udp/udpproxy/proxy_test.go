package udpproxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addr(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// recvAll reads datagrams until none comes for 200 ms.
func recvAll(t *testing.T, c *net.UDPConn) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

func TestForwardAndAttack(t *testing.T) {
	a, b := listen(t), listen(t)
	p, err := New(addr(a), addr(b), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(c *net.UDPConn, to netip.AddrPort, msg string) {
		if _, err := c.WriteToUDPAddrPort([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
	}
	p.Record(0, 2)
	for _, m := range []string{"one", "two", "three"} {
		send(a, p.AddrFor(0), m)
	}
	send(b, p.AddrFor(1), "back")
	if got := recvAll(t, b); len(got) != 3 || string(got[2]) != "three" {
		t.Fatalf("B got %q", got)
	}
	if got := recvAll(t, a); len(got) != 1 || string(got[0]) != "back" {
		t.Fatalf("A got %q", got)
	}
	rec := p.Recorded(0)
	if len(rec) != 2 || string(rec[0]) != "two" {
		t.Fatalf("recorded %q", rec)
	}
	for _, r := range rec { // replay
		p.Inject(0, r)
	}
	p.SetHook(0, func(d int, pkt []byte) bool { pkt[0] = 'X'; return true })
	send(a, p.AddrFor(0), "four")
	if got := recvAll(t, b); len(got) != 3 || string(got[0]) != "two" || string(got[2]) != "Xour" {
		t.Fatalf("B got %q after replay and rewrite", got)
	}
	p.Cut(0, true)
	send(a, p.AddrFor(0), "cut")
	if got := recvAll(t, b); len(got) != 0 {
		t.Fatalf("B got %q through a cut", got)
	}
	p.Cut(0, false)
	p.SetHook(0, nil)
	p.SetImpair(0, Impair{Duplicate: 1})
	send(a, p.AddrFor(0), "dup")
	if got := recvAll(t, b); len(got) != 2 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("B got %q with duplication", got)
	}
	// A datagram from anyone but A is not forwarded.
	stranger := listen(t)
	send(stranger, p.AddrFor(0), "stranger")
	if got := recvAll(t, b); len(got) != 0 {
		t.Fatalf("forwarded a stranger's datagram: %q", got)
	}
	if s := p.Stats(0); s.Dropped != 1 || s.Duplicated != 1 || s.Injected != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSendSpoofed(t *testing.T) {
	victim := listen(t)
	forged := netip.MustParseAddrPort("127.0.0.1:9")
	err := SendSpoofed(forged, addr(victim), []byte("forged"))
	if errors.Is(err, ErrNoRaw) {
		t.Skip("no CAP_NET_RAW: cannot test spoofing")
	}
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	victim.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := victim.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "forged" || from != forged {
		t.Fatalf("got %q from %v", buf[:n], from)
	}
}
