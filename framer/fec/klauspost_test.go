package fec

import (
	"testing"

	"github.com/klauspost/reedsolomon"
)

// ksEncoder encodes the row FEC with klauspost/reedsolomon: a 239+16
// encoder whose custom matrix is the G.709 parity matrix, one shard per
// symbol position. It is the cross-check and the baseline of the
// package's own encoder.
type ksEncoder struct {
	enc    reedsolomon.Encoder
	buf    [N * RowCodewords]byte // symbol i of codeword k at buf[64i+k]
	shards [N][]byte              // 64-byte views of buf
	row16  [N][]byte              // 16-byte zero-copy views of one row
}

func newKS(tb testing.TB) *ksEncoder {
	tb.Helper()
	m := make([][]byte, Parity)
	for p := range m {
		m[p] = parityMatrix[p][:]
	}
	enc, err := reedsolomon.New(K, Parity, reedsolomon.WithCustomMatrix(m), reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		tb.Fatal(err)
	}
	ks := &ksEncoder{enc: enc}
	for i := range ks.shards {
		ks.shards[i] = ks.buf[i*RowCodewords : (i+1)*RowCodewords]
	}
	return ks
}

// encode64 gathers symbol i of all 64 codewords into one 64-byte shard,
// encodes the whole frame in one call and scatters the parity back.
func (ks *ksEncoder) encode64(rows *[Rows][]byte) {
	for r, row := range rows {
		for i := range K {
			copy(ks.buf[i*RowCodewords+r*Interleave:][:Interleave], row[i*Interleave:])
		}
	}
	if err := ks.enc.Encode(ks.shards[:]); err != nil {
		panic(err)
	}
	for r, row := range rows {
		for i := K; i < N; i++ {
			copy(row[i*Interleave:][:Interleave], ks.buf[i*RowCodewords+r*Interleave:])
		}
	}
}

// encode16 encodes row by row on 16-byte shards that alias the row.
func (ks *ksEncoder) encode16(rows *[Rows][]byte) {
	for _, row := range rows {
		for i := range N {
			ks.row16[i] = row[i*Interleave : (i+1)*Interleave]
		}
		if err := ks.enc.Encode(ks.row16[:]); err != nil {
			panic(err)
		}
	}
}
