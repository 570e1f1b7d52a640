package kstore

import (
	"path/filepath"
	"testing"
	"time"
)

// The contract's tests are in kstoretest (suite_test.go runs them on
// bbolt); these are bbolt's own.

func TestSecondOpenFailsWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	d, err := OpenWith(path, nil, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := OpenWith(path, nil, Options{LockTimeout: 20 * time.Millisecond}); err == nil {
		t.Fatal("second open of a locked store succeeded")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a", "b"}, {"a\xff", "b"}, {"ab\xff\xff", "ac"}, {"\xff", ""}, {"", ""},
	} {
		got := PrefixEnd([]byte(c.in))
		if string(got) != c.want || (c.want == "" && got != nil) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
