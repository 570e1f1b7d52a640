package keysync

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// fuzzKey is the fixed recipient of the seed key files.
func fuzzKey(t testing.TB) *sm2.PrivateKey {
	d := sm3.Sum([]byte("otkd keysync fuzz recipient"))
	k, err := sm2.NewPrivateKey(d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzKeyFile: parsing and opening any input never panics, fails only with
// the package's errors, and what opens holds valid records.
func FuzzKeyFile(f *testing.F) {
	self := fuzzKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseKeyFile(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error %v does not wrap ErrMalformed", err)
			}
			return
		}
		recs, err := env.Open(self)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongRecipient) &&
				!errors.Is(err, ErrEnvelope) && !errors.Is(err, ErrBadKeyID) {
				t.Fatalf("open error %v is none of the package's", err)
			}
			return
		}
		if _, err := encodeRecords(recs); err != nil {
			t.Fatalf("opened records do not re-encode: %v", err)
		}
	})
}

// FuzzRecords: a record block that parses re-encodes to the same bytes.
func FuzzRecords(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseRecords(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadKeyID) {
				t.Fatalf("error %v is none of the package's", err)
			}
			return
		}
		back, err := encodeRecords(recs)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip: %v, %x != %x", err, back, data)
		}
	})
}

// TestSeedCorpus writes the seed corpus with -update-corpus; otherwise it
// checks that the seed key file still opens.
func TestSeedCorpus(t *testing.T) {
	self := fuzzKey(t)
	recs := []Record{{ID: "vendor:0001", Key: bytes.Repeat([]byte{0x11}, 16)}, {ID: "vendor:0002", Key: bytes.Repeat([]byte{0x22}, 32)}}
	if !*updateCorpus {
		data, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzKeyFile", "valid"))
		if err != nil {
			t.Fatal(err)
		}
		var file []byte
		if _, err := fmt.Sscanf(string(data), "go test fuzz v1\n[]byte(%q)\n", &file); err != nil {
			t.Fatal(err)
		}
		env, err := ParseKeyFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := env.Open(self); err != nil || len(got) != 2 {
			t.Fatalf("seed key file: %d records, %v", len(got), err)
		}
		return
	}
	file, err := BuildKeyFile(rand.Reader, &self.PublicKey, recs)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := encodeRecords(recs)
	other, _ := sm2.GenerateKey(rand.Reader)
	forOther, _ := BuildKeyFile(rand.Reader, &other.PublicKey, recs)
	tampered := bytes.Clone(file)
	tampered[len(tampered)-1] ^= 1
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzKeyFile", "valid", file)
	write("FuzzKeyFile", "other-recipient", forOther)
	write("FuzzKeyFile", "tampered-tag", tampered)
	write("FuzzKeyFile", "header-only", file[:headerLen])
	write("FuzzKeyFile", "empty", nil)
	write("FuzzRecords", "two", block)
	write("FuzzRecords", "one-max", append([]byte{0, 0, 0, 1, 1, 'k', MaxKeyLen}, make([]byte, MaxKeyLen)...))
	write("FuzzRecords", "trailing", append(bytes.Clone(block), 0))
	write("FuzzRecords", "zero-count", []byte{0, 0, 0, 0})
	write("FuzzRecords", "huge-count", []byte{0xff, 0xff, 0xff, 0xff, 1, 'a'})
}
