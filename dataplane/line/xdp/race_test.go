//go:build race

package xdp

// portFrameRate: under the race detector a receiving port opens only ~200
// frames/s (see the UDP line's e2e test).
const portFrameRate = 150

// streamRate: the race detector slows the receiver's channel model tenfold.
const streamRate = 500
