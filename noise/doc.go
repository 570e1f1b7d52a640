// Package noise makes the soft samples of the negotiation bits, adds the receiver's
// secret Gaussian noise to them and decides them, and models the simulated fibre.
//
// Each received OTU2 frame carries 1984 negotiation bits (data1 and data2 of the
// negotiation area, 992 bits each), so one direction at line rate needs 82 025 × 1984 ≈
// 163 M samples/s. The API works on whole batches in caller-owned buffers and allocates
// nothing per frame, so the asm issue's vector kernels can slot in behind it.
//
// # Pipeline
//
// For one direction, in the order the dataplane calls it:
//
//	TX bits ──Modulate──▶ soft samples          (levels Level0/Level1, default −1/+1)
//	        ──Channel.AddFibreNoise──▶          (simulated line only: N(0, FibreSigma²))
//	        ──Decide──▶ the line's hard bits    (simulated line only)
//	        ──Local.BeginRound, Local.AddAndDecide──▶ decided bits   (RX pipeline)
//	        ──XOR, PopCountXOR3──▶ the round's error count
//
// Channel also flips the bits of the bytes without soft samples at the fibre's bit
// error rate (BitErrors) and decides per frame whether the simulated line loses it
// (Lose), delays it beyond Latency (ReorderDelay) or hits it with an error burst
// (Burst).
//
// # Conventions
//
// Bits are packed MSB-first: bit k of an array is (b[k/8] >> (7 − k%8)) & 1, the wire
// order of the negotiation area. A sample decides 1 when it is strictly greater than the
// threshold, the midpoint of the levels (0 by default). Samples are float32 (Sample).
//
// # Secrecy
//
// The local noise is the secret of key negotiation: an eavesdropper who knew a
// receiver's σ and deviates could compute its error counts. Local therefore draws every
// random bit from an AES-128-CTR keystream keyed from a crypto/rand seed, and the σ of the current
// round (Local.Sigma) must never reach logs, errors or metrics. Channel, in contrast, is a
// simulation of the physical line, deterministic under its seed (its AES-CTR key comes
// from the seed by SplitMix64; its per-frame decisions from a PCG), and must not be
// used for anything secret.
//
// # Round discipline
//
// Every round of a direction gets its own σ: call Local.BeginRound before the
// AddAndDecide of that round's arrays. A received frame carries two rounds (data1: the
// peer's round X1, X2; data2: the response Y1, Y2 to one's own round), so the RX pipeline
// calls BeginRound twice per frame, once before each field. A's and B's counts of a round
// are correlated because both contain one error term from A's σ and one from B's σ of
// that round (docs/protocol.md, "The round protocol"); TestDefaultProfileRounds
// reproduces the simulation of the default profile with this package alone.
//
// # Concurrency
//
// A Local or a Channel is not safe for concurrent use: use one Local per RX pipeline and
// one Channel per simulated direction. The package-level functions (Modulate, Decide,
// XOR, PopCount, PopCountXOR3) are safe for concurrent use on distinct buffers.
//
// # Kernels and their pure-Go references
//
// Every vector kernel has a pure-Go twin that gives bit-identical results for the same
// inputs, uniform words included; tests compare them on random and edge inputs:
//
//	addAndDecide  decide.go addAndDecideGeneric   the receiver's decision by inversion
//	fibreNoise    fibre.go fibreNoiseGeneric      Box–Muller fibre noise, 32-sample blocks
//	expDeviates   fibre.go expDeviatesGeneric     exponential deviates (bit error gaps)
//	modulate      kernels_generic.go modulateGeneric
//	decide        kernels_generic.go decideGeneric
//
// Each runs the AVX-512 kernel (kernels_amd64.s, fibre_amd64.s, levels_amd64.s:
// sixteen lanes) where the CPU has AVX-512 F and DQ, the AVX2 kernel (eight lanes)
// where it has AVX2 only, on the whole groups of its input and the twin on the rest;
// the build tag noasm, OTKD_NOASM=noise and other architectures select the pure-Go
// twins (TestOperatorSwitch checks that a channel's output is then the same), and
// tests switch engines with the package variable noiseEngine. The float32 kernels
// (decision, Box–Muller, exponential) run the twin's operations one by one in the same
// order, without FMA, with IEEE division and square root: decide.go and fibre.go
// document their methods and accuracy; local.go the keystream and its re-keying.
//
// Imports: besides the standard library and klauspost/cpuid (feature detection), noise
// uses otkd's asm/aesctr (AES-128-CTR with a VAES kernel, as docs/design.md's import table
// allows asm/...) for the keystream behind Local.fill and the uniform words of Channel.
package noise
