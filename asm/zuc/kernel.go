package zuc

// Kernel names an engine of Lanes16 (and so of Segments16 and Segments
// for sixteen segments). All kernels produce the same keystream; they
// differ in speed and in what the CPU must offer.
type Kernel uint8

const (
	// Generic is the pure-Go twin; every build and CPU has it.
	Generic Kernel = iota
	// AVX2 runs the sixteen lanes as two halves of eight on AVX2 with
	// GFNI (lanes8_amd64.s), for CPUs without AVX-512.
	AVX2
	// AVX512 runs the sixteen lanes in one pass on AVX-512 (F, BW, VBMI,
	// VBMI2) with GFNI (lanes16_amd64.s).
	AVX512
	// AVX2AES is the AVX2 kernel with S1 by AES-NI instead of GFNI
	// (s1aes.go), for AVX2 CPUs without GFNI.
	AVX2AES
)

// String returns "generic", "avx2", "avx512" or "avx2-aesni".
func (k Kernel) String() string {
	switch k {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	case AVX2AES:
		return "avx2-aesni"
	}
	return "unknown"
}

// kernel is the engine in use: the fastest one available, chosen once at
// start-up from the CPU features (cpuid) and the operator's OTKD_NOASM
// (internal/asmswitch: "zuc" or "all" leave the pure-Go twin), and
// switched only by SetKernel.
var kernel = bestKernel(&hasKernel)

// bestKernel picks AVX512 if the CPU has it, else AVX2, else AVX2AES,
// else Generic.
func bestKernel(has *[4]bool) Kernel {
	switch {
	case has[AVX512]:
		return AVX512
	case has[AVX2]:
		return AVX2
	case has[AVX2AES]:
		return AVX2AES
	}
	return Generic
}

// Available reports whether this build and CPU can run kernel k and the
// operator has not switched it off (OTKD_NOASM).
func Available(k Kernel) bool { return int(k) < len(hasKernel) && hasKernel[k] }

// Selected returns the kernel in use.
func Selected() Kernel { return kernel }

// SetKernel makes k the kernel of all later calls and returns the one it
// replaces; when k is not Available it changes nothing and returns false.
// It exists for tests and benchmarks that compare the kernels on one
// machine, and must not run concurrently with any other function of the
// package.
func SetKernel(k Kernel) (prev Kernel, ok bool) {
	prev = kernel
	if !Available(k) {
		return prev, false
	}
	kernel = k
	return prev, true
}
