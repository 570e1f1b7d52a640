// Package kstoretest is the test suite of the kstore contract: every
// backend of ctrl/keymgmt/kstore (bbolt in kstore, etcd in
// kstore/etcdstore) runs the same tests through Run, so the two cannot
// drift apart. Tests only.
package kstoretest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// Backend opens the stores of one backend for the suite.
type Backend struct {
	// Open opens, or opens again after Close, the store called name (a
	// file, a key prefix) with migrations. Names are unique per test.
	Open func(t *testing.T, name string, migrations []kstore.Migration) (kstore.Store, error)
	// MaxOps is the backend's bound on the writes of one transaction; 0
	// when it has none.
	MaxOps int
	// Shared: other processes may write the store, so Update may run fn
	// more than once.
	Shared bool
}

// Versioned is a store that reports its schema version.
type Versioned interface{ Version() uint64 }

// Run runs the suite on b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"PersistAcrossReopen", testPersist},
		{"UpdateErrorRollsBack", testRollback},
		{"PanicRollsBack", testPanic},
		{"ViewIsReadOnly", testViewReadOnly},
		{"ReservedBucket", testReserved},
		{"Delete", testDelete},
		{"EmptyKey", testEmptyKey},
		{"ReadYourWrites", testReadYourWrites},
		{"Scan", testScan},
		{"ScanSeesOwnWrites", testScanOverlay},
		{"DeleteRange", testDeleteRange},
		{"Migrations", testMigrations},
		{"FailingMigrationRollsBack", testFailingMigration},
		{"MigrateOldStore", testMigrateOldStore},
		{"NewerSchema", testNewerSchema},
		{"Closed", testClosed},
		{"ConcurrentBatch", testConcurrentBatch},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"NoWriteSkew", testWriteSkew},
		{"NoPhantom", testPhantom},
		{"TxnTooLarge", testTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, &suite{b: b, name: t.Name()}) })
	}
}

type suite struct {
	b    Backend
	name string
}

var bkt = []byte("b")

// open opens the test's store and closes it when the test ends (unless
// the test closed it).
func (s *suite) open(t *testing.T, ms []kstore.Migration) kstore.Store {
	t.Helper()
	st, err := s.b.Open(t, s.name, ms)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return st
}

func put(tx kstore.Tx, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := tx.Put(bkt, []byte(kv[i]), []byte(kv[i+1])); err != nil {
			return err
		}
	}
	return nil
}

// dump returns the pairs of bucket b as "k=v" in order.
func dump(t *testing.T, st kstore.Store, b []byte) string {
	t.Helper()
	var out []string
	err := st.View(func(tx kstore.Tx) error {
		out = out[:0]
		return tx.ForEach(b, func(k, v []byte) error {
			out = append(out, string(k)+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out)
}

func testPersist(t *testing.T, s *suite) {
	st := s.open(t, nil)
	err := st.Update(func(tx kstore.Tx) error {
		if err := put(tx, "a", "1", "b", "2", "e", ""); err != nil {
			return err
		}
		n, err := tx.NextSeq(bkt)
		if err == nil && n != 1 {
			return fmt.Errorf("first NextSeq = %d, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = s.open(t, nil)
	defer st.Close()
	err = st.View(func(tx kstore.Tx) error {
		if v := tx.Get(bkt, []byte("a")); string(v) != "1" {
			return fmt.Errorf("a = %q", v)
		}
		if v := tx.Get(bkt, []byte("e")); v == nil || len(v) != 0 {
			return fmt.Errorf("empty value read back as %v (nil means missing)", v)
		}
		if v := tx.Get([]byte("missing"), []byte("a")); v != nil {
			return fmt.Errorf("missing bucket gave %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[a=1 b=2 e=]" {
		t.Errorf("ForEach = %v", got)
	}
	err = st.Update(func(tx kstore.Tx) error {
		n, err := tx.NextSeq(bkt)
		if err == nil && n != 2 {
			return fmt.Errorf("NextSeq after reopen = %d, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testRollback(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	boom := errors.New("boom")
	err := st.Update(func(tx kstore.Tx) error {
		if err := put(tx, "x", "1"); err != nil {
			return err
		}
		if _, err := tx.NextSeq(bkt); err != nil {
			return err
		}
		if err := tx.DeleteRange(bkt, kstore.Range{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	err = st.Update(func(tx kstore.Tx) error {
		if v := tx.Get(bkt, []byte("x")); v != nil {
			return fmt.Errorf("rolled-back write visible: %q", v)
		}
		if n, _ := tx.NextSeq(bkt); n != 1 {
			return fmt.Errorf("rolled-back NextSeq consumed a value: got %d", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPanic(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		st.Update(func(tx kstore.Tx) error {
			put(tx, "p", "1")
			panic("in the middle")
		})
	}()
	if got := dump(t, st, bkt); got != "[]" {
		t.Fatalf("a panicking transaction left %s", got)
	}
}

func testViewReadOnly(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	if err := st.Update(func(tx kstore.Tx) error { return put(tx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	err := st.View(func(tx kstore.Tx) error {
		if tx.Put(bkt, []byte("k"), []byte("w")) == nil {
			t.Error("Put in View succeeded")
		}
		if tx.Delete(bkt, []byte("k")) == nil {
			t.Error("Delete in View succeeded")
		}
		if tx.DeleteRange(bkt, kstore.Range{}) == nil {
			t.Error("DeleteRange in View succeeded")
		}
		if _, err := tx.NextSeq(bkt); err == nil {
			t.Error("NextSeq in View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[k=v]" {
		t.Fatalf("after a View's writes: %s", got)
	}
}

func testReserved(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	meta := []byte("kstore.meta")
	for name, fn := range map[string]func(tx kstore.Tx) error{
		"Put":         func(tx kstore.Tx) error { return tx.Put(meta, []byte("schema"), []byte("x")) },
		"Delete":      func(tx kstore.Tx) error { return tx.Delete(meta, []byte("schema")) },
		"DeleteRange": func(tx kstore.Tx) error { return tx.DeleteRange(meta, kstore.Range{}) },
		"NextSeq":     func(tx kstore.Tx) error { _, err := tx.NextSeq(meta); return err },
	} {
		if err := st.Update(fn); !errors.Is(err, kstore.ErrReserved) {
			t.Errorf("%s in the meta bucket: %v, want ErrReserved", name, err)
		}
	}
}

func testDelete(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	err := st.Update(func(tx kstore.Tx) error {
		if err := tx.Delete([]byte("none"), []byte("k")); err != nil {
			return fmt.Errorf("delete in missing bucket: %w", err)
		}
		if err := put(tx, "k", "v"); err != nil {
			return err
		}
		if err := tx.Delete(bkt, []byte("k")); err != nil {
			return err
		}
		if v := tx.Get(bkt, []byte("k")); v != nil {
			return fmt.Errorf("deleted key still has %q", v)
		}
		return tx.Delete(bkt, []byte("k"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[]" {
		t.Fatalf("after delete: %s", got)
	}
}

func testEmptyKey(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	if err := st.Update(func(tx kstore.Tx) error { return tx.Put(bkt, nil, []byte("v")) }); err == nil {
		t.Fatal("Put with an empty key succeeded")
	}
	if got := dump(t, st, bkt); got != "[]" {
		t.Fatalf("after a refused put: %s", got)
	}
}

func testReadYourWrites(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	if err := st.Update(func(tx kstore.Tx) error { return put(tx, "a", "1", "b", "2") }); err != nil {
		t.Fatal(err)
	}
	err := st.Update(func(tx kstore.Tx) error {
		if err := put(tx, "a", "10"); err != nil {
			return err
		}
		if v := tx.Get(bkt, []byte("a")); string(v) != "10" {
			return fmt.Errorf("own put read back as %q", v)
		}
		if err := tx.Delete(bkt, []byte("b")); err != nil {
			return err
		}
		if v := tx.Get(bkt, []byte("b")); v != nil {
			return fmt.Errorf("own delete read back as %q", v)
		}
		if err := put(tx, "b", "20"); err != nil {
			return err
		}
		if v := tx.Get(bkt, []byte("b")); string(v) != "20" {
			return fmt.Errorf("put after delete read back as %q", v)
		}
		n1, _ := tx.NextSeq([]byte("s"))
		n2, err := tx.NextSeq([]byte("s"))
		if err == nil && (n1 != 1 || n2 != 2) {
			return fmt.Errorf("NextSeq twice in a transaction: %d, %d", n1, n2)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[a=10 b=20]" {
		t.Fatalf("committed %s", got)
	}
}

// scan collects a Scan as "k=v" strings.
func scan(tx kstore.Tx, r kstore.Range) ([]string, error) {
	var out []string
	err := tx.Scan(bkt, r, func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	})
	return out, err
}

func testScan(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	err := st.Update(func(tx kstore.Tx) error {
		if err := put(tx, "a", "1", "ab", "2", "abc", "3", "b", "4", "c\xff", "5", "d", "6"); err != nil {
			return err
		}
		return tx.Put([]byte("other"), []byte("a"), []byte("x")) // another bucket stays out
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		r    kstore.Range
		want string
	}{
		{kstore.Range{}, "[a=1 ab=2 abc=3 b=4 c\xff=5 d=6]"},
		{kstore.Prefix([]byte("a")), "[a=1 ab=2 abc=3]"},
		{kstore.Prefix([]byte("ab")), "[ab=2 abc=3]"},
		{kstore.Prefix([]byte("c\xff")), "[c\xff=5]"},
		{kstore.Prefix([]byte("z")), "[]"},
		{kstore.Range{Start: []byte("ab"), End: []byte("c")}, "[ab=2 abc=3 b=4]"},
		{kstore.Range{Start: []byte("b")}, "[b=4 c\xff=5 d=6]"},
		{kstore.Range{End: []byte("b")}, "[a=1 ab=2 abc=3]"},
		{kstore.Range{Reverse: true}, "[d=6 c\xff=5 b=4 abc=3 ab=2 a=1]"},
		{kstore.Range{End: []byte("b"), Reverse: true}, "[abc=3 ab=2 a=1]"},
		{kstore.Range{End: []byte("bb"), Reverse: true, Limit: 2}, "[b=4 abc=3]"},
		{kstore.Range{Start: []byte("ab"), Limit: 2}, "[ab=2 abc=3]"},
		{kstore.Range{Start: []byte("e"), Reverse: true}, "[]"},
		{kstore.Range{Start: []byte("b"), End: []byte("b")}, "[]"},
	}
	err = st.View(func(tx kstore.Tx) error {
		for _, c := range cases {
			got, err := scan(tx, c.r)
			if err != nil {
				return err
			}
			if fmt.Sprint(got) != c.want {
				t.Errorf("Scan(%q..%q rev=%v limit=%d) = %q, want %q", c.r.Start, c.r.End, c.r.Reverse, c.r.Limit, fmt.Sprint(got), c.want)
			}
		}
		stop := errors.New("stop")
		n := 0
		err := tx.Scan(bkt, kstore.Range{}, func(k, v []byte) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			return fmt.Errorf("an error from fn: %v after %d calls", err, n)
		}
		if err := tx.Scan(bkt, kstore.Range{Limit: -1}, func(k, v []byte) error { return nil }); !errors.Is(err, kstore.ErrRange) {
			return fmt.Errorf("negative limit: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := kstore.PrefixEnd([]byte{0xff, 0xff}); got != nil {
		t.Errorf("PrefixEnd(ffff) = %x", got)
	}
}

// testScanOverlay: a Scan in a read-write transaction sees the
// transaction's own puts and deletes, in order, with the limit counted on
// what it returns.
func testScanOverlay(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	if err := st.Update(func(tx kstore.Tx) error { return put(tx, "a", "1", "c", "3", "e", "5", "g", "7") }); err != nil {
		t.Fatal(err)
	}
	err := st.Update(func(tx kstore.Tx) error {
		if err := put(tx, "b", "2", "c", "30", "f", "6"); err != nil {
			return err
		}
		if err := tx.Delete(bkt, []byte("e")); err != nil {
			return err
		}
		if err := tx.DeleteRange(bkt, kstore.Range{Start: []byte("g"), End: []byte("h")}); err != nil {
			return err
		}
		for _, c := range []struct {
			r    kstore.Range
			want string
		}{
			{kstore.Range{}, "[a=1 b=2 c=30 f=6]"},
			{kstore.Range{Reverse: true}, "[f=6 c=30 b=2 a=1]"},
			{kstore.Range{Start: []byte("b"), Limit: 2}, "[b=2 c=30]"},
			{kstore.Range{Reverse: true, Limit: 3}, "[f=6 c=30 b=2]"},
		} {
			got, err := scan(tx, c.r)
			if err != nil {
				return err
			}
			if fmt.Sprint(got) != c.want {
				return fmt.Errorf("Scan(%+v) in the transaction = %s, want %s", c.r, got, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[a=1 b=2 c=30 f=6]" {
		t.Fatalf("committed %s", got)
	}
}

func testDeleteRange(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	// 300 keys in chunks of 60: more than a cluster store's writes per
	// transaction in all.
	for i := 0; i < 300; i += 60 {
		err := st.Update(func(tx kstore.Tx) error {
			for j := i; j < i+60; j++ {
				k := binary.BigEndian.AppendUint16([]byte{byte(j % 3)}, uint16(j))
				if err := tx.Put(bkt, k, []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(p byte) int {
		n := 0
		st.View(func(tx kstore.Tx) error {
			return tx.Scan(bkt, kstore.Prefix([]byte{p}), func(k, v []byte) error { n++; return nil })
		})
		return n
	}
	// One range delete removes the 100 keys of prefix 1, whatever the
	// bound on a transaction's writes; a put inside the range in the same
	// transaction survives it.
	err := st.Update(func(tx kstore.Tx) error {
		if err := tx.DeleteRange(bkt, kstore.Prefix([]byte{1})); err != nil {
			return err
		}
		if err := tx.Put(bkt, []byte{1, 0xff, 0xff}, []byte("new")); err != nil {
			return err
		}
		if v := tx.Get(bkt, []byte{1, 0, 1}); v != nil {
			return fmt.Errorf("key in the deleted range still reads %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c0, c1, c2 := count(0), count(1), count(2); c0 != 100 || c1 != 1 || c2 != 100 {
		t.Fatalf("after DeleteRange of prefix 1: %d %d %d keys, want 100 1 100", c0, c1, c2)
	}
	if err := st.Update(func(tx kstore.Tx) error {
		return tx.DeleteRange(bkt, kstore.Range{Reverse: true})
	}); !errors.Is(err, kstore.ErrRange) {
		t.Fatalf("DeleteRange with an order: %v", err)
	}
	if err := st.Update(func(tx kstore.Tx) error { return tx.DeleteRange(bkt, kstore.Range{}) }); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, st, bkt); got != "[]" {
		t.Fatalf("after deleting everything: %s", got)
	}
}

// logMigration appends its number to a log bucket so tests can see order
// and count.
func logMigration(n byte) kstore.Migration {
	return kstore.Migration{Name: fmt.Sprintf("m%d", n), Up: func(tx kstore.Tx) error {
		seq, err := tx.NextSeq([]byte("log"))
		if err != nil {
			return err
		}
		return tx.Put([]byte("log"), binary.BigEndian.AppendUint64(nil, seq), []byte{n})
	}}
}

func readLog(t *testing.T, st kstore.Store) []byte {
	t.Helper()
	var out []byte
	err := st.View(func(tx kstore.Tx) error {
		out = out[:0]
		return tx.ForEach([]byte("log"), func(_, v []byte) error {
			out = append(out, v...)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func version(t *testing.T, st kstore.Store) uint64 {
	t.Helper()
	v, ok := st.(Versioned)
	if !ok {
		t.Fatalf("%T does not report its schema version", st)
	}
	return v.Version()
}

func testMigrations(t *testing.T, s *suite) {
	ms := []kstore.Migration{logMigration(1), logMigration(2)}
	st := s.open(t, ms)
	if v := version(t, st); v != 2 {
		t.Errorf("version = %d, want 2", v)
	}
	st.Close()
	st = s.open(t, ms) // nothing pending
	st.Close()
	ms = append(ms, logMigration(3), logMigration(4))
	st = s.open(t, ms)
	defer st.Close()
	if v := version(t, st); v != 4 {
		t.Errorf("version = %d, want 4", v)
	}
	if got := readLog(t, st); string(got) != "\x01\x02\x03\x04" {
		t.Errorf("migrations ran as %v, want [1 2 3 4]", got)
	}
}

func testFailingMigration(t *testing.T, s *suite) {
	boom := errors.New("boom")
	bad := kstore.Migration{Name: "bad", Up: func(tx kstore.Tx) error {
		if err := tx.Put([]byte("log"), []byte("zz"), []byte{9}); err != nil {
			return err
		}
		return boom
	}}
	_, err := s.b.Open(t, s.name, []kstore.Migration{logMigration(1), bad, logMigration(3)})
	var me *kstore.MigrationError
	if !errors.As(err, &me) || me.Version != 2 || !errors.Is(err, boom) || !errors.Is(err, kstore.ErrMigration) {
		t.Fatalf("err = %v, want migration 2 failing with boom", err)
	}
	// Fixed code: migration 1 must not run again, 2 and 3 run now.
	st := s.open(t, []kstore.Migration{logMigration(1), logMigration(2), logMigration(3)})
	defer st.Close()
	if got := readLog(t, st); string(got) != "\x01\x02\x03" {
		t.Errorf("log = %v, want [1 2 3] (bad migration's write rolled back)", got)
	}
}

var recs = []byte("recs")

// rewrite is a record-format migration: every value of recs "v1:x" becomes
// "v2:x"; it fails after failAfter rewrites when failAfter > 0.
func rewrite(failAfter int) kstore.Migration {
	return kstore.Migration{Name: "recs v1 to v2", Up: func(tx kstore.Tx) error {
		var keys, vals [][]byte
		err := tx.ForEach(recs, func(k, v []byte) error {
			if !bytes.HasPrefix(v, []byte("v1:")) {
				return errors.New("record not in format v1")
			}
			keys = append(keys, bytes.Clone(k))
			vals = append(vals, append([]byte("v2:"), v[3:]...))
			return nil
		})
		if err != nil {
			return err
		}
		for i := range keys {
			if failAfter > 0 && i == failAfter {
				return errors.New("disk full")
			}
			if err := tx.Put(recs, keys[i], vals[i]); err != nil {
				return err
			}
		}
		return nil
	}}
}

// testMigrateOldStore: a store written at schema 1 with records in the old
// format is opened by code that knows schema 2. A migration that fails
// half-way leaves every record and the version as they were; the fixed
// migration then rewrites every record once.
func testMigrateOldStore(t *testing.T, s *suite) {
	v1 := []kstore.Migration{logMigration(1)}
	st := s.open(t, v1)
	err := st.Update(func(tx kstore.Tx) error {
		for _, kv := range [][2]string{{"a", "v1:alice"}, {"b", "v1:bob"}, {"c", "v1:carol"}} {
			if err := tx.Put(recs, []byte(kv[0]), []byte(kv[1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	_, err = s.b.Open(t, s.name, append(v1, rewrite(2)))
	var me *kstore.MigrationError
	if !errors.As(err, &me) || me.Version != 2 {
		t.Fatalf("half-way failure: %v, want MigrationError for version 2", err)
	}
	st = s.open(t, v1) // the old program still opens it
	if v := version(t, st); v != 1 {
		t.Fatalf("version after a failed migration = %d, want 1", v)
	}
	if got := dump(t, st, recs); got != "[a=v1:alice b=v1:bob c=v1:carol]" {
		t.Fatalf("records after a rolled-back migration: %s", got)
	}
	st.Close()

	st = s.open(t, append(v1, rewrite(0)))
	defer st.Close()
	if got := dump(t, st, recs); got != "[a=v2:alice b=v2:bob c=v2:carol]" {
		t.Fatalf("records after migration: %s", got)
	}
	if v := version(t, st); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
	if got := readLog(t, st); string(got) != "\x01" {
		t.Fatalf("migration 1 ran again: log %v", got)
	}
}

func testNewerSchema(t *testing.T, s *suite) {
	st := s.open(t, []kstore.Migration{logMigration(1), logMigration(2)})
	st.Close()
	_, err := s.b.Open(t, s.name, []kstore.Migration{logMigration(1)})
	var se *kstore.SchemaError
	if !errors.As(err, &se) || se.Stored != 2 || se.Known != 1 || !errors.Is(err, kstore.ErrNewerSchema) {
		t.Fatalf("err = %v, want SchemaError stored 2 known 1", err)
	}
}

func testClosed(t *testing.T, s *suite) {
	st := s.open(t, nil)
	st.Close()
	if err := st.Update(func(kstore.Tx) error { return nil }); !errors.Is(err, kstore.ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
	if err := st.View(func(kstore.Tx) error { return nil }); !errors.Is(err, kstore.ErrClosed) {
		t.Fatalf("View after Close: %v", err)
	}
}

// counterWorkers has many goroutines increment shared counters and draw
// sequence numbers through do (Batch or Update): no update may be lost, no
// sequence number handed out twice.
func counterWorkers(t *testing.T, st kstore.Store, do func(func(kstore.Tx) error) error) {
	workers, each := 16, 20
	if testing.Short() {
		workers, each = 8, 10
	}
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				var got uint64
				err := do(func(tx kstore.Tx) error {
					n, err := tx.NextSeq([]byte("seq"))
					if err != nil {
						return err
					}
					got = n // a retried fn overwrites: idempotent
					c := uint64(0)
					if v := tx.Get(bkt, []byte("count")); v != nil {
						c = binary.BigEndian.Uint64(v)
					}
					return tx.Put(bkt, []byte("count"), binary.BigEndian.AppendUint64(nil, c+1))
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[got] {
					t.Errorf("sequence %d handed out twice", got)
				}
				seen[got] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.View(func(tx kstore.Tx) error {
		if c := binary.BigEndian.Uint64(tx.Get(bkt, []byte("count"))); c != uint64(workers*each) {
			t.Errorf("count = %d, want %d", c, workers*each)
		}
		return nil
	})
}

func testConcurrentBatch(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	counterWorkers(t, st, st.Batch)
}

func testConcurrentUpdate(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	counterWorkers(t, st, st.Update)
}

// testWriteSkew: two transactions each read both of two accounts and
// withdraw from one, keeping the sum non-negative. Serializable: one of
// them must see the other's withdrawal, so the sum never goes below 0.
func testWriteSkew(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	rounds := 20
	if testing.Short() {
		rounds = 8
	}
	num := func(tx kstore.Tx, k string) int64 {
		v := tx.Get(bkt, []byte(k))
		if v == nil {
			return 0
		}
		return int64(binary.BigEndian.Uint64(v))
	}
	for r := range rounds {
		if err := st.Update(func(tx kstore.Tx) error {
			for _, k := range []string{"x", "y"} {
				if err := tx.Put(bkt, []byte(k), binary.BigEndian.AppendUint64(nil, 50)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, k := range []string{"x", "y"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := st.Update(func(tx kstore.Tx) error {
					if num(tx, "x")+num(tx, "y") < 100 {
						return nil // the other withdrawal happened: refuse
					}
					return tx.Put(bkt, []byte(k), binary.BigEndian.AppendUint64(nil, uint64(num(tx, k)-100)))
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		st.View(func(tx kstore.Tx) error {
			if sum := num(tx, "x") + num(tx, "y"); sum != 0 {
				t.Errorf("round %d: sum %d after two concurrent withdrawals of 100 from 100, want 0 (one refused)", r, sum)
			}
			return nil
		})
	}
}

// testPhantom: concurrent transactions each insert an item into a prefix
// only while it holds fewer than limit items. Serializable (no phantom: a
// range read is checked at commit like a key read), the prefix ends with
// exactly limit items.
func testPhantom(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	const limit = 5
	n := 24
	if testing.Short() {
		n = 12
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := st.Update(func(tx kstore.Tx) error {
				c := 0
				if err := tx.Scan(bkt, kstore.Prefix([]byte("item/")), func(k, v []byte) error { c++; return nil }); err != nil {
					return err
				}
				if c >= limit {
					return nil
				}
				return tx.Put(bkt, fmt.Appendf(nil, "item/%03d", i), []byte("x"))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	c := 0
	st.View(func(tx kstore.Tx) error {
		return tx.Scan(bkt, kstore.Prefix([]byte("item/")), func(k, v []byte) error { c++; return nil })
	})
	if c != limit {
		t.Fatalf("%d items after %d concurrent capped inserts, want %d", c, n, limit)
	}
}

// testTooLarge: a transaction with more writes than the backend takes
// fails with ErrTxnTooLarge and writes nothing; on a backend without a
// bound it commits.
func testTooLarge(t *testing.T, s *suite) {
	st := s.open(t, nil)
	defer st.Close()
	n := 200
	if s.b.MaxOps > 0 {
		n = s.b.MaxOps + 1
	}
	err := st.Update(func(tx kstore.Tx) error {
		for i := range n {
			if err := tx.Put(bkt, fmt.Appendf(nil, "k%04d", i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	count := 0
	st.View(func(tx kstore.Tx) error {
		return tx.ForEach(bkt, func(k, v []byte) error { count++; return nil })
	})
	if s.b.MaxOps == 0 {
		if err != nil || count != n {
			t.Fatalf("%d puts: %v, %d stored", n, err, count)
		}
		return
	}
	if !errors.Is(err, kstore.ErrTxnTooLarge) || count != 0 {
		t.Fatalf("%d puts (bound %d): %v, %d stored; want ErrTxnTooLarge and none", n, s.b.MaxOps, err, count)
	}
	// Exactly at the bound it commits.
	err = st.Update(func(tx kstore.Tx) error {
		for i := range s.b.MaxOps {
			if err := tx.Put(bkt, fmt.Appendf(nil, "k%04d", i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%d puts, the bound: %v", s.b.MaxOps, err)
	}
}
