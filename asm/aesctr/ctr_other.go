//go:build !amd64 || noasm

package aesctr

// useVAES is false: this build has no kernel.
var useVAES = false

func expandKey(*[16]byte, *[176]byte) { panic("aesctr: no kernel in this build") }

func ctr16(*[176]byte, *[16]byte, []byte) { panic("aesctr: no kernel in this build") }
