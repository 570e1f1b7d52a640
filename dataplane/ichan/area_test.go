package ichan

import (
	"bytes"
	"errors"
	"testing"
)

type tlv struct {
	typ byte
	val []byte
}

func TestAreaRoundTrip(t *testing.T) {
	c2 := bytes.Repeat([]byte{0xC2}, 66)
	cases := []struct {
		name string
		tlvs []tlv
	}{
		{"empty", nil},
		{"round", []tlv{{TypeOwnRound, []byte{0, 0, 0, 7}}, {TypeResponse, c2}, {TypeFinal, c2}}},
		{"zero-length value", []tlv{{TypeAck, nil}, {0x42, []byte{1}}}},
		{"exactly full", []tlv{{TypeData, make([]byte, AreaSize-1-2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var area [AreaSize]byte
			for i := range area {
				area[i] = 0xEE // Finish must overwrite
			}
			var w AreaWriter
			w.Begin(area[:])
			for _, x := range tc.tlvs {
				if !w.Put(x.typ, x.val) {
					t.Fatalf("Put(0x%02x, %d bytes) refused with room %d", x.typ, len(x.val), w.Room())
				}
			}
			w.Finish()
			for _, b := range area[w.Len():] {
				if b != 0 {
					t.Fatal("padding not zero")
				}
			}
			var r AreaReader
			if err := r.Reset(area[:]); err != nil {
				t.Fatal(err)
			}
			for i, x := range tc.tlvs {
				typ, val, ok := r.Next()
				if !ok || typ != x.typ || !bytes.Equal(val, x.val) {
					t.Fatalf("TLV %d = 0x%02x %x %v", i, typ, val, ok)
				}
			}
			if _, _, ok := r.Next(); ok {
				t.Fatal("extra TLV")
			}
		})
	}
}

func TestAreaWriterRefuses(t *testing.T) {
	var area [AreaSize]byte
	var w AreaWriter
	w.Begin(area[:])
	if w.Put(TypeEnd, nil) {
		t.Error("type 0 accepted")
	}
	if w.Put(0x20, make([]byte, 256)) {
		t.Error("256-byte value accepted")
	}
	if !w.Put(0x20, make([]byte, 200)) {
		t.Fatal("200 bytes refused")
	}
	if w.Room() != AreaSize-1-202 {
		t.Fatalf("room %d", w.Room())
	}
	before := w.Len()
	if w.Put(0x20, make([]byte, w.Room()-1)) {
		t.Error("value one byte too long accepted")
	}
	if w.Len() != before {
		t.Error("refused Put wrote")
	}
	if !w.Put(0x20, make([]byte, w.Room()-2)) || w.Room() != 0 {
		t.Error("exact fit refused")
	}
}

func TestAreaReaderRejects(t *testing.T) {
	full := func(b ...byte) []byte {
		a := make([]byte, AreaSize)
		copy(a, b)
		return a
	}
	cases := []struct {
		name   string
		area   []byte
		offset int
	}{
		{"empty", nil, 0},
		{"version 0", full(0), 0},
		{"version 2", full(2, 0x10, 0), 0},
		{"length past end", full(1, 0x10, 4, 1, 2, 3, 4, 0x11, 250), 7},
		{"header cut off", append(full(1, 0x10, byte(AreaSize-4))[:AreaSize-1], 0x11), AreaSize - 1},
		{"short area", []byte{1, 0x10, 3, 1, 2}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r AreaReader
			err := r.Reset(tc.area)
			var ae *AreaError
			if !errors.As(err, &ae) || !errors.Is(err, ErrMalformedArea) {
				t.Fatalf("err = %v", err)
			}
			if ae.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", ae.Offset, tc.offset, err)
			}
			if r.Err() == nil {
				t.Error("Err() nil after a failed Reset")
			}
			if _, _, ok := r.Next(); ok {
				t.Error("Next yielded a TLV of a rejected area")
			}
		})
	}
}

func TestAreaSkipsUnknownAndStopsAtEnd(t *testing.T) {
	area := make([]byte, AreaSize)
	copy(area, []byte{1, 0x7F, 2, 9, 9, 0x10, 1, 5, 0, 0x33, 0xFF}) // garbage after the end is padding
	var r AreaReader
	if err := r.Reset(area); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for typ, _, ok := r.Next(); ok; typ, _, ok = r.Next() {
		got = append(got, typ)
	}
	if !bytes.Equal(got, []byte{0x7F, 0x10}) {
		t.Fatalf("types %x", got)
	}
}

func TestAreaAllocs(t *testing.T) {
	var area [AreaSize]byte
	var w AreaWriter
	var r AreaReader
	val := make([]byte, 66)
	bad := make([]byte, AreaSize)
	bad[0] = 7
	n := testing.AllocsPerRun(100, func() {
		w.Begin(area[:])
		w.Put(TypeOwnRound, val[:4])
		w.Put(TypeResponse, val)
		w.Finish()
		if r.Reset(area[:]) != nil {
			panic("reset")
		}
		for _, _, ok := r.Next(); ok; _, _, ok = r.Next() {
		}
		if r.Reset(bad) == nil {
			panic("bad accepted")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocs per area", n)
	}
}

// FuzzAreaReader: Reset never panics; on success every TLV Next yields lies
// within the area, and the walk ends.
func FuzzAreaReader(f *testing.F) {
	f.Add([]byte{1})
	f.Add(append([]byte{1, 0x01, 4, 0, 0, 0, 1, 0x10, 2, 0xAA, 0xBB}, make([]byte, 228)...))
	f.Add([]byte{1, 0x10, 5, 1})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, area []byte) {
		var r AreaReader
		if r.Reset(area) != nil {
			if _, _, ok := r.Next(); ok {
				t.Fatal("rejected area yields TLVs")
			}
			return
		}
		pos := 1
		for typ, val, ok := r.Next(); ok; typ, val, ok = r.Next() {
			if typ == TypeEnd || pos+2+len(val) > len(area) || area[pos] != typ || int(area[pos+1]) != len(val) {
				t.Fatalf("TLV at %d outside the area or misparsed", pos)
			}
			if len(val) > 0 && &val[0] != &area[pos+2] {
				t.Fatal("value does not alias the area")
			}
			pos += 2 + len(val)
		}
	})
}
