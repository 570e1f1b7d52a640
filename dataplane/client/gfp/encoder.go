package gfp

import "encoding/binary"

// Source gives an Encoder its client frames. Next and Done are called on the
// Encoder's goroutine.
type Source interface {
	// Next returns the payload information field of the next client frame
	// (the Ethernet MAC frame through its FCS) and its pFCS (PFCS(info);
	// ignored when the Encoder sends no pFCS), or ok=false when no frame is
	// waiting: the Encoder then sends idle frames. info must stay unchanged
	// until Done.
	Next() (info []byte, pfcs uint32, ok bool)
	// Done tells that the frame Next returned last is completely written.
	Done()
}

// Encoder writes a GFP-F stream. Its zero value is not ready: use
// NewEncoder. It keeps the scrambler state and the frame in progress, so a
// client frame can span any number of Encode calls (rows, OTN frames).
type Encoder struct {
	scr   Scrambler
	pfcs  bool
	head  [CoreLen + HeaderLen]byte // core header (masked), payload header (clear)
	tail  [FCSLen]byte              // pFCS (clear)
	info  []byte
	pos   int  // octets of the current frame written
	end   int  // length of the current frame; pos == end: between frames
	owed  bool // the current frame came from the Source: Done is owed
	idles int  // idle frames still to send before the first client frame
	typ   [HeaderLen]byte
	bytes uint64
}

// NewEncoder returns an Encoder. pfcs selects the payload FCS (PFI=1); G.7041
// leaves it optional and otkd sends it by default. The stream starts with
// Delta+1 idle frames, so that a receiver starting with it is in SYNC
// before the first client frame.
func NewEncoder(pfcs bool) *Encoder {
	e := &Encoder{pfcs: pfcs, idles: Delta + 1}
	t := TypeField(pfcs)
	binary.BigEndian.PutUint16(e.typ[:], t)
	binary.BigEndian.PutUint16(e.typ[2:], hec16(t))
	return e
}

// Octets returns the number of octets written since NewEncoder.
func (e *Encoder) Octets() uint64 { return e.bytes }

// idle8 is two idle frames as one big-endian word.
const idle8 = uint64(Idle)<<32 | Idle

// idleRun is a run of idle frames to copy from.
var idleRun = func() (b [4096]byte) {
	for i := 0; i < len(b); i += CoreLen {
		binary.BigEndian.PutUint32(b[i:], Idle)
	}
	return b
}()

// Encode writes the next len(dst) octets of the stream into dst: the rest of
// the frame in progress, then client frames from src while it has them, and
// idle frames when it has none. A client frame longer than MaxInfo is
// skipped (Done without a byte sent); the caller's limits keep them out.
func (e *Encoder) Encode(dst []byte, src Source) {
	e.bytes += uint64(len(dst))
	for len(dst) > 0 {
		if e.pos == e.end && !e.next(src) {
			// Nothing waiting (or the leading idles): as many whole idle
			// frames as fit, then the start of one more if fewer than four
			// octets are left.
			n := len(dst) &^ 3
			if e.idles > 0 {
				n = min(n, CoreLen*e.idles)
				e.idles -= n / CoreLen
			}
			for i := 0; i < n; {
				i += copy(dst[i:n], idleRun[:])
			}
			dst = dst[n:]
			if n > 0 || len(dst) == 0 {
				continue
			}
			binary.BigEndian.PutUint32(e.head[:], Idle)
			e.pos, e.end = 0, CoreLen
			e.idles = max(e.idles-1, 0)
		}
		dst = dst[e.emit(dst, src):]
	}
}

// next starts the next client frame, if the Source has one.
func (e *Encoder) next(src Source) bool {
	if e.idles > 0 {
		return false
	}
	for {
		info, fcs, ok := src.Next()
		if !ok {
			return false
		}
		pli := HeaderLen + len(info)
		if e.pfcs {
			pli += FCSLen
		}
		if pli > MaxPLI {
			src.Done()
			continue
		}
		binary.BigEndian.PutUint32(e.head[:], coreHeader(pli))
		copy(e.head[CoreLen:], e.typ[:])
		binary.BigEndian.PutUint32(e.tail[:], fcs)
		e.info, e.owed = info, true
		e.pos, e.end = 0, CoreLen+pli
		return true
	}
}

// emit writes as much of the current frame as fits dst and returns the
// number of octets written.
func (e *Encoder) emit(dst []byte, src Source) int {
	w := 0
	infoEnd := CoreLen + HeaderLen + len(e.info)
	for w < len(dst) && e.pos < e.end {
		var n int
		switch p := e.pos; {
		case p < CoreLen: // the core header is not scrambled
			n = copy(dst[w:], e.head[p:CoreLen])
		case p < CoreLen+HeaderLen:
			n = min(CoreLen+HeaderLen-p, len(dst)-w)
			e.scr.Scramble(dst[w:w+n], e.head[p:p+n])
		case p < infoEnd:
			n = min(infoEnd-p, len(dst)-w)
			o := p - CoreLen - HeaderLen
			e.scr.Scramble(dst[w:w+n], e.info[o:o+n])
		default:
			n = min(e.end-p, len(dst)-w)
			o := p - infoEnd
			e.scr.Scramble(dst[w:w+n], e.tail[o:o+n])
		}
		w += n
		e.pos += n
	}
	if e.pos == e.end && e.owed {
		e.owed, e.info = false, nil
		src.Done()
	}
	return w
}
