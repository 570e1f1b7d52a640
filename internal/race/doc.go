// Package race is otkd's one place for the race detector: whether the
// binary runs under it (Enabled: tests that measure throughput pace
// themselves to the detector's tenfold slowdown), and the announcements of
// memory that only assembly reads or writes (ReadRange, WriteRange), which
// the detector cannot see by itself. Without -race the functions are empty
// and inlined away.
//
// The kernels' packages (asm/aesctr, framer, framer/fec) call it instead of
// keeping a race.go and a norace.go each.
package race
