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
