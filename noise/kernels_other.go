//go:build !amd64 || noasm

package noise

// hasEngine: this build has no assembly kernel.
var hasEngine = [...]bool{engineGeneric: true, engineAVX2: false, engineAVX512: false}

func addAndDecideVector(engine, []Sample, []byte, float32, float32, []byte) {
	panic("noise: no vector kernel in this build")
}
