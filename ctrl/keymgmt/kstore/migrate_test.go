package kstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

var recs = []byte("recs")

// rewrite is a record-format migration: every value of recs "v1:x" becomes
// "v2:x"; it fails after failAfter rewrites when failAfter > 0.
func rewrite(failAfter int) Migration {
	return Migration{Name: "recs v1 to v2", Up: func(tx Tx) error {
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

func readRecs(t *testing.T, d *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := d.View(func(tx Tx) error {
		return tx.ForEach(recs, func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateOldStore: a store written at schema 1 with records in the old
// format is opened by code that knows schema 2. A migration that fails
// half-way leaves every record and the version as they were; the fixed
// migration then rewrites every record once.
func TestMigrateOldStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	v1 := []Migration{logMigration(1)}
	d := open(t, path, v1)
	err := d.Update(func(tx Tx) error {
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
	d.Close()

	_, err = OpenWith(path, append(v1, rewrite(2)), Options{})
	var me *MigrationError
	if !errors.As(err, &me) || me.Version != 2 {
		t.Fatalf("half-way failure: %v, want MigrationError for version 2", err)
	}
	d = open(t, path, v1) // the old program still opens it
	if d.Version() != 1 {
		t.Fatalf("version after a failed migration = %d, want 1", d.Version())
	}
	for k, v := range readRecs(t, d) {
		if v[:3] != "v1:" {
			t.Fatalf("record %s = %q after a rolled-back migration", k, v)
		}
	}
	d.Close()

	d = open(t, path, append(v1, rewrite(0)))
	defer d.Close()
	want := map[string]string{"a": "v2:alice", "b": "v2:bob", "c": "v2:carol"}
	if got := readRecs(t, d); len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] || got["c"] != want["c"] {
		t.Fatalf("records after migration: %v, want %v", got, want)
	}
	if d.Version() != 2 {
		t.Fatalf("version = %d, want 2", d.Version())
	}
	if got := readLog(t, d); string(got) != "\x01" {
		t.Fatalf("migration 1 ran again: log %v", got)
	}
}
