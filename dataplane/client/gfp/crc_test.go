package gfp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// Published values: the CRC catalogue's check values (the CRC of the ASCII
// string "123456789") for CRC-16/XMODEM and CRC-32/BZIP2, and the GFP
// example of a linear frame: the idle frame on the wire is B6 AB 31 E0; a
// core header with PLI 0x004C carries cHEC 0x8948; the type field 0x1101
// (PTI=000, PFI=1, EXI=0001, UPI=0x01) carries tHEC 0x2063; the extension
// header CID 0x80, spare 0x00 carries eHEC 0x1B98.
func TestPublishedValues(t *testing.T) {
	check := []byte("123456789")
	if got := HEC(check); got != 0x31C3 {
		t.Errorf("HEC(123456789) = %#04x, want 0x31c3 (CRC-16/XMODEM check)", got)
	}
	if got := PFCS(check); got != 0xFC891918 {
		t.Errorf("PFCS(123456789) = %#08x, want 0xfc891918 (CRC-32/BZIP2 check)", got)
	}
	if got := HEC([]byte{0x00, 0x4C}); got != 0x8948 {
		t.Errorf("cHEC(PLI 0x004C) = %#04x, want 0x8948", got)
	}
	if got := HEC([]byte{0x11, 0x01}); got != 0x2063 {
		t.Errorf("tHEC(type 0x1101) = %#04x, want 0x2063", got)
	}
	if got := HEC([]byte{0x80, 0x00}); got != 0x1B98 {
		t.Errorf("eHEC(CID 0x80, spare 0) = %#04x, want 0x1b98", got)
	}
	if got := coreHeader(0); got != 0xB6AB31E0 {
		t.Errorf("idle core header on the wire = %#08x, want 0xb6ab31e0", got)
	}
	// The residue: the register after a field and its own pFCS is the
	// catalogue's 0xC704DD7B.
	info := []byte("any payload information field")
	var fcs [4]byte
	binary.BigEndian.PutUint32(fcs[:], PFCS(info))
	if r := pfcsUpdate(0xFFFFFFFF, append(info, fcs[:]...)); r != 0xC704DD7B {
		t.Errorf("pFCS residue %#08x, want 0xc704dd7b", r)
	}
}

// TestCRCsAgainstReference compares the table CRCs with the bit-by-bit
// definitions on random fields of every length up to 300 and some long ones.
func TestCRCsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lens := []int{9600, 9622, 15232}
	for n := range 300 {
		lens = append(lens, n)
	}
	for _, n := range lens {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := HEC(b), refHEC(b); got != want {
			t.Fatalf("len %d: HEC %#04x, reference %#04x", n, got, want)
		}
		if got, want := PFCS(b), refPFCS(b); got != want {
			t.Fatalf("len %d: PFCS %#08x, reference %#08x", n, got, want)
		}
		if n >= 4 {
			if got, want := PFCS(b), refPFCSDivision(b); got != want {
				t.Fatalf("len %d: PFCS %#08x, long division of G.7041 6.1.2.2.1 %#08x", n, got, want)
			}
		}
		if n == 2 {
			if got := hec16(binary.BigEndian.Uint16(b)); got != refHEC(b) {
				t.Fatalf("hec16 %#04x, reference %#04x", got, refHEC(b))
			}
		}
	}
}

// TestSingleBitCorrection: every single-bit error of a core header is
// corrected to the header sent; no double-bit error is taken for one.
func TestSingleBitCorrection(t *testing.T) {
	for _, pli := range []int{0, 4, 76, 1526, 9630, 0xFFFF} {
		h := coreHeader(pli) ^ CoreMask
		for k := range 32 {
			got, ok := correctHeader(h ^ 1<<k)
			if !ok || got != h {
				t.Fatalf("PLI %d bit %d: corrected to %#08x ok=%v, want %#08x", pli, k, got, ok, h)
			}
			for j := k + 1; j < 32; j++ {
				bad := h ^ 1<<k ^ 1<<j
				if headerOK(bad) {
					t.Fatalf("PLI %d bits %d,%d: a double error checks", pli, k, j)
				}
				if _, ok := correctHeader(bad); ok {
					t.Fatalf("PLI %d bits %d,%d: a double error taken for a single one", pli, k, j)
				}
			}
		}
	}
}
