//go:build !amd64 || noasm

package fec

// useGFNI is false: there is no assembly kernel for this build.
var useGFNI = false

func frameParity(rows *[Rows][]byte, out *[Rows][Parity * Interleave]byte) {
	genericFrameParity(rows, out)
}

func frameCheck(rows *[Rows][]byte, par *[Rows][Parity * Interleave]byte) bool {
	return genericFrameCheck(rows, par)
}

func initKernel() {}

func frameSyndromes(diff *[Rows][Parity * Interleave]byte, out *[Parity][RowCodewords]byte) {
	genericFrameSyndromes(diff, out)
}

func chienRoots(lambda *[Parity + 1]byte, l int, roots *[4]uint64) {
	genericChienRoots(lambda, l, roots)
}
