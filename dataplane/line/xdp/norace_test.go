//go:build !race

package xdp

const portFrameRate = 2000
