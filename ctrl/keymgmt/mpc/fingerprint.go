package mpc

import "github.com/otkd/otkd/internal/keys"

// Fingerprint returns the fingerprint of the cluster public key
// (keys.PublicFingerprint, as every SM2 public key is named); "" for a
// zero value.
func (s *PublicState) Fingerprint() string {
	if !s.valid() {
		return ""
	}
	return keys.PublicFingerprint(s.PublicKey())
}
