// Package linebench holds the benchmarks of the lines alone, side by side
// in one run (line_test.go): the UDP line one datagram per system call and
// in batches, on loopback and over a veth pair between two network
// namespaces, and the AF_XDP line in copy mode over veth. It has no code of
// its own; it lives under dataplane/line because the namespace helpers it
// shares with the lines' tests are internal to that tree.
package linebench
