package mpc

import "github.com/otkd/otkd/internal/keys"

// backupLabel separates a backup's fingerprint from every other digest.
const backupLabel = "otkd/mpc/backup-fingerprint/v1"

// Fingerprint returns the fingerprint of a backup's plaintext:
// keys.Digest over its own label and msg (the first 8 bytes of SM3, in
// hex). A backup is a file, not one key, so it is not named like a key;
// tools and logs show it so that a recovered secret can be matched to its
// backup without being printed.
func Fingerprint(msg []byte) string { return keys.Digest(backupLabel, msg) }

// Fingerprint returns the fingerprint of the cluster public key
// (keys.PublicFingerprint, as every SM2 public key is named); "" for a
// zero value.
func (s *PublicState) Fingerprint() string {
	if !s.valid() {
		return ""
	}
	return keys.PublicFingerprint(s.PublicKey())
}
