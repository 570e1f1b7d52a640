package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// parseKey decodes a 32-hex-digit ZUC-128 key. The error never repeats the
// digits: they are key material.
func parseKey(s string) (keys.Key, error) {
	var k keys.Key
	s = strings.TrimSpace(s)
	if len(s) != 2*len(k) {
		return k, usagef("--key must be %d hex digits, got %d characters", 2*len(k), len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, usagef("--key is not hexadecimal")
	}
	return k, nil
}

func parseUint(name, s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, usagef("--%s %q is not an unsigned %d-bit number", name, s, bits)
	}
	return v, nil
}

// readFrame reads exactly one frame image from r.
func readFrame(r io.Reader, what string) ([]byte, error) {
	buf := make([]byte, framer.FrameLen+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		return nil, dataf("%s input is longer than %d bytes (one frame)", what, framer.FrameLen)
	case errors.Is(err, io.ErrUnexpectedEOF) && n == framer.FrameLen:
		return buf[:n], nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, dataf("%s input is %d bytes, want %d (one frame)", what, n, framer.FrameLen)
	}
	return nil, fmt.Errorf("reading %s input: %w", what, err)
}

// needsPcap refuses the pcap-only flags without --pcap.
func needsPcap(cmd string, fs *pflag.FlagSet, pcap bool, names ...string) error {
	for _, n := range names {
		if fs.Changed(n) && !pcap {
			return usagef("%s: --%s needs --pcap", cmd, n)
		}
	}
	return nil
}

func parseDirection(s string) (uint8, error) {
	switch strings.ToUpper(s) {
	case "0", "AB", "A2B":
		return 0, nil
	case "1", "BA", "B2A":
		return 1, nil
	}
	return 0, usagef("--direction %q must be 0 (A to B) or 1 (B to A)", s)
}

func frameEncode(fs *pflag.FlagSet, std stdio) func([]string) error {
	keyHex := fs.String("key", "", "ZUC-128 session key, 32 hex digits (not needed for --epoch 0)")
	count := fs.String("count", "", "32-bit frame counter COUNT (decimal or 0x hex)")
	epoch := fs.String("epoch", "1", "key epoch 0..255 (0 = null cipher, not encrypted)")
	dirS := fs.String("direction", "0", "0 (A to B) or 1 (B to A)")
	noScr := fs.Bool("no-scramble", false, "skip the G.709 scrambler")
	pcapIn := fs.String("pcap", "", "map the Ethernet frames (no FCS) of this pcap file with GFP-F into as many frames as they need, COUNT incrementing, instead of sealing one image from stdin")
	mtu := fs.Int("mtu", client.MaxMTU, "with --pcap: the client MTU; longer packets are refused")
	return func([]string) error {
		if err := needsPcap("frame encode", fs, *pcapIn != "", "mtu"); err != nil {
			return err
		}
		if *count == "" {
			return usagef("frame encode: --count is required")
		}
		c, err := parseUint("count", *count, 32)
		if err != nil {
			return err
		}
		e, err := parseUint("epoch", *epoch, 8)
		if err != nil {
			return err
		}
		dir, err := parseDirection(*dirS)
		if err != nil {
			return err
		}
		var key *keys.Key
		if e != keys.NullEpoch {
			if *keyHex == "" {
				return usagef("frame encode: --key is required for epoch %d", e)
			}
			k, err := parseKey(*keyHex)
			if err != nil {
				return err
			}
			key = &k
			defer clear(k[:])
		}
		if *pcapIn != "" {
			return encodePcap(*pcapIn, *mtu, key, uint32(c), uint8(e), dir, *noScr, std.out, std.err)
		}
		buf, err := readFrame(std.in, "plaintext")
		if err != nil {
			return err
		}
		f, _ := framer.View(buf)
		s, err := framer.NewSealer(dir, framer.Options{NoScramble: *noScr})
		if err != nil {
			return usagef("%v", err)
		}
		if err := s.Seal(&f, key, uint32(c), uint8(e)); err != nil {
			return dataf("%v", err)
		}
		_, err = std.out.Write(buf)
		return err
	}
}

// decodeStats is the statistics record of frame decode.
type decodeStats struct {
	FASOK                  bool   `json:"fas_ok"`
	Count                  uint32 `json:"count"`
	Epoch                  uint8  `json:"epoch"`
	CorrectedSymbols       int    `json:"corrected_symbols"`
	UncorrectableCodewords int    `json:"uncorrectable_codewords"`
	FailedCodewords        []int  `json:"failed_codewords"`
}

func frameDecode(fs *pflag.FlagSet, std stdio) func([]string) error {
	keyHex := fs.String("key", "", "ZUC-128 session key, 32 hex digits (not needed for frames of epoch 0)")
	dirS := fs.String("direction", "0", "0 (A to B) or 1 (B to A)")
	noScr := fs.Bool("no-scramble", false, "the frame was not scrambled")
	asJSON := fs.Bool("json", false, "statistics as one JSON object on stderr")
	pcapOut := fs.String("pcap", "", "read concatenated wire frames and write the Ethernet frames they carry (GFP-F) to this pcap file, instead of one image to stdout")
	gfpOut := fs.String("gfp-pcap", "", "also (or only) write the GFP frames of the stream to this pcap file (link type GFP-F: core header in clear, payload area descrambled)")
	mtu := fs.Int("mtu", client.MaxMTU, "with --pcap: the client MTU; longer frames are dropped")
	return func([]string) error {
		if err := needsPcap("frame decode", fs, *pcapOut != "" || *gfpOut != "", "mtu"); err != nil {
			return err
		}
		dir, err := parseDirection(*dirS)
		if err != nil {
			return err
		}
		var key keys.Key
		if *keyHex != "" {
			if key, err = parseKey(*keyHex); err != nil {
				return err
			}
			defer clear(key[:])
		}
		if *pcapOut != "" || *gfpOut != "" {
			o := decodeOpts{out: *pcapOut, gfpOut: *gfpOut, mtu: *mtu, dir: dir, noScr: *noScr, asJSON: *asJSON}
			if *keyHex != "" {
				o.key = &key
			}
			return decodePcap(o, std.in, std.err)
		}
		buf, err := readFrame(std.in, "wire")
		if err != nil {
			return err
		}
		f, _ := framer.View(buf)
		o, err := framer.NewOpener(dir, framer.Options{NoScramble: *noScr})
		if err != nil {
			return usagef("%v", err)
		}
		// The tool holds one key for whatever epoch the frame carries.
		epoch, _, err := o.Peek(&f)
		if err != nil {
			return dataf("%v", err)
		}
		if epoch != keys.NullEpoch {
			if *keyHex == "" {
				return usagef("frame decode: the frame has key epoch %d, --key is required", epoch)
			}
			o.Install(epoch, &key)
		}
		var st framer.Stats
		if err := o.Open(&f, &st); err != nil {
			return dataf("%v", err)
		}
		if _, err := std.out.Write(buf); err != nil {
			return err
		}
		return writeStats(std.err, &st, *asJSON)
	}
}

func writeStats(w io.Writer, st *framer.Stats, asJSON bool) error {
	ds := decodeStats{
		FASOK: st.FASOK, Count: st.Count, Epoch: st.Epoch,
		CorrectedSymbols: st.CorrectedSymbols, UncorrectableCodewords: st.UncorrectableCodewords,
		FailedCodewords: []int{},
	}
	for k := range len(st.FEC.Corrected) {
		if st.FEC.IsFailed(k) {
			ds.FailedCodewords = append(ds.FailedCodewords, k)
		}
	}
	if asJSON {
		return writeJSONLine(w, ds)
	}
	_, err := fmt.Fprintf(w, "fas_ok=%v count=%d epoch=%d corrected_symbols=%d uncorrectable_codewords=%d failed=%v\n",
		ds.FASOK, ds.Count, ds.Epoch, ds.CorrectedSymbols, ds.UncorrectableCodewords, ds.FailedCodewords)
	return err
}

// frameSelftest seals random frames, damages them on the "wire" and opens
// them again, checking every plaintext byte. It is the framer's end-to-end
// check a newcomer can run without any input files.
func frameSelftest(fs *pflag.FlagSet, std stdio) func([]string) error {
	frames := fs.Int("frames", 200, "number of frames")
	maxErr := fs.Int("errors", 8, "at most this many symbol errors per codeword (9..16 exceed the code)")
	seed := fs.Uint64("seed", 1, "seed of the random frames and errors")
	return func([]string) error {
		if *frames < 1 || *maxErr < 0 || *maxErr > 16 {
			return usagef("frame selftest: --frames must be ≥ 1 and --errors 0..16")
		}
		rng := rand.New(rand.NewPCG(*seed, 0x07cd))
		var key keys.Key
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		defer clear(key[:])
		s, _ := framer.NewSealer(0, framer.Options{})
		o, _ := framer.NewOpener(0, framer.Options{})
		o.Install(1, &key)
		plain := make([]byte, framer.FrameLen)
		wire := make([]byte, framer.FrameLen)
		f, _ := framer.View(wire)
		var injected, corrected, failed, bad int
		for i := range *frames {
			for j := range plain {
				plain[j] = byte(rng.Uint32())
			}
			copy(wire, plain)
			if err := s.Seal(&f, &key, uint32(i), 1); err != nil {
				return err
			}
			injected += damage(rng, wire, *maxErr)
			var st framer.Stats
			if err := o.Open(&f, &st); err != nil {
				return fmt.Errorf("frame %d: %w", i, err)
			}
			corrected += st.CorrectedSymbols
			failed += st.UncorrectableCodewords
			if st.UncorrectableCodewords == 0 && !samePayload(wire, plain) {
				bad++
			}
		}
		fmt.Fprintf(std.out, "frames %d  symbol errors injected %d  corrected %d  uncorrectable codewords %d  wrong plaintext %d\n",
			*frames, injected, corrected, failed, bad)
		if bad > 0 || (*maxErr <= 8 && (corrected != injected || failed > 0)) {
			return fmt.Errorf("selftest FAILED")
		}
		fmt.Fprintln(std.out, "selftest ok: every frame sealed, damaged, corrected and decrypted back to its plaintext")
		return nil
	}
}

// damage puts up to maxErr symbol errors in every codeword of a wire frame,
// sparing the FAS, and returns how many it put.
func damage(rng *rand.Rand, wire []byte, maxErr int) int {
	n := 0
	for r := range framer.Rows {
		for cw := range 16 {
			k := rng.IntN(maxErr + 1)
			for _, sym := range rng.Perm(255)[:k] {
				off := r*framer.RowLen + sym*16 + cw
				if off < 6 {
					continue
				}
				wire[off] ^= byte(1 + rng.IntN(255))
				n++
			}
		}
	}
	for _, sym := range rng.Perm(255)[:rng.IntN(maxErr+1)] {
		wire[framer.IntOff+sym] ^= byte(1 + rng.IntN(255))
		n++
	}
	return n
}

// samePayload compares the encrypted ranges (the payload the peer sent).
func samePayload(a, b []byte) bool {
	for r := range framer.Rows {
		lo := r * framer.RowLen
		if r == 0 {
			lo += framer.OPUFirst - 1
		}
		if string(a[lo:r*framer.RowLen+framer.InfoCols]) != string(b[lo:r*framer.RowLen+framer.InfoCols]) {
			return false
		}
	}
	return string(a[framer.ExtOff:framer.IntOff+framer.MsgLen]) == string(b[framer.ExtOff:framer.IntOff+framer.MsgLen])
}
