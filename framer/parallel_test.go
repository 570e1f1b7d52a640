package framer

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
)

// TestParallelSealIsSeal: SealWorker.Seal, then BIPChain.Next and PatchBIP8
// in frame order, write the very bytes Sealer.Seal writes, over a stream of
// keyed and null frames, key changes and both scrambler settings, with the
// frames sealed out of order by several workers.
func TestParallelSealIsSeal(t *testing.T) {
	for _, scr := range []bool{false, true} {
		for dir := range uint8(2) {
			rng := rand.New(rand.NewPCG(41, uint64(dir)))
			opts := Options{NoScramble: scr}
			s := mustSealer(t, dir, opts)
			const n = 64
			material := [3]keys.Key{{1, dir}, {2, dir}, {3, dir}}
			var fks [3]FrameKey
			for i := range fks {
				fks[i].Set(&material[i], dir)
			}
			plain := make([][]byte, n)
			want := make([][]byte, n)
			epochs := make([]uint8, n)
			for i := range n {
				plain[i] = randomFrame(rng)
				switch {
				case i%7 == 3:
					epochs[i] = keys.NullEpoch
				default:
					epochs[i] = uint8(1 + i/24) // 1, 2, 3: two key changes
				}
				want[i] = bytes.Clone(plain[i])
				f := mustView(t, want[i])
				var k *keys.Key
				if epochs[i] != keys.NullEpoch {
					k = &material[epochs[i]-1]
				}
				if err := s.Seal(&f, k, uint32(5000+i), epochs[i]); err != nil {
					t.Fatal(err)
				}
			}
			// Four workers seal the frames in a shuffled order; the ordered
			// stage then walks them in frame order.
			got := make([][]byte, n)
			bips := make([]byte, n)
			order := rng.Perm(n)
			var wg sync.WaitGroup
			for w := range 4 {
				sw, err := NewSealWorker(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := w; j < n; j += 4 {
						i := order[j]
						got[i] = bytes.Clone(plain[i])
						f, _ := View(got[i])
						var k *FrameKey
						if epochs[i] != keys.NullEpoch {
							k = &fks[epochs[i]-1]
						}
						b, err := sw.Seal(&f, k, uint32(5000+i), epochs[i])
						if err != nil {
							t.Error(err)
							return
						}
						bips[i] = b
					}
				}()
			}
			wg.Wait()
			var chain BIPChain
			for i := range n {
				f := mustView(t, got[i])
				PatchBIP8(&f, chain.Next(bips[i]))
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("scramble off %v, dir %d, frame %d: parallel seal differs from Seal", scr, dir, i)
				}
			}
		}
	}
}

func TestSealWorkerErrors(t *testing.T) {
	w, _ := NewSealWorker(0, Options{})
	b := make([]byte, FrameLen)
	f := mustView(t, b)
	if _, err := w.Seal(&f, nil, 1, 1); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	var unset FrameKey
	if _, err := w.Seal(&f, &unset, 1, 1); !errors.Is(err, ErrNoKey) {
		t.Fatalf("unset key: %v", err)
	}
	var other FrameKey
	other.Set(&keys.Key{1}, 1)
	if _, err := w.Seal(&f, &other, 1, 1); !errors.Is(err, ErrDirection) {
		t.Fatalf("key of the other direction: %v", err)
	}
	other.Wipe()
	if other.Is(&keys.Key{1}) || other.key != (keys.Key{}) || other.tag.aes != nil {
		t.Fatal("Wipe left key material")
	}
	if _, err := NewSealWorker(2, Options{}); !errors.Is(err, ErrDirection) {
		t.Fatal(err)
	}
	if _, err := NewOpenWorker(2, Options{}); !errors.Is(err, ErrDirection) {
		t.Fatal(err)
	}
}

// parKeys mirrors an Opener's key installs with FrameKeys and one window per
// key, as an RX with frame workers holds them.
type parKeys struct {
	dir       uint8
	cur, prev KeyRef
	win       map[*FrameKey]*replay.Filter
}

func newParKeys(dir uint8) *parKeys {
	return &parKeys{dir: dir, cur: KeyRef{Valid: true}, win: map[*FrameKey]*replay.Filter{}}
}

func (p *parKeys) install(e uint8, key *keys.Key, gen uint64) {
	if p.cur.Valid && p.cur.Epoch == e && e != keys.NullEpoch {
		if !p.cur.Key.Is(key) {
			p.cur.Key = p.newKey(key)
		}
		p.cur.Gen = gen
		return
	}
	p.prev = p.cur
	p.cur = KeyRef{Key: p.newKey(key), Gen: gen, Epoch: e, Valid: true}
}

func (p *parKeys) newKey(key *keys.Key) *FrameKey {
	k := &FrameKey{}
	k.Set(key, p.dir)
	p.win[k] = &replay.Filter{}
	return k
}

// TestParallelOpenIsOpen: OpenWorker.Open then Sequence.Admit accept and
// refuse exactly the frames Opener.Open does, with the same Stats and the
// same plaintext, over a hostile stream: FEC errors (corrected and not),
// forged tags, replays and duplicates, reordering, unknown epochs, lost
// alignment, null frames, key changes and re-installs. A forgery never
// moves a window: its genuine twin, sent after it, still opens.
func TestParallelOpenIsOpen(t *testing.T) {
	for _, scr := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(43, 44))
		const dir = 1
		opts := Options{NoScramble: scr, AcceptNull: true}
		s := mustSealer(t, dir, Options{NoScramble: scr})
		o := mustOpener(t, dir, opts)
		pk := newParKeys(dir)
		w, _ := NewOpenWorker(dir, opts)
		var seq Sequence
		material := []keys.Key{{0xA1}, {0xA2}, {0xA3}}
		var gen uint64
		install := func(e uint8, k *keys.Key) {
			gen++
			o.InstallGen(e, k, gen)
			pk.install(e, k, gen)
		}
		epoch, ki := uint8(1), 0
		install(epoch, &material[ki])
		var sent [][]byte
		count := uint32(1<<32 - 40) // across the wrap
		seal := func(e uint8, k *keys.Key) []byte {
			b := randomFrame(rng)
			f := mustView(t, b)
			if err := s.Seal(&f, k, count, e); err != nil {
				t.Fatal(err)
			}
			count++
			return b
		}
		var opened, refused, replays, forged int
		check := func(wire []byte, what string) {
			t.Helper()
			a, b := bytes.Clone(wire), bytes.Clone(wire)
			fa, fb := mustView(t, a), mustView(t, b)
			var sa, sb Stats
			errA := o.Open(&fa, &sa)
			errB := w.Open(&fb, &pk.cur, &pk.prev, &sb)
			if errB == nil {
				var win *replay.Filter
				if sb.Epoch != keys.NullEpoch {
					ref := &pk.cur
					if sb.Previous {
						ref = &pk.prev
					}
					win = pk.win[ref.Key]
				}
				errB = seq.Admit(&fb, &sb, win)
			}
			if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
				t.Fatalf("%s: Opener %v, workers %v", what, errA, errB)
			}
			sb.ownBIP = 0
			if errA == nil && sa != sb {
				t.Fatalf("%s: stats differ:\nOpener  %+v\nworkers %+v", what, sa, sb)
			}
			if errA == nil || !errors.Is(errA, ErrReplay) { // a replay is dropped decrypted
				if !bytes.Equal(a, b) {
					t.Fatalf("%s: frames differ after open (err %v)", what, errA)
				}
			}
			switch {
			case errA == nil:
				opened++
			case errors.Is(errA, ErrReplay):
				replays++
			case errors.Is(errA, ErrAuth):
				forged++
				refused++
			default:
				refused++
			}
		}
		for i := range 400 {
			switch r := rng.IntN(100); {
			case r < 4 && i > 10: // next key, announced
				ki = (ki + 1) % len(material)
				epoch = epoch%250 + 1
				install(epoch, &material[ki])
			case r < 6: // same key again: window kept
				install(epoch, &material[ki])
			case r < 8 && len(sent) > 0: // replay of an earlier frame
				check(sent[rng.IntN(len(sent))], "replay")
				continue
			case r < 12: // forged: a flipped message bit, then the genuine frame
				g := seal(epoch, &material[ki])
				fgd := bytes.Clone(g)
				fgd[IntOff+5+rng.IntN(MsgLen-5)] ^= 0x10
				fec.New().EncodeArea(fgd[IntOff:]) // the attacker re-encodes the area
				check(fgd, "forged")
				check(g, "genuine after forgery")
				sent = append(sent, g)
				continue
			case r < 15:
				check(seal(keys.NullEpoch, nil), "null")
				continue
			case r < 17:
				check(seal(77, &keys.Key{0xEE}), "unknown epoch")
				continue
			case r < 19:
				g := seal(epoch, &material[ki])
				g[0], g[1], g[2] = 0, 0, 0
				check(g, "lost FAS")
				continue
			}
			g := seal(epoch, &material[ki])
			switch rng.IntN(5) {
			case 0: // correctable errors
				for e := range 6 {
					g[RowLen*rng.IntN(Rows)+(30+e*17)*16+rng.IntN(16)] ^= byte(1 + rng.IntN(255))
				}
			case 1: // one row codeword beyond the FEC
				j := rng.IntN(16)
				for e := range 12 {
					g[RowLen+(40+e*13)*16+j] ^= 0xA5
				}
			case 2: // reordered with the next frame
				h := seal(epoch, &material[ki])
				check(h, "reordered")
				sent = append(sent, h)
			}
			check(g, "frame")
			sent = append(sent, g)
		}
		t.Logf("scramble off %v: %d opened, %d refused (%d forged), %d replays", scr, opened, refused, forged, replays)
		if opened < 200 || forged < 10 || replays < 5 {
			t.Fatalf("the stream did not exercise the cases: %d opened, %d forged, %d replays", opened, forged, replays)
		}
	}
}

// TestOpenWorkerErrorsLeaveFrame: a refused frame is left as it came.
func TestOpenWorkerErrorsLeaveFrame(t *testing.T) {
	key := keys.Key{6}
	w, _ := NewOpenWorker(0, Options{})
	pk := newParKeys(0)
	pk.install(1, &key, 1)
	s := mustSealer(t, 0, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		epoch  uint8
		damage func([]byte)
		want   error
	}{
		{"unknown epoch", 9, nil, ErrUnknownEpoch},
		{"forged with FEC errors", 1, func(b []byte) {
			for i := range 5 {
				b[RowLen*2+100+16*i] ^= 0xFF
			}
			b[IntOff+3] ^= 1
			fec.New().EncodeArea(b[IntOff:])
		}, ErrAuth},
		{"lost FAS", 1, func(b []byte) { b[0], b[1] = 0, 0 }, ErrLostFAS},
	} {
		k := key
		if tc.epoch != 1 {
			k = keys.Key{0x99}
		}
		b := randomFrame(rng)
		f := mustView(t, b)
		if err := s.Seal(&f, &k, 77, tc.epoch); err != nil {
			t.Fatal(err)
		}
		if tc.damage != nil {
			tc.damage(b)
		}
		before := bytes.Clone(b)
		f = mustView(t, b)
		var st Stats
		if err := w.Open(&f, &pk.cur, &pk.prev, &st); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if !bytes.Equal(before, b) {
			t.Fatalf("%s: the refused frame changed", tc.name)
		}
	}
}

// TestParallelNoAlloc: the parallel halves allocate nothing per frame,
// refusals included.
func TestParallelNoAlloc(t *testing.T) {
	key := keys.Key{5}
	var fk FrameKey
	fk.Set(&key, 0)
	sw, _ := NewSealWorker(0, Options{})
	ow, _ := NewOpenWorker(0, Options{})
	cur, prev := KeyRef{Key: &fk, Epoch: 1, Valid: true, Gen: 1}, KeyRef{Valid: true}
	var win replay.Filter
	var seq Sequence
	var chain BIPChain
	b := make([]byte, FrameLen)
	f := mustView(t, b)
	forged := make([]byte, FrameLen)
	fc := fec.New()
	var st Stats
	count := uint32(0)
	if a := testing.AllocsPerRun(100, func() {
		count++
		bip, err := sw.Seal(&f, &fk, count, 1)
		if err != nil {
			t.Fatal(err)
		}
		PatchBIP8(&f, chain.Next(bip))
		copy(forged, b)
		forged[IntOff+9] ^= 1
		fc.EncodeArea(forged[IntOff:])
		if err := ow.Open(&f, &cur, &prev, &st); err != nil {
			t.Fatal(err)
		}
		if err := seq.Admit(&f, &st, &win); err != nil {
			t.Fatal(err)
		}
		if err := seq.Admit(&f, &st, &win); !errors.Is(err, ErrReplay) {
			t.Fatal("replay admitted")
		}
		ff := mustView(t, forged)
		if err := ow.Open(&ff, &cur, &prev, &st); !errors.Is(err, ErrAuth) {
			t.Fatal("forgery opened")
		}
	}); a != 0 {
		t.Fatalf("%v allocations per frame", a)
	}
}
