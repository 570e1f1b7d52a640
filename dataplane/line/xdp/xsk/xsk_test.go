package xsk

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otkd/otkd/dataplane/line/internal/vethtest"
)

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Ifindex: 1, Queue: -1},
		{Ifindex: 1, Frames: 1000},
		{Ifindex: 1, FrameSize: 1024},
		{Ifindex: 1, Frames: 64, RingSize: 128},
		{Ifindex: 1, Mode: 7},
	} {
		if _, err := Open(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestTransmit sends packets from an AF_XDP socket on one end of a veth
// pair (copy mode, no XDP program needed to send) and reads them with an
// AF_PACKET socket at the other end: every byte arrives, and every UMEM
// frame comes back through the completion ring.
func TestTransmit(t *testing.T) {
	n := vethtest.New(t)
	var rx int
	if err := n.Do(1, func() error {
		ifc, err := net.InterfaceByName(n.Dev[1])
		if err != nil {
			return err
		}
		rx, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(0x88B6)))
		if err != nil {
			return err
		}
		return unix.Bind(rx, &unix.SockaddrLinklayer{Protocol: htons(0x88B6), Ifindex: ifc.Index})
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rx)
	unix.SetsockoptTimeval(rx, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	var s *Socket
	if err := n.Do(0, func() error {
		ifc, err := net.InterfaceByName(n.Dev[0])
		if err != nil {
			return err
		}
		s, err = Open(Config{Ifindex: ifc.Index, Frames: 64, Mode: ModeCopy})
		return err
	}); err != nil {
		if errors.Is(err, ErrUnsupported) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer s.Close()
	if s.ZeroCopy() {
		t.Fatal("copy mode asked, zero-copy bound")
	}
	first, count := s.TXFrames()
	const packets = 20 // fewer than the 32 send frames
	var want [][]byte
	descs := make([]unix.XDPDesc, 0, packets)
	for i := range packets {
		addr := first + uint64(i%count)*uint64(s.FrameSize())
		p := s.Frame(addr, 100+i)
		copy(p[0:6], n.MAC[1])
		copy(p[6:12], n.MAC[0])
		p[12], p[13] = 0x88, 0xB6
		for k := 14; k < len(p); k++ {
			p[k] = byte(i + k)
		}
		want = append(want, append([]byte(nil), p...))
		descs = append(descs, unix.XDPDesc{Addr: addr, Len: uint32(len(p))})
	}
	if k := s.Transmit(descs); k != packets {
		t.Fatalf("TX ring took %d of %d", k, packets)
	}
	if err := s.Kick(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for i := range packets {
		m, _, err := unix.Recvfrom(rx, buf, 0)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(buf[:m], want[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	done := make([]uint64, 64)
	got := 0
	for deadline := time.Now().Add(5 * time.Second); got < packets && time.Now().Before(deadline); {
		got += s.Complete(done[got:])
		time.Sleep(time.Millisecond)
	}
	if got != packets {
		t.Fatalf("%d of %d frames completed", got, packets)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.Tx_invalid_descs != 0 {
		t.Fatalf("kernel refused descriptors: %+v", st)
	}
	// A descriptor outside the UMEM is refused by the kernel, counted, and
	// does not disturb the socket.
	if s.Transmit([]unix.XDPDesc{{Addr: 1 << 40, Len: 100}}) != 1 {
		t.Fatal("TX ring full")
	}
	s.Kick()
	if st, _ := s.Stats(); st.Tx_invalid_descs != 1 {
		t.Fatalf("invalid descriptor not counted: %+v", st)
	}
	if s.Frame(1<<40, 1) != nil || s.Frame(0, 1<<30) != nil {
		t.Fatal("Frame returned a slice outside the UMEM")
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
