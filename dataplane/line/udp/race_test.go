//go:build race

package udp_test

// e2eFrameRate: under the race detector a receiving port opens only ~200
// frames/s, so the sender is paced to that; faster, most frames overflow the
// socket and the rounds' answers come back after their state is gone.
const e2eFrameRate = 150
