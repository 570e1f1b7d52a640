// Package channel applies otkd's documented channel model to one wire
// frame: the soft samples of its 1984 negotiation bits (data1 then data2,
// MSB first) and what the fibre does to them and to the rest of the frame.
// The simulated fibre and the UDP line's receiver share it, so both lines
// deliver the same thing for the same bits and the same noise.Channel draws.
//
// Nothing here allocates; a noise.Channel is not safe for concurrent use, so
// neither are these functions on one Channel.
package channel

import (
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/noise"
)

// halfBits is the number of samples of data1 (and of data2).
const halfBits = framer.DataLen * 8

// Modulate writes the clean soft samples of frame's negotiation bits into
// soft (noise.SamplesPerFrame samples) with the profile's levels.
func Modulate(frame []byte, soft []noise.Sample, p *noise.Profile) {
	noise.Modulate(frame[framer.Data1Off:framer.Data1Off+framer.DataLen], halfBits, soft[:halfBits], p)
	noise.Modulate(frame[framer.Data2Off:framer.Data2Off+framer.DataLen], halfBits, soft[halfBits:], p)
}

// Impair applies the fibre to a frame whose clean samples are in soft: the
// fibre noise on the samples, bit errors at the fibre's BER on every other
// byte (when bitErrors), the samples' hard decisions into data1 and data2,
// then an error burst, which also negates the samples of the bits it covers.
// The draws from ch come in this order.
func Impair(ch *noise.Channel, frame []byte, soft []noise.Sample, thr noise.Sample, bitErrors bool) {
	ch.AddFibreNoise(soft)
	if bitErrors {
		ch.BitErrors(frame[:framer.Data1Off])
		ch.BitErrors(frame[framer.Data1Off+framer.DataLen : framer.Data2Off])
		ch.BitErrors(frame[framer.Data2Off+framer.DataLen:])
	}
	Decide(frame, soft, thr)
	if off, n := ch.Burst(frame); n > 0 {
		negateCovered(soft, off, n)
	}
}

// Decide writes the hard decisions of soft (sample > thr is 1) into data1
// and data2 of frame (noise.Decide: a vector kernel where the CPU has one).
func Decide(frame []byte, soft []noise.Sample, thr noise.Sample) {
	noise.Decide(soft[:halfBits], thr, frame[framer.Data1Off:framer.Data1Off+framer.DataLen])
	noise.Decide(soft[halfBits:], thr, frame[framer.Data2Off:framer.Data2Off+framer.DataLen])
}

// negateCovered negates the samples of the negotiation bytes inside the
// burst [off, off+n) of the frame.
func negateCovered(soft []noise.Sample, off, n int) {
	for _, f := range [2]struct{ at, first int }{{framer.Data1Off, 0}, {framer.Data2Off, halfBits}} {
		lo, hi := max(off, f.at), min(off+n, f.at+framer.DataLen)
		for b := lo; b < hi; b++ {
			s := soft[f.first+8*(b-f.at):][:8]
			for k := range s {
				s[k] = -s[k]
			}
		}
	}
}
