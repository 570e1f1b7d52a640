package kstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var bkt = []byte("b")

func open(t *testing.T, path string, ms []Migration) *DB {
	t.Helper()
	d, err := OpenWith(path, ms, Options{LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return d
}

func TestPersistAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	d := open(t, path, nil)
	err := d.Update(func(tx Tx) error {
		if err := tx.Put(bkt, []byte("a"), []byte("1")); err != nil {
			return err
		}
		if err := tx.Put(bkt, []byte("b"), []byte("2")); err != nil {
			return err
		}
		n, err := tx.NextSeq(bkt)
		if n != 1 {
			t.Errorf("first NextSeq = %d, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = open(t, path, nil)
	defer d.Close()
	var got []string
	err = d.View(func(tx Tx) error {
		if v := tx.Get(bkt, []byte("a")); string(v) != "1" {
			t.Errorf("a = %q", v)
		}
		if v := tx.Get([]byte("missing"), []byte("a")); v != nil {
			t.Errorf("missing bucket gave %q", v)
		}
		return tx.ForEach(bkt, func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a=1 b=2]" {
		t.Errorf("ForEach = %v", got)
	}
	err = d.Update(func(tx Tx) error {
		n, err := tx.NextSeq(bkt)
		if n != 2 {
			t.Errorf("NextSeq after reopen = %d, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateErrorRollsBack(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	defer d.Close()
	boom := errors.New("boom")
	err := d.Update(func(tx Tx) error {
		if err := tx.Put(bkt, []byte("x"), []byte("1")); err != nil {
			return err
		}
		if _, err := tx.NextSeq(bkt); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	d.Update(func(tx Tx) error {
		if v := tx.Get(bkt, []byte("x")); v != nil {
			t.Errorf("rolled-back write visible: %q", v)
		}
		if n, _ := tx.NextSeq(bkt); n != 1 {
			t.Errorf("rolled-back NextSeq consumed a value: got %d", n)
		}
		return nil
	})
}

func TestViewIsReadOnly(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	defer d.Close()
	d.Update(func(tx Tx) error { return tx.Put(bkt, []byte("k"), []byte("v")) })
	err := d.View(func(tx Tx) error {
		if tx.Put(bkt, []byte("k"), []byte("w")) == nil {
			t.Error("Put in View succeeded")
		}
		if tx.Delete(bkt, []byte("k")) == nil {
			t.Error("Delete in View succeeded")
		}
		if _, err := tx.NextSeq(bkt); err == nil {
			t.Error("NextSeq in View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReservedBucket(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	defer d.Close()
	err := d.Update(func(tx Tx) error { return tx.Put(metaBucket, metaSchema, []byte("x")) })
	if !errors.Is(err, ErrReserved) {
		t.Fatalf("err = %v, want ErrReserved", err)
	}
}

func TestDelete(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	defer d.Close()
	err := d.Update(func(tx Tx) error {
		if err := tx.Delete([]byte("none"), []byte("k")); err != nil {
			return fmt.Errorf("delete in missing bucket: %w", err)
		}
		if err := tx.Put(bkt, []byte("k"), []byte("v")); err != nil {
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
}

// logMigration appends its number to a log bucket so tests can see order
// and count.
func logMigration(n byte) Migration {
	return Migration{Name: fmt.Sprintf("m%d", n), Up: func(tx Tx) error {
		seq, err := tx.NextSeq([]byte("log"))
		if err != nil {
			return err
		}
		return tx.Put([]byte("log"), binary.BigEndian.AppendUint64(nil, seq), []byte{n})
	}}
}

func readLog(t *testing.T, d *DB) []byte {
	t.Helper()
	var out []byte
	err := d.View(func(tx Tx) error {
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

func TestMigrationsRunOnceInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	ms := []Migration{logMigration(1), logMigration(2)}
	d := open(t, path, ms)
	if d.Version() != 2 {
		t.Errorf("version = %d, want 2", d.Version())
	}
	d.Close()
	d = open(t, path, ms) // nothing pending
	d.Close()
	ms = append(ms, logMigration(3), logMigration(4))
	d = open(t, path, ms)
	defer d.Close()
	if d.Version() != 4 {
		t.Errorf("version = %d, want 4", d.Version())
	}
	if got := readLog(t, d); string(got) != "\x01\x02\x03\x04" {
		t.Errorf("migrations ran as %v, want [1 2 3 4]", got)
	}
}

func TestFailingMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	boom := errors.New("boom")
	bad := Migration{Name: "bad", Up: func(tx Tx) error {
		if err := tx.Put([]byte("log"), []byte("zz"), []byte{9}); err != nil {
			return err
		}
		return boom
	}}
	_, err := OpenWith(path, []Migration{logMigration(1), bad, logMigration(3)}, Options{})
	var me *MigrationError
	if !errors.As(err, &me) || me.Version != 2 || !errors.Is(err, boom) || !errors.Is(err, ErrMigration) {
		t.Fatalf("err = %v, want migration 2 failing with boom", err)
	}
	// Fixed code: migration 1 must not run again, 2 and 3 run now.
	d := open(t, path, []Migration{logMigration(1), logMigration(2), logMigration(3)})
	defer d.Close()
	if got := readLog(t, d); string(got) != "\x01\x02\x03" {
		t.Errorf("log = %v, want [1 2 3] (bad migration's write rolled back)", got)
	}
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	d := open(t, path, []Migration{logMigration(1), logMigration(2)})
	d.Close()
	_, err := OpenWith(path, []Migration{logMigration(1)}, Options{})
	var se *SchemaError
	if !errors.As(err, &se) || se.Stored != 2 || se.Known != 1 || !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want SchemaError stored 2 known 1", err)
	}
}

func TestSecondOpenFailsWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	d := open(t, path, nil)
	defer d.Close()
	if _, err := OpenWith(path, nil, Options{LockTimeout: 20 * time.Millisecond}); err == nil {
		t.Fatal("second open of a locked store succeeded")
	}
}

func TestClosed(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	d.Close()
	if err := d.Update(func(Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
}

// TestConcurrentBatch has many goroutines increment shared counters and
// draw sequence numbers through Batch: no update may be lost, no sequence
// number handed out twice.
func TestConcurrentBatch(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "k.db"), nil)
	defer d.Close()
	workers, each := 16, 20
	if testing.Short() {
		workers, each = 8, 10
	}
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var got uint64
				err := d.Batch(func(tx Tx) error {
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
	d.View(func(tx Tx) error {
		if c := binary.BigEndian.Uint64(tx.Get(bkt, []byte("count"))); c != uint64(workers*each) {
			t.Errorf("count = %d, want %d", c, workers*each)
		}
		return nil
	})
}
