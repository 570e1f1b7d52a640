package gfp

import (
	"encoding/binary"
	"errors"
)

// Field sizes and values of G.7041 used here.
const (
	CoreLen   = 4 // core header: PLI (2) and cHEC (2)
	HeaderLen = 4 // payload header with the null extension: type (2) and tHEC (2)
	FCSLen    = 4 // pFCS

	// CoreMask is XORed onto the core header on the wire (core header
	// scrambling, G.7041 6.1.1.3).
	CoreMask = 0xB6AB31E0
	// Idle is an idle frame (PLI 0, cHEC 0) as it is sent: B6 AB 31 E0.
	Idle = CoreMask

	// UPIEthernet is the user payload identifier of frame-mapped Ethernet.
	UPIEthernet = 0x01
	// MaxPLI is the largest payload area a core header can announce.
	MaxPLI = 0xFFFF
	// MaxInfo is the largest payload information field that fits one GFP
	// frame with a pFCS.
	MaxInfo = MaxPLI - HeaderLen - FCSLen

	// Delta is the number of further correct core headers, after the one
	// the hunt found, that take the receiver to SYNC (G.7041 suggests 1).
	Delta = 1
)

// Type field bits (G.7041 6.1.2.1.1).
const (
	ptiShift = 13 // PTI, 3 bits: 000 client data
	pfiBit   = 1 << 12
	exiShift = 8 // EXI, 4 bits: 0000 null extension header
)

// TypeField returns the type field of a client data frame of frame-mapped
// Ethernet: PTI=000, PFI=1 when a pFCS follows, EXI=0000, UPI=0x01.
func TypeField(pfcs bool) uint16 {
	t := uint16(0<<ptiShift | 0<<exiShift | UPIEthernet)
	if pfcs {
		t |= pfiBit
	}
	return t
}

// Errors a Decoder reports with a frame it does not deliver.
var (
	// ErrTHEC: the payload header's tHEC does not check.
	ErrTHEC = errors.New("gfp: payload header tHEC mismatch")
	// ErrType: a client frame that is not frame-mapped Ethernet client data
	// with the null extension header (PTI, EXI or UPI).
	ErrType = errors.New("gfp: not a frame-mapped Ethernet client data frame")
	// ErrLength: a payload area too short for what its header announces.
	ErrLength = errors.New("gfp: payload area too short")
	// ErrPFCS: the pFCS does not check.
	ErrPFCS = errors.New("gfp: pFCS mismatch")
	// ErrCut: the frame was cut short by a loss of the stream
	// (Decoder.Lose): its bytes are incomplete.
	ErrCut = errors.New("gfp: frame cut by a loss of the stream")
)

// coreHeader returns the core header of a payload area of pli octets as sent
// (cHEC computed, XORed with CoreMask).
func coreHeader(pli int) uint32 {
	return (uint32(pli)<<16 | uint32(hec16(uint16(pli)))) ^ CoreMask
}

// headerOK reports whether h (descrambled) is a correct core header.
func headerOK(h uint32) bool { return hec16(uint16(h>>16)) == uint16(h) }

// CheckPFCS reports whether a payload area with PFI=1 (payload header,
// information field, pFCS) carries a correct pFCS. A Decoder with
// Options.DeferPFCS leaves this check to its Sink.
func CheckPFCS(area []byte) bool {
	n := len(area)
	if n < HeaderLen+FCSLen {
		return false
	}
	return PFCS(area[HeaderLen:n-FCSLen]) == binary.BigEndian.Uint32(area[n-FCSLen:])
}
