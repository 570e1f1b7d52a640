package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// xdpMaxQueues is the size of the XSKMAP: queue ids below it can carry a
// line.
const xdpMaxQueues = 64

// Offsets in struct xdp_md (the XDP program's context).
const (
	mdData         = 0
	mdDataEnd      = 4
	mdRxQueueIndex = 16
)

const (
	xdpPass = 2 // XDP_PASS
)

// steerProgram is the XDP program: a packet whose EtherType is EtherType
// goes to the AF_XDP socket of its receive queue in xsks, every other
// packet (and one of ours on a queue without a socket: the low bits of
// bpf_redirect_map's flags are the action when the key has no entry) goes
// on to the kernel's stack unchanged. It is written with cilium/ebpf's asm
// package, so building otkd needs no C compiler; it is 13 instructions
// and the verifier checks it at load.
//
//	r2 = ctx->data; r3 = ctx->data_end
//	if r2 + 14 > r3: return XDP_PASS         // not even an Ethernet header
//	if *(u16 *)(r2 + 12) != 0x88B5: return XDP_PASS
//	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS)
func steerProgram(xsks *ebpf.Map) asm.Instructions {
	// The EtherType is big-endian on the wire; the load is native.
	et := binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, EtherType))
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R1, mdDataEnd, asm.Word),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, ethHdr),
		asm.JGT.Reg(asm.R4, asm.R3, "pass"),
		asm.LoadMem(asm.R4, asm.R2, 12, asm.Half),
		asm.JNE.Imm(asm.R4, int32(et), "pass"),
		asm.LoadMem(asm.R2, asm.R1, mdRxQueueIndex, asm.Word),
		asm.LoadMapPtr(asm.R1, xsks.FD()),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return(),
	}
}

// steering is the loaded program, its map and its attachment to one
// interface.
type steering struct {
	xsks *ebpf.Map
	prog *ebpf.Program
	link link.Link
	mode string // "driver" or "generic"
}

// AttachMode is how the XDP program is attached.
type AttachMode int

const (
	// AttachAuto attaches in the driver (native XDP) when it can, else in
	// generic (skb) mode.
	AttachAuto AttachMode = iota
	// AttachDriver requires native XDP.
	AttachDriver
	// AttachGeneric uses the generic hook, which every interface has.
	AttachGeneric
)

// loadSteering creates the XSKMAP, loads the program and attaches it to
// ifindex.
func loadSteering(ifindex int, mode AttachMode) (_ *steering, err error) {
	s := &steering{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.xsks, err = ebpf.NewMap(&ebpf.MapSpec{Name: "otkd_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: xdpMaxQueues})
	if err != nil {
		return nil, fmt.Errorf("%w: create XSKMAP (needs CAP_BPF or CAP_SYS_ADMIN): %w", errPriv(err), err)
	}
	s.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "otkd_steer", Type: ebpf.XDP, License: "Dual MIT/GPL",
		Instructions: steerProgram(s.xsks),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: load the XDP program (needs CAP_BPF and CAP_NET_ADMIN): %w", errPriv(err), err)
	}
	try := func(f link.XDPAttachFlags, name string) error {
		l, err := link.AttachXDP(link.XDPOptions{Program: s.prog, Interface: ifindex, Flags: f})
		if err != nil {
			return fmt.Errorf("attach the XDP program in %s mode to interface %d (needs CAP_NET_ADMIN; one XDP program per interface): %w", name, ifindex, err)
		}
		s.link, s.mode = l, name
		return nil
	}
	switch mode {
	case AttachDriver:
		err = try(link.XDPDriverMode, "driver")
	case AttachGeneric:
		err = try(link.XDPGenericMode, "generic")
	default:
		if derr := try(link.XDPDriverMode, "driver"); derr != nil {
			if err = try(link.XDPGenericMode, "generic"); err != nil {
				err = fmt.Errorf("%w; and %w", derr, err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPriv(err), err)
	}
	return s, nil
}

// errPriv picks the sentinel for a failure of the eBPF steps.
func errPriv(err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return ErrUnsupported
	}
	return ErrSetup
}

// register puts the socket fd in the map at queue.
func (s *steering) register(queue, fd int) error {
	if err := s.xsks.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("%w: put the socket in the XSKMAP at queue %d: %w", ErrSetup, queue, err)
	}
	return nil
}

func (s *steering) close() {
	if s.link != nil {
		s.link.Close()
	}
	if s.prog != nil {
		s.prog.Close()
	}
	if s.xsks != nil {
		s.xsks.Close()
	}
}
