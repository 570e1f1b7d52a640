package handshake

import (
	"fmt"

	"github.com/otkd/otkd/internal/keys"
)

// Keys is what a successful handshake yields: the first ZUC-128 keys of
// both directions, the epochs the two ends send them under (agreed in the
// authenticated transcript) and a link secret. The caller owns the value
// and must call Zero when the keys are retired. Keys prints only its
// fingerprint.
type Keys struct {
	AB         keys.Key    // direction 0, A→B
	BA         keys.Key    // direction 1, B→A
	EpochAB    uint8       // A's first TX epoch (from the Confirm)
	EpochBA    uint8       // B's first TX epoch (from the Reply)
	LinkSecret keys.Secret // salt for later derivations
}

// fingerprintLabel separates the fingerprint hash from every other use of SM3.
const fingerprintLabel = "otkd v1 key fingerprint"

// Fingerprint names the set of keys: keys.Digest over a label of its own and
// all key material (the first 8 bytes of SM3, in hex). Both ends of a
// handshake get the same fingerprint; it is the only thing about the keys
// that may be logged. Each key of the set is named by its own fingerprint
// (keys.Key.Fingerprint) once the link installs it.
func (k *Keys) Fingerprint() string {
	return keys.Digest(fingerprintLabel, k.AB[:], k.BA[:], k.LinkSecret[:])
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
