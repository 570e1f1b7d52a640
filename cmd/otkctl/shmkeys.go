package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/shm"
)

// shmReport is the JSON of `otkctl keys --shm`: the keys as a plugin sees
// them, with the file's header facts.
type shmReport struct {
	Source      string        `json:"source"` // "shm"
	Path        string        `json:"path"`
	Generation  uint64        `json:"generation"`
	WriterPID   uint64        `json:"writer_pid"`
	WriterAlive bool          `json:"writer_alive"`
	Slots       int           `json:"slots"`
	Keys        []api.KeyInfo `json:"keys"`
}

// shmKeys reads a key store file through the Go reader, as a plugin does,
// and prints what it finds: metadata and fingerprints, never key bytes (each
// key is zeroed as soon as it is described).
func shmKeys(path string, asJSON bool, stdout io.Writer) error {
	r, err := shm.Open(path)
	if err != nil {
		if errors.Is(err, shm.ErrIncompatible) {
			return dataf("keys: %v", err)
		}
		return withHint(fmt.Errorf("keys: %w", err), shmOpenHint(path, err))
	}
	defer r.Close()
	rep := shmReport{Source: "shm", Path: path, Generation: r.Generation(), WriterPID: r.WriterPID(),
		WriterAlive: r.WriterAlive(), Slots: r.Slots(), Keys: []api.KeyInfo{}}
	var k shm.Key
	defer k.Zero()
	for i := range r.Slots() {
		err := r.Slot(i, &k)
		switch {
		case errors.Is(err, shm.ErrNotFound), errors.Is(err, shm.ErrWriterGone):
			continue // an empty slot (ErrWriterGone: empty, and no writer)
		case errors.Is(err, shm.ErrChecksum):
			return dataf("keys: %s: slot %d: %v", path, i, err)
		case err != nil:
			return fmt.Errorf("keys: %s: slot %d: %w", path, i, err)
		}
		rep.Keys = append(rep.Keys, api.KeyInfoFromShm(&k, ""))
		k.Zero()
	}
	sortKeys(rep.Keys)
	if asJSON {
		return writeJSON(stdout, rep)
	}
	alive := "alive"
	if !rep.WriterAlive {
		alive = "not running; these are the keys it left"
	}
	fmt.Fprintf(stdout, "%s: generation %d, writer pid %d (%s), %d of %d slots used\n",
		path, rep.Generation, rep.WriterPID, alive, len(rep.Keys), rep.Slots)
	return printKeys(stdout, rep.Keys)
}
