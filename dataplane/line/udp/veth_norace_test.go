//go:build !race

package udp

// vethRate paces the veth streams.
const vethRate = 3000
