package handshake

import (
	"encoding/hex"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// SessionKey is a ZUC-128 session key. It prints as "[redacted]" with every
// fmt verb; use k[:] to hand it to a cipher.
type SessionKey [16]byte

// Secret is a 32-byte secret. It prints as "[redacted]" with every fmt verb.
type Secret [32]byte

// Format implements fmt.Formatter so that no verb prints the key bytes.
func (SessionKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Format implements fmt.Formatter so that no verb prints the secret bytes.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// Keys is what a successful handshake yields: the first ZUC-128 keys of
// both directions, the epochs the two ends send them under (agreed in the
// authenticated transcript) and a link secret. The caller owns the value
// and must call Zero when the keys are retired. Keys prints only its
// fingerprint.
type Keys struct {
	AB         SessionKey // direction 0, A→B
	BA         SessionKey // direction 1, B→A
	EpochAB    uint8      // A's first TX epoch (from the Confirm)
	EpochBA    uint8      // B's first TX epoch (from the Reply)
	LinkSecret Secret     // salt for later derivations
}

// fingerprintLabel separates the fingerprint hash from every other use of SM3.
const fingerprintLabel = "otkd v1 key fingerprint"

// Fingerprint returns the first 8 bytes, in hex, of SM3 over a label and all
// key material. Both ends of a handshake get the same fingerprint; it is the
// only thing about the keys that may be logged.
func (k *Keys) Fingerprint() string {
	h := sm3.New()
	h.Write([]byte(fingerprintLabel))
	h.Write(k.AB[:])
	h.Write(k.BA[:])
	h.Write(k.LinkSecret[:])
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Zero overwrites all key material with zeros.
func (k *Keys) Zero() {
	clear(k.AB[:])
	clear(k.BA[:])
	clear(k.LinkSecret[:])
}

// String returns "handshake.Keys{fingerprint=…}".
func (k *Keys) String() string {
	if k == nil {
		return "handshake.Keys(nil)"
	}
	return "handshake.Keys{fingerprint=" + k.Fingerprint() + "}"
}

// Format implements fmt.Formatter: every verb, %x and %#v included, prints
// String.
func (k *Keys) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// GoString returns String.
func (k *Keys) GoString() string { return k.String() }
