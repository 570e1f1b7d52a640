package framer

import (
	"bytes"
	"crypto/aes"
	"crypto/hkdf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/poly1305"

	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
)

// refTag computes the frame tag straight from docs/protocol.md, without the
// package's tagKey and macScratch: HKDF-SM3 → r, k; s = AES_k(nonce);
// Poly1305_{r,s}(dir ‖ epoch ‖ COUNT ‖ messages).
func refTag(t *testing.T, key *keys.Key, dir, epoch uint8, count uint32, msgs []byte) [16]byte {
	t.Helper()
	okm, err := hkdf.Key(func() hash.Hash { return sm3.New() }, key[:], []byte("otkd v2 frame tag"), "otkd v2 frame tag key"+string([]byte{dir}), 32)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := aes.NewCipher(okm[16:])
	if err != nil {
		t.Fatal(err)
	}
	var nonce [16]byte
	binary.BigEndian.PutUint32(nonce[:], count)
	nonce[4], nonce[5] = dir, epoch
	var pk [32]byte
	copy(pk[:16], okm[:16])
	blk.Encrypt(pk[16:], nonce[:])
	m := append([]byte{dir, epoch, byte(count >> 24), byte(count >> 16), byte(count >> 8), byte(count)}, msgs...)
	var tag [16]byte
	poly1305.Sum(&tag, m, &pk)
	return tag
}

// tagVectors are pinned: a change of the construction, the labels or the
// byte order changes them (docs/protocol.md lists them too).
var tagVectors = []struct {
	key   string
	dir   uint8
	epoch uint8
	count uint32
	fill  byte // the 223 message bytes are fill, fill+1, …
	tag   string
}{
	{"000102030405060708090a0b0c0d0e0f", 0, 1, 0, 0x00, "26ceaca952e38d5711e1c8bebd642d3e"},
	{"000102030405060708090a0b0c0d0e0f", 1, 1, 0, 0x00, "b9dbfd863f19b1f23e1b98a7a7006794"},
	{"8f1e2d3c4b5a69788796a5b4c3d2e1f0", 0, 200, 0xA1B2C3D4, 0x5A, "5c1e0d98b8818fe2677520e4ada04ba9"},
	{"ffffffffffffffffffffffffffffffff", 1, 255, 0xFFFFFFFE, 0xFF, "8eb502ed41521f203376f403164d83d6"},
}

func vectorMsgs(fill byte) []byte {
	m := make([]byte, MsgLen)
	for i := range m {
		m[i] = fill + byte(i)
	}
	return m
}

// TestTagVectors: the package's tag equals the reference construction and
// the pinned values, for both directions.
func TestTagVectors(t *testing.T) {
	for i, v := range tagVectors {
		var key keys.Key
		if _, err := hex.Decode(key[:], []byte(v.key)); err != nil {
			t.Fatal(err)
		}
		msgs := vectorMsgs(v.fill)
		b := make([]byte, FrameLen)
		f := mustView(t, b)
		copy(f.Interaction(), msgs)
		var tk tagKey
		tk.derive(&key, v.dir)
		var sc macScratch
		sc.compute(&tk, &f, v.dir, v.epoch, v.count)
		ref := refTag(t, &key, v.dir, v.epoch, v.count, msgs)
		if sc.tag != ref {
			t.Fatalf("vector %d: tag %x, reference %x", i, sc.tag, ref)
		}
		if got := hex.EncodeToString(sc.tag[:]); got != v.tag {
			t.Errorf("vector %d: tag %s, pinned %s", i, got, v.tag)
		}
		if i == 0 { // the intermediate values docs/protocol.md shows
			var sv [16]byte
			tk.aes.Encrypt(sv[:], []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
			if r, s := hex.EncodeToString(tk.r[:]), hex.EncodeToString(sv[:]); r != "ea9844f03154202165809c4b202a754f" || s != "cc6dab6ebcca3ccdc7def4ab70360d8b" {
				t.Errorf("vector 0: r %s s %s", r, s)
			}
		}
	}
}

// TestSealedTagIsTheVector: a sealed frame carries, on the wire, the tag of
// its encrypted messages, and Open accepts it.
func TestSealedTagIsTheVector(t *testing.T) {
	key := keys.Key{9, 8, 7}
	for dir := range uint8(2) {
		b := make([]byte, FrameLen)
		f := mustView(t, b)
		copy(f.Interaction(), vectorMsgs(3))
		if err := mustSealer(t, dir, Options{NoScramble: true}).Seal(&f, &key, 77, 5); err != nil {
			t.Fatal(err)
		}
		ref := refTag(t, &key, dir, 5, 77, f.Interaction()) // the ciphertext, as sent
		if !bytes.Equal(f.Tag(), ref[:]) {
			t.Fatalf("dir %d: wire tag %x, want %x", dir, f.Tag(), ref)
		}
		o := mustOpener(t, dir, Options{NoScramble: true})
		o.Install(5, &key)
		var st Stats
		if err := o.Open(&f, &st); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Interaction(), vectorMsgs(3)) {
			t.Fatal("messages not restored")
		}
	}
	// A null frame carries a zero tag.
	b := bytes.Repeat([]byte{0xEE}, FrameLen)
	f := mustView(t, b)
	if err := mustSealer(t, 0, Options{NoScramble: true}).Seal(&f, nil, 1, keys.NullEpoch); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Tag(), make([]byte, TagLen)) {
		t.Fatalf("null frame tag %x", f.Tag())
	}
}

// forge seals a frame (epoch 1, COUNT 50, no scrambling so the test can
// reach the fields), lets change rewrite the wire as an attacker who knows
// the frame layout and the public FEC would (re-encoding the FEC so it
// cannot undo the change), and returns the wire.
func forge(t *testing.T, key *keys.Key, change func(f *Frame)) []byte {
	t.Helper()
	b := make([]byte, FrameLen)
	f := mustView(t, b)
	copy(f.Interaction(), vectorMsgs(1))
	if err := mustSealer(t, 0, Options{NoScramble: true}).Seal(&f, key, 50, 1); err != nil {
		t.Fatal(err)
	}
	change(&f)
	c := fec.New()
	c.EncodeRows(&f.rows)
	c.EncodeArea(f.InteractionArea())
	return b
}

// TestForgeriesRejected: an attacker who flips bits of the encrypted
// messages (ZUC alone is malleable), rewrites the epoch or COUNT, moves the
// tag to another frame or guesses a tag is refused with ErrAuth; the frame
// is left as received and the window does not move (the genuine frame
// still opens afterwards).
func TestForgeriesRejected(t *testing.T) {
	key := keys.Key{0x42}
	cases := []struct {
		name   string
		change func(f *Frame)
	}{
		{"flip a message bit", func(f *Frame) { f.Interaction()[1] ^= 0x04 }},
		{"flip the last message byte", func(f *Frame) { f.Interaction()[MsgLen-1] ^= 0x80 }},
		{"flip a tag bit", func(f *Frame) { f.Tag()[0] ^= 1 }},
		{"zero tag", func(f *Frame) { clear(f.Tag()) }},
		{"rewrite COUNT", func(f *Frame) { f.SetCount(51) }},
		{"rewrite the epoch to another held one", func(f *Frame) { f.SetEpoch(2) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wire := forge(t, &key, tc.change)
			o := mustOpener(t, 0, Options{NoScramble: true})
			o.Install(2, &key) // the same key under epoch 2: the epoch is in the tag
			o.Install(1, &key)
			before := append([]byte(nil), wire...)
			f := mustView(t, wire)
			var st Stats
			err := o.Open(&f, &st)
			var ae *AuthError
			if !errors.As(err, &ae) || !errors.Is(err, ErrAuth) || ae.Uncorrectable {
				t.Fatalf("Open = %v, want a tag failure", err)
			}
			if !bytes.Equal(before, wire) {
				t.Fatal("rejected frame changed")
			}
			genuine := forge(t, &key, func(*Frame) {})
			g := mustView(t, genuine)
			if err := o.Open(&g, &st); err != nil || st.Count != 50 {
				t.Fatalf("the genuine frame after the forgery: %v (COUNT %d)", err, st.Count)
			}
		})
	}
	// An area the FEC cannot correct is refused the same way, marked.
	wire := forge(t, &key, func(*Frame) {})
	for i := range 9 {
		wire[IntOff+20*i] ^= 0x33
	}
	o := mustOpener(t, 0, Options{NoScramble: true})
	o.Install(1, &key)
	f := mustView(t, wire)
	var st Stats
	var ae *AuthError
	if err := o.Open(&f, &st); !errors.As(err, &ae) || !ae.Uncorrectable {
		t.Fatalf("uncorrectable area: %v", err)
	}
}

// TestReplayRejected: a frame opens once; the same wire again, or one far
// behind, is refused with ErrReplay and left as it was; frames reordered
// within the window open; re-installing the same key keeps the window, a
// new key under the epoch starts a fresh one.
func TestReplayRejected(t *testing.T) {
	key := keys.Key{0x17}
	s := mustSealer(t, 1, Options{})
	o := mustOpener(t, 1, Options{})
	o.Install(3, &key)
	wires := map[uint32][]byte{}
	seal := func(k *keys.Key, count uint32) []byte {
		b := make([]byte, FrameLen)
		b[9000] = byte(count)
		f := mustView(t, b)
		if err := s.Seal(&f, k, count, 3); err != nil {
			t.Fatal(err)
		}
		return b
	}
	open := func(wire []byte) error {
		w := append([]byte(nil), wire...)
		f := mustView(t, w)
		var st Stats
		err := o.Open(&f, &st)
		if err != nil && !bytes.Equal(w, wire) {
			t.Fatal("rejected frame changed")
		}
		return err
	}
	for _, c := range []uint32{10, 12, 11, 5000} {
		wires[c] = seal(&key, c)
	}
	for _, c := range []uint32{10, 12, 11} { // 11 after 12: reordered, fine
		if err := open(wires[c]); err != nil {
			t.Fatalf("COUNT %d: %v", c, err)
		}
	}
	var re *ReplayError
	if err := open(wires[12]); !errors.As(err, &re) || re.Verdict != replay.Replay || !errors.Is(err, ErrReplay) {
		t.Fatalf("replay of COUNT 12: %v", err)
	}
	if err := open(wires[5000]); err != nil {
		t.Fatal(err)
	}
	if err := open(wires[10]); !errors.As(err, &re) || re.Verdict != replay.TooOld {
		t.Fatalf("COUNT 10 after 5000: %v", err)
	}
	o.Install(3, &key) // the same key again: the window stays
	if err := open(wires[5000]); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay after re-installing the same key: %v", err)
	}
	key2 := keys.Key{0x18}
	o.Install(3, &key2)
	if err := open(seal(&key2, 10)); err != nil {
		t.Fatalf("a new key under epoch 3 starts a fresh window: %v", err)
	}
	if err := open(wires[5000]); !errors.Is(err, ErrAuth) {
		t.Fatalf("the old key's frame under the new key: %v", err)
	}
}

// TestRejectNoAlloc: refusing forged and replayed frames allocates nothing
// (an attacker's flood must not feed the garbage collector).
func TestRejectNoAlloc(t *testing.T) {
	key := keys.Key{5}
	o := mustOpener(t, 0, Options{NoScramble: true})
	o.Install(1, &key)
	genuine := forge(t, &key, func(*Frame) {})
	forged := forge(t, &key, func(f *Frame) { f.Interaction()[3] ^= 1 })
	w := make([]byte, FrameLen)
	f := mustView(t, w)
	var st Stats
	copy(w, genuine)
	if err := o.Open(&f, &st); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() {
		copy(w, forged)
		if !errors.Is(o.Open(&f, &st), ErrAuth) {
			t.Fatal("forgery opened")
		}
		copy(w, genuine)
		if !errors.Is(o.Open(&f, &st), ErrReplay) {
			t.Fatal("replay opened")
		}
	}); a != 0 {
		t.Fatalf("%v allocations per rejected frame pair", a)
	}
}
