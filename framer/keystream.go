package framer

import (
	"fmt"

	gmzuc "github.com/emmansun/gmsm/zuc"

	"github.com/otkd/otkd/asm/zuc"
	"github.com/otkd/otkd/internal/keys"
)

// Keystream produces the 128-EEA3 keystream of the sixteen segments of one
// frame: ks[s*SegLen:(s+1)*SegLen] is the keystream for KEY=key,
// COUNT=count, BEARER=s, DIRECTION=direction. Implementations must be safe
// to call from one goroutine at a time and should not allocate.
type Keystream interface {
	FrameKeystream(ks *[EncLen]byte, key *keys.Key, count uint32, direction uint8)
}

// GenericZUC is the default engine: otkd's pure-Go ZUC (package asm/zuc),
// which keys sixteen streams per frame without allocating.
type GenericZUC struct{}

// FrameKeystream implements Keystream.
func (GenericZUC) FrameKeystream(ks *[EncLen]byte, key *keys.Key, count uint32, direction uint8) {
	zuc.Segments(ks[:], Segments, SegLen, (*[16]byte)(key), count, direction)
}

// GmsmZUC runs gmsm's ZUC, one cipher per segment. It is the reference and
// the baseline of the benchmarks; it allocates a cipher per segment, so the
// frame path does not use it by default.
type GmsmZUC struct{}

// FrameKeystream implements Keystream.
func (GmsmZUC) FrameKeystream(ks *[EncLen]byte, key *keys.Key, count uint32, direction uint8) {
	clear(ks[:])
	for s := range Segments {
		c, err := gmzuc.NewEEACipher(key[:], count, uint32(s), uint32(direction))
		if err != nil { // only on a wrong key size, which the type rules out
			panic(fmt.Sprintf("framer: gmsm zuc: %v", err))
		}
		seg := ks[s*SegLen : (s+1)*SegLen]
		c.XORKeyStream(seg, seg)
	}
}

// xorEncrypted XORs ks over the encrypted bytes of the frame in wire order:
// row 1 columns 15-3824, rows 2-4 columns 1-3824, then the first 494 bytes
// of the extension (negotiation area and interaction messages). It returns
// the BIP-8 of the result (the XOR of the OPU bytes, columns 15-3824 of all
// rows), folded in the same pass: row 1's encrypted range is exactly its
// OPU, rows 2-4 add their ODU overhead (columns 1-14), which BIP-8 leaves
// out.
func xorEncrypted(f *Frame, ks *[EncLen]byte) (bip byte) {
	const opu = OPUFirst - 1 // 14 overhead bytes before the OPU
	k := ks[:]
	bip = xorFold(f.rows[0][opu:InfoCols], f.rows[0][opu:InfoCols], k)
	k = k[encRow1:]
	for r := 1; r < Rows; r++ {
		row := f.rows[r]
		xorFold(row[:opu], row[:opu], k)
		bip ^= xorFold(row[opu:InfoCols], row[opu:InfoCols], k[opu:])
		k = k[InfoCols:]
	}
	xorFold(f.ext[:encExt], f.ext[:encExt], k)
	return bip
}
