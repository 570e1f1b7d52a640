package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otkd/otkd/framer"
)

// pcapBytes builds a classic pcap file by hand (microseconds, the given byte
// order and link-type field), independently of the writer under test.
func pcapBytes(order binary.ByteOrder, linkType uint32, pkts [][]byte) []byte {
	h := make([]byte, 24)
	order.PutUint32(h[0:], 0xA1B2C3D4)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], linkType)
	for i, p := range pkts {
		r := make([]byte, 16)
		order.PutUint32(r[0:], uint32(1700000000+i))
		order.PutUint32(r[8:], uint32(len(p)))
		order.PutUint32(r[12:], uint32(len(p)))
		h = append(append(h, r...), p...)
	}
	return h
}

// readPcapFile parses a pcap file by hand: its link type and packets.
func readPcapFile(t *testing.T, path string) (uint32, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xA1B23C4D {
		t.Fatalf("%s: not a little-endian nanosecond pcap", path)
	}
	lt := binary.LittleEndian.Uint32(b[20:])
	var pkts [][]byte
	for off := 24; off < len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		pkts = append(pkts, b[off+16:off+16+n])
		off += 16 + n
	}
	return lt, pkts
}

// ethFrames returns n random Ethernet frames without FCS, of every size
// from 14 (padded by the mapping to 60) to 9618 (MTU 9600 with a VLAN tag).
func ethFrames(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 3))
	f := make([][]byte, n)
	for i := range f {
		size := 14 + rng.IntN(9618-14+1)
		if i%5 == 0 {
			size = 14 + rng.IntN(200)
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		f[i] = b
	}
	return f
}

// padded is what a frame becomes on the far side: padded to 60 octets.
func padded(f []byte) []byte {
	if len(f) >= 60 {
		return f
	}
	return append(append([]byte(nil), f...), make([]byte, 60-len(f))...)
}

// TestFramePcapRoundTrip: a pcap through frame encode --pcap and frame
// decode --pcap comes back packet for packet (short ones padded to 60
// octets, as on Ethernet); the wire frames carry consecutive COUNTs; the
// GFP pcap holds one correct GFP frame per packet.
func TestFramePcapRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	pkts := ethFrames(1, 300)
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if err := os.WriteFile(in, pcapBytes(order, 1, pkts), 0o644); err != nil {
			t.Fatal(err)
		}
		wire, e, code := otk(t, nil, "frame", "encode", "--pcap", in, "--key", keyHex, "--count", "0xfffffff0", "--epoch", "7", "--direction", "1")
		if code != 0 {
			t.Fatalf("encode: exit %d: %s", code, e)
		}
		if len(wire)%framer.FrameLen != 0 || len(wire) < 2*framer.FrameLen {
			t.Fatalf("encode wrote %d bytes", len(wire))
		}
		nf := len(wire) / framer.FrameLen
		o, _ := framer.NewOpener(1, framer.Options{})
		for i := range nf {
			f, _ := framer.View(wire[i*framer.FrameLen : (i+1)*framer.FrameLen])
			ep, c, err := o.Peek(&f)
			if err != nil || ep != 7 || c != 0xfffffff0+uint32(i) {
				t.Fatalf("frame %d: epoch %d COUNT %#x %v", i, ep, c, err)
			}
		}
		if !strings.Contains(string(e), "client frames 300") {
			t.Fatalf("encode summary %q", e)
		}
		out, gfpOut := filepath.Join(dir, "out.pcap"), filepath.Join(dir, "gfp.pcap")
		stdout, e, code := otk(t, wire, "frame", "decode", "--pcap", out, "--gfp-pcap", gfpOut, "--key", keyHex, "--direction", "1", "--json")
		if code != 0 || len(stdout) != 0 {
			t.Fatalf("decode: exit %d, %d bytes on stdout: %s", code, len(stdout), e)
		}
		var ds decodePcapStats
		if err := json.Unmarshal(e, &ds); err != nil {
			t.Fatalf("summary %q: %v", e, err)
		}
		if ds.Frames != nf || ds.Opened != nf || ds.ClientFrames != 300 || ds.GFPFrames != 300 || ds.Resyncs != 0 {
			t.Fatalf("summary %+v", ds)
		}
		for k, v := range ds.Drops {
			if v != 0 {
				t.Fatalf("drop %s = %d", k, v)
			}
		}
		lt, got := readPcapFile(t, out)
		if lt != 1 || len(got) != len(pkts) {
			t.Fatalf("link type %d, %d packets", lt, len(got))
		}
		for i := range pkts {
			if !bytes.Equal(got[i], padded(pkts[i])) {
				t.Fatalf("packet %d differs", i)
			}
		}
		if lt, g := readPcapFile(t, gfpOut); lt != 171 || len(g) != 300 {
			t.Fatalf("GFP pcap: link type %d, %d packets", lt, len(g))
		}
	}
}

// TestFramePcapDamage: a wire frame damaged beyond the FEC in the middle of
// the stream: decode still succeeds, every packet it recovers is exact and
// in order, the loss shows in its summary.
func TestFramePcapDamage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	pkts := ethFrames(2, 200)
	os.WriteFile(in, pcapBytes(binary.LittleEndian, 1, pkts), 0o644)
	wire, e, code := otk(t, nil, "frame", "encode", "--pcap", in, "--key", keyHex, "--count", "1")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, e)
	}
	nf := len(wire) / framer.FrameLen
	bad := wire[(nf/2)*framer.FrameLen:]
	rng := rand.New(rand.NewPCG(5, 5))
	for range 400 { // far beyond 8 symbols per codeword
		bad[16+rng.IntN(framer.OTU2Len-16)] ^= byte(1 + rng.IntN(255))
	}
	out := filepath.Join(dir, "out.pcap")
	_, e, code = otk(t, wire, "frame", "decode", "--pcap", out, "--key", keyHex, "--json")
	if code != 0 {
		t.Fatalf("decode: exit %d: %s", code, e)
	}
	var ds decodePcapStats
	json.Unmarshal(e, &ds)
	_, got := readPcapFile(t, out)
	j := 0
	for _, g := range got {
		for j < len(pkts) && !bytes.Equal(padded(pkts[j]), g) {
			j++
		}
		if j == len(pkts) {
			t.Fatal("a recovered packet is not a sent one, or out of order")
		}
	}
	if len(got) >= len(pkts) || len(got) < len(pkts)/2 || ds.UncorrectableCodewords == 0 || ds.Resyncs == 0 {
		t.Fatalf("recovered %d of %d; summary %s", len(got), len(pkts), e)
	}
}

// TestFramePcapHostile: bad pcap files and bad wire input are refused with
// exit status 2, an error that names the problem, nothing on stdout and no
// output file.
func TestFramePcapHostile(t *testing.T) {
	dir := t.TempDir()
	good := ethFrames(3, 3)
	le := binary.LittleEndian
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	ok := pcapBytes(le, 1, good)
	truncated := append([]byte(nil), ok...)
	le.PutUint32(truncated[24+12:], le.Uint32(truncated[24+8:])+1) // orig > incl
	oversnap := pcapBytes(le, 1, good)
	le.PutUint32(oversnap[16:], 20)
	v23 := append([]byte(nil), ok...)
	le.PutUint16(v23[6:], 3)
	encode := []string{"frame", "encode", "--key", keyHex, "--count", "1", "--pcap"}
	for _, tc := range []struct {
		name  string
		args  []string
		wants string
	}{
		{"missing file", append(encode, filepath.Join(dir, "nope.pcap")), "no such file"},
		{"empty file", append(encode, file("empty", nil)), "shorter than a pcap file header"},
		{"not pcap", append(encode, file("text", []byte("this is not a capture file at all"))), "not a pcap file"},
		{"pcapng", append(encode, file("ng", append([]byte{0x0A, 0x0D, 0x0D, 0x0A}, make([]byte, 40)...))), "pcapng is not read"},
		{"version", append(encode, file("v23", v23)), "pcap version 2.3"},
		{"raw IP", append(encode, file("raw", pcapBytes(le, 101, good))), "link type 101"},
		{"with FCS", append(encode, file("fcs", pcapBytes(le, 1|0x04000000|2<<28, good))), "4-octet FCS"},
		{"truncated packet", append(encode, file("trunc", truncated)), "packet 1 is truncated"},
		{"beyond snaplen", append(encode, file("snap", oversnap)), "snapshot length 20"},
		{"beyond MTU", append(append([]string(nil), encode...), file("mtu", pcapBytes(le, 1, [][]byte{make([]byte, 1519)})), "--mtu", "1500"), "packet 1: 1519 octets, longer than the 1518"},
		{"runt", append(encode, file("runt", pcapBytes(le, 1, [][]byte{make([]byte, 13)}))), "packet 1: 13 octets, shorter than an Ethernet header"},
		{"cut record header", append(encode, file("cuthdr", ok[:len(ok)-len(good[2])-5])), "packet 3: the file ends inside its record header"},
		{"cut packet", append(encode, file("cutpkt", ok[:len(ok)-1])), "packet 3: the file ends inside it"},
		{"null epoch", []string{"frame", "encode", "--count", "1", "--epoch", "0", "--pcap", file("ok", ok)}, "needs a ciphered epoch"},
		{"bad mtu", append(append([]string(nil), encode...), file("ok2", ok), "--mtu", "20000"), "MTU out of range"},
		{"mtu without pcap", []string{"frame", "encode", "--key", keyHex, "--count", "1", "--mtu", "1500"}, "--mtu needs --pcap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, e, code := otk(t, nil, tc.args...)
			want := 65 // EX_DATAERR: the file is missing or malformed
			if strings.Contains(tc.wants, "--mtu") || strings.Contains(tc.wants, "MTU out of range") || strings.Contains(tc.wants, "ciphered epoch") {
				want = 64 // EX_USAGE: a bad flag
			}
			if code != want || len(out) != 0 || !strings.Contains(string(e), tc.wants) {
				t.Fatalf("exit %d, %d bytes out, stderr %q; want exit %d naming %q", code, len(out), e, want, tc.wants)
			}
		})
	}

	// Decode: input that is not whole frames, no frames, frames that do not
	// open, a missing key. No output file may appear, not even a temporary.
	wire, _, _ := otk(t, nil, append(encode, file("ok3", ok))...)
	out := filepath.Join(dir, "out", "x.pcap")
	os.Mkdir(filepath.Dir(out), 0o755)
	junk := bytes.Repeat([]byte{0x5A}, 2*framer.FrameLen)
	for _, tc := range []struct {
		name  string
		in    []byte
		args  []string
		wants string
	}{
		{"partial frame", append(append([]byte(nil), wire...), 1, 2, 3), []string{"--key", keyHex}, "ends inside frame"},
		{"nothing", nil, []string{"--key", keyHex}, "no wire frames"},
		{"junk", junk, []string{"--key", keyHex}, "none of the 2 frames opened"},
		{"no key", wire, nil, "--key is required"},
	} {
		t.Run("decode "+tc.name, func(t *testing.T) {
			args := append([]string{"frame", "decode", "--pcap", out}, tc.args...)
			_, e, code := otk(t, tc.in, args...)
			want := 65 // EX_DATAERR: the wire input is not frames that open
			if tc.args == nil {
				want = 64 // EX_USAGE: --key missing
			}
			if code != want || !strings.Contains(string(e), tc.wants) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, e, want, tc.wants)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Fatalf("left %s behind", ents[0].Name())
			}
		})
	}
	if strings.Contains(string(wire), keyHex) {
		t.Fatal("key digits in the output")
	}
}

// TestFramePcapTshark reads what decode writes with Wireshark's tshark,
// when installed (.ci/run installs it): the Ethernet pcap holds the
// packets, and Wireshark's own GFP dissector finds every cHEC, tHEC, pFCS
// and Ethernet FCS of the GFP pcap correct, an independent check of the
// CRCs' bit order. An input pcap made by text2pcap goes through too.
func TestFramePcapTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	pkts := ethFrames(4, 40)
	if text2pcap, err := exec.LookPath("text2pcap"); err == nil {
		var hex strings.Builder
		for _, p := range pkts {
			for i := 0; i < len(p); i += 16 { // text2pcap's input: offset, octets
				fmt.Fprintf(&hex, "%06x % x\n", i, p[i:min(i+16, len(p))])
			}
		}
		txt := filepath.Join(dir, "in.txt")
		os.WriteFile(txt, []byte(hex.String()), 0o644)
		if out, err := exec.Command(text2pcap, "-q", "-F", "pcap", "-l", "1", txt, in).CombinedOutput(); err != nil {
			t.Fatalf("text2pcap: %v: %s", err, out)
		}
	} else {
		os.WriteFile(in, pcapBytes(binary.LittleEndian, 1, pkts), 0o644)
	}
	wire, e, code := otk(t, nil, "frame", "encode", "--pcap", in, "--key", keyHex, "--count", "100")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, e)
	}
	out, gfpOut := filepath.Join(dir, "out.pcap"), filepath.Join(dir, "gfp.pcap")
	if _, e, code := otk(t, wire, "frame", "decode", "--pcap", out, "--gfp-pcap", gfpOut, "--key", keyHex); code != 0 {
		t.Fatalf("decode: exit %d: %s", code, e)
	}
	lens, err := exec.Command("tshark", "-r", out, "-T", "fields", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Fields(string(lens))
	if len(lines) != len(pkts) {
		t.Fatalf("tshark reads %d packets, want %d", len(lines), len(pkts))
	}
	for i, l := range lines {
		if l != itoa(len(padded(pkts[i]))) {
			t.Fatalf("packet %d: tshark says %s octets, want %d", i, l, len(padded(pkts[i])))
		}
	}
	res, err := exec.Command("tshark", "-r", gfpOut, "-o", "eth.check_fcs:TRUE", "-T", "fields",
		"-e", "gfp.chec.status", "-e", "gfp.thec.status", "-e", "gfp.fcs_good", "-e", "eth.fcs.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	rows := strings.Split(strings.TrimSpace(string(res)), "\n")
	if len(rows) != len(pkts) {
		t.Fatalf("tshark reads %d GFP frames, want %d", len(rows), len(pkts))
	}
	for i, r := range rows {
		if r != "1\t1\t1\t1" {
			t.Fatalf("GFP frame %d: cHEC, tHEC, pFCS, FCS status %q, want all good (1)", i, r)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }
