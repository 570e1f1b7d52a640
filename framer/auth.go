package framer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/poly1305"

	"github.com/otkd/otkd/framer/replay"
	"github.com/otkd/otkd/internal/keys"
)

// Frame authentication (wire format v2, docs/protocol.md "Frame tag").
//
// Every frame of an epoch ≥ 1 carries a 16-byte tag in the last 16 bytes
// of the interaction messages: Poly1305-AES (Bernstein) over the direction,
// the epoch, COUNT and the 223 message bytes as they travel (ciphertext:
// encrypt-then-MAC). Per session key and direction, HKDF over HMAC-SM3
// derives r (the Poly1305 multiplier) and k (an AES-128 key) once, when the
// key is installed; per frame s = AES_k(COUNT ‖ dir ‖ epoch ‖ 0…0), and the
// tag is Poly1305_{r,s}(dir ‖ epoch ‖ COUNT ‖ messages). s never repeats
// because (key, COUNT) never repeats. The payload and the negotiation area
// are not covered (docs/security.md says why and what that allows).
//
// Poly1305 is golang.org/x/crypto/poly1305 and AES is crypto/aes, the
// implementations the Go ecosystem trusts; only the construction is here.

// Tag geometry of the interaction area.
const (
	MsgLen  = 223              // interaction message bytes (version byte and TLVs)
	TagLen  = 16               // the frame tag after them
	tagOff  = AreaLen + MsgLen // offset of the tag in the extension
	macHead = 6                // dir ‖ epoch ‖ COUNT, before the messages
)

// Labels of the tag key derivation (docs/protocol.md).
const (
	tagSalt = "otkd v2 frame tag"
	tagInfo = "otkd v2 frame tag key"
)

// ErrAuth is matched by every *AuthError: a frame whose tag does not verify
// under the key of its epoch.
var ErrAuth = errors.New("framer: frame tag does not verify")

// ErrReplay is matched by every *ReplayError: an authentic frame whose
// COUNT the receiver accepted before, or that is too old for its window.
var ErrReplay = errors.New("framer: frame replayed or too old")

// AuthError reports a frame whose tag did not verify. Uncorrectable says
// the interaction area was beyond the FEC, so the tag could not be read:
// damage, not necessarily forgery.
type AuthError struct {
	Epoch         uint8
	Count         uint32
	Uncorrectable bool
}

func (e *AuthError) Error() string {
	if e.Uncorrectable {
		return fmt.Sprintf("framer: frame epoch %d COUNT %d: interaction area uncorrectable, tag unreadable", e.Epoch, e.Count)
	}
	return fmt.Sprintf("framer: frame epoch %d COUNT %d: tag does not verify", e.Epoch, e.Count)
}

// Is makes errors.Is(err, ErrAuth) true.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }

// ReplayError reports an authentic frame the anti-replay window refused.
type ReplayError struct {
	Epoch   uint8
	Count   uint32
	Verdict replay.Verdict // replay.Replay or replay.TooOld
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("framer: frame epoch %d COUNT %d: %v", e.Epoch, e.Count, e.Verdict)
}

// Is makes errors.Is(err, ErrReplay) true.
func (e *ReplayError) Is(target error) bool { return target == ErrReplay }

// tagKey is the tag material of one session key and direction.
type tagKey struct {
	r   [16]byte     // Poly1305 r (x/crypto clamps it)
	aes cipher.Block // AES-128 under k
}

// derive computes the tag material of key for direction dir. It allocates
// (HKDF, the AES key schedule); it runs when a key is installed, not per
// frame. The AES round keys live inside crypto/aes, which offers no way to
// wipe them: on retirement they are dropped for the garbage collector.
func (t *tagKey) derive(key *keys.Key, dir uint8) {
	okm, err := hkdf.Key(func() hash.Hash { return sm3.New() }, key[:], []byte(tagSalt), tagInfo+string([]byte{dir}), 32)
	if err != nil { // only for an impossible output length
		panic(fmt.Sprintf("framer: tag key derivation: %v", err))
	}
	copy(t.r[:], okm[:16])
	if t.aes, err = aes.NewCipher(okm[16:32]); err != nil {
		panic(fmt.Sprintf("framer: tag key: %v", err))
	}
	clear(okm)
}

// wipe zeroises r and drops the AES key.
func (t *tagKey) wipe() {
	clear(t.r[:])
	t.aes = nil
}

// macScratch is the per-frame working space of the tag, held by a Sealer
// or an Opener so that nothing allocates.
type macScratch struct {
	msg   [macHead + MsgLen]byte
	nonce [16]byte
	pk    [32]byte // r ‖ s
	tag   [TagLen]byte
}

// compute writes the tag of the frame's interaction messages (as they are
// now: ciphertext) into sc.tag.
func (sc *macScratch) compute(t *tagKey, f *Frame, dir, epoch uint8, count uint32) {
	binary.BigEndian.PutUint32(sc.nonce[0:], count)
	sc.nonce[4], sc.nonce[5] = dir, epoch
	t.aes.Encrypt(sc.pk[16:], sc.nonce[:])
	copy(sc.pk[:16], t.r[:])
	sc.msg[0], sc.msg[1] = dir, epoch
	binary.BigEndian.PutUint32(sc.msg[2:], count)
	copy(sc.msg[macHead:], f.ext[AreaLen:tagOff])
	poly1305.Sum(&sc.tag, sc.msg[:], &sc.pk)
	clear(sc.pk[:])
}

// verify reports, in constant time, whether the frame's tag is right.
func (sc *macScratch) verify(t *tagKey, f *Frame, dir, epoch uint8, count uint32) bool {
	sc.compute(t, f, dir, epoch, count)
	return subtle.ConstantTimeCompare(sc.tag[:], f.ext[tagOff:tagOff+TagLen]) == 1
}
