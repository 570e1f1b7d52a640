//go:build !amd64 || noasm

package noise

// hasEngine: this build has no assembly kernel.
var hasEngine = [...]bool{engineGeneric: true, engineAVX2: false, engineAVX512: false}

func addAndDecideVector(engine, []Sample, []byte, float32, float32, []byte) {
	panic("noise: no vector kernel in this build")
}

func fibreNoiseVector(engine, []Sample, []byte, float32) {
	panic("noise: no vector kernel in this build")
}

func expDeviatesVector(engine, []float32, []byte) {
	panic("noise: no vector kernel in this build")
}

func modulateVector(engine, []byte, []Sample, Sample, Sample) {
	panic("noise: no vector kernel in this build")
}

func decideVector(engine, []Sample, Sample, []byte) {
	panic("noise: no vector kernel in this build")
}
