//go:build !amd64 || noasm

package zuc

// hasKernel offers only the pure-Go twin: this build has no assembly.
var hasKernel = [...]bool{Generic: true, AVX2: false, AVX512: false, AVX2AES: false}

func init16Asm(l *Lanes16) { l.genericInit() }

func keystream16Asm(l *Lanes16, dst *[16][]byte, n int, _ bool) { l.genericKeystream(dst, n) }

func announceState(*Lanes16) {}

func load16Asm(*Lanes16, *[16]uint32) { panic("unreachable") }

func init16AVX2(l *Lanes16, _ bool) { l.genericInit() }

func keystream16AVX2(l *Lanes16, dst *[16][]byte, n int, _, _ bool) { l.genericKeystream(dst, n) }
