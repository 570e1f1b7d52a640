package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc64"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFiles: corrupt, truncated, foreign or wrong-version files give an
// ErrIncompatible naming the field, in Go and in C, and never crash a reader.
func TestBadFiles(t *testing.T) {
	w, good := newFileWriter(t, 8, nil)
	w.Put(patternKey(1, 1, 0, StateActive))
	img, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	resum := func(b []byte) {
		binary.LittleEndian.PutUint64(b[hdrSum:], crc64.Checksum(b[:hdrFixedEnd], crcTable))
	}
	cases := []struct {
		name, field string
		mutate      func([]byte) []byte
	}{
		{"empty", "file size", func(b []byte) []byte { return nil }},
		{"half header", "file size", func(b []byte) []byte { return b[:100] }},
		{"truncated slots", "file size", func(b []byte) []byte { return b[:len(b)-pageSize] }},
		{"foreign", "magic", func(b []byte) []byte { copy(b, "\x7fELF\x02\x01\x01\x00"); return b }},
		{"version 1", "layout version", func(b []byte) []byte { b[hdrVersion] = 1; resum(b); return b }},
		{"version 3", "layout version", func(b []byte) []byte { b[hdrVersion] = 3; resum(b); return b }},
		{"flipped bit", "header checksum", func(b []byte) []byte { b[hdrSlotsOff] ^= 0x10; return b }},
		{"slot count 0", "slot count", func(b []byte) []byte { b[hdrSlotCount] = 0; resum(b); return b }},
		{"slot count huge", "slot count", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[hdrSlotCount:], 1<<40)
			resum(b)
			return b
		}},
		{"wrong size field", "declared file size", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[hdrFileSize:], 1<<30)
			resum(b)
			return b
		}},
		{"wrong slot size", "slot size", func(b []byte) []byte { b[hdrSlotSize] = 0x80; resum(b); return b }},
		{"wrong index offset", "index offset", func(b []byte) []byte { b[hdrIndexOff] += 8; resum(b); return b }},
		{"wrong active offset", "active map offset", func(b []byte) []byte { b[hdrActiveOff+1] += 16; resum(b); return b }},
	}
	cbin := ""
	if _, err := exec.LookPath("gcc"); err == nil {
		cbin = buildCReader(t)
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(p, c.mutate(bytes.Clone(img)), 0o640); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p)
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			var ie *IncompatibleError
			if !errors.Is(err, ErrIncompatible) || !errors.As(err, &ie) || ie.Field != c.field {
				t.Fatalf("got %v, want ErrIncompatible about %s", err, c.field)
			}
			t.Log(err)
			if cbin != "" {
				out, err := exec.Command(cbin, "open", p).CombinedOutput()
				if err != nil || !strings.HasPrefix(string(out), "open incompatible file "+c.field) {
					t.Fatalf("C reader: %q %v", out, err)
				}
			}
		})
	}
}

// TestWriterRecreatesBadFile: a writer replaces an incompatible file with a
// new one (renamed over it, so a reader mapping the old one keeps a valid
// mapping, never a SIGBUS), zeroes the old one (so that mapping keeps no
// key) and logs why.
func TestWriterRecreatesBadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.shm")
	w, err := Create(Options{Path: path, Slots: 8, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Put(patternKey(1, 1, 0, StateActive))
	w.Close()
	old := openReader(t, path)

	var logs bytes.Buffer
	w, err = Create(Options{Path: path, Slots: 32, Heartbeat: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !strings.Contains(logs.String(), "file has 8 slots, configured 32") {
		t.Fatalf("log: %q", logs.String())
	}
	var k Key
	if err := old.ActiveKey(1, 0, &k); !errors.Is(err, ErrWriterGone) || k.ID != 0 || k.Len != 0 {
		t.Fatalf("old mapping after the replace: %v %v, want ErrWriterGone and no key", k, err)
	}
	for i := range old.Slots() {
		if err := old.Slot(i, &k); !errors.Is(err, ErrWriterGone) {
			t.Fatalf("old mapping, slot %d: %v %v, want ErrWriterGone (zeroed)", i, k, err)
		}
	}
	r := openReader(t, path)
	if r.Slots() != 32 || !r.WriterAlive() {
		t.Fatalf("new file: %d slots, alive %v", r.Slots(), r.WriterAlive())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}

	// A corrupt file is recreated too.
	w.Close()
	b, _ := os.ReadFile(path)
	b[hdrSlotsOff] ^= 1
	os.WriteFile(path, b, 0o640)
	logs.Reset()
	w, err = Create(Options{Path: path, Slots: 32, Heartbeat: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !strings.Contains(logs.String(), "header checksum") {
		t.Fatalf("log: %q", logs.String())
	}
}

// FuzzParseHeader: any bytes give a geometry or an error, never a panic, and
// an accepted geometry lies inside the file.
func FuzzParseHeader(f *testing.F) {
	g := newGeometry(8)
	h := make([]byte, headerSize)
	g.encodeHeader(h, 1)
	f.Add(h, int64(g.fileSize))
	f.Add(h[:64], int64(64))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		g, err := parseHeader(b, size)
		if err == nil && (int64(g.fileSize) > size || g.slotsOff+g.slots*slotSize > g.fileSize) {
			t.Fatalf("accepted geometry outside the file: %+v size %d", g, size)
		}
	})
}

// TestWriterRecreatesOlderGeneration: a file whose generation is older than
// the store's (e.g. restored from elsewhere) is recreated, and the new
// generation is one more than the store's.
func TestWriterRecreatesOlderGeneration(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.shm")
	w, err := Create(Options{Path: path, Slots: 8, Heartbeat: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &filePersister{path: filepath.Join(dir, "store")}
	if err := p.SetGeneration(10); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, err = Create(Options{Path: path, Slots: 8, Heartbeat: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !strings.Contains(logs.String(), "file generation 1 is older than the store's 10") || w.Generation() != 11 {
		t.Fatalf("generation %d, log %q", w.Generation(), logs.String())
	}
	if g, _ := p.Generation(); g != 11 {
		t.Fatalf("store generation %d, want 11", g)
	}
}
