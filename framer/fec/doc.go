// Package fec implements the G.709 RS(255,239) forward error correction of
// otkd wire format v1: the row FEC of an OTU2 frame (16 byte-interleaved
// codewords per row) and the FEC of the 255-byte interaction area.
package fec
