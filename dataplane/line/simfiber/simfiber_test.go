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
	l, _ := New(Config{Profile: p, Seed: 1, BitErrors: true, Tap: true, Duplicate: 0.1, Flip: 0.1, FlipBits: 3})
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

// numbered sends n frames A→B numbered 1…n in their first four bytes and
// returns the numbers B received, in order, until it has seen want frames.
func numbered(t *testing.T, l *Link, n, want int) []uint32 {
	t.Helper()
	go func() {
		frame := make([]byte, framer.FrameLen)
		for i := uint32(1); i <= uint32(n); i++ {
			binary.BigEndian.PutUint32(frame, i)
			if l.A().Send(frame) != nil {
				return
			}
		}
	}()
	got := make([]byte, framer.FrameLen)
	soft := make([]noise.Sample, noise.SamplesPerFrame)
	var ids []uint32
	for len(ids) < want {
		if err := l.B().Recv(got, soft); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, binary.BigEndian.Uint32(got))
	}
	l.Close()
	return ids
}

// TestDuplicateAndFlip: duplicated frames arrive twice in a row, flipped
// frames differ from what was sent in FlipBits bits at most.
func TestDuplicateAndFlip(t *testing.T) {
	l, err := New(Config{Profile: noise.DefaultProfile(), Seed: 4, Duplicate: 0.2, Flip: 1, FlipBits: 2, Depth: 8})
	if err != nil {
		t.Fatal(err)
	}
	ids := numbered(t, l, 3000, 2000)
	dups := 0
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			dups++
		}
	}
	if dups < 250 || dups > 550 {
		t.Fatalf("%d duplicates in %d frames at 20%%", dups, len(ids))
	}
	if _, err := New(Config{Profile: noise.DefaultProfile(), Duplicate: 2}); err == nil {
		t.Fatal("Duplicate 2 accepted")
	}
}

// attack drops every third frame, rewrites byte 100 of the others and
// injects a marker frame before frame 10.
type attack struct{}

func (attack) Frame(d int, frame []byte, inj *Injector) int {
	n := binary.BigEndian.Uint32(frame)
	if n == 10 {
		m := make([]byte, framer.FrameLen)
		binary.BigEndian.PutUint32(m, 0xABCD)
		inj.Inject(m)
	}
	if n%3 == 0 {
		return 0
	}
	frame[100] = 0x77
	return 1
}

func TestAttacker(t *testing.T) {
	l, err := New(Config{Profile: noise.DefaultProfile(), Seed: 5, Attacker: attack{}})
	if err != nil {
		t.Fatal(err)
	}
	ids := numbered(t, l, 12, 8)
	want := []uint32{1, 2, 4, 5, 7, 8, 0xABCD, 10}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("received %v, want %v", ids, want)
		}
	}
}
