//go:build !amd64 || noasm

package noise

// useAVX512 is false: this build has no assembly kernel.
var useAVX512 = false

func addAndDecide16([]Sample, []byte, float32, float32, []byte) {
	panic("noise: no vector kernel in this build")
}
