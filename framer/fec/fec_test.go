package fec

import (
	"bytes"
	"encoding/hex"
	"flag"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// encodedFrame returns a random frame with valid row FEC and area FEC.
func encodedFrame(t testing.TB, c *Codec, rng *rand.Rand) (*[Rows][]byte, []byte) {
	t.Helper()
	rows := newFrame(rng)
	c.EncodeRows(rows)
	area := newArea(rng)
	c.EncodeArea(area)
	return rows, area
}

func TestEncodeZeroSyndromes(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		c := New()
		for seed := range uint64(3) {
			t.Run("seed"+string(rune('0'+seed)), func(t *testing.T) {
				rows, area := encodedFrame(t, c, rand.New(rand.NewPCG(seed, 7)))
				for k := range RowCodewords {
					if s := refSyndromes(codeword(rows, k)); s != [16]byte{} {
						t.Fatalf("codeword %d: syndromes %x", k, s)
					}
				}
				if !refValid(area) {
					t.Fatal("area: nonzero syndromes")
				}
				if !c.CheckRows(rows) || !c.CheckArea(area) {
					t.Fatal("Check* rejects a freshly encoded frame")
				}
			})
		}
	})
}

func TestEncodeMatchesReference(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		c := New()
		rng := rand.New(rand.NewPCG(3, 4))
		tests := []struct {
			name string
			fill func(i int) byte
		}{
			{"random", func(int) byte { return byte(rng.Uint32()) }},
			{"zero", func(int) byte { return 0 }},
			{"ones", func(int) byte { return 0xFF }},
			{"ramp", func(i int) byte { return byte(i) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var rows [Rows][]byte
				for r := range rows {
					rows[r] = make([]byte, RowLen)
					for i := range rows[r] {
						rows[r][i] = tc.fill(r*RowLen + i)
					}
				}
				alt16, alt64 := cloneFrame(&rows), cloneFrame(&rows)
				c.EncodeRows(&rows)
				for k := range RowCodewords {
					cw := codeword(&rows, k)
					if want := refParity(cw[:K]); !bytes.Equal(cw[K:], want) {
						t.Fatalf("codeword %d parity %x, reference %x", k, cw[K:], want)
					}
				}
				ks := newKS(t)
				ks.encode16(alt16)
				ks.encode64(alt64)
				for r := range rows {
					if !bytes.Equal(rows[r], alt16[r]) || !bytes.Equal(rows[r], alt64[r]) {
						t.Fatalf("row %d: klauspost encoder differs", r)
					}
				}
				area := make([]byte, N)
				for i := range area {
					area[i] = tc.fill(i)
				}
				c.EncodeArea(area)
				if want := refParity(area[:K]); !bytes.Equal(area[K:], want) {
					t.Fatalf("area parity %x, reference %x", area[K:], want)
				}
			})
		}
	})
}

// TestKlauspostField checks the library's multiplication directly:
// α·α^7 = α^8 = x^4+x^3+x^2+1 = 0x1D in the 0x11D field (0x1B would mean
// the AES field 0x11B).
func TestKlauspostField(t *testing.T) {
	enc, err := reedsolomon.New(1, 1, reedsolomon.WithCustomMatrix([][]byte{{2}}))
	if err != nil {
		t.Fatal(err)
	}
	shards := [][]byte{bytes.Repeat([]byte{0x80}, 64), make([]byte, 64)}
	if err := enc.Encode(shards); err != nil {
		t.Fatal(err)
	}
	if shards[1][0] != 0x1D {
		t.Fatalf("2·0x80 = %#x in klauspost, want 0x1d", shards[1][0])
	}
}

func TestKnownAnswer(t *testing.T) {
	c := New()
	tests := []struct {
		name   string
		fill   func(i int) byte
		parity string // hex, fixed from the reference; "" = compare with the reference only
	}{
		{"zero", func(int) byte { return 0 }, "00000000000000000000000000000000"},
		{"ramp", func(i int) byte { return byte(i) }, "3d4a1daccc4a4caa43488e7b4f6559c4"},
		{"single-first", func(i int) byte { return b2byte(i == 0) }, ""},
		{"single-last", func(i int) byte { return b2byte(i == K-1) }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := make([]byte, N)
			for i := range K {
				a[i] = tc.fill(i)
			}
			c.EncodeArea(a)
			want := hex.EncodeToString(refParity(a[:K]))
			if tc.parity != "" && want != tc.parity {
				t.Fatalf("reference parity %s, fixed %s", want, tc.parity)
			}
			if got := hex.EncodeToString(a[K:]); got != want {
				t.Fatalf("parity %s, want %s", got, want)
			}
		})
	}
	// g(x) = x^16 + 59x^15 + 13x^14 + 104x^13 + 189x^12 + 68x^11 + 209x^10 +
	// 30x^9 + 8x^8 + 163x^7 + 65x^6 + 41x^5 + 229x^4 + 98x^3 + 50x^2 + 36x + 59
	// (coefficients low degree first below).
	if got := hex.EncodeToString(refGen()); got != "3b243262e52941a3081ed144bd680d3b01" {
		t.Fatalf("generator %s", got)
	}
	// A message x^0 (only the last information symbol set to 1) has parity
	// x^16 mod g(x) = g(x) − x^16: the generator's low coefficients.
	a := make([]byte, N)
	a[K-1] = 1
	c.EncodeArea(a)
	g := refGen()
	for p := range Parity {
		if a[K+p] != g[15-p] {
			t.Fatalf("parity of x^0 is %x, want g(x)−x^16 = %x", a[K:], g)
		}
	}
}

func b2byte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// TestCorrectUpToT puts n = 1..8 random errors in every codeword of a
// frame, rows and area, and expects all of them corrected and counted.
func TestCorrectUpToT(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		c := New()
		rounds := 4
		if testing.Short() {
			rounds = 1
		}
		for n := 1; n <= T; n++ {
			t.Run(string(rune('0'+n)), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 11))
				for range rounds {
					rows, area := encodedFrame(t, c, rng)
					want, wantArea := cloneFrame(rows), append([]byte(nil), area...)
					for k := range Codewords {
						injectErrors(rng, rows, area, k, n)
					}
					if c.CheckRows(rows) {
						t.Fatal("CheckRows accepts a corrupted frame")
					}
					var res Result
					c.DecodeRows(rows, &res)
					c.DecodeArea(area, &res)
					for r := range rows {
						if !bytes.Equal(rows[r], want[r]) {
							t.Fatalf("row %d not restored", r)
						}
					}
					if !bytes.Equal(area, wantArea) {
						t.Fatal("area not restored")
					}
					for k := range Codewords {
						if res.Corrected[k] != uint8(n) || res.IsFailed(k) {
							t.Fatalf("codeword %d: corrected %d failed %v, want %d", k, res.Corrected[k], res.IsFailed(k), n)
						}
					}
					if res.CorrectedSymbols != Codewords*n || res.UncorrectableCodewords != 0 {
						t.Fatalf("totals %d/%d", res.CorrectedSymbols, res.UncorrectableCodewords)
					}
				}
			})
		}
	})
}

// TestErrorPlacement puts errors at chosen symbols: parity, first, last.
func TestErrorPlacement(t *testing.T) {
	c := New()
	span := func(from, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = from + i
		}
		return s
	}
	tests := []struct {
		name string
		pos  []int // symbol indexes, 0 = first column
	}{
		{"first", []int{0}},
		{"last", []int{N - 1}},
		{"first-and-last", []int{0, N - 1}},
		{"first-parity", []int{K}},
		{"one-info-one-parity", []int{K - 1, K}},
		{"8-in-parity", span(K, 8)},
		{"8-last-parity", span(N-8, 8)},
		{"8-first", span(0, 8)},
		{"8-spread", []int{0, 1, 100, 200, K - 1, K, N - 2, N - 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(tc.pos)), uint64(tc.pos[0])))
			rows, area := encodedFrame(t, c, rng)
			want, wantArea := cloneFrame(rows), append([]byte(nil), area...)
			for k := range Codewords {
				for _, i := range tc.pos {
					*symbol(rows, area, k, i) ^= byte(1 + rng.IntN(255))
				}
			}
			var res Result
			c.DecodeRows(rows, &res)
			c.DecodeArea(area, &res)
			for r := range rows {
				if !bytes.Equal(rows[r], want[r]) {
					t.Fatalf("row %d not restored", r)
				}
			}
			if !bytes.Equal(area, wantArea) {
				t.Fatal("area not restored")
			}
			if res.CorrectedSymbols != Codewords*len(tc.pos) || res.UncorrectableCodewords != 0 {
				t.Fatalf("totals %d/%d", res.CorrectedSymbols, res.UncorrectableCodewords)
			}
		})
	}
}

// TestMixedFrame has clean, correctable and uncorrectable codewords in one
// frame: only the middle kind changes, the last kind stays as received.
func TestMixedFrame(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		c := New()
		rng := rand.New(rand.NewPCG(5, 5))
		rows, area := encodedFrame(t, c, rng)
		want := cloneFrame(rows)
		errs := make([]int, RowCodewords)
		for k := range errs {
			errs[k] = k % 3 * 8 // 0, 8, 16 errors
			injectErrors(rng, rows, area, k, errs[k])
		}
		received := cloneFrame(rows)
		var res Result
		c.DecodeRows(rows, &res)
		for k, n := range errs {
			got := codeword(rows, k)
			switch {
			case n <= T:
				if !bytes.Equal(got, codeword(want, k)) || int(res.Corrected[k]) != n || res.IsFailed(k) {
					t.Fatalf("codeword %d (%d errors) not corrected", k, n)
				}
			case res.IsFailed(k):
				if !bytes.Equal(got, codeword(received, k)) || res.Corrected[k] != 0 {
					t.Fatalf("codeword %d flagged but changed", k)
				}
			default:
				if !refValid(got) {
					t.Fatalf("codeword %d reported good with nonzero syndromes", k)
				}
			}
		}
	})
}

var beyondTrials = flag.Int("fec.trials", 0, "codewords per error count in TestBeyondT (0: 20000, 1000 with -short)")

// TestBeyondT decodes codewords with 9..16 errors: each must be flagged
// and left unchanged, or be a miscorrection to another valid codeword.
// It logs the miscorrection rate (see the package doc).
func TestBeyondT(t *testing.T) {
	c := New()
	trials := 20000
	if testing.Short() {
		trials = 1000
	}
	if *beyondTrials > 0 {
		trials = *beyondTrials
	}
	total, mis := 0, 0
	for n := T + 1; n <= Parity; n++ {
		t.Run(string(rune('a'+n-T-1)), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 99))
			var area []byte
			for i := range trials {
				if i%64 == 0 { // a fresh codeword now and then; the errors vary each trial
					area = newArea(rng)
					c.EncodeArea(area)
				}
				got := append([]byte(nil), area...)
				injectErrors(rng, nil, got, AreaCodeword, n)
				received := append([]byte(nil), got...)
				var res Result
				c.DecodeArea(got, &res)
				total++
				if res.IsFailed(AreaCodeword) {
					if !bytes.Equal(got, received) || res.Corrected[AreaCodeword] != 0 {
						t.Fatal("flagged codeword changed")
					}
					continue
				}
				mis++
				if !refValid(got) || bytes.Equal(got, area) || res.Corrected[AreaCodeword] > T {
					t.Fatalf("unflagged result is not another valid codeword (corrected %d)", res.Corrected[AreaCodeword])
				}
			}
		})
	}
	t.Logf("miscorrections: %d of %d codewords with 9..16 errors (%.3g)", mis, total, float64(mis)/float64(total))
}

func TestAllocs(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		c := New()
		rng := rand.New(rand.NewPCG(8, 8))
		rows, area := encodedFrame(t, c, rng)
		bad, badArea := cloneFrame(rows), append([]byte(nil), area...)
		for k := range Codewords {
			injectErrors(rng, bad, badArea, k, k%(T+3))
		}
		var res Result
		tests := []struct {
			name string
			f    func()
		}{
			{"EncodeRows", func() { c.EncodeRows(rows) }},
			{"CheckRows", func() { c.CheckRows(rows) }},
			{"DecodeRowsClean", func() { c.DecodeRows(rows, &res) }},
			{"DecodeRowsErrors", func() { c.DecodeRows(cloneInto(bad, rows), &res) }},
			{"EncodeArea", func() { c.EncodeArea(area) }},
			{"DecodeArea", func() { copy(area, badArea); c.DecodeArea(area, &res) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if a := testing.AllocsPerRun(20, tc.f); a != 0 {
					t.Fatalf("%v allocations per call", a)
				}
			})
		}
	})
}

// cloneInto copies src over dst and returns dst.
func cloneInto(src, dst *[Rows][]byte) *[Rows][]byte {
	for r := range dst {
		copy(dst[r], src[r])
	}
	return dst
}

func TestWrongLengthPanics(t *testing.T) {
	c := New()
	short := [Rows][]byte{make([]byte, RowLen), make([]byte, RowLen-1), make([]byte, RowLen), make([]byte, RowLen)}
	tests := []struct {
		name string
		f    func()
	}{
		{"EncodeRows", func() { c.EncodeRows(&short) }},
		{"DecodeRows", func() { c.DecodeRows(&short, nil) }},
		{"CheckRows", func() { c.CheckRows(&short) }},
		{"EncodeArea", func() { c.EncodeArea(make([]byte, N-1)) }},
		{"DecodeArea", func() { c.DecodeArea(make([]byte, N+1), nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}

// TestBeyondTRows puts 9..16 errors in every row codeword of a frame: each
// codeword is flagged and unchanged, or miscorrected to a valid codeword.
func TestBeyondTRows(t *testing.T) {
	c := New()
	frames := 4
	if testing.Short() {
		frames = 1
	}
	for n := T + 1; n <= Parity; n++ {
		t.Run(string(rune('a'+n-T-1)), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 123))
			for range frames {
				rows, area := encodedFrame(t, c, rng)
				for k := range RowCodewords {
					injectErrors(rng, rows, area, k, n)
				}
				received := cloneFrame(rows)
				var res Result
				c.DecodeRows(rows, &res)
				flagged := 0
				for k := range RowCodewords {
					got := codeword(rows, k)
					if res.IsFailed(k) {
						flagged++
						if !bytes.Equal(got, codeword(received, k)) || res.Corrected[k] != 0 {
							t.Fatalf("codeword %d flagged but changed", k)
						}
					} else if !refValid(got) || res.Corrected[k] > T {
						t.Fatalf("codeword %d unflagged but invalid", k)
					}
				}
				if flagged != res.UncorrectableCodewords {
					t.Fatalf("UncorrectableCodewords %d, flagged %d", res.UncorrectableCodewords, flagged)
				}
			}
		})
	}
}

// TestSingleErrorShortcut checks the single-error shortcut against the
// full decoder (Berlekamp–Massey, Chien, Forney, check): on the syndromes
// of every position with random values it must find what the full path
// finds, and on those syndromes with one of them changed it must decline.
func TestSingleErrorShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 27))
	var d, full decoder
	full2 := func(s *[Parity]byte) (int, bool) { // the path without the shortcut
		l := full.berlekampMassey(s)
		if l == 0 || l > T || full.chien(l) != l || !full.forney(s, l) {
			return 0, false
		}
		return l, full.check(s, l)
	}
	for e := range N {
		for range 4 {
			y := byte(1 + rng.IntN(255))
			var s [Parity]byte
			for j := range s {
				s[j] = gfMul(y, gfPow(e*j))
			}
			if !d.single(&s) || d.pos[0] != e || d.val[0] != y {
				t.Fatalf("error %#x at degree %d: shortcut gives %v %d %#x", y, e, d.single(&s), d.pos[0], d.val[0])
			}
			if n, ok := full2(&s); !ok || n != 1 || full.pos[0] != e || full.val[0] != y {
				t.Fatalf("error %#x at degree %d: full decoder %d %v", y, e, n, ok)
			}
			s[rng.IntN(Parity)] ^= byte(1 + rng.IntN(255))
			if d.single(&s) {
				t.Fatalf("degree %d: shortcut accepts altered syndromes %x", e, s)
			}
		}
	}
}

// TestDoubleErrorShortcut checks the two-error solver against the full
// decoder: on the syndromes of random pairs of errors (the ends of the
// codeword included) both must find the same positions and values; on one
// error and on three errors the solver must decline.
func TestDoubleErrorShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 28))
	var d, full decoder
	synd := func(pos []int, val []byte) (s [Parity]byte) {
		for j := range s {
			for i, e := range pos {
				s[j] ^= gfMul(val[i], gfPow(e*j))
			}
		}
		return s
	}
	for trial := range 20000 {
		e1, e2 := rng.IntN(N), rng.IntN(N)
		switch trial % 5 {
		case 0:
			e1, e2 = 0, N-1
		case 1:
			e1, e2 = trial%N, (trial+1)%N
		}
		if e1 == e2 {
			continue
		}
		if e1 > e2 {
			e1, e2 = e2, e1
		}
		y := []byte{byte(1 + rng.IntN(255)), byte(1 + rng.IntN(255))}
		s := synd([]int{e1, e2}, y)
		if !d.double(&s) || d.pos[0] != e1 || d.pos[1] != e2 || d.val[0] != y[0] || d.val[1] != y[1] {
			t.Fatalf("errors %#x@%d %#x@%d: solver %v %v %v", y[0], e1, y[1], e2, d.double(&s), d.pos[:2], d.val[:2])
		}
		l := full.berlekampMassey(&s)
		if l != 2 || full.chien(l) != 2 || !full.forney(&s, l) || !full.check(&s, l) ||
			full.pos[0] != e1 || full.pos[1] != e2 || full.val[0] != y[0] || full.val[1] != y[1] {
			t.Fatalf("errors at %d, %d: full decoder disagrees: %v %v", e1, e2, full.pos[:2], full.val[:2])
		}
		one := synd([]int{e1}, y[:1])
		if d.double(&one) {
			t.Fatalf("one error at %d: solver claims two", e1)
		}
		e3 := rng.IntN(N)
		if e3 != e1 && e3 != e2 {
			three := synd([]int{e1, e2, e3}, []byte{y[0], y[1], byte(1 + rng.IntN(255))})
			if d.double(&three) {
				t.Fatalf("three errors at %d, %d, %d: solver claims two", e1, e2, e3)
			}
		}
	}
}
