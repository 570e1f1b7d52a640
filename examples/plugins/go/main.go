// Command otkd-plugin is a minimal security plugin in Go: it reads keys
// from otkd's shared-memory key store through the reader package
// github.com/otkd/otkd/shm and prints what it found, by fingerprint (never
// key bytes). A real plugin would hand k.Material() to its cipher instead
// of printing, and zero the key when done.
//
//	otkd-plugin -shm /dev/shm/otkd -port 1 -dir AB   the active key of port 1, A→B
//	otkd-plugin -shm /dev/shm/otkd -consumer 7       the key bound to consumer 7
//
// Exit status: 0 a key was found; 1 none (the message says whether the key
// does not exist or otkd is not running); 2 bad usage or the store cannot
// be opened.
package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/otkd/otkd/shm"
)

func main() {
	path := flag.String("shm", "/dev/shm/otkd", "otkd's key store (its [shm] path)")
	port := flag.Uint("port", 1, "port id (the [[port]] id in otkd's configuration)")
	dir := flag.String("dir", "AB", "direction: AB (A→B) or BA (B→A)")
	consumer := flag.Uint64("consumer", 0, "read the key bound to this keyring consumer instead")
	flag.Parse()
	if *port > 0xffff || (*dir != "AB" && *dir != "BA") {
		fmt.Fprintln(os.Stderr, "otkd-plugin: -port must be 0..65535 and -dir AB or BA")
		os.Exit(2)
	}

	r, err := shm.Open(*path) // maps the file read-only and checks its header
	if err != nil {
		// A missing file or a permission problem (*os.PathError: join the
		// file's group, otkd's [shm] group), or errors.Is(err,
		// shm.ErrIncompatible): not a store this reader knows.
		fmt.Fprintln(os.Stderr, "otkd-plugin:", err)
		os.Exit(2)
	}
	defer r.Close()

	var k shm.Key // reused by every read: reads do not allocate
	defer k.Zero()
	what := ""
	if *consumer != 0 {
		what = fmt.Sprintf("consumer %d", *consumer)
		err = r.Bound(*consumer, &k)
	} else {
		d := shm.DirAtoB
		if *dir == "BA" {
			d = shm.DirBtoA
		}
		what = fmt.Sprintf("port %d %s", *port, *dir)
		err = r.ActiveKey(uint16(*port), d, &k)
	}
	switch {
	case err == nil:
		fp := k.Fingerprint()
		fmt.Printf("%s: key %016x epoch %d %s, %d bytes, fingerprint %s\n", what, k.ID, k.Epoch, k.State, k.Len, hex.EncodeToString(fp[:]))
		// use(k.Material()) here; k.Zero() when done.
	case errors.Is(err, shm.ErrNotFound):
		// otkd runs and has no such key (yet): wait for it, or ask for another.
		fmt.Fprintf(os.Stderr, "otkd-plugin: %s: no such key (otkd is running)\n", what)
		os.Exit(1)
	case errors.Is(err, shm.ErrWriterGone):
		// otkd is not running (or replaced the file): close, and open again
		// once it runs; it republishes its keys when it starts.
		fmt.Fprintf(os.Stderr, "otkd-plugin: %s: writer gone: otkd is not running; open the store again when it is\n", what)
		os.Exit(1)
	default:
		// shm.ErrBusy (the writer kept lapping this reader: try again) or
		// shm.ErrChecksum (a damaged record, never returned).
		fmt.Fprintf(os.Stderr, "otkd-plugin: %s: %v\n", what, err)
		os.Exit(1)
	}
}
