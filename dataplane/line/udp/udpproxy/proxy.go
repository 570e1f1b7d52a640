// Package udpproxy is an attacker on the path between two UDP line ends
// (package udp), for tests: every datagram of both directions passes
// through it, and it can drop, duplicate, delay (reorder), flip bits in,
// rewrite, record, replay and inject datagrams, and cut a direction. It
// also sends datagrams with a forged source address from a raw socket
// (SendSpoofed), as an attacker off the path would.
//
// Wiring: a Proxy listens on two loopback sockets. Side 0 faces end A: A's
// line sends to Proxy.AddrFor(0) and the proxy forwards to B from side 1;
// B's line sends to AddrFor(1) and the proxy forwards to A from side 0.
// Each end's Config.Peer is therefore the proxy's address for that end,
// and its source check holds. Direction 0 is A→B, 1 is B→A.
//
// The proxy is a test tool: it allocates per datagram and takes locks; its
// randomness is a seeded PCG. Close stops both forwarding goroutines.
package udpproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
)

// Impair is what the proxy does to one direction on its own. Zero is a
// clean path.
type Impair struct {
	Loss      float64 // probability a datagram is dropped
	Duplicate float64 // probability it is sent twice
	Reorder   float64 // probability it is held back 1…ReorderDepth datagrams
	// ReorderDepth defaults to 4.
	ReorderDepth int
	Flip         float64 // probability FlipBits random bits are flipped
	// FlipBits defaults to 1.
	FlipBits int
}

// Hook sees each datagram of direction d before the impairments and may
// rewrite it in place; it returns false to drop it. It runs on the
// direction's forwarding goroutine, under the direction's lock: it must not
// call the Proxy.
type Hook func(d int, pkt []byte) bool

// Stats counts what the proxy did, per direction.
type Stats struct {
	Forwarded, Dropped, Duplicated, Reordered, Flipped, Injected uint64
}

type dirState struct {
	mu      sync.Mutex
	impair  Impair
	hook    Hook
	cut     bool
	record  int      // keep the last record datagrams
	rec     [][]byte // oldest first
	held    []held
	rng     *rand.Rand
	st      Stats
	outSide int
	d       int
}

type held struct {
	pkt  []byte
	left int
}

// Proxy is a running on-path attacker.
type Proxy struct {
	conns  [2]*net.UDPConn
	ends   [2]netip.AddrPort // A's and B's real addresses
	dirs   [2]*dirState
	wg     sync.WaitGroup
	closed atomic.Bool
}

// New starts a proxy between end A at a and end B at b (loopback
// addresses), listening on two fresh loopback ports.
func New(a, b netip.AddrPort, seed uint64) (*Proxy, error) {
	p := &Proxy{ends: [2]netip.AddrPort{a, b}}
	for i := range p.conns {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.Addr(), 0)))
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("udpproxy: listen: %w", err)
		}
		c.SetReadBuffer(4 << 20)
		c.SetWriteBuffer(4 << 20)
		p.conns[i] = c
	}
	for d := range p.dirs {
		p.dirs[d] = &dirState{rng: rand.New(rand.NewPCG(seed, uint64(d))), outSide: 1 - d, d: d}
	}
	for d := range 2 {
		p.wg.Add(1)
		go p.forwardLoop(d)
	}
	return p, nil
}

// AddrFor returns the address end (0 = A, 1 = B) must use as its peer.
func (p *Proxy) AddrFor(end int) netip.AddrPort {
	return p.conns[end].LocalAddr().(*net.UDPAddr).AddrPort()
}

// SetImpair sets the impairments of direction d.
func (p *Proxy) SetImpair(d int, im Impair) {
	s := p.dirs[d]
	s.mu.Lock()
	if im.ReorderDepth <= 0 {
		im.ReorderDepth = 4
	}
	if im.FlipBits <= 0 {
		im.FlipBits = 1
	}
	s.impair = im
	s.mu.Unlock()
}

// SetHook sets (nil: removes) the rewriting hook of direction d.
func (p *Proxy) SetHook(d int, h Hook) {
	s := p.dirs[d]
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// Cut stops (true) or restores (false) direction d: while cut, every
// datagram is dropped.
func (p *Proxy) Cut(d int, cut bool) {
	s := p.dirs[d]
	s.mu.Lock()
	s.cut = cut
	s.mu.Unlock()
}

// Record keeps copies of the last n datagrams forwarded on direction d
// (n = 0 stops recording and forgets them).
func (p *Proxy) Record(d, n int) {
	s := p.dirs[d]
	s.mu.Lock()
	s.record = n
	if n == 0 {
		s.rec = nil
	}
	s.mu.Unlock()
}

// Recorded returns copies of the datagrams recorded on direction d, oldest
// first.
func (p *Proxy) Recorded(d int) [][]byte {
	s := p.dirs[d]
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.rec))
	for i, r := range s.rec {
		out[i] = append([]byte(nil), r...)
	}
	return out
}

// Inject sends pkt on direction d as if it came from the direction's
// sender (from the proxy's socket the receiver takes for its peer).
func (p *Proxy) Inject(d int, pkt []byte) error {
	s := p.dirs[d]
	s.mu.Lock()
	s.st.Injected++
	s.mu.Unlock()
	_, err := p.conns[s.outSide].WriteToUDPAddrPort(pkt, p.ends[s.outSide])
	return err
}

// Stats returns the counters of direction d.
func (p *Proxy) Stats(d int) Stats {
	s := p.dirs[d]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	p.closed.Store(true)
	for _, c := range p.conns {
		if c != nil {
			c.Close()
		}
	}
	p.wg.Wait()
	return nil
}

// forwardLoop forwards direction d until Close.
func (p *Proxy) forwardLoop(d int) {
	defer p.wg.Done()
	in, s := p.conns[d], p.dirs[d]
	buf := make([]byte, 1<<16)
	for {
		n, from, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			if p.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if from != p.ends[d] { // only the real sender of this direction
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		for _, out := range s.process(pkt) {
			p.conns[s.outSide].WriteToUDPAddrPort(out, p.ends[s.outSide])
		}
	}
}

// process applies the hook, the cut and the impairments to one datagram
// and returns what goes out now, in order.
func (s *dirState) process(pkt []byte) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	// Held datagrams count down with every datagram that comes.
	keep := s.held[:0]
	for _, h := range s.held {
		if h.left--; h.left <= 0 {
			out = append(out, h.pkt)
		} else {
			keep = append(keep, h)
		}
	}
	s.held = keep
	if s.cut || (s.hook != nil && !s.hook(s.d, pkt)) {
		s.st.Dropped++
		return out
	}
	im := &s.impair
	if s.rng.Float64() < im.Loss {
		s.st.Dropped++
		return out
	}
	if s.rng.Float64() < im.Flip {
		for range im.FlipBits {
			b := s.rng.IntN(len(pkt) * 8)
			pkt[b/8] ^= 0x80 >> (b % 8)
		}
		s.st.Flipped++
	}
	if s.record > 0 {
		s.rec = append(s.rec, append([]byte(nil), pkt...))
		if len(s.rec) > s.record {
			s.rec = s.rec[len(s.rec)-s.record:]
		}
	}
	copies := 1
	if s.rng.Float64() < im.Duplicate {
		copies++
		s.st.Duplicated++
	}
	for i := range copies {
		if i == copies-1 && s.rng.Float64() < im.Reorder {
			s.held = append(s.held, held{pkt: pkt, left: 1 + s.rng.IntN(im.ReorderDepth)})
			s.st.Reordered++
			continue
		}
		out = append(out, pkt)
	}
	s.st.Forwarded += uint64(len(out))
	return out
}

// ErrNoRaw is returned by SendSpoofed without the right to open a raw
// socket (CAP_NET_RAW).
var ErrNoRaw = errors.New("udpproxy: raw sockets need CAP_NET_RAW")

// SendSpoofed sends one UDP datagram from a raw IPv4 socket with the
// forged source src to dst: what an attacker anywhere on the network can
// do to a receiver that trusts source addresses. IPv4 only.
func SendSpoofed(src, dst netip.AddrPort, payload []byte) error {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return errors.New("udpproxy: SendSpoofed is IPv4 only")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return ErrNoRaw
		}
		return fmt.Errorf("udpproxy: raw socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_HDRINCL, 1); err != nil {
		return fmt.Errorf("udpproxy: IP_HDRINCL: %w", err)
	}
	const ipLen, udpLen = 20, 8
	pkt := make([]byte, ipLen+udpLen+len(payload))
	pkt[0] = 0x45 // IPv4, 20-byte header
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = 64, syscall.IPPROTO_UDP // TTL, protocol
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(pkt[12:], s4[:])
	copy(pkt[16:], d4[:])
	binary.BigEndian.PutUint16(pkt[10:], ipChecksum(pkt[:ipLen]))
	u := pkt[ipLen:]
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload) // checksum 0: none (allowed over IPv4)
	sa := &syscall.SockaddrInet4{Addr: d4}
	if err := syscall.Sendto(fd, pkt, 0, sa); err != nil {
		return fmt.Errorf("udpproxy: spoofed send: %w", err)
	}
	return nil
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xFFFF {
		sum = sum>>16 + sum&0xFFFF
	}
	return ^uint16(sum)
}
