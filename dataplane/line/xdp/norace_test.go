//go:build !race

package xdp

const portFrameRate = 2000

// streamRate paces the veth streams.
const streamRate = 5000
