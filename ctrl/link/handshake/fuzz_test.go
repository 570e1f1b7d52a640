package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The seed corpus under testdata/fuzz/ holds one valid message of each type
// and a few broken ones; TestWriteFuzzSeeds regenerates it when
// OTKD_WRITE_FUZZ_SEEDS=1 (valid messages are random, so the files change).

// typedErr fails unless err is one of the decoders' error kinds.
func typedErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrState) {
		t.Fatalf("untyped error %v", err)
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := decodeHello(msg)
		if err != nil {
			typedErr(t, err)
			return
		}
		if CheckID(h.id) != nil {
			t.Fatalf("accepted id %q", h.id)
		}
		if !bytes.Equal(encodeHello(h), msg) {
			t.Fatal("accepted a non-canonical Hello")
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := decodeReply(msg)
		if err != nil {
			typedErr(t, err)
			return
		}
		if CheckID(p.id) != nil {
			t.Fatalf("accepted id %q", p.id)
		}
		if !bytes.Equal(append(encodeReplyHead(p), p.sB[:]...), msg) {
			t.Fatal("accepted a non-canonical Reply")
		}
	})
}

func FuzzDecodeConfirm(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := decodeConfirm(msg)
		if err != nil {
			typedErr(t, err)
			return
		}
		if !bytes.Equal(append(encodeConfirmHead(&c.nonceA, &c.nonceB, c.epochA), c.sA[:]...), msg) {
			t.Fatal("accepted a non-canonical Confirm")
		}
	})
}

// FuzzResponder feeds two arbitrary messages to a fresh responder: it must
// never panic and never end with keys (nobody but A can make a valid S_A).
func FuzzResponder(f *testing.F) {
	a, b, _ := ids(f)
	f.Fuzz(func(t *testing.T, m1, m2 []byte) {
		r, err := NewResponder(b, a.Peer(), 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range [][]byte{m1, m2} {
			if _, _, err := r.Handle(m); err != nil {
				if !errors.Is(err, ErrAuth) {
					typedErr(t, err)
				}
			}
		}
		if k, err := r.Result(); k != nil || err == nil {
			t.Fatal("responder finished on forged input")
		}
	})
}

// FuzzInitiator feeds an arbitrary message to a fresh initiator.
func FuzzInitiator(f *testing.F) {
	a, b, _ := ids(f)
	f.Fuzz(func(t *testing.T, m1 []byte) {
		i, _, err := NewInitiator(a, b.Peer(), 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, done, err := i.Handle(m1)
		if err == nil || out != nil || done {
			t.Fatal("initiator accepted a message it did not ask for")
		}
		if !errors.Is(err, ErrAuth) {
			typedErr(t, err)
		}
	})
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("OTKD_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set OTKD_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	a, b, _ := ids(t)
	o := run(t, a, b.Peer(), b, a.Peer(), nil)
	hello, reply, conf := o.msgs[0], o.msgs[1], o.msgs[2]
	one := func(m []byte) string { return fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", m) }
	two := func(m1, m2 []byte) string {
		return fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n[]byte(%+q)\n", m1, m2)
	}
	seeds := map[string]map[string]string{
		"FuzzDecodeHello": {
			"valid": one(hello), "truncated": one(hello[:len(hello)-1]), "version1": one(setByte(hello, 0, 1)),
			"idlen0": one(setByte(hello, 34, 0)), "reply": one(reply), "empty": one(nil),
		},
		"FuzzDecodeReply": {
			"valid": one(reply), "truncated": one(reply[:len(reply)-1]), "trailing": one(append(bytes.Clone(reply), 0)),
			"compressed": one(setByte(reply, 67+int(reply[66]), 3)), "hello": one(hello),
		},
		"FuzzDecodeConfirm": {
			"valid": one(conf), "truncated": one(conf[:50]), "type9": one(setByte(conf, 1, 9)),
		},
		"FuzzResponder": {
			"valid": two(hello, conf), "dup-hello": two(hello, hello), "confirm-first": two(conf, hello),
			"flipped-sa": two(hello, setByte(conf, len(conf)-1, conf[len(conf)-1]^1)),
		},
		"FuzzInitiator": {
			"old-reply": one(reply), "hello": one(hello), "confirm": one(conf),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
