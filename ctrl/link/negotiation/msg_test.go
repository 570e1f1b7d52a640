package negotiation

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// sampleMessages returns one valid message of each type.
func sampleMessages() []Message {
	h := Header{Attempt: 7, Block: 2}
	sift := &Sift{Header: h}
	sift.Lo, sift.Span, sift.Bitmap = 0xfffffff0, 20, []byte{0xa5, 0x0f, 0x30}
	reply := &SiftReply{Header: h}
	reply.Lo, reply.Span, reply.Bitmap = 0xfffffff0, 20, []byte{0x81, 0x01, 0x20}
	syn := &Syndrome{Header: h, Bits: 5, T: 2, Syndromes: []uint16{1023, 17}}
	ver := &Verify{Header: h, Bits: 10, Leaked: 300, Toeplitz: make([]byte, toeplitzSeedBytes(10))}
	ver.Nonce[0], ver.Tag[7], ver.Toeplitz[0] = 1, 2, 0x80
	vs := &VerifySeeds{Header: h, Bits: 10, Leaked: 300, Seeds: 2, Toeplitz: make([]byte, (10+2*SeedBits-1+7)/8)}
	vs.Nonce[1], vs.Tag[0], vs.Toeplitz[3] = 3, 4, 0x10
	return []Message{
		&Step{Header: h, Bits: 2100, First: 3, Sums: []uint16{4095, 0, 17}},
		&Step{Header: h},
		&StepReply{Header: h, Status: StepDecoded, Sums: 9, Corrected: 7},
		&StepReply{Header: h, Status: StepMore, Sums: 4},
		&StepReply{Header: h, Status: StepFailed, Sums: 87},
		vs,
		&Release{Header: h, Index: 1},
		&ReleaseReply{Header: h, Index: 63},
		sift, reply, syn,
		&SyndromeReply{Header: h, OK: true, Corrected: 3},
		&SyndromeReply{Header: h},
		ver,
		&VerifyReply{Header: h, OK: true},
		&VerifyReply{Header: h},
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%v: round trip\n got %+v\nwant %+v", m.Type(), got, m)
		}
		if b[0] != Version || MsgType(b[1]) != m.Type() {
			t.Fatalf("%v: header % x", m.Type(), b[:2])
		}
	}
}

func mustMarshal(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMalformedMessages(t *testing.T) {
	ms := sampleMessages()[8:] // the one-shot messages first, then the incremental ones
	sift, syn, sr, ver, vr := mustMarshal(t, ms[0]), mustMarshal(t, ms[2]), mustMarshal(t, ms[3]), mustMarshal(t, ms[5]), mustMarshal(t, ms[6])
	inc := sampleMessages()
	step, srep, vs, rel := mustMarshal(t, inc[0]), mustMarshal(t, inc[2]), mustMarshal(t, inc[5]), mustMarshal(t, inc[6])
	edit := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	set := func(i int, v byte) func([]byte) []byte { return func(b []byte) []byte { b[i] = v; return b } }
	tests := []struct {
		name  string
		b     []byte
		field string
	}{
		{"empty", nil, "type"},
		{"unknown type", []byte{1, 99, 0, 0, 0, 1, 0, 0}, "type"},
		{"short header", sift[:5], "header"},
		{"version", edit(sift, set(0, 2)), "version"},
		{"zero attempt", edit(sift, func(b []byte) []byte { copy(b[2:6], []byte{0, 0, 0, 0}); return b }), "attempt"},
		{"sift short body", sift[:12], "lo/span/kept"},
		{"sift zero span", edit(sift, func(b []byte) []byte { b[12], b[13] = 0, 0; return b[:16] }), "span"},
		{"sift bitmap short", sift[:len(sift)-1], "bitmap"},
		{"sift bitmap long", append(bytes.Clone(sift), 0), "bitmap"},
		{"sift padding", edit(sift, func(b []byte) []byte { b[len(b)-1] |= 1; return b }), "bitmap"},
		{"sift kept count", edit(sift, set(15, 99)), "kept"},
		{"syndrome short", syn[:10], "bits/t/chunks"},
		{"syndrome chunks", edit(syn, set(11, 2)), "chunks"},
		{"syndrome length", syn[:len(syn)-1], "syndromes"},
		{"syndrome value", edit(syn, set(12, 4)), "syndromes"},
		{"syndrome t zero with bits", edit(syn, func(b []byte) []byte { b[10] = 0; return b[:12] }), "t"},
		{"syndrome t too big", edit(syn, func(b []byte) []byte { b[10] = 121; return append(b[:12], make([]byte, 242)...) }), "t"},
		{"syndromereply status", edit(sr, set(8, 2)), "status"},
		{"syndromereply length", sr[:10], "body"},
		{"syndromereply failed with count", edit(sr, set(8, 1)), "corrected"},
		{"verify short", ver[:30], "bits/leaked/nonce/tag"},
		{"verify zero bits", edit(ver, func(b []byte) []byte { copy(b[8:12], []byte{0, 0, 0, 0}); return b }), "bits"},
		{"verify huge bits", edit(ver, set(8, 0xff)), "bits"},
		{"verify leaked", edit(ver, set(12, 0x80)), "leaked"},
		{"verify toeplitz length", ver[:len(ver)-1], "toeplitz"},
		{"verify toeplitz padding", edit(ver, func(b []byte) []byte { b[len(b)-1] |= 1; return b }), "toeplitz"},
		{"verifyreply status", edit(vr, set(8, 3)), "status"},
		{"verifyreply trailing", append(bytes.Clone(vr), 0), "status"},
		{"step short", step[:12], "bits/field/first/count"},
		{"step field", edit(step, set(10, 11)), "field"},
		{"step count", edit(step, set(14, 4)), "sums"},
		{"step length", step[:len(step)-1], "sums"},
		{"step value beyond the field", edit(step, set(15, 0x10)), "sums"},
		{"step first too far", edit(step, func(b []byte) []byte { b[11], b[12] = 0x0f, 0xfe; return b }), "first"},
		{"step no sums for bits", edit(step, func(b []byte) []byte { b[14] = 0; return b[:15] }), "count"},
		{"step sums without bits", []byte{1, 7, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0}, "count"},
		{"step first without bits", []byte{1, 7, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 1, 0, 0}, "first"},
		{"stepreply status", edit(srep, set(8, 3)), "status"},
		{"stepreply length", srep[:12], "body"},
		{"stepreply corrected beyond sums", edit(srep, set(12, 10)), "corrected"},
		{"stepreply corrected when more", edit(srep, set(8, 1)), "corrected"},
		{"verifyseeds short", vs[:40], "bits/leaked/seeds/nonce/tag"},
		{"verifyseeds zero seeds", edit(vs, set(16, 0)), "seeds"},
		{"verifyseeds too many seeds", edit(vs, set(16, 65)), "seeds"},
		{"verifyseeds toeplitz length", vs[:len(vs)-1], "toeplitz"},
		{"verifyseeds toeplitz padding", edit(vs, func(b []byte) []byte { b[len(b)-1] |= 1; return b }), "toeplitz"},
		{"release zero index", edit(rel, set(8, 0)), "index"},
		{"release index 64", edit(rel, set(8, 64)), "index"},
		{"release trailing", append(bytes.Clone(rel), 1), "index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal(tc.b)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

func TestUnmarshalLeavesReceiverOnError(t *testing.T) {
	for _, m := range sampleMessages() {
		b := mustMarshal(t, m)
		before := reflect.ValueOf(m).Elem().Interface()
		if err := m.UnmarshalBinary(b[:len(b)-1]); err == nil {
			t.Fatalf("%v: truncated message accepted", m.Type())
		}
		if !reflect.DeepEqual(reflect.ValueOf(m).Elem().Interface(), before) {
			t.Fatalf("%v: receiver changed by a failed decode", m.Type())
		}
		if err := m.UnmarshalBinary(append([]byte{1, byte(m.Type()%6 + 1)}, b[2:]...)); err == nil {
			t.Fatalf("%v: wrong type byte accepted", m.Type())
		}
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	bad := []Message{
		&Sift{siftBody: siftBody{Span: 0}},
		&SiftReply{siftBody: siftBody{Span: 9, Bitmap: []byte{1}}},
		&Syndrome{Bits: 3, T: 1, Syndromes: []uint16{1024}},
		&Syndrome{Bits: 3, T: 2, Syndromes: []uint16{1}},
		&SyndromeReply{OK: false, Corrected: 1},
		&Verify{Bits: 1, Toeplitz: []byte{1}},
		&Step{Bits: 30, Sums: []uint16{32}}, // beyond GF(2^5)
		&Step{Bits: 3},
		&Step{First: 1},
		&StepReply{Status: StepMore, Sums: 3, Corrected: 1},
		&StepReply{Status: 3},
		&VerifySeeds{Bits: 1, Seeds: 0, Toeplitz: []byte{0}},
		&Release{Index: 0},
		&ReleaseReply{Index: 64},
	}
	for _, m := range bad {
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v %+v: err = %v", m.Type(), m, err)
		}
	}
}
