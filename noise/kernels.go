package noise

// Dispatch between the vector kernels and their pure-Go references.
//
// addAndDecide runs the selected kernel (kernels_amd64.s: AVX-512, sixteen samples at a
// time, or AVX2, eight) on the whole groups and addAndDecideGeneric on the rest. All
// compute the decision by inversion (decide.go) operation for operation, so the
// decisions are bit-identical (TestAddAndDecideKernelAgainstGeneric).

// engine names an add-and-decide engine.
type engine uint8

const (
	engineGeneric engine = iota // the pure-Go twin, everywhere
	engineAVX2                  // eight samples per step
	engineAVX512                // sixteen samples per step
)

// String returns "generic", "avx2" or "avx512".
func (e engine) String() string {
	return [...]string{"generic", "avx2", "avx512"}[e]
}

// group is how many samples one kernel step takes.
func (e engine) group() int {
	return [...]int{1, 8, 16}[e]
}

// noiseEngine is the engine in use: the best this CPU has; tests switch it.
var noiseEngine = bestEngine()

func bestEngine() engine {
	for _, e := range []engine{engineAVX512, engineAVX2} {
		if hasEngine[e] {
			return e
		}
	}
	return engineGeneric
}

// addAndDecide is addAndDecideGeneric on the engine in use: same arguments, same
// contract, same results.
func addAndDecide(soft []Sample, ks []byte, inv, thr float32, out []byte) {
	e := noiseEngine
	if g := e.group(); e != engineGeneric && len(soft) >= g {
		nv := len(soft) / g * g
		addAndDecideVector(e, soft[:nv], ks[:4*nv], inv, thr, out[:nv/8])
		soft, ks, out = soft[nv:], ks[4*nv:], out[nv/8:]
		if len(soft) == 0 {
			return
		}
	}
	addAndDecideGeneric(soft, ks, inv, thr, out)
}

// Kernel names the add-and-decide engine in use: "avx512", "avx2" or "generic" (no
// AVX2, -tags noasm, or OTKD_NOASM=noise).
func Kernel() string { return noiseEngine.String() }

// fibreNoise is fibreNoiseGeneric on the engine in use: whole blocks on the kernel, a
// last partial block on the twin; same arguments, same results.
func fibreNoise(soft []Sample, words []byte, sigma float32) {
	if e := noiseEngine; e != engineGeneric && len(soft) >= gaussBlock {
		nv := len(soft) / gaussBlock * gaussBlock
		fibreNoiseVector(e, soft[:nv], words[:4*nv], sigma)
		soft, words = soft[nv:], words[4*nv:]
	}
	if len(soft) > 0 {
		fibreNoiseGeneric(soft, words, sigma)
	}
}

// expDeviates is expDeviatesGeneric on the engine in use.
func expDeviates(out []float32, words []byte) {
	if e := noiseEngine; e != engineGeneric && len(out) >= e.group() {
		nv := len(out) / e.group() * e.group()
		expDeviatesVector(e, out[:nv], words[:4*nv])
		out, words = out[nv:], words[4*nv:]
	}
	if len(out) > 0 {
		expDeviatesGeneric(out, words)
	}
}

// modulate is modulateGeneric on the engine in use.
func modulate(bits []byte, out []Sample, l0, l1 Sample) {
	if e := noiseEngine; e != engineGeneric && len(out) >= e.group() {
		nv := len(out) / e.group() * e.group()
		modulateVector(e, bits[:nv/8], out[:nv], l0, l1)
		bits, out = bits[nv/8:], out[nv:]
	}
	if len(out) > 0 {
		modulateGeneric(bits, out, l0, l1)
	}
}

// decide is decideGeneric on the engine in use.
func decide(soft []Sample, thr Sample, out []byte) {
	if e := noiseEngine; e != engineGeneric && len(soft) >= e.group() {
		nv := len(soft) / e.group() * e.group()
		decideVector(e, soft[:nv], thr, out[:nv/8])
		soft, out = soft[nv:], out[nv/8:]
	}
	if len(soft) > 0 {
		decideGeneric(soft, thr, out)
	}
}
