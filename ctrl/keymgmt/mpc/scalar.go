package mpc

import (
	"errors"
	"fmt"
	"io"

	"filippo.io/bigmod"
	"github.com/emmansun/gmsm/sm2"
)

// scalarLen is the byte length of a scalar modulo the SM2 group order.
const scalarLen = 32

// order is the SM2 group order n as a bigmod modulus. Every secret scalar
// (polynomial coefficient, share, proof nonce and response) is a bigmod.Nat
// reduced modulo order, so its arithmetic runs in constant time.
var order = func() *bigmod.Modulus {
	m, err := bigmod.NewModulus(sm2.P256().Params().N.Bytes())
	if err != nil {
		panic("mpc: SM2 order: " + err.Error())
	}
	return m
}()

// errScalarRange reports a scalar encoding that is not below the group order.
var errScalarRange = errors.New("scalar not below the group order")

// scalar is an element of Z_n. The zero value is not usable; use newScalar.
type scalar struct{ v *bigmod.Nat }

func newScalar() scalar { return scalar{bigmod.NewNat().ExpandFor(order)} }

// scalarFromUint returns the public small integer u as a scalar.
func scalarFromUint(u uint) scalar {
	s := newScalar()
	s.v.SetUint(u)
	return s
}

// scalarFromBytes decodes a 32-byte big-endian scalar, rejecting values ≥ n.
func scalarFromBytes(b []byte) (scalar, error) {
	if len(b) != scalarLen {
		return scalar{}, fmt.Errorf("scalar of %d bytes, want %d", len(b), scalarLen)
	}
	v, err := bigmod.NewNat().SetBytes(b, order)
	if err != nil {
		return scalar{}, errScalarRange
	}
	return scalar{v}, nil
}

// randomScalar draws a uniform non-zero scalar by rejection sampling.
func randomScalar(r io.Reader) (scalar, error) {
	var buf [scalarLen]byte
	defer clear(buf[:])
	for range 128 {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return scalar{}, fmt.Errorf("mpc: random scalar: %w", err)
		}
		s, err := scalarFromBytes(buf[:])
		if err != nil || s.v.IsZero() == 1 {
			continue
		}
		return s, nil
	}
	return scalar{}, errors.New("mpc: random source keeps returning out-of-range scalars")
}

// bytes returns the fixed 32-byte big-endian encoding.
func (s scalar) bytes() []byte {
	if s.v == nil {
		return make([]byte, scalarLen)
	}
	return s.v.Bytes(order)
}

func (s scalar) clone() scalar {
	c := newScalar()
	c.v.Add(s.v, order) // 0 + s
	return c
}

// add sets s = s + t and returns s.
func (s scalar) add(t scalar) scalar { s.v.Add(t.v, order); return s }

// mul sets s = s · t and returns s.
func (s scalar) mul(t scalar) scalar { s.v.Mul(t.v, order); return s }

// equal reports s == t in constant time.
func (s scalar) equal(t scalar) bool { return s.v.Equal(t.v) == 1 }

func (s scalar) isZero() bool { return s.v.IsZero() == 1 }

// wipe overwrites the limbs of s with zero.
func (s scalar) wipe() {
	if s.v != nil {
		clear(s.v.Bits())
	}
}
