// Package sp80090b estimates the min-entropy of a bit sequence with the ten
// estimators of the non-IID track of NIST SP 800-90B (January 2018), §6.3:
// Most Common Value, Collision, Markov, Compression, t-Tuple, Longest
// Repeated Substring, and the MultiMCW, Lag, MultiMMC and LZ78Y prediction
// estimators. NonIID runs them all and reports each estimate and their
// minimum, the standard's assessed min-entropy per bit.
//
// The input is one bit per byte (0 or 1), as a binary noise source's raw
// output; all ten estimators apply to binary data. Every estimate is in bits
// of min-entropy per input bit, in [0, 1]. An estimator that the sequence is
// too short for is reported as not run (Estimate.Ran false) and left out of
// the minimum; the standard asks for at least 1 000 000 samples.
//
// Why our own implementation: no Go library implements SP 800-90B, and the
// reference implementation is a C++ program. This one is written from the
// standard's definitions. Where the standard leaves a choice open (ties
// between predictors or symbols, the treatment of a prediction that cannot be
// made, the search for the roots of §6.3.2, §6.3.4 and §6.3.7–10), it follows
// the choices of the reference implementation, so that its results can be
// compared figure by figure with the reference's published outputs: the tests
// check every intermediate value on the reference's 10 000-bit sample input,
// and (when OTKD_SP80090B_DIR names a directory holding them) on its two
// 1 000 000-bit sample inputs.
//
// Nothing in this package keeps state; all functions are safe for concurrent
// use. Memory is about 20 bytes per input bit (the suffix array of §6.3.5–6).
package sp80090b
