//go:build race

package udp

// vethRate: the race detector slows the receiver tenfold.
const vethRate = 300
