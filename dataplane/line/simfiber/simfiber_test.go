package simfiber

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

func link(t *testing.T, p noise.Profile, tap bool) *Link {
	t.Helper()
	l, err := New(Config{Profile: p, Seed: 3, Tap: tap, Depth: 64})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDelivery sends numbered frames A→B through loss and reordering and
// checks what arrives: nothing twice, every frame either lost or delivered,
// some out of order, and the soft samples match the transmitted bits.
func TestDelivery(t *testing.T) {
	p := noise.DefaultProfile()
	p.Loss, p.Reorder, p.ReorderDepth = 0.05, 0.1, 4
	l := link(t, p, true)
	const n = 2000
	frame := make([]byte, framer.FrameLen)
	got := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	seen := map[uint32]bool{}
	reordered, last := 0, uint32(0)
	const sentinel = 0xFFFFFFFF
	go func() {
		for i := uint32(1); i <= n; i++ {
			binary.BigEndian.PutUint32(frame, i)
			for k := range framer.DataLen {
				frame[data1Off+k] = 0xF0
			}
			if err := l.A().Send(frame); err != nil {
				t.Error(err)
				return
			}
		}
		// Push out the held frames, then end with sentinels: with 5 % loss
		// the chance that all 20 are lost is 1e-26.
		for i := range 28 {
			v := uint32(0)
			if i >= 8 {
				v = sentinel
			}
			binary.BigEndian.PutUint32(frame, v)
			if err := l.A().Send(frame); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wrong, total := 0, 0
	for {
		if err := l.B().Recv(got, soft); err != nil {
			t.Fatal(err)
		}
		id := binary.BigEndian.Uint32(got)
		if id == sentinel {
			break
		}
		if id == 0 {
			continue
		}
		if seen[id] {
			t.Fatalf("frame %d delivered twice", id)
		}
		seen[id] = true
		if id < last {
			reordered++
		}
		last = max(last, id)
		for k := range 8 * framer.DataLen {
			bit := k%8 < 4 // 0xF0
			if (soft[k] > 0) != bit {
				wrong++
			}
			total++
		}
	}
	lost := n - len(seen)
	t.Logf("delivered %d, lost %d, out of order %d, sample errors %.2e", len(seen), lost, reordered, float64(wrong)/float64(total))
	if lost < n*2/100 || lost > n*9/100 {
		t.Fatalf("lost %d of %d at 5%% loss", lost, n)
	}
	if reordered == 0 {
		t.Fatal("no frame arrived out of order at 10% reordering")
	}
	if r := float64(wrong) / float64(total); r < 2e-4 || r > 1e-3 {
		t.Fatalf("fibre decision error rate %.2e, want ≈ 4.3e-4", r)
	}
	if err := l.Tap().Recv(0, got, soft); err != nil || binary.BigEndian.Uint32(got) != 1 {
		t.Fatalf("tap: %v, first frame %d", err, binary.BigEndian.Uint32(got))
	}
}

func TestClose(t *testing.T) {
	l := link(t, noise.DefaultProfile(), false)
	frame := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	errc := make(chan error)
	go func() { errc <- l.B().Recv(frame, soft) }()
	l.A().Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if err := l.A().Send(frame); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := l.A().Send(frame[:10]); err == nil {
		t.Fatal("short frame accepted")
	}
}

func TestNoAlloc(t *testing.T) {
	p := noise.DefaultProfile()
	p.Reorder, p.ReorderDepth, p.Burst, p.BurstLen = 0.2, 3, 0.1, 32
	l, _ := New(Config{Profile: p, Seed: 1, BitErrors: true, Tap: true})
	frame := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	var t0 [framer.FrameLen]byte
	if a := testing.AllocsPerRun(200, func() {
		if err := l.A().Send(frame); err != nil {
			t.Fatal(err)
		}
		for l.B().rx.r.Len() > 0 {
			l.B().Recv(frame, soft)
		}
		for l.Tap().q[0].r.Len() > 0 {
			l.Tap().Recv(0, t0[:], soft)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
}
