package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/otkd/otkd/internal/keys"
)

var (
	testIDsOnce sync.Once
	testA       Identity
	testB       Identity
	testC       Identity // a third node: its key is "the wrong key"
)

// ids returns three fixed identities, generated once per test binary.
func ids(tb testing.TB) (a, b, c Identity) {
	tb.Helper()
	testIDsOnce.Do(func() {
		var err error
		for _, p := range []struct {
			dst *Identity
			id  string
		}{{&testA, "otkd:node-a"}, {&testB, "otkd:node-b"}, {&testC, "otkd:node-c"}} {
			if *p.dst, err = Generate(p.id, nil); err != nil {
				panic(err)
			}
		}
	})
	return testA, testB, testC
}

// outcome is what a run of the three messages left behind.
type outcome struct {
	i          *Initiator
	r          *Responder
	errA, errB error
	msgs       [][]byte // messages as sent, before tampering
}

// run drives one handshake; tamper (may be nil) sees message n (0 Hello,
// 1 Reply, 2 Confirm) on the wire and returns what is delivered.
func run(tb testing.TB, a Identity, pinB Peer, b Identity, pinA Peer, tamper func(n int, msg []byte) []byte) *outcome {
	tb.Helper()
	o := new(outcome)
	var hello []byte
	var err error
	o.i, hello, err = NewInitiator(a, pinB, 1, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if o.r, err = NewResponder(b, pinA, 2, nil); err != nil {
		tb.Fatal(err)
	}
	wire := func(n int, m []byte) []byte {
		o.msgs = append(o.msgs, bytes.Clone(m))
		if tamper == nil {
			return m
		}
		return tamper(n, bytes.Clone(m))
	}
	reply, done, err := o.r.Handle(wire(0, hello))
	if o.errB = err; err != nil {
		return o
	}
	if done {
		tb.Fatal("responder done after Hello")
	}
	conf, done, err := o.i.Handle(wire(1, reply))
	if o.errA = err; err != nil {
		return o
	}
	if !done {
		tb.Fatal("initiator not done after Reply")
	}
	out, done, err := o.r.Handle(wire(2, conf))
	if o.errB = err; err != nil {
		return o
	}
	if !done || out != nil {
		tb.Fatalf("responder after Confirm: done=%v out=%d bytes", done, len(out))
	}
	return o
}

func TestHandshake(t *testing.T) {
	a, b, _ := ids(t)
	o := run(t, a, b.Peer(), b, a.Peer(), nil)
	if o.errA != nil || o.errB != nil {
		t.Fatalf("errors: A %v, B %v", o.errA, o.errB)
	}
	ka, err := o.i.Result()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := o.r.Result()
	if err != nil {
		t.Fatal(err)
	}
	if ka.AB != kb.AB || ka.BA != kb.BA || ka.LinkSecret != kb.LinkSecret {
		t.Fatal("A and B derived different keys")
	}
	if ka.AB == ka.BA || ka.AB == (keys.Key{}) || ka.LinkSecret == (keys.Secret{}) {
		t.Fatal("degenerate keys")
	}
	if ka.EpochAB != 1 || ka.EpochBA != 2 || kb.EpochAB != 1 || kb.EpochBA != 2 {
		t.Fatalf("first epochs: A has %d/%d, B has %d/%d, want 1/2", ka.EpochAB, ka.EpochBA, kb.EpochAB, kb.EpochBA)
	}
	if ka.Fingerprint() != kb.Fingerprint() || len(ka.Fingerprint()) != 16 {
		t.Fatalf("fingerprints %s, %s", ka.Fingerprint(), kb.Fingerprint())
	}
	for n, m := range o.msgs {
		if len(m) > MaxMessageSize {
			t.Errorf("message %d: %d bytes", n, len(m))
		}
	}
	if len(o.msgs[0]) != 100+len(a.ID) || len(o.msgs[1]) != 165+len(b.ID) {
		t.Errorf("Hello %d bytes, Reply %d bytes: the package doc says %d and %d",
			len(o.msgs[0]), len(o.msgs[1]), 100+len(a.ID), 165+len(b.ID))
	}
	if len(o.msgs[2]) != ConfirmSize {
		t.Errorf("Confirm is %d bytes, want %d", len(o.msgs[2]), ConfirmSize)
	}

	// A second handshake between the same ends gives other keys.
	o2 := run(t, a, b.Peer(), b, a.Peer(), nil)
	k2, err := o2.i.Result()
	if err != nil {
		t.Fatal(err)
	}
	if k2.AB == ka.AB {
		t.Fatal("two handshakes gave the same key")
	}

	ka.Zero()
	if ka.AB != (keys.Key{}) || ka.BA != (keys.Key{}) || ka.LinkSecret != (keys.Secret{}) {
		t.Fatal("Zero left key bytes")
	}
}

// noKeys fails unless both ends refuse to hand out keys.
func noKeys(t *testing.T, o *outcome) {
	t.Helper()
	if k, err := o.i.Result(); err == nil || k != nil {
		t.Errorf("initiator has keys (err %v)", err)
	}
	if k, err := o.r.Result(); err == nil || k != nil {
		t.Errorf("responder has keys (err %v)", err)
	}
}

func TestWrongPinnedKey(t *testing.T) {
	a, b, c := ids(t)
	wrongKeyB := Peer{ID: b.ID, Pub: c.Peer().Pub}
	wrongKeyA := Peer{ID: a.ID, Pub: c.Peer().Pub}
	tests := []struct {
		name       string
		pinB, pinA Peer
		detectedBy string
	}{
		{"A pins wrong key for B", wrongKeyB, a.Peer(), "A"},
		{"B pins wrong key for A", b.Peer(), wrongKeyA, "A"},
		{"both pin wrong keys", wrongKeyB, wrongKeyA, "A"},
		{"A pins wrong id for B", Peer{ID: "otkd:node-x", Pub: b.Peer().Pub}, a.Peer(), "A"},
		{"B pins wrong id for A", b.Peer(), Peer{ID: "otkd:node-x", Pub: a.Peer().Pub}, "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, a, tt.pinB, b, tt.pinA, nil)
			err := o.errA
			if tt.detectedBy == "B" {
				err = o.errB
			}
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("%s: got %v, want ErrAuth (A %v, B %v)", tt.detectedBy, err, o.errA, o.errB)
			}
			noKeys(t, o)
		})
	}
}

func TestTamperEveryByte(t *testing.T) {
	a, b, _ := ids(t)
	clean := run(t, a, b.Peer(), b, a.Peer(), nil)
	masks := []byte{0x01, 0x80}
	if testing.Short() {
		masks = masks[:1]
	}
	for n, m := range clean.msgs {
		for pos := range m {
			for _, mask := range masks {
				o := run(t, a, b.Peer(), b, a.Peer(), func(k int, msg []byte) []byte {
					if k == n {
						msg[pos] ^= mask
					}
					return msg
				})
				checkRejected(t, fmt.Sprintf("%v byte %d ^%#02x", MsgType(n+1), pos, mask), n, o)
			}
		}
	}
}

func TestTamperLength(t *testing.T) {
	a, b, _ := ids(t)
	for n := range 3 {
		for _, change := range []string{"truncate", "extend"} {
			o := run(t, a, b.Peer(), b, a.Peer(), func(k int, msg []byte) []byte {
				if k != n {
					return msg
				}
				if change == "truncate" {
					return msg[:len(msg)-1]
				}
				return append(msg, 0)
			})
			name := fmt.Sprintf("%v %s", MsgType(n+1), change)
			checkRejected(t, name, n, o)
			if err := firstErr(o); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", name, err)
			}
		}
	}
}

func firstErr(o *outcome) error {
	if o.errA != nil {
		return o.errA
	}
	return o.errB
}

// checkRejected: tampering message n must fail the handshake with a typed
// error and leave no keys, except that A already holds (pending) keys when
// only the Confirm was tampered with.
func checkRejected(t *testing.T, name string, n int, o *outcome) {
	t.Helper()
	err := firstErr(o)
	if err == nil {
		t.Fatalf("%s: accepted", name)
	}
	if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrState) {
		t.Fatalf("%s: untyped error %v", name, err)
	}
	if k, err := o.r.Result(); err == nil || k != nil {
		t.Fatalf("%s: responder has keys", name)
	}
	if n < 2 {
		if k, err := o.i.Result(); err == nil || k != nil {
			t.Fatalf("%s: initiator has keys", name)
		}
	}
}

func TestVersion(t *testing.T) {
	a, b, _ := ids(t)
	for n := range 3 {
		o := run(t, a, b.Peer(), b, a.Peer(), func(k int, msg []byte) []byte {
			if k == n {
				msg[0] = Version + 1
			}
			return msg
		})
		if err := firstErr(o); !errors.Is(err, ErrVersion) {
			t.Errorf("%v with version %d: %v, want ErrVersion", MsgType(n+1), Version+1, err)
		}
	}
}

func TestFieldErrorNamesField(t *testing.T) {
	a, b, _ := ids(t)
	clean := run(t, a, b.Peer(), b, a.Peer(), nil)
	hello, reply, conf := clean.msgs[0], clean.msgs[1], clean.msgs[2]
	idLen := int(hello[34])
	tests := []struct {
		name   string
		decode func([]byte) error
		msg    []byte
		msgT   MsgType
		field  string
	}{
		{"short header", helloErr, []byte{Version}, 0, "header"},
		{"unknown type", helloErr, []byte{Version, 9}, 0, "type"},
		{"no nonce", helloErr, hello[:10], MsgHello, "nonce_A"},
		{"zero id length", helloErr, setByte(hello, 34, 0), MsgHello, "ID_A length"},
		{"long id length", helloErr, setByte(hello, 34, MaxIDLen+1), MsgHello, "ID_A length"},
		{"space in id", helloErr, setByte(hello, 35, ' '), MsgHello, "ID_A"},
		{"compressed point", helloErr, setByte(hello, 35+idLen, 2), MsgHello, "R_A"},
		{"point off curve", helloErr, setByte(hello, len(hello)-1, hello[len(hello)-1]^1), MsgHello, "R_A"},
		{"trailing byte", helloErr, append(bytes.Clone(hello), 0), MsgHello, "length"},
		{"too large", helloErr, append(bytes.Clone(hello), make([]byte, MaxMessageSize)...), MsgHello, "length"},
		{"reply without S_B", replyErr, reply[:len(reply)-1], MsgReply, "S_B"},
		{"reply point", replyErr, setByte(reply, len(reply)-TagSize-2, reply[len(reply)-TagSize-2]^1), MsgReply, "R_B"},
		{"reply null epoch", replyErr, setByte(reply, len(reply)-TagSize-1, 0), MsgReply, "epoch_B"},
		{"confirm null epoch", confirmErr, setByte(conf, len(conf)-TagSize-1, 0), MsgConfirm, "epoch_A"},
		{"confirm short", confirmErr, conf[:40], MsgConfirm, "nonce_B"},
		{"confirm without S_A", confirmErr, conf[:len(conf)-1], MsgConfirm, "S_A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.msg)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want a FieldError", err)
			}
			if fe.Msg != tt.msgT || fe.Field != tt.field {
				t.Fatalf("got %v/%q, want %v/%q (%v)", fe.Msg, fe.Field, tt.msgT, tt.field, err)
			}
		})
	}
}

func helloErr(b []byte) error   { _, err := decodeHello(b); return err }
func replyErr(b []byte) error   { _, err := decodeReply(b); return err }
func confirmErr(b []byte) error { _, err := decodeConfirm(b); return err }

func setByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

func TestOrder(t *testing.T) {
	a, b, _ := ids(t)
	clean := run(t, a, b.Peer(), b, a.Peer(), nil)
	hello, reply, conf := clean.msgs[0], clean.msgs[1], clean.msgs[2]
	t.Run("responder gets Confirm first", func(t *testing.T) {
		r, _ := NewResponder(b, a.Peer(), 2, nil)
		expectState(t, r.Handle, conf)
		if _, err := r.Result(); !errors.Is(err, ErrState) {
			t.Fatalf("Result: %v", err)
		}
	})
	t.Run("responder gets Reply", func(t *testing.T) {
		r, _ := NewResponder(b, a.Peer(), 2, nil)
		expectState(t, r.Handle, reply)
	})
	t.Run("initiator gets Hello", func(t *testing.T) {
		i, _, _ := NewInitiator(a, b.Peer(), 1, nil)
		expectState(t, i.Handle, hello)
	})
	t.Run("initiator gets Confirm", func(t *testing.T) {
		i, _, _ := NewInitiator(a, b.Peer(), 1, nil)
		expectState(t, i.Handle, conf)
	})
	t.Run("a wrong message changes nothing", func(t *testing.T) {
		i, h, _ := NewInitiator(a, b.Peer(), 1, nil)
		r, _ := NewResponder(b, a.Peer(), 2, nil)
		rep, _, err := r.Handle(h)
		if err != nil {
			t.Fatal(err)
		}
		expectState(t, r.Handle, rep)
		expectState(t, i.Handle, h)
		if _, _, err := i.Handle(clean.msgs[1]); !errors.Is(err, ErrAuth) { // another handshake's Reply
			t.Fatalf("foreign Reply: %v", err)
		}
		// Both ends still wait: the real messages complete the handshake.
		c, done, err := i.Handle(rep)
		if err != nil || !done {
			t.Fatalf("Reply after the wrong messages: %v", err)
		}
		if _, _, err := r.Handle(clean.msgs[2]); !errors.Is(err, ErrAuth) { // another handshake's Confirm
			t.Fatalf("foreign Confirm: %v", err)
		}
		if _, done, err := r.Handle(c); err != nil || !done {
			t.Fatalf("Confirm after the wrong messages: %v", err)
		}
	})
	t.Run("messages after the end keep the keys", func(t *testing.T) {
		for _, m := range [][]byte{hello, reply, conf} {
			expectStateKeep(t, clean.i.Handle, m)
			expectStateKeep(t, clean.r.Handle, m)
		}
		if _, err := clean.i.Result(); err != nil {
			t.Fatal(err)
		}
		if _, err := clean.r.Result(); err != nil {
			t.Fatal(err)
		}
	})
}

func expectState(t *testing.T, handle func([]byte) ([]byte, bool, error), msg []byte) {
	t.Helper()
	out, done, err := handle(msg)
	if !errors.Is(err, ErrState) || out != nil || done {
		t.Fatalf("got out=%d done=%v err=%v, want ErrState", len(out), done, err)
	}
}

func expectStateKeep(t *testing.T, handle func([]byte) ([]byte, bool, error), msg []byte) {
	t.Helper()
	out, done, err := handle(msg)
	if !errors.Is(err, ErrState) || out != nil || !done {
		t.Fatalf("got out=%d done=%v err=%v, want ErrState and done", len(out), done, err)
	}
}

func TestDuplicateHello(t *testing.T) {
	a, b, _ := ids(t)
	i, hello, err := NewInitiator(a, b.Peer(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewResponder(b, a.Peer(), 2, nil)
	rep1, _, err := r.Handle(hello)
	if err != nil {
		t.Fatal(err)
	}
	rep2, done, err := r.Handle(hello)
	if err != nil || done || !bytes.Equal(rep1, rep2) {
		t.Fatalf("duplicate Hello: err %v, done %v, same reply %v", err, done, bytes.Equal(rep1, rep2))
	}
	conf, _, err := i.Handle(rep2)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := r.Handle(conf); err != nil || !done {
		t.Fatalf("Confirm after duplicate Hello: %v", err)
	}
}

func TestInitiatorRestart(t *testing.T) {
	a, b, _ := ids(t)
	_, hello1, _ := NewInitiator(a, b.Peer(), 1, nil)
	r1, _ := NewResponder(b, a.Peer(), 2, nil)
	if _, _, err := r1.Handle(hello1); err != nil {
		t.Fatal(err)
	}
	// A restarts: a new Hello reaches the old responder, which refuses it
	// and keeps waiting (the driver decides).
	i2, hello2, _ := NewInitiator(a, b.Peer(), 1, nil)
	if typ, err := PeekType(hello2); err != nil || typ != MsgHello {
		t.Fatalf("PeekType: %v %v", typ, err)
	}
	expectState(t, r1.Handle, hello2)
	if r1.state != stateWaitConfirm {
		t.Fatalf("old responder left waiting: %v", r1.state)
	}
	// The driver starts a new responder for it.
	r2, _ := NewResponder(b, a.Peer(), 2, nil)
	rep, _, err := r2.Handle(hello2)
	if err != nil {
		t.Fatal(err)
	}
	conf, _, err := i2.Handle(rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := r2.Handle(conf); err != nil || !done {
		t.Fatal(err)
	}
}

func TestReplay(t *testing.T) {
	a, b, _ := ids(t)
	old := run(t, a, b.Peer(), b, a.Peer(), nil)
	t.Run("old Reply to a new initiator", func(t *testing.T) {
		i, _, _ := NewInitiator(a, b.Peer(), 1, nil)
		if _, _, err := i.Handle(old.msgs[1]); !errors.Is(err, ErrAuth) {
			t.Fatalf("got %v, want ErrAuth", err)
		}
		if k, _ := i.Result(); k != nil {
			t.Fatal("keys")
		}
	})
	t.Run("old Hello and Confirm to a new responder", func(t *testing.T) {
		r, _ := NewResponder(b, a.Peer(), 2, nil)
		if _, _, err := r.Handle(old.msgs[0]); err != nil {
			t.Fatal(err) // B cannot tell a replayed Hello; the Confirm tells
		}
		if _, _, err := r.Handle(old.msgs[2]); !errors.Is(err, ErrAuth) {
			t.Fatalf("got %v, want ErrAuth", err)
		}
		if k, _ := r.Result(); k != nil {
			t.Fatal("keys")
		}
	})
}

func TestBadConfig(t *testing.T) {
	a, b, _ := ids(t)
	tests := []struct {
		name string
		self Identity
		peer Peer
	}{
		{"empty own id", Identity{Priv: a.Priv}, b.Peer()},
		{"space in peer id", a, Peer{ID: "otkd: b", Pub: b.Peer().Pub}},
		{"no private key", Identity{ID: a.ID}, b.Peer()},
		{"no peer key", a, Peer{ID: b.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := NewInitiator(tt.self, tt.peer, 1, nil); err == nil {
				t.Error("NewInitiator accepted")
			}
			if _, err := NewResponder(tt.self, tt.peer, 2, nil); err == nil {
				t.Error("NewResponder accepted")
			}
		})
	}
}

func BenchmarkHandshakeFull(b *testing.B) {
	ia, ib, _ := ids(b)
	o := run(b, ia, ib.Peer(), ib, ia.Peer(), nil)
	wire := 0
	for _, m := range o.msgs {
		wire += len(m)
	}
	b.SetBytes(int64(wire))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run(b, ia, ib.Peer(), ib, ia.Peer(), nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
