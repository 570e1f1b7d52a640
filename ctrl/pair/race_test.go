//go:build race

package pair

// raceEnabled: under the race detector the pipelines run about ten times
// slower, so the pair tests check the start-up (handshake, first key
// switch, rounds flowing) instead of waiting for seeds.
const raceEnabled = true
