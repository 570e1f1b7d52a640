package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// A small reader and writer of classic pcap files (draft-ietf-opsawg-pcap),
// for otkctl frame encode|decode --pcap.
//
// Why not gopacket's pcapgo, the usual library: it reads the 32-bit
// link-type field into a 16-bit LinkType, so it cannot see the bits that say
// a capture's frames end with their FCS (which would then be mapped with a
// second FCS), and it would bring gopacket's layers and golang.org/x/net
// into the module for the 150 lines below. The file is hostile input: every
// length is checked before anything is allocated or read.

// Link types this file format carries for otkctl.
const (
	linkTypeEthernet = 1   // IEEE 802.3 MAC frames, no FCS unless the FCS bits say so
	linkTypeGFPF     = 171 // LINKTYPE_GFP_F: frame-mapped GFP, core header and payload area (G.7041)
)

const (
	pcapMagicMicro = 0xA1B2C3D4
	pcapMagicNano  = 0xA1B23C4D
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
	pcapFCSPresent = 0x04000000 // link-type field: the FCS length below is known
	pcapSnaplen    = 65535
)

// pcapReader reads the packets of a classic pcap file of Ethernet frames.
type pcapReader struct {
	r      io.Reader
	order  binary.ByteOrder
	nano   bool
	snap   uint32
	max    int // longest packet accepted
	n      int // packets read
	buf    []byte
	header [pcapRecordLen]byte
}

// newPcapReader reads and checks the file header: pcap 2.4 of either byte
// order and timestamp resolution, link type Ethernet without FCS.
// maxPacket bounds the packets the caller accepts.
func newPcapReader(r io.Reader, maxPacket int) (*pcapReader, error) {
	var h [pcapHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("pcap file header: %w", shortRead(err))
	}
	p := &pcapReader{r: r, max: maxPacket, buf: make([]byte, maxPacket)}
	switch {
	case binary.LittleEndian.Uint32(h[:]) == pcapMagicMicro:
		p.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[:]) == pcapMagicMicro:
		p.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h[:]) == pcapMagicNano:
		p.order, p.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[:]) == pcapMagicNano:
		p.order, p.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("not a pcap file (magic % x; pcapng is not read, convert it with editcap -F pcap)", h[:4])
	}
	if major, minor := p.order.Uint16(h[4:]), p.order.Uint16(h[6:]); major != 2 || minor != 4 {
		return nil, fmt.Errorf("pcap version %d.%d, want 2.4", major, minor)
	}
	p.snap = p.order.Uint32(h[16:])
	lt := p.order.Uint32(h[20:])
	if lt&0xFFFF != linkTypeEthernet {
		return nil, fmt.Errorf("pcap link type %d, want %d (Ethernet)", lt&0xFFFF, linkTypeEthernet)
	}
	if lt&pcapFCSPresent != 0 && lt>>28 != 0 {
		return nil, fmt.Errorf("the frames of this capture end with a %d-octet FCS; want them without, as Linux captures them", 2*(lt>>28))
	}
	return p, nil
}

// next returns the next packet (valid until the next call), or io.EOF at the
// end of the file. A record that is truncated, cut short by the end of the
// file, longer than the snapshot length or than maxPacket is an error that
// names the packet.
func (p *pcapReader) next() ([]byte, error) {
	n, err := io.ReadFull(p.r, p.header[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	p.n++
	if err != nil {
		return nil, fmt.Errorf("packet %d: the file ends inside its record header (%d of %d octets)", p.n, n, pcapRecordLen)
	}
	incl, orig := p.order.Uint32(p.header[8:]), p.order.Uint32(p.header[12:])
	switch {
	case incl != orig:
		return nil, fmt.Errorf("packet %d is truncated: %d of its %d octets captured", p.n, incl, orig)
	case incl > p.snap:
		return nil, fmt.Errorf("packet %d: %d octets, more than the file's snapshot length %d", p.n, incl, p.snap)
	case incl > uint32(p.max):
		return nil, fmt.Errorf("packet %d: %d octets, longer than the %d the MTU allows (--mtu)", p.n, incl, p.max)
	}
	b := p.buf[:incl]
	if k, err := io.ReadFull(p.r, b); err != nil {
		return nil, fmt.Errorf("packet %d: the file ends inside it (%d of %d octets)", p.n, k, incl)
	}
	return b, nil
}

func shortRead(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file is shorter than a pcap file header")
	}
	return err
}

// pcapWriter writes a classic pcap file: little-endian, nanosecond
// timestamps, version 2.4.
type pcapWriter struct {
	w   io.Writer
	rec [pcapRecordLen]byte
}

func newPcapWriter(w io.Writer, linkType uint32) (*pcapWriter, error) {
	var h [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagicNano)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnaplen)
	binary.LittleEndian.PutUint32(h[20:], linkType)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &pcapWriter{w: w}, nil
}

// write appends one packet captured at t (since the Unix epoch).
func (p *pcapWriter) write(t time.Duration, pkt []byte) error {
	binary.LittleEndian.PutUint32(p.rec[0:], uint32(t/time.Second))
	binary.LittleEndian.PutUint32(p.rec[4:], uint32(t%time.Second))
	binary.LittleEndian.PutUint32(p.rec[8:], uint32(len(pkt)))
	binary.LittleEndian.PutUint32(p.rec[12:], uint32(len(pkt)))
	if _, err := p.w.Write(p.rec[:]); err != nil {
		return err
	}
	_, err := p.w.Write(pkt)
	return err
}
