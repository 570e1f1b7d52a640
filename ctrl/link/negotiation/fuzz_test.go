package negotiation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fuzzUnmarshal checks the decoder invariants: no panic; an error is a
// FieldError and leaves the receiver as it was; an accepted input is the
// canonical encoding of what was decoded.
func fuzzUnmarshal(f *testing.F, newMsg func() Message) {
	for _, m := range sampleMessages() {
		f.Add(mustMarshalF(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := newMsg()
		if err := m.UnmarshalBinary(b); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			if fresh := newMsg(); fmt.Sprint(fresh) != fmt.Sprint(m) {
				t.Fatalf("failed decode changed the receiver: %+v", m)
			}
			return
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("non-canonical input accepted:\n in % x\nout % x", b, out)
		}
	})
}

func mustMarshalF(m Message) []byte {
	b, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzSift(f *testing.F)          { fuzzUnmarshal(f, func() Message { return new(Sift) }) }
func FuzzSiftReply(f *testing.F)     { fuzzUnmarshal(f, func() Message { return new(SiftReply) }) }
func FuzzSyndrome(f *testing.F)      { fuzzUnmarshal(f, func() Message { return new(Syndrome) }) }
func FuzzSyndromeReply(f *testing.F) { fuzzUnmarshal(f, func() Message { return new(SyndromeReply) }) }
func FuzzVerify(f *testing.F)        { fuzzUnmarshal(f, func() Message { return new(Verify) }) }
func FuzzVerifyReply(f *testing.F)   { fuzzUnmarshal(f, func() Message { return new(VerifyReply) }) }
func FuzzStep(f *testing.F)          { fuzzUnmarshal(f, func() Message { return new(Step) }) }
func FuzzStepReply(f *testing.F)     { fuzzUnmarshal(f, func() Message { return new(StepReply) }) }
func FuzzVerifySeeds(f *testing.F)   { fuzzUnmarshal(f, func() Message { return new(VerifySeeds) }) }
func FuzzRelease(f *testing.F)       { fuzzUnmarshal(f, func() Message { return new(Release) }) }
func FuzzReleaseReply(f *testing.F)  { fuzzUnmarshal(f, func() Message { return new(ReleaseReply) }) }

// machineState summarises what a rejected message must not change.
func responderState(rs *Responder) string {
	syn := 0
	if rs.dec != nil {
		syn = len(rs.dec.syn)
	}
	return fmt.Sprintf("%d %d %d %d %d %d %+v %d %d %d | %d %d %d %d %d %x", rs.state, rs.att.id, rs.att.blocks, len(rs.att.bits),
		rs.att.leaked, rs.att.failures, rs.stats, len(rs.r.counts), rs.r.base, bitmapCount(rs.mask),
		syn, rs.replies, len(rs.bits), len(rs.att.seeds), rs.att.released, rs.att.bits)
}

func initiatorState(in *Initiator) string {
	return fmt.Sprintf("%d %d %d %d %d %d %+v %d %d %d %d | %d %d %d %d %x", in.state, in.att.id, in.att.blocks, len(in.att.bits),
		in.att.leaked, in.att.failures, in.stats, len(in.r.counts), in.r.base, len(in.bits), in.t,
		in.replies, in.nseeds, len(in.att.seeds), in.att.released, in.att.bits)
}

// FuzzMachines feeds arbitrary messages to the machines mid-block in each
// mode (one-shot: a responder waiting for a Syndrome, an initiator waiting
// for a SiftReply; incremental: a responder between steps, an initiator
// waiting for a StepReply): no panic, and a rejected message changes
// nothing.
func FuzzMachines(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(mustMarshalF(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unmarshal(b)
		if err != nil {
			return
		}
		for _, mode := range []Reconciliation{Incremental, OneShot} {
			tp := newTestPair(t, modeParams(mode), defaultSim(), 1)
			tp.feed(tp.in.p.N)
			sift, _ := tp.in.Next()
			reply, _, err := tp.rs.Handle(tp.wire(sift))
			if err != nil {
				t.Fatal(err)
			}
			// Incremental: the initiator waits for a StepReply, the
			// responder has taken the first Step.
			if mode == Incremental {
				step, _, err := tp.in.Handle(tp.wire(reply))
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := tp.rs.Handle(tp.wire(step)); err != nil {
					t.Fatal(err)
				}
			}
			rsBefore, inBefore := responderState(tp.rs), initiatorState(tp.in)
			if _, _, err := tp.rs.Handle(m); err != nil && responderState(tp.rs) != rsBefore {
				t.Fatalf("%v: rejected %v changed the responder: %v", mode, m.Type(), err)
			}
			if _, _, err := tp.in.Handle(m); err != nil && initiatorState(tp.in) != inBefore {
				t.Fatalf("%v: rejected %v changed the initiator: %v", mode, m.Type(), err)
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from sampleMessages and the
// messages of a real exchange when OTKD_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("OTKD_WRITE_CORPUS") != "1" {
		t.Skip("set OTKD_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	byType := map[MsgType][][]byte{}
	all := [][]byte{}
	keep := func(b []byte) {
		byType[MsgType(b[1])] = append(byType[MsgType(b[1])], b)
		all = append(all, b)
	}
	for _, m := range sampleMessages() {
		keep(mustMarshalF(m))
	}
	for _, mode := range []Reconciliation{Incremental, OneShot} {
		tp := newTestPair(t, modeParams(mode), defaultSim(), 99)
		tp.tamper = func(b []byte) []byte { keep(bytes.Clone(b)); return b }
		for range 3 {
			tp.nextSeed(20 * tp.in.p.N)
		}
	}
	names := map[MsgType]string{TypeSift: "FuzzSift", TypeSiftReply: "FuzzSiftReply", TypeSyndrome: "FuzzSyndrome",
		TypeSyndromeReply: "FuzzSyndromeReply", TypeVerify: "FuzzVerify", TypeVerifyReply: "FuzzVerifyReply",
		TypeStep: "FuzzStep", TypeStepReply: "FuzzStepReply", TypeVerifySeeds: "FuzzVerifySeeds",
		TypeRelease: "FuzzRelease", TypeReleaseReply: "FuzzReleaseReply"}
	write := func(dir string, i int, b []byte) {
		p := filepath.Join("testdata", "fuzz", dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(p, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for typ, list := range byType {
		for i, b := range list[:min(len(list), 4)] {
			write(names[typ], i, b)
		}
		write(names[typ], 90, list[0][:len(list[0])-1]) // truncated
	}
	for i, b := range all[:min(len(all), 24)] {
		write("FuzzMachines", i, b)
	}
}
