// Package asmswitch is the operator's run-time switch for otkd's assembly kernels.
//
// The environment variable OTKD_NOASM, read once when the process starts, names kernels
// to leave off: "all", or a comma-separated list of
//
//	zuc    the ZUC keystream kernels, AVX-512 and AVX2 (asm/zuc)
//	fec    the GFNI parity, syndrome and Chien kernels (framer/fec)
//	xor    the frame XOR/BIP-8 kernel (framer)
//	noise  the add-and-decide kernels (noise) and the AES-CTR keystream kernel of
//	       the local noise (asm/aesctr)
//
// A kernel that is off gives way to its pure-Go twin, which produces the same bytes:
// the switch trades speed for ruling a kernel out while a fault is chased, without a
// rebuild (the build tag noasm removes all of them at compile time). Names are matched
// without regard to case or surrounding spaces; Check reports any it does not know, and
// otkd refuses to start on such a value rather than guess.
package asmswitch

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Names are the kernels the switch knows.
var Names = []string{"zuc", "fec", "xor", "noise"}

// Env is the variable read at start-up.
const Env = "OTKD_NOASM"

var off, unknown = parse(os.Getenv(Env))

func parse(v string) (off map[string]bool, unknown []string) {
	off = map[string]bool{}
	for f := range strings.SplitSeq(v, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
		case f == "all":
			for _, n := range Names {
				off[n] = true
			}
		case slices.Contains(Names, f):
			off[f] = true
		default:
			unknown = append(unknown, f)
		}
	}
	return off, unknown
}

// Off reports whether the operator switched kernel name off.
func Off(name string) bool { return off[name] }

// Check returns an error naming the entries of OTKD_NOASM that are not kernel names.
func Check() error {
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%s: unknown kernel name(s) %q (known: all, %s)", Env, unknown, strings.Join(Names, ", "))
}
