//go:build !race

package udp_test

const e2eFrameRate = 2000
