package mpc

import (
	"encoding/hex"

	"github.com/emmansun/gmsm/sm3"
)

// Fingerprint returns the first 8 bytes, in hex, of SM3 over a label and
// msg: what tools and logs show of a backup's plaintext, so that a recovered
// secret can be matched to its backup without being printed.
func Fingerprint(msg []byte) string {
	h := sm3.New()
	h.Write([]byte("otkd/mpc/backup-fingerprint/v1"))
	h.Write(msg)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Fingerprint returns the fingerprint of the cluster public key: the first
// 8 bytes, in hex, of SM3 over its uncompressed encoding (the same as
// handshake.PublicKeyFingerprint gives for that key); "" for a zero value.
func (s *PublicState) Fingerprint() string {
	if !s.valid() {
		return ""
	}
	sum := sm3.Sum(s.commits[0].bytes())
	return hex.EncodeToString(sum[:8])
}
