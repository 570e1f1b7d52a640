package negotiation

import (
	"encoding/hex"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// Seed is a 256-bit seed key. Its String, GoString and Format methods never
// reveal the bytes; use Fingerprint to compare seeds in logs.
type Seed [SeedBits / 8]byte

// Fingerprint returns the first 8 bytes of SM3(seed) in hex.
func (s *Seed) Fingerprint() string {
	h := sm3.Sum(s[:])
	return hex.EncodeToString(h[:8])
}

// String returns "seed:" and the fingerprint.
func (s Seed) String() string { return "seed:" + s.Fingerprint() }

// GoString is String: %#v must not dump the bytes either.
func (s Seed) GoString() string { return s.String() }

// Format prints String for every verb, so %x or %d cannot leak the bytes.
func (s Seed) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Zero overwrites the seed with zeros. Callers zeroise a seed once its
// session keys are derived.
func (s *Seed) Zero() { clear(s[:]) }
