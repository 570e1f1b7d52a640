package pair

// The line attacks of issue 11, against two real ends (ports, controllers,
// handshake, frames, FEC) over the simulated fibre with an active attacker
// on it (simfiber.Attacker). Each test performs the attack and checks that
// nothing the attacker sent changed keys, epochs or sessions, and that the
// link makes seeds again once the attacker stops.

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/line/simfiber"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/internal/race"
	"github.com/otkd/otkd/noise"
)

// attacker is an active attacker on the fibre. The test drives it through
// its fields under mu; Frame runs on the two senders' goroutines.
type attacker struct {
	mu      sync.Mutex
	cut     [2]bool
	inject  [2][][]byte           // frames to put on the line at the next frame
	record  [2]int                // keyed frames still to record
	rec     [2][][]byte           // recorded keyed frames
	recEp   [2][]uint8            // their epochs
	recCut  [2]bool               // cut the direction once the recording is full
	rewrite func(d int, f []byte) // a rewriting hook, under mu
	lanes   [2]lane.Receiver      // the lane messages seen in the clear
	seen    [2][][]byte
	peek    [2]*framer.Opener
}

func newAttacker() *attacker {
	a := &attacker{}
	for d := range 2 {
		a.peek[d], _ = framer.NewOpener(uint8(d), framer.Options{})
	}
	return a
}

func (a *attacker) Frame(d int, frame []byte, inj *simfiber.Injector) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.inject[d] {
		inj.Inject(f)
	}
	a.inject[d] = nil
	f, _ := framer.View(frame)
	epoch, _, err := a.peek[d].Peek(&f)
	if err == nil && epoch == keys.NullEpoch {
		a.readLane(d, f.Interaction()) // null frames are plaintext
	}
	cut := a.cut[d] // a recording that fills up now cuts from the next frame on
	if err == nil && epoch != keys.NullEpoch && a.record[d] > 0 {
		a.recordFrame(d, frame, epoch)
	}
	if a.rewrite != nil {
		a.rewrite(d, frame)
	}
	if cut {
		return 0
	}
	return 1
}

// recordFrame records one keyed frame. A receiver holds two epochs (its
// current and its previous one), so the recording keeps only the frames
// of the last two epochs it saw: when a third one starts, the frames of the
// oldest are dropped and recorded again from the line. When the recording
// is full and recCut is set, the direction is cut at once, so that the
// recorded frames are the last the receiver opened.
func (a *attacker) recordFrame(d int, frame []byte, epoch uint8) {
	if n := len(a.recEp[d]); n > 0 && a.recEp[d][n-1] != epoch {
		keep := a.recEp[d][n-1]
		i := 0
		for j, e := range a.recEp[d] {
			if e == keep {
				a.rec[d][i], a.recEp[d][i] = a.rec[d][j], e
				i++
			}
		}
		a.record[d] += n - i
		a.rec[d], a.recEp[d] = a.rec[d][:i], a.recEp[d][:i]
	}
	a.rec[d] = append(a.rec[d], append([]byte(nil), frame...))
	a.recEp[d] = append(a.recEp[d], epoch)
	a.record[d]--
	if a.record[d] == 0 && a.recCut[d] {
		a.cut[d] = true
	}
}

// readLane collects the handshake-lane messages of a null frame.
func (a *attacker) readLane(d int, area []byte) {
	var r ichan.AreaReader
	if r.Reset(area) != nil {
		return
	}
	for {
		typ, v, ok := r.Next()
		if !ok {
			return
		}
		if typ == lane.Type {
			if m, done, _ := a.lanes[d].Handle(v); done {
				a.seen[d] = append(a.seen[d], append([]byte(nil), m...))
			}
		}
	}
}

func (a *attacker) do(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f()
}

// nullFrame builds a wire frame of the null epoch whose interaction area
// holds the given TLVs: what anyone can put on the line.
func nullFrame(t *testing.T, dir uint8, tlvs ...[]byte) []byte {
	t.Helper()
	b := make([]byte, framer.FrameLen)
	f, _ := framer.View(b)
	var w ichan.AreaWriter
	w.Begin(f.Interaction())
	for _, tlv := range tlvs {
		if !w.Put(tlv[0], tlv[1:]) {
			t.Fatal("forged TLVs do not fit")
		}
	}
	w.Finish()
	s, _ := framer.NewSealer(dir, framer.Options{})
	if err := s.Seal(&f, nil, 7, keys.NullEpoch); err != nil {
		t.Fatal(err)
	}
	return b
}

// dataTLV is an interaction-channel DATA segment (docs/ichan.md) of
// incarnation inc carrying a whole message.
func dataTLV(inc uint32, msg []byte) []byte {
	v := make([]byte, 1+11+len(msg))
	v[0] = ichan.TypeData
	binary.BigEndian.PutUint32(v[1:], inc)
	v[11] = 3 // FIRST | LAST
	copy(v[12:], msg)
	return v
}

// laneTLVs cuts a lane message into the fragments a sender writes.
func laneTLVs(t *testing.T, msg []byte) [][]byte {
	t.Helper()
	m, err := lane.NewMsg(msg)
	if err != nil {
		t.Fatal(err)
	}
	var s lane.Sender
	s.Set(m)
	var out [][]byte
	for covered := 0; covered < len(msg); {
		area := make([]byte, ichan.AreaSize)
		var w ichan.AreaWriter
		w.Begin(area)
		s.Fill(&w)
		var r ichan.AreaReader
		r.Reset(area[:w.Len()])
		_, v, _ := r.Next()
		out = append(out, append([]byte{lane.Type}, v...))
		covered += len(v) - lane.Header
	}
	return out
}

// keyLog records every key each end published (what the daemon writes to
// its shm store) and the active one per direction.
type keyLog struct {
	mu     sync.Mutex
	events [2][]link.KeyEvent // by end, Key cleared
	active [2][2]string       // [end][direction] "epoch/fingerprint"
	first  [2]keys.Key        // the first TX key of each direction (retired later)
	haveTX [2]bool
	txKeys [2]map[uint8]keys.Key // by direction: the sender's keys by epoch
}

func newKeyLog() *keyLog {
	return &keyLog{txKeys: [2]map[uint8]keys.Key{{}, {}}}
}

// sink is end's link.Sink: its keys go to on.
func (k *keyLog) sink(end int) link.Sink {
	return link.Funcs{OnKey: func(ev link.KeyEvent) { k.on(end, ev) }}
}

func (k *keyLog) on(end int, ev link.KeyEvent) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active[end][ev.Direction] = fmt.Sprintf("%d/%s", ev.Epoch, ev.Fingerprint)
	if ev.TX {
		if !k.haveTX[ev.Direction] {
			k.first[ev.Direction], k.haveTX[ev.Direction] = *ev.Key, true
		}
		k.txKeys[ev.Direction][ev.Epoch] = *ev.Key
	}
	e := ev
	e.Key = nil
	k.events[end] = append(k.events[end], e)
}

// agree reports whether both ends publish the same active key per direction.
func (k *keyLog) agree() (bool, string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	a, b := k.active[0], k.active[1]
	return a == b, fmt.Sprintf("A %v, B %v", a, b)
}

// running is a pair run in the background with bounded waits on it.
type running struct {
	t      *testing.T
	p      *Pair
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, p *Pair) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Error(err)
		}
		r.done <- nil
	case <-time.After(30 * time.Second):
		r.t.Error("pair did not stop")
	}
}

// wait polls cond every 20 ms for at most limit (a bound against a hang,
// not a timing assertion).
func (r *running) wait(what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			st := r.p.Stats()
			r.t.Fatalf("waited %v for %s; A→B %d seeds, B→A %d seeds; A %+v; B %+v", limit, what,
				st[0].Seeds, st[1].Seeds, r.p.Ctrls[0].Stats(), r.p.Ctrls[1].Stats())
		}
		select {
		case err := <-r.done:
			r.done <- err
			r.t.Fatalf("pair stopped while waiting for %s: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// seedsAtLeast waits until both directions made n more seeds than now.
func (r *running) moreSeeds(n int, limit time.Duration) {
	r.t.Helper()
	st := r.p.Stats()
	a, b := st[0].Seeds, st[1].Seeds
	r.wait(fmt.Sprintf("%d more seeds per direction", n), limit, func() bool {
		s := r.p.Stats()
		return s[0].Seeds >= a+n && s[1].Seeds >= b+n
	})
}

// quickLink makes the handshake timers short, so that recovery in the
// tests takes a fraction of a second instead of seconds.
func quickLink(_ int, c *link.Config) {
	c.DeadAfter = 300 * time.Millisecond
	c.HandshakeTimeout = 200 * time.Millisecond
	c.HandshakeTimeoutMax = time.Second
}

func newAttacked(t *testing.T, seed uint64, a *attacker, log *keyLog) *Pair {
	t.Helper()
	if race.Enabled {
		t.Skip("seeds take too long under the race detector")
	}
	p, err := New(Config{Seed: seed, Attacker: a, NoBitErrors: true, Link: quickLink,
		Sink: log.sink})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttackForgedControl (issue 11, item 1): the attacker injects, in
// null frames, a DATA segment of a new channel incarnation carrying an
// ACTIVATE that names a retired key under epoch 200 (what split the keys
// of v1), and the handshake-lane messages it saw at start-up rewritten
// (epoch bytes changed) or replayed; then it flips the epoch bit of the
// next ACTIVATEs inside encrypted frames (ZUC is malleable; it locates them
// with the keys the test gives it, as a stand-in for known plaintext).
// Keys and epochs stay in step at both ends, no session changes, and seeds
// keep coming.
func TestAttackForgedControl(t *testing.T) {
	a, klog := newAttacker(), newKeyLog()
	p := newAttacked(t, 21, a, klog)
	r := start(t, p)
	r.moreSeeds(1, 2*time.Minute)
	sessions := [2]int{p.Ctrls[0].Stats().Sessions, p.Ctrls[1].Stats().Sessions}

	// (a) forged control messages in null frames.
	klog.mu.Lock()
	retired := klog.first[0]
	klog.mu.Unlock()
	fp := keys.Key(retired)
	var act [19]byte
	act[0], act[1], act[2] = 0x04, 0, 200 // ACTIVATE dir 0 epoch 200
	binary.BigEndian.PutUint32(act[3:], 1<<20)
	fpb := fp.Fingerprint()
	copy(act[11:], fpb[:])
	a.do(func() {
		forged := [][]byte{nullFrame(t, 0, dataTLV(0x5EED, act[:]))}
		for _, m := range a.seen[0] { // A's lane messages (Hello, Confirm): replayed and rewritten to B
			forged = append(forged, nullFrame(t, 0, laneTLVs(t, m)...))
			if w := append([]byte(nil), m...); len(w) > 33 {
				w[len(w)-33] ^= 0x7F // the Confirm's epoch_A (the Hello's point)
				forged = append(forged, nullFrame(t, 0, laneTLVs(t, w)...))
			}
		}
		a.inject[0] = forged
		var back [][]byte
		for _, m := range a.seen[1] { // B's (beacon, Reply) to A
			back = append(back, nullFrame(t, 1, laneTLVs(t, m)...))
			if w := append([]byte(nil), m...); len(w) > 33 {
				w[len(w)-33] ^= 0x7F // the Reply's epoch_B
				back = append(back, nullFrame(t, 1, laneTLVs(t, w)...))
			}
		}
		a.inject[1] = back
		if len(a.seen[0]) < 2 || len(a.seen[1]) < 2 {
			t.Errorf("the attacker saw %d and %d lane messages at start-up, want ≥ 2 each", len(a.seen[0]), len(a.seen[1]))
		}
	})
	r.moreSeeds(2, 2*time.Minute)

	// (b) the epoch bit of the next three ACTIVATEs, flipped in the
	// encrypted frames.
	flips := 0
	var ks [framer.EncLen]byte
	a.do(func() {
		a.rewrite = func(d int, frame []byte) {
			if d != 0 || flips >= 3 {
				return
			}
			f, _ := framer.View(frame)
			epoch, count, err := a.peek[0].Peek(&f)
			klog.mu.Lock()
			key, ok := klog.txKeys[0][epoch]
			klog.mu.Unlock()
			if err != nil || epoch == 0 || !ok {
				return
			}
			framer.GenericZUC{}.FrameKeystream(&ks, &key, count, 0)
			area := frame[framer.IntOff : framer.IntOff+framer.AreaLen]
			ksArea := ks[framer.EncLen-framer.IntMsg:] // the interaction bytes' keystream
			plain := make([]byte, framer.MsgLen)
			for i := range plain {
				plain[i] = area[i] ^ ksArea[i]
			}
			var rd ichan.AreaReader
			if rd.Reset(plain) != nil {
				return
			}
			pos := 1
			for {
				typ, v, ok := rd.Next()
				if !ok {
					return
				}
				if typ == ichan.TypeData && len(v) > 13 && v[10]&1 != 0 && v[11] == 0x04 {
					area[pos+2+13] ^= 0x01     // ACTIVATE's epoch byte, in the ciphertext
					fec.New().EncodeArea(area) // the FEC is public: make it agree
					flips++
					return
				}
				pos += 2 + len(v)
			}
		}
	})
	r.wait("three ACTIVATEs flipped", 2*time.Minute, func() bool {
		var n int
		a.do(func() { n = flips })
		return n >= 3
	})
	a.do(func() { a.rewrite = nil })
	r.moreSeeds(2, 2*time.Minute)
	r.wait("both stores to hold the same active keys", time.Minute, func() bool { ok, _ := klog.agree(); return ok })

	rx := p.Ports[1].Stats()
	ca, cb := p.Ctrls[0].Stats(), p.Ctrls[1].Stats()
	t.Logf("B: %d frames refused by tag, %d replayed; A lane: %d refused, %d ignored; B lane: %d refused, %d ignored",
		rx.RXAuthFailed, rx.RXReplayed, ca.HandshakeRejected, ca.LaneIgnored, cb.HandshakeRejected, cb.LaneIgnored)
	if ca.Sessions != sessions[0] || cb.Sessions != sessions[1] {
		t.Errorf("sessions changed: A %d → %d, B %d → %d", sessions[0], ca.Sessions, sessions[1], cb.Sessions)
	}
	if rx.RXAuthFailed < 3 {
		t.Errorf("B refused %d frames by tag, want the 3 flipped ones", rx.RXAuthFailed)
	}
	if ca.HandshakeRejected+ca.LaneIgnored == 0 || cb.HandshakeRejected+cb.LaneIgnored == 0 {
		t.Error("the forged lane messages were not counted")
	}
	klog.mu.Lock()
	defer klog.mu.Unlock()
	retiredUses := 0
	for end, evs := range klog.events {
		for _, ev := range evs {
			if ev.Epoch == 200 {
				t.Errorf("end %d published %+v", end, ev)
			}
			if ev.Fingerprint == fpb.String() {
				retiredUses++
			}
		}
	}
	if retiredUses != 2 { // A's TX and B's RX, once, when it was new
		t.Errorf("the retired key was published %d times", retiredUses)
	}
}

// TestAttackForgedRestart (issue 11, item 2): a forged RESTART (v1's
// channel message, and v2's lane beacon) and one empty channel DATA
// segment of an unknown incarnation, in null frames, change nothing:
// sessions, keys and the channel stay, seeds keep coming. Then the
// attacker cuts the fibre (both directions, then one) for several times
// the dead-peer time and leaves: end A retries its handshake meanwhile, and
// the link comes back by itself (channel resynchronised, seeds resume,
// both stores agree, health ok).
func TestAttackForgedRestart(t *testing.T) {
	a, klog := newAttacker(), newKeyLog()
	p := newAttacked(t, 22, a, klog)
	r := start(t, p)
	r.moreSeeds(1, 2*time.Minute)
	sessions := [2]int{p.Ctrls[0].Stats().Sessions, p.Ctrls[1].Stats().Sessions}
	incB := p.Ports[1].Chan().Stats()
	a.do(func() {
		a.inject[1] = [][]byte{nullFrame(t, 1, dataTLV(0xBAD1, []byte{0x07})), nullFrame(t, 1, laneTLVs(t, []byte{lane.KindBeacon})...)}
		a.inject[0] = [][]byte{nullFrame(t, 0, dataTLV(0xBAD2, nil))}
	})
	r.moreSeeds(2, 2*time.Minute)
	ca, cb := p.Ctrls[0].Stats(), p.Ctrls[1].Stats()
	if ca.Sessions != sessions[0] || cb.Sessions != sessions[1] {
		t.Fatalf("a forged RESTART changed the session: A %d → %d, B %d → %d", sessions[0], ca.Sessions, sessions[1], cb.Sessions)
	}
	if ca.LaneIgnored == 0 {
		t.Error("the forged beacon was not counted as ignored")
	}
	if st := p.Ports[1].Chan().Stats(); st.Resyncs != incB.Resyncs || st.Stale != incB.Stale {
		t.Errorf("B's channel saw the forged incarnation: %+v → %+v", incB, st)
	}

	for _, cut := range []struct {
		name string
		dirs []int
	}{{"both directions", []int{0, 1}}, {"B to A", []int{1}}} {
		attempts := p.Ctrls[0].Stats().HandshakeAttempts
		a.do(func() {
			for _, d := range cut.dirs {
				a.cut[d] = true
			}
		})
		r.wait("end A to retry its handshake during the cut ("+cut.name+")", time.Minute, func() bool {
			return p.Ctrls[0].Stats().HandshakeAttempts >= attempts+2
		})
		if h := p.Ctrls[0].Health(); h == "ok" {
			t.Errorf("cut %s: A reports health ok", cut.name)
		}
		a.do(func() { a.cut = [2]bool{} })
		r.moreSeeds(2, 2*time.Minute)
		r.wait("both stores to hold the same active keys", time.Minute, func() bool { ok, _ := klog.agree(); return ok })
		r.wait("health ok at both ends", time.Minute, func() bool {
			return p.Ctrls[0].Health() == "ok" && p.Ctrls[1].Health() == "ok"
		})
		t.Logf("cut %s: A attempts %d → %d, sessions A %d B %d", cut.name, attempts,
			p.Ctrls[0].Stats().HandshakeAttempts, p.Ctrls[0].Stats().Sessions, p.Ctrls[1].Stats().Sessions)
	}
}

// TestAttackReplay (issue 11, item 4): 300 frames of the current epoch,
// recorded and sent again, are all refused and counted (replayed or too
// old); none reaches the rounds, the channel or the payload check.
func TestAttackReplay(t *testing.T) {
	a, klog := newAttacker(), newKeyLog()
	p := newAttacked(t, 23, a, klog)
	r := start(t, p)
	r.moreSeeds(1, 2*time.Minute)
	// Record 300 frames of the two epochs B holds, then (at once, on the
	// sender's goroutine) hold A's own frames back while the replay goes
	// on, so that whatever B opens now can only be a replayed frame. Keys
	// keep changing (an attempt makes several seeds at once): the recording
	// keeps the frames of the last two epochs only, and B must still hold
	// both when the cut takes effect; should B have switched once more in
	// between, the recording is made again.
	for try := 1; ; try++ {
		a.do(func() { a.rec[0], a.recEp[0], a.record[0], a.recCut[0] = nil, nil, 300, true })
		r.wait("300 frames recorded", time.Minute, func() bool {
			var n int
			a.do(func() { n = len(a.rec[0]) })
			return n == 300
		})
		r.wait("the frames in flight to arrive", time.Minute, func() bool {
			n := p.Ports[1].Stats().RXFrames
			time.Sleep(200 * time.Millisecond)
			return p.Ports[1].Stats().RXFrames == n
		})
		s := p.Ports[1].Stats()
		held := true
		a.do(func() {
			for _, e := range a.recEp[0] {
				held = held && (int(e) == int(s.RXEpoch) || int(e) == int(s.RXPrevEpoch))
			}
		})
		if held {
			break
		}
		if try == 10 {
			t.Fatalf("10 recordings spanned an epoch B no longer holds")
		}
		a.do(func() { a.cut[0], a.recCut[0] = false, false })
		r.moreSeeds(1, 2*time.Minute)
	}
	before, chBefore := p.Ports[1].Stats(), p.Ports[1].Chan().Stats()
	a.do(func() { a.inject[0] = a.rec[0] })
	r.wait("the replayed frames to be refused", time.Minute, func() bool {
		s := p.Ports[1].Stats()
		return s.RXReplayed+s.RXTooOld-before.RXReplayed-before.RXTooOld >= 300
	})
	after, chAfter := p.Ports[1].Stats(), p.Ports[1].Chan().Stats()
	a.do(func() { a.cut[0], a.recCut[0] = false, false })
	t.Logf("B refused %d replayed and %d too old, opened %d", after.RXReplayed-before.RXReplayed, after.RXTooOld-before.RXTooOld,
		after.RXFrames-before.RXFrames)
	if after.RXFrames != before.RXFrames || after.CountsPeer != before.CountsPeer {
		t.Errorf("B opened %d replayed frames and counted %d rounds from them", after.RXFrames-before.RXFrames, after.CountsPeer-before.CountsPeer)
	}
	if n := after.RXReplayed + after.RXTooOld - before.RXReplayed - before.RXTooOld; n != 300 {
		t.Errorf("%d frames refused as replays, want exactly the 300 replayed", n)
	}
	if chAfter.Duplicates != chBefore.Duplicates || after.PayloadErrors != 0 || after.RXAuthFailed != 0 {
		t.Errorf("replayed frames reached the channel or the payload: channel duplicates %d → %d, %+v",
			chBefore.Duplicates, chAfter.Duplicates, after)
	}
	r.moreSeeds(1, 2*time.Minute)
}

// TestCountLimits (issue 11, item 3): with COUNT starting near the limit
// (test configuration: each key starts 6000 frames before the hard limit,
// 3000 before the soft one), the ends rotate their keys before the limit;
// when the peer's acknowledgements cannot come (the attacker cuts B→A), A's
// TX drops its key at the hard limit, sends null frames and says so; once
// the cut ends it gets a fresh key again (the rotation's late ACK or a new
// handshake, whichever comes first). No (key, COUNT) pair
// is ever sealed twice (the test records what each TX sealed).
func TestCountLimits(t *testing.T) {
	if race.Enabled {
		t.Skip("too many frames for the race detector")
	}
	type sealed struct {
		k [16]byte
		c uint32
	}
	var recMu [2]sync.Mutex
	var rec [2][]sealed
	const soft, hard = 4000, 20000 // frames per key
	a, klog := newAttacker(), newKeyLog()
	p, err := New(Config{Seed: 24, Attacker: a, NoBitErrors: true, Link: quickLink,
		Sink: klog.sink,
		Port: func(end int, c *dataplane.Config) {
			// COUNT crosses its wrap at 2^32 early in the test.
			c.FirstCount, c.SoftLimit, c.HardLimit = 1<<32-30000, soft, hard
			c.Sealed = func(k *keys.Key, _ uint8, count uint32) {
				recMu[end].Lock()
				rec[end] = append(rec[end], sealed{*k, count})
				recMu[end].Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	r.wait("three rotations at each end", 2*time.Minute, func() bool {
		return p.Ctrls[0].Stats().Rotations >= 3 && p.Ctrls[1].Stats().Rotations >= 3
	})
	for i, port := range p.Ports {
		if s := port.Stats(); s.TXKeyExhausted != 0 {
			t.Fatalf("end %d reached the hard limit although the peer acknowledged: %+v", i, s)
		}
	}
	sessions := p.Ctrls[0].Stats().Sessions
	a.do(func() { a.cut[1] = true }) // no ACK reaches A any more
	r.wait("A's TX to drop its key at the hard limit", time.Minute, func() bool {
		return p.Ports[0].Stats().TXKeyExhausted >= 1
	})
	r.wait("A's health to name the exhausted key", time.Minute, func() bool {
		return strings.Contains(p.Ctrls[0].Health(), "hard COUNT limit")
	})
	a.do(func() { a.cut[1] = false })
	// Either B's late acknowledgement completes the rotation (a fresh key,
	// never used) or a new handshake gives a new session: both end with a
	// TX that has a key again.
	r.wait("A's TX to get a fresh key", time.Minute, func() bool {
		s := p.Ports[0].Stats()
		return !s.TXExhausted && s.TXEpoch != 0
	})
	t.Logf("A's TX has a key again: sessions %d → %d", sessions, p.Ctrls[0].Stats().Sessions)
	r.moreSeeds(1, 2*time.Minute)
	r.stop()
	for end := range 2 {
		seen := make(map[sealed]bool, len(rec[end]))
		perKey := map[[16]byte]int{}
		for _, s := range rec[end] {
			if seen[s] {
				t.Fatalf("end %d sealed COUNT %d twice under one key", end, s.c)
			}
			seen[s] = true
			perKey[s.k]++
		}
		most := 0
		for _, n := range perKey {
			most = max(most, n)
		}
		t.Logf("end %d: %d frames sealed under %d keys, none twice, at most %d under one key", end, len(rec[end]), len(perKey), most)
		if most > hard {
			t.Errorf("end %d sealed %d frames under one key, more than the hard limit %d", end, most, hard)
		}
	}
}

// TestImpairedLine (issue 11, item 4): 1 % loss, 4 % duplication, 4 %
// reordering and 2 % of frames with bit flips together. Two pairs run side
// by side, one on a clean fibre, one on the impaired one, until the clean
// one has made want seeds per direction; the impaired one must have made
// at least half as many. Before anti-replay, duplicated frames answered
// rounds twice and the counts of the two ends disagreed: no seed at all.
func TestImpairedLine(t *testing.T) {
	if race.Enabled {
		t.Skip("seeds take too long under the race detector")
	}
	// Six seeds per direction, also with -short: an attempt yields several
	// seeds at once, so with two the comparison was of one attempt's
	// timing, and a clean pair whose first attempt ended first left the
	// impaired one at zero (the test failed on unloaded machines too).
	want := 6
	prof := noise.DefaultProfile()
	imp := prof
	imp.Loss, imp.Reorder, imp.ReorderDepth = 0.01, 0.04, 4
	clean, err := New(Config{Seed: 25, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	impaired, err := New(Config{Seed: 26, Profile: imp, Duplicate: 0.04, Flip: 0.02, FlipBits: 8})
	if err != nil {
		t.Fatal(err)
	}
	rc, ri := start(t, clean), start(t, impaired)
	began := time.Now()
	rc.wait(fmt.Sprintf("%d seeds per direction on the clean line", want), 5*time.Minute, func() bool {
		s := clean.Stats()
		return s[0].Seeds >= want && s[1].Seeds >= want
	})
	took := time.Since(began)
	sc, si := clean.Stats(), impaired.Stats()
	rc.stop()
	ri.stop()
	pi := impaired.Ports[1].Stats()
	t.Logf("in %v: clean %d+%d seeds (%.2f/s), impaired %d+%d seeds (%.2f/s); impaired B: %d replayed/duplicate frames refused, %d too old, %d by tag, %d areas unusable",
		took.Round(time.Millisecond), sc[0].Seeds, sc[1].Seeds, float64(sc[0].Seeds+sc[1].Seeds)/took.Seconds(),
		si[0].Seeds, si[1].Seeds, float64(si[0].Seeds+si[1].Seeds)/took.Seconds(),
		pi.RXReplayed, pi.RXTooOld, pi.RXAuthFailed, pi.AreaBad)
	for d := range 2 {
		if si[d].Mismatches != 0 {
			t.Errorf("direction %d: %d impaired seeds differ between the ends", d, si[d].Mismatches)
		}
		if 2*si[d].Seeds < sc[d].Seeds {
			t.Errorf("direction %d: %d seeds on the impaired line against %d on the clean one", d, si[d].Seeds, sc[d].Seeds)
		}
	}
	if pi.RXReplayed == 0 {
		t.Error("no duplicate was refused: the impairment did not run")
	}
}

// logCount counts log records by message (a slog.Handler for tests).
type logCount struct {
	mu  *sync.Mutex
	n   map[string]int
	why *[]string
}

func newLogCount() *logCount {
	return &logCount{mu: &sync.Mutex{}, n: map[string]int{}, why: new([]string)}
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCount) WithGroup(string) slog.Handler            { return l }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[r.Message]++
	if r.Message == "link not healthy" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "why" {
				*l.why = append(*l.why, a.Value.String())
			}
			return true
		})
	}
	return nil
}

func (l *logCount) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// TestNoSeedIsReported (issue 11, item 6): the negotiation area is not
// authenticated (docs/security.md), so an attacker can garble its bits and
// stop seeds while frames, keys and the session stay fine. Such a link is
// reported: the health names the missing seeds and one log line says so;
// when the attacker stops, seeds resume and the link is healthy again.
func TestNoSeedIsReported(t *testing.T) {
	if race.Enabled {
		t.Skip("seeds take too long under the race detector")
	}
	a, logs := newAttacker(), newLogCount()
	p, err := New(Config{Seed: 27, Attacker: a, NoBitErrors: true, Log: slog.New(logs),
		Link: func(end int, c *link.Config) { quickLink(end, c); c.SeedTimeout = 2 * time.Second }})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	r.moreSeeds(1, 2*time.Minute)
	r.wait("health ok", time.Minute, func() bool { return p.Ctrls[0].Health() == "ok" && p.Ctrls[1].Health() == "ok" })
	garble := uint64(0x9E3779B97F4A7C15)
	a.do(func() {
		a.rewrite = func(d int, f []byte) {
			for _, off := range []int{framer.Data1Off, framer.Data2Off} {
				for i := range framer.DataLen {
					garble = garble*6364136223846793005 + 1442695040888963407
					f[off+i] ^= byte(garble >> 56)
				}
			}
		}
	})
	r.wait("both ends to report the missing seeds", time.Minute, func() bool {
		return strings.Contains(p.Ctrls[0].Health(), "no seed for") && strings.Contains(p.Ctrls[1].Health(), "no seed for")
	})
	// One line per change of state, not per step: while the state lasts
	// (no seed comes), no further line. A seed from rounds counted before
	// the garbling may still come late and make a change of its own.
	n0, seeds0 := logs.count("link not healthy"), p.Stats()
	time.Sleep(time.Second)
	n1, seeds1 := logs.count("link not healthy"), p.Stats()
	if n0 < 2 {
		t.Errorf("%d \"link not healthy\" log lines, want one per end at least: %q", n0, *logs.why)
	}
	if seeds1[0].Seeds == seeds0[0].Seeds && seeds1[1].Seeds == seeds0[1].Seeds && n1 != n0 {
		t.Errorf("the unhealthy state was logged again while it lasted: %d → %d lines", n0, n1)
	}
	ca := p.Ctrls[0].Stats()
	if !ca.PeerAlive || ca.Handshake != "done" {
		t.Errorf("the session should stand while only seeds fail: %+v", ca)
	}
	a.do(func() { a.rewrite = nil })
	r.moreSeeds(1, 2*time.Minute)
	r.wait("health ok again", time.Minute, func() bool { return p.Ctrls[0].Health() == "ok" && p.Ctrls[1].Health() == "ok" })
	if logs.count("link healthy") < 4 {
		t.Errorf("%d \"link healthy\" log lines, want two per end", logs.count("link healthy"))
	}
}
