//go:build !amd64 || noasm

package framer

// useAVX512 is false: there is no assembly kernel for this build.
var useAVX512 = false

// xorFold sets dst = a ^ b over len(dst) bytes (a and b at least as long;
// dst may alias a or b exactly) and returns the XOR of all result bytes.
func xorFold(dst, a, b []byte) byte { return xorFoldGeneric(dst, a, b) }

// fold returns the XOR of all bytes of p.
func fold(p []byte) byte { return foldGeneric(p) }
