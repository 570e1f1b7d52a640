// Package randtest runs statistical randomness tests on a bit sequence, following
// the test definitions of NIST SP 800-22 rev 1a and GM/T 0005-2021.
//
// Every test is a function of the form
//
//	func Test(bits Bits, params...) (Result, error)
//
// that returns one or more p-values and whether all of them reach Alpha (0.01).
// A sequence shorter than a test's recommended minimum yields a *ShortError
// (errors.Is(err, ErrTooShort)) that names the minimum; a parameter outside the
// range the standard allows yields an error wrapping ErrBadParam.
//
// RunAll runs the whole battery with the parameters the standards recommend for
// the sequence's length; ProportionRule and Proportions apply the SP 800-22
// §4.2.1 proportion rule across many sequences.
//
// The tests are written from the published definitions, not ported from the NIST
// reference code. Where the definitions leave a choice, the doc comment of the
// test says which was taken. The class probabilities of LongestRunOfOnes and Rank
// are computed exactly rather than taken from the rounded tables of SP 800-22.
//
// Nothing in this package keeps state; all functions are safe for concurrent use.
package randtest
