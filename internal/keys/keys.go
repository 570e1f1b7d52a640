package keys

import "fmt"

// Key is a ZUC-128 session key. It prints as "[redacted]" with every fmt
// verb; use k[:] to hand it to a cipher.
type Key [16]byte

// KeySize is the size of a session key.
const KeySize = len(Key{})

// Fingerprint returns the key's public name.
func (k *Key) Fingerprint() Fingerprint { return FingerprintOf(k[:]) }

// Zero overwrites the key with zeros.
func (k *Key) Zero() { clear(k[:]) }

// Format prints "[redacted]" for every verb, so %x or %v cannot leak the
// bytes.
func (Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Seed is a 256-bit seed key. Its String, GoString and Format methods
// never reveal the bytes; use Fingerprint to compare seeds in logs.
type Seed [SeedBits / 8]byte

// SeedBits is the size of a seed in bits.
const SeedBits = 256

// Fingerprint returns the seed's public name (the scheme of every key).
func (s *Seed) Fingerprint() Fingerprint { return FingerprintOf(s[:]) }

// ID returns the seed's id: its fingerprint as a number (the keyring's
// "seed id").
func (s *Seed) ID() uint64 { return s.Fingerprint().ID() }

// String returns "seed:" and the fingerprint.
func (s Seed) String() string { return "seed:" + s.Fingerprint().String() }

// GoString is String: %#v must not dump the bytes either.
func (s Seed) GoString() string { return s.String() }

// Format prints String for every verb, so %x or %d cannot leak the bytes.
func (s Seed) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// Zero overwrites the seed with zeros. Callers zeroise a seed once its
// session keys are derived.
func (s *Seed) Zero() { clear(s[:]) }

// Secret is a 32-byte secret (a handshake's link secret). It prints as
// "[redacted]" with every fmt verb.
type Secret [32]byte

// Format prints "[redacted]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Zero overwrites the secret with zeros.
func (s *Secret) Zero() { clear(s[:]) }

// Direction names a direction of the link: the key a seed is expanded into
// belongs to the direction whose rounds produced the seed.
type Direction uint8

// Directions.
const (
	AtoB Direction = 0 // rounds owned by A; frames A→B (EEA3 DIRECTION 0)
	BtoA Direction = 1 // rounds owned by B; frames B→A (EEA3 DIRECTION 1)
)

// Epoch numbers the session keys of one direction as the frames carry it
// (GCC0 byte 1, docs/protocol.md) and the shm store records it. It is an
// alias of uint8, not a new type: the frame path keeps it in atomics and
// wire bytes, and what the vocabulary fixes is its name and its two rules,
// NullEpoch and NextEpoch.
type Epoch = uint8

// NullEpoch is the epoch (an untyped constant, so it compares with any
// integer that holds one) of null-cipher frames: frames sent before the
// first session key, not encrypted and carrying no payload.
const NullEpoch = 0

// NextEpoch is the epoch after e: 1…255 cycling; 0 is the null cipher and
// never follows.
func NextEpoch(e Epoch) Epoch {
	if e == 255 {
		return 1
	}
	return e + 1
}
