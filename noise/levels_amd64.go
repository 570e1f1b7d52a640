//go:build amd64 && !noasm

package noise

import (
	"unsafe"

	"github.com/otkd/otkd/internal/race"
)

// modulateAVX512 and modulateAVX2 are modulateGeneric for n a positive multiple of 16
// and of 8: out[0:n] from bits[0:n/8].
//
//go:noescape
func modulateAVX512(bits *byte, out *Sample, n int, l0, l1 float32)

//go:noescape
func modulateAVX2(bits *byte, out *Sample, n int, l0, l1 float32)

// decideAVX512 and decideAVX2 are decideGeneric for n a positive multiple of 16 and of
// 8: out[0:n/8] from soft[0:n].
//
//go:noescape
func decideAVX512(soft *Sample, thr float32, out *byte, n int)

//go:noescape
func decideAVX2(soft *Sample, thr float32, out *byte, n int)

// modulateVector runs the kernel of engine e: len(out) is a positive multiple of its
// group, bits holds len(out)/8 bytes.
func modulateVector(e engine, bits []byte, out []Sample, l0, l1 Sample) {
	n := len(out)
	_ = bits[n/8-1]
	if e == engineAVX512 {
		modulateAVX512(&bits[0], &out[0], n, l0, l1)
	} else {
		modulateAVX2(&bits[0], &out[0], n, l0, l1)
	}
	race.ReadPtr(unsafe.Pointer(&bits[0]), n/8)
	race.WritePtr(unsafe.Pointer(&out[0]), 4*n)
}

// decideVector runs the kernel of engine e: len(soft) is a positive multiple of its
// group, out holds len(soft)/8 bytes.
func decideVector(e engine, soft []Sample, thr Sample, out []byte) {
	n := len(soft)
	_ = out[n/8-1]
	if e == engineAVX512 {
		decideAVX512(&soft[0], thr, &out[0], n)
	} else {
		decideAVX2(&soft[0], thr, &out[0], n)
	}
	race.ReadPtr(unsafe.Pointer(&soft[0]), 4*n)
	race.WritePtr(unsafe.Pointer(&out[0]), n/8)
}
