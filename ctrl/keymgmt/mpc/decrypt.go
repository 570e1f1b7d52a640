package mpc

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"

	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// Errors of backup and recovery.
var (
	ErrNotEnough  = errors.New("mpc: fewer than t valid partial decryptions")
	ErrDecryption = errors.New("mpc: decryption failed (C3 check)")
	ErrCiphertext = errors.New("mpc: malformed backup ciphertext")
)

// minCiphertext is C1 (65) ‖ C3 (32) ‖ at least one byte of C2.
const minCiphertext = pointLen + sm3.Size + 1

// Encrypt encrypts msg to the cluster public key with SM2 public-key
// encryption (GM/T 0003.4): C1 = k·G, (x2, y2) = k·Y, C2 = M ⊕ KDF(x2‖y2),
// C3 = SM3(x2‖M‖y2), output C1 ‖ C3 ‖ C2 with C1 uncompressed. The result is
// an ordinary SM2 ciphertext: whoever held the cluster private key could
// decrypt it with sm2.Decrypt; here t nodes decrypt it by parts.
func Encrypt(r io.Reader, pub *PublicState, msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, errors.New("mpc: empty backup")
	}
	if !pub.valid() {
		return nil, ErrNoKey
	}
	ct, err := sm2.Encrypt(r, pub.PublicKey(), msg, nil)
	if err != nil {
		return nil, fmt.Errorf("mpc: encrypt backup: %w", err)
	}
	return ct, nil
}

// parseCiphertext splits C1 ‖ C3 ‖ C2, checking C1 is a curve point.
func parseCiphertext(ct []byte) (c1 point, c3, c2 []byte, err error) {
	if len(ct) < minCiphertext || ct[0] != 4 {
		return point{}, nil, nil, ErrCiphertext
	}
	c1, err = pointFromBytes(ct[:pointLen])
	if err != nil || c1.isIdentity() {
		return point{}, nil, nil, ErrCiphertext
	}
	return c1, ct[pointLen : pointLen+sm3.Size], ct[pointLen+sm3.Size:], nil
}

// PartialDecrypt returns this node's partial decryption D_i = x_i·C1 of a
// backup ciphertext with a Chaum–Pedersen proof. It reveals nothing of the
// backup by itself; t of them do, through Combine.
func (nd *Node) PartialDecrypt(ciphertext []byte) (*Partial, error) {
	c1, _, _, err := parseCiphertext(ciphertext)
	if err != nil {
		return nil, err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	x, err := nd.unseal()
	if err != nil {
		return nil, err
	}
	defer x.wipe()
	return provePartial(nd.rand, nd.epoch, nd.index, x, nd.pub.share(nd.index), c1)
}

// provePartial computes D = x·C1 and the proof: r random, A = r·G, B = r·C1,
// c = H(epoch, i, Y_i, C1, D, A, B), z = r + c·x mod n (bigmod, constant time).
func provePartial(rnd io.Reader, epoch uint64, index int, x scalar, yi, c1 point) (*Partial, error) {
	r, err := randomScalar(rnd)
	if err != nil {
		return nil, err
	}
	defer r.wipe()
	d := c1.mult(x)
	c := challenge(epoch, index, yi, c1, d, baseMult(r), c1.mult(r))
	z := x.clone().mul(c).add(r)
	return &Partial{Epoch: epoch, Index: index, c1: c1, d: d, c: c, z: z}, nil
}

// challenge is the Fiat–Shamir hash: SM3 over a domain string and every
// public value of the statement and commitment, reduced modulo n.
func challenge(epoch uint64, index int, yi, c1, d, a, b point) scalar {
	h := sm3.New()
	h.Write([]byte("otkd/mpc/chaum-pedersen/v1"))
	h.Write(appendU16(appendU64(nil, epoch), index))
	for _, p := range []point{{curve.Params().Gx, curve.Params().Gy}, yi, c1, d, a, b} {
		h.Write(p.bytes())
	}
	// The digest is public; reducing it with math/big is fine.
	v := new(big.Int).SetBytes(h.Sum(nil))
	v.Mod(v, curve.Params().N)
	s, _ := scalarFromBytes(v.FillBytes(make([]byte, scalarLen)))
	return s
}

// verifyPartial checks the proof of p against the public share yi:
// A = z·G − c·Y_i, B = z·C1 − c·D, c == H(…, A, B). All values are public.
func verifyPartial(p *Partial, yi point) bool {
	negC := new(big.Int).Sub(curve.Params().N, new(big.Int).SetBytes(p.c.bytes()))
	a := baseMult(p.z).add(yi.multPublic(negC))
	b := p.c1.mult(p.z).add(p.d.multPublic(negC))
	return p.c.equal(challenge(p.Epoch, p.Index, yi, p.c1, p.d, a, b))
}

// Recovery reports a Combine: the plaintext, the t nodes whose partials were
// used, and the nodes excluded because their partial was invalid (wrong
// epoch, wrong ciphertext, failed proof, or a duplicate).
type Recovery struct {
	Plaintext []byte
	Used      []int
	Excluded  []int
}

// Combine checks every partial's proof against the public state, drops the
// bad ones, interpolates the first t valid ones in the exponent
// (Σ λ_i·D_i = x·C1) and finishes SM2 decryption. With fewer than t valid
// partials it returns ErrNotEnough and no plaintext; Excluded is filled
// either way.
func Combine(pub *PublicState, ciphertext []byte, partials []*Partial) (*Recovery, error) {
	if !pub.valid() {
		return nil, ErrNoKey
	}
	c1, c3, c2, err := parseCiphertext(ciphertext)
	if err != nil {
		return nil, err
	}
	rec := &Recovery{}
	var good []*Partial
	for _, p := range partials {
		switch {
		case p == nil:
			continue
		case p.Epoch != pub.Epoch || p.Index < 1 || p.Index > pub.n || !p.c1.equal(c1) ||
			slices.ContainsFunc(good, func(q *Partial) bool { return q.Index == p.Index }) ||
			!verifyPartial(p, pub.share(p.Index)):
			rec.Excluded = append(rec.Excluded, p.Index)
		case len(good) < pub.t:
			good = append(good, p)
		}
	}
	if len(good) < pub.t {
		return rec, fmt.Errorf("%w: %d valid, t=%d", ErrNotEnough, len(good), pub.t)
	}
	for _, p := range good {
		rec.Used = append(rec.Used, p.Index)
	}
	m, err := finish(combinePoints(good), c3, c2)
	if err != nil {
		return rec, err
	}
	rec.Plaintext = m
	return rec, nil
}

// combinePoints returns Σ λ_i·D_i over the given partials. The λ_i depend
// only on the public indices (math/big). The sum is the shared point x·C1,
// a secret: its coordinates pass through big.Int in the elliptic.Curve API
// (gmsm's point arithmetic underneath is constant-time).
func combinePoints(ps []*Partial) point {
	idx := make([]int, len(ps))
	for i, p := range ps {
		idx[i] = p.Index
	}
	acc := identity()
	for i, p := range ps {
		acc = acc.add(p.d.multPublic(lagrange(idx, i)))
	}
	return acc
}

// lagrange returns λ_i = Π_{j≠i} x_j / (x_j − x_i) mod n at zero for the
// public indices idx.
func lagrange(idx []int, i int) *big.Int {
	n := curve.Params().N
	num, den := big.NewInt(1), big.NewInt(1)
	xi := big.NewInt(int64(idx[i]))
	for j, v := range idx {
		if j == i {
			continue
		}
		xj := big.NewInt(int64(v))
		num.Mul(num, xj).Mod(num, n)
		den.Mul(den, new(big.Int).Sub(xj, xi)).Mod(den, n)
	}
	return num.Mul(num, den.ModInverse(den, n)).Mod(num, n)
}

// finish completes SM2 decryption from the shared point (x2, y2):
// M = C2 ⊕ KDF(x2‖y2, |C2|), then checks C3 = SM3(x2‖M‖y2) in constant time.
func finish(s point, c3, c2 []byte) ([]byte, error) {
	if s.isIdentity() {
		return nil, ErrDecryption
	}
	z := s.bytes()[1:]
	defer clear(z)
	t := kdf.Kdf(sm3.New, z, len(c2))
	defer clear(t)
	if subtle.ConstantTimeCompare(t, make([]byte, len(t))) == 1 {
		return nil, ErrDecryption
	}
	m := make([]byte, len(c2))
	subtle.XORBytes(m, c2, t)
	h := sm3.New()
	h.Write(z[:32])
	h.Write(m)
	h.Write(z[32:])
	if subtle.ConstantTimeCompare(h.Sum(nil), c3) != 1 {
		clear(m)
		return nil, ErrDecryption
	}
	return m, nil
}
