package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/otkd/otkd/dataplane/client"
	"github.com/otkd/otkd/dataplane/client/gfp"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

// The client-traffic side of otkctl frame: encode --pcap maps the Ethernet
// frames of a pcap file into consecutive wire frames with GFP-F, exactly as
// a port's TX does; decode --pcap recovers them from concatenated wire
// frames, exactly as a port's RX does (docs/client.md).

// encodePcap writes the wire frames carrying the packets of the pcap file at
// path to stdout: COUNT from count on, one per frame (wrapping modulo 2^32
// like a port's). The file is read twice:
// once to check every record, so that a bad file writes nothing.
func encodePcap(path string, mtu int, key *keys.Key, count uint32, epoch uint8, dir uint8, noScr bool, stdout, stderr io.Writer) error {
	if epoch == keys.NullEpoch {
		return usagef("frame encode: --pcap needs a ciphered epoch (null-epoch frames carry no payload)")
	}
	m, err := client.New(client.Config{MTU: mtu})
	if err != nil {
		return usagef("frame encode: --mtu: %v", err)
	}
	file, err := os.Open(path)
	if err != nil {
		return dataf("frame encode: --pcap: %v", err)
	}
	defer file.Close()
	if _, _, err := scanPcap(file, m.MaxFrame()); err != nil {
		return dataf("frame encode: --pcap %s: %v", path, err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	pr, err := newPcapReader(bufio.NewReader(file), m.MaxFrame())
	if err != nil {
		return dataf("frame encode: --pcap %s: %v", path, err)
	}
	s, err := framer.NewSealer(dir, framer.Options{NoScramble: noScr})
	if err != nil {
		return usagef("%v", err)
	}
	buf := make([]byte, framer.FrameLen)
	f, _ := framer.View(buf)
	w := bufio.NewWriterSize(stdout, 4*framer.FrameLen)
	first, frames, eof := count, 0, false
	for {
		for !eof && m.TXRoom() > 0 {
			pkt, err := pr.next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil { // the file changed since the check
				return fmt.Errorf("frame encode: --pcap %s: %w", path, err)
			}
			m.CommitRead(copy(m.ReadBuffer(), pkt))
		}
		if eof && !m.TXPending() && frames > 0 {
			break
		}
		clear(buf)
		m.Fill(&f, count)
		if err := s.Seal(&f, key, count, epoch); err != nil {
			return usagef("%v", err)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		frames++
		count++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	st := m.Stats()
	_, err = fmt.Fprintf(stderr, "frames %d (COUNT %d..%d), client frames %d (%d octets)\n",
		frames, first, count-1, st.InPackets.Load(), st.InBytes.Load())
	return err
}

// scanPcap checks every record of a pcap file and returns the number of
// packets and their octets.
func scanPcap(r io.Reader, maxPacket int) (packets, octets uint64, err error) {
	pr, err := newPcapReader(bufio.NewReader(r), maxPacket)
	if err != nil {
		return 0, 0, err
	}
	for {
		pkt, err := pr.next()
		if err == io.EOF {
			return packets, octets, nil
		}
		if err != nil {
			return 0, 0, err
		}
		if len(pkt) < client.EthHeader {
			return 0, 0, fmt.Errorf("packet %d: %d octets, shorter than an Ethernet header (%d)", pr.n, len(pkt), client.EthHeader)
		}
		packets++
		octets += uint64(len(pkt))
	}
}

// decodePcapStats is the summary of frame decode --pcap.
type decodePcapStats struct {
	Frames                 int               `json:"frames"`
	Opened                 int               `json:"opened"`
	Rejected               int               `json:"rejected"`
	CorrectedSymbols       int               `json:"corrected_symbols"`
	UncorrectableCodewords int               `json:"uncorrectable_codewords"`
	ClientFrames           uint64            `json:"client_frames"`
	ClientOctets           uint64            `json:"client_octets"`
	GFPFrames              int               `json:"gfp_frames,omitempty"`
	Resyncs                uint64            `json:"resyncs"`
	LostFrames             uint64            `json:"lost_frames"`
	Drops                  map[string]uint64 `json:"drops"`
}

// decodeOpts are the settings of frame decode --pcap.
type decodeOpts struct {
	out, gfpOut string
	mtu         int
	key         *keys.Key
	dir         uint8
	noScr       bool
	asJSON      bool
}

// decodePcap opens the concatenated wire frames on stdin, recovers the
// client frames they carry and writes them to a pcap file (o.out), and, with
// o.gfpOut, the GFP frames of the stream to another (link type GFP-F, core
// header in clear, payload area descrambled). The files appear only when
// the whole input decoded.
func decodePcap(o decodeOpts, stdin io.Reader, stderr io.Writer) (err error) {
	m, err := client.New(client.Config{MTU: o.mtu})
	if err != nil {
		return usagef("frame decode: --mtu: %v", err)
	}
	op, err := framer.NewOpener(o.dir, framer.Options{NoScramble: o.noScr, AcceptNull: true})
	if err != nil {
		return usagef("%v", err)
	}
	var outs []*pcapOut
	defer func() {
		for _, p := range outs {
			p.abandon()
		}
	}()
	var eth, gfpw *pcapOut
	if o.out != "" {
		if eth, err = createPcap(o.out, linkTypeEthernet); err != nil {
			return err
		}
		outs = append(outs, eth)
	}
	var mon *gfpMonitor
	if o.gfpOut != "" {
		if gfpw, err = createPcap(o.gfpOut, linkTypeGFPF); err != nil {
			return err
		}
		outs = append(outs, gfpw)
		mon = newGFPMonitor(gfpw)
	}
	var ds decodePcapStats
	buf := make([]byte, framer.FrameLen)
	f, _ := framer.View(buf)
	var st framer.Stats
	var first uint32
	var firstErr error
	for {
		n, err := io.ReadFull(stdin, buf)
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return dataf("frame decode: wire input ends inside frame %d (%d of %d bytes): the input is not whole frames", ds.Frames+1, n, framer.FrameLen)
		}
		if err != nil {
			return fmt.Errorf("reading the wire input: %w", err)
		}
		ds.Frames++
		epoch, _, perr := op.Peek(&f)
		if perr == nil && epoch != keys.NullEpoch {
			if o.key == nil {
				return usagef("frame decode: frame %d has key epoch %d, --key is required", ds.Frames, epoch)
			}
			if cur, prev := op.Epochs(); int(epoch) != cur && int(epoch) != prev {
				op.Install(epoch, o.key)
			}
		}
		if perr == nil {
			perr = op.Open(&f, &st)
		}
		if perr != nil {
			ds.Rejected++
			if firstErr == nil {
				firstErr = fmt.Errorf("frame %d: %w", ds.Frames, perr)
			}
			continue
		}
		if ds.Opened == 0 {
			first = st.Count
		}
		ds.Opened++
		ds.CorrectedSymbols += st.CorrectedSymbols
		ds.UncorrectableCodewords += st.UncorrectableCodewords
		if rowsFailed(&st) {
			continue // the COUNT gap at the next frame breaks the stream
		}
		// Timestamps: the OTU2 frame period (1/82 025 s) per COUNT.
		at := time.Duration(uint64(st.Count-first) * uint64(time.Second) / 82025)
		m.Deliver(&f, st.Count, st.Epoch)
		for fr := m.NextOut(); fr != nil; fr = m.NextOut() {
			if eth != nil {
				if err := eth.w.write(at, fr); err != nil {
					return err
				}
			}
			m.ReleaseOut(true)
		}
		if mon != nil {
			if err := mon.frame(&f, st.Count, st.Epoch, at); err != nil {
				return err
			}
		}
	}
	if ds.Frames == 0 {
		return dataf("frame decode: no wire frames on stdin")
	}
	if ds.Opened == 0 {
		return dataf("frame decode: none of the %d frames opened (%v)", ds.Frames, firstErr)
	}
	for _, p := range outs {
		if err := p.commit(); err != nil {
			return err
		}
	}
	outs = nil
	cs := m.Stats()
	ds.ClientFrames, ds.ClientOctets = cs.OutPackets.Load(), cs.OutBytes.Load()
	ds.Resyncs, ds.LostFrames = cs.GFP.Resyncs.Load(), cs.LostFrames.Load()+cs.LateFrames.Load()
	if mon != nil {
		ds.GFPFrames = mon.n
	}
	ds.Drops = map[string]uint64{
		"mtu": cs.DropMTU.Load(), "malformed": cs.DropMalformed.Load(), "fcs": cs.DropFCS.Load(),
		"pfcs": cs.DropPFCS.Load(), "delineation": cs.DropDelineation.Load(),
		"queue": cs.DropQueue.Load(), "payload_mismatch": cs.PayloadMismatch.Load(),
	}
	if o.asJSON {
		return writeJSONLine(stderr, ds)
	}
	_, err = fmt.Fprintf(stderr, "frames %d opened %d rejected %d corrected_symbols %d uncorrectable_codewords %d client_frames %d client_octets %d resyncs %d lost_frames %d drops mtu=%d malformed=%d fcs=%d pfcs=%d delineation=%d\n",
		ds.Frames, ds.Opened, ds.Rejected, ds.CorrectedSymbols, ds.UncorrectableCodewords, ds.ClientFrames, ds.ClientOctets,
		ds.Resyncs, ds.LostFrames, ds.Drops["mtu"], ds.Drops["malformed"], ds.Drops["fcs"], ds.Drops["pfcs"], ds.Drops["delineation"])
	return err
}

// rowsFailed reports whether a row codeword (payload included) was
// uncorrectable.
func rowsFailed(st *framer.Stats) bool {
	for k := range 64 {
		if st.FEC.IsFailed(k) {
			return true
		}
	}
	return false
}

// pcapOut is an output pcap written to a temporary file beside its path
// and renamed there on success.
type pcapOut struct {
	path string
	tmp  *os.File
	bw   *bufio.Writer
	w    *pcapWriter
}

func createPcap(path string, linkType uint32) (*pcapOut, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".otkctl-*.pcap")
	if err != nil {
		return nil, fmt.Errorf("frame decode: %w", err)
	}
	p := &pcapOut{path: path, tmp: tmp, bw: bufio.NewWriter(tmp)}
	if p.w, err = newPcapWriter(p.bw, linkType); err != nil {
		p.abandon()
		return nil, err
	}
	return p, nil
}

func (p *pcapOut) commit() error {
	if err := p.bw.Flush(); err != nil {
		return err
	}
	if err := p.tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := p.tmp.Close(); err != nil {
		return err
	}
	return os.Rename(p.tmp.Name(), p.path)
}

func (p *pcapOut) abandon() {
	p.tmp.Close()
	os.Remove(p.tmp.Name())
}

// gfpMonitor delineates the GFP stream of the opened frames on its own and
// writes every client frame it finds, good or bad (Wireshark's GFP
// dissector checks their cHEC, tHEC and pFCS), as a GFP-F packet.
type gfpMonitor struct {
	out  *pcapOut
	dec  *gfp.Decoder
	last uint32
	have bool
	at   time.Duration
	buf  [gfp.MaxPLI]byte
	pkt  []byte
	n    int
	werr error
}

func newGFPMonitor(out *pcapOut) *gfpMonitor {
	return &gfpMonitor{out: out, dec: gfp.NewDecoder(gfp.Options{})}
}

func (g *gfpMonitor) frame(f *framer.Frame, count uint32, epoch uint8, at time.Duration) error {
	if g.have && count != g.last+1 {
		g.dec.Lose(g)
	}
	g.last, g.have, g.at = count, true, at
	if epoch == keys.NullEpoch {
		return nil
	}
	for r := range framer.Rows {
		g.dec.Write(client.PayloadRow(f, r), g)
	}
	return g.werr
}

func (g *gfpMonitor) Buffer(n int) []byte { return g.buf[:n] }

func (g *gfpMonitor) Frame(area, info []byte, pfcs bool, err error) {
	if err == gfp.ErrCut || g.werr != nil {
		return
	}
	pli := uint16(len(area))
	var core [gfp.CoreLen]byte
	binary.BigEndian.PutUint16(core[:], pli)
	binary.BigEndian.PutUint16(core[2:], gfp.HEC(core[:2]))
	g.pkt = append(append(g.pkt[:0], core[:]...), area...)
	g.werr = g.out.w.write(g.at, g.pkt)
	g.n++
}
