package mpc

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"errors"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
)

// pointLen is the length of an encoded point: 0x04 ‖ X ‖ Y, or 65 zero bytes
// for the point at infinity.
const pointLen = 1 + 2*32

var curve = sm2.P256()

// errPoint reports an encoding that is not a point of the SM2 curve.
var errPoint = errors.New("not a point of the SM2 curve")

// point is a public curve point in affine coordinates; (0, 0) is the point at
// infinity, as in crypto/elliptic. Points go through the elliptic.Curve API of
// gmsm, whose arithmetic underneath is constant-time; the big.Int coordinates
// are public values (commitments, public shares, ciphertext points), with the
// one exception documented on combine.
type point struct{ x, y *big.Int }

func identity() point { return point{new(big.Int), new(big.Int)} }

func (p point) isIdentity() bool {
	return p.x == nil || p.y == nil || (p.x.Sign() == 0 && p.y.Sign() == 0)
}

// baseMult returns k·G. k is passed as a fixed-length 32-byte string.
func baseMult(k scalar) point {
	b := k.bytes()
	defer clear(b)
	x, y := curve.ScalarBaseMult(b)
	return point{x, y}
}

// mult returns k·p for a secret or public scalar k.
func (p point) mult(k scalar) point {
	b := k.bytes()
	defer clear(b)
	x, y := curve.ScalarMult(p.x, p.y, b)
	return point{x, y}
}

// multPublic returns k·p for a public integer k (reduced modulo n).
func (p point) multPublic(k *big.Int) point {
	var b [scalarLen]byte
	new(big.Int).Mod(k, curve.Params().N).FillBytes(b[:])
	x, y := curve.ScalarMult(p.x, p.y, b[:])
	return point{x, y}
}

func (p point) add(q point) point {
	x, y := curve.Add(p.x, p.y, q.x, q.y)
	return point{x, y}
}

func (p point) equal(q point) bool {
	return subtle.ConstantTimeCompare(p.bytes(), q.bytes()) == 1
}

// bytes returns the fixed 65-byte encoding.
func (p point) bytes() []byte {
	out := make([]byte, pointLen)
	if p.isIdentity() {
		return out
	}
	out[0] = 4
	p.x.FillBytes(out[1:33])
	p.y.FillBytes(out[33:])
	return out
}

// pointFromBytes decodes the 65-byte encoding; the all-zero string is the
// point at infinity, anything else must be an uncompressed point on the curve.
func pointFromBytes(b []byte) (point, error) {
	if len(b) != pointLen {
		return point{}, errPoint
	}
	if subtle.ConstantTimeCompare(b, make([]byte, pointLen)) == 1 {
		return identity(), nil
	}
	if b[0] != 4 {
		return point{}, errPoint
	}
	x, y := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
	if !curve.IsOnCurve(x, y) {
		return point{}, errPoint
	}
	return point{x, y}, nil
}

// ecdsaKey returns p as an SM2 public key.
func (p point) ecdsaKey() *ecdsa.PublicKey {
	return &ecdsa.PublicKey{Curve: curve, X: new(big.Int).Set(p.x), Y: new(big.Int).Set(p.y)}
}

// pointOfKey converts an SM2 public key, rejecting other curves and infinity.
func pointOfKey(k *ecdsa.PublicKey) (point, error) {
	if k == nil || k.Curve == nil || k.Curve.Params() != curve.Params() || k.X == nil || k.Y == nil ||
		!curve.IsOnCurve(k.X, k.Y) {
		return point{}, errPoint
	}
	return point{new(big.Int).Set(k.X), new(big.Int).Set(k.Y)}, nil
}
