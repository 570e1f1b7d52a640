package mpc

import "slices"

// sharePlainLen is the plaintext of an encrypted share:
// epoch (8) ‖ dealer (2) ‖ recipient (2) ‖ share (32).
const sharePlainLen = 8 + 2 + 2 + scalarLen

// shareCipherLen is an SM2 ciphertext C1 ‖ C3 ‖ C2 of an encrypted share.
const shareCipherLen = pointLen + 32 + sharePlainLen

// Dealing is one node's contribution to a key generation (Epoch 1) or a
// refresh (Epoch > 1): Feldman commitments to its polynomial, one share per
// node encrypted to that node's SM2 key, and the dealer's SM2 signature over
// everything before the signature. A Dealing is immutable once made.
//
// Wire: 1 ‖ 1 ‖ epoch u64 ‖ dealer u16 ‖ t u16 ‖ n u16 ‖ t × commitment (65)
// ‖ n × share ciphertext (141) ‖ sigLen u8 ‖ signature.
type Dealing struct {
	Epoch   uint64
	Dealer  int
	t, n    int
	commits []point  // C_k = a_k·G, k = 0 … t−1
	shares  [][]byte // shares[j−1] = SM2 encryption of s_dj to node j
	sig     []byte
}

// signed returns the bytes the dealer signs.
func (d *Dealing) signed() []byte {
	b := appendHeader(make([]byte, 0, 16+d.t*pointLen+d.n*shareCipherLen), typeDealing)
	b = appendU64(b, d.Epoch)
	b = appendU16(b, d.Dealer)
	b = appendU16(b, d.t)
	b = appendU16(b, d.n)
	for _, c := range d.commits {
		b = append(b, c.bytes()...)
	}
	for _, s := range d.shares {
		b = append(b, s...)
	}
	return b
}

// MarshalBinary encodes d in the wire format above.
func (d *Dealing) MarshalBinary() ([]byte, error) {
	b := d.signed()
	b = append(b, byte(len(d.sig)))
	return append(b, d.sig...), nil
}

// UnmarshalBinary decodes and strictly validates the encoding; it does not
// check the signature (Node.Check does, against the dealer's key).
func (d *Dealing) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeDealing, "dealing")
	var out Dealing
	out.Epoch = r.u64("epoch")
	out.Dealer = r.u16("dealer")
	out.t, out.n = r.u16("threshold"), r.u16("node count")
	if r.err == nil {
		if err := checkTN(out.t, out.n); err != nil {
			r.fail("dealing: %v", err)
		} else if out.Epoch == 0 || out.Dealer < 1 || out.Dealer > out.n {
			r.fail("dealing: epoch %d dealer %d", out.Epoch, out.Dealer)
		}
	}
	for k := 0; r.err == nil && k < out.t; k++ {
		out.commits = append(out.commits, r.point("commitment"))
	}
	for j := 0; r.err == nil && j < out.n; j++ {
		out.shares = append(out.shares, slices.Clone(r.take(shareCipherLen, "share ciphertext")))
	}
	if l := r.u8("signature length"); r.err == nil && (l == 0 || l > maxSigLen) {
		r.fail("dealing: signature length %d", l)
	} else {
		out.sig = slices.Clone(r.take(l, "signature"))
	}
	if err := r.end("dealing"); err != nil {
		return err
	}
	*d = out
	return nil
}

// Complaint is a node's signed statement that the share a dealer sent it
// failed Feldman verification (or did not decrypt). Under the rule of this
// package any validly signed complaint excludes the accused dealer.
//
// Wire: 1 ‖ 2 ‖ epoch u64 ‖ accuser u16 ‖ accused u16 ‖ sigLen u8 ‖ signature.
type Complaint struct {
	Epoch   uint64
	Accuser int
	Accused int
	sig     []byte
}

func (c *Complaint) signed() []byte {
	b := appendHeader(make([]byte, 0, 14), typeComplaint)
	b = appendU64(b, c.Epoch)
	b = appendU16(b, c.Accuser)
	return appendU16(b, c.Accused)
}

// MarshalBinary encodes c in the wire format above.
func (c *Complaint) MarshalBinary() ([]byte, error) {
	b := c.signed()
	b = append(b, byte(len(c.sig)))
	return append(b, c.sig...), nil
}

// UnmarshalBinary decodes and strictly validates the encoding; the signature
// is checked by Node.Finish against the accuser's key.
func (c *Complaint) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typeComplaint, "complaint")
	var out Complaint
	out.Epoch = r.u64("epoch")
	out.Accuser, out.Accused = r.u16("accuser"), r.u16("accused")
	if r.err == nil && (out.Epoch == 0 || out.Accuser < 1 || out.Accuser > MaxNodes ||
		out.Accused < 1 || out.Accused > MaxNodes || out.Accuser == out.Accused) {
		r.fail("complaint: epoch %d accuser %d accused %d", out.Epoch, out.Accuser, out.Accused)
	}
	if l := r.u8("signature length"); r.err == nil && (l == 0 || l > maxSigLen) {
		r.fail("complaint: signature length %d", l)
	} else {
		out.sig = slices.Clone(r.take(l, "signature"))
	}
	if err := r.end("complaint"); err != nil {
		return err
	}
	*c = out
	return nil
}

// Partial is node Index's partial decryption D = x_i·C1 of a backup whose
// ciphertext point is C1, with a Chaum–Pedersen proof (c, z) that
// log_G(Y_i) = log_C1(D).
//
// Wire: 1 ‖ 3 ‖ epoch u64 ‖ index u16 ‖ C1 (65) ‖ D (65) ‖ c (32) ‖ z (32).
type Partial struct {
	Epoch uint64
	Index int
	c1, d point
	c, z  scalar
}

// MarshalBinary encodes p in the wire format above.
func (p *Partial) MarshalBinary() ([]byte, error) {
	b := appendHeader(make([]byte, 0, 12+2*pointLen+2*scalarLen), typePartial)
	b = appendU64(b, p.Epoch)
	b = appendU16(b, p.Index)
	b = append(b, p.c1.bytes()...)
	b = append(b, p.d.bytes()...)
	b = append(b, p.c.bytes()...)
	return append(b, p.z.bytes()...), nil
}

// UnmarshalBinary decodes and strictly validates the encoding; the proof is
// checked by Combine against the public share of node Index.
func (p *Partial) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typePartial, "partial")
	var out Partial
	out.Epoch = r.u64("epoch")
	out.Index = r.u16("index")
	if r.err == nil && (out.Epoch == 0 || out.Index < 1 || out.Index > MaxNodes) {
		r.fail("partial: epoch %d index %d", out.Epoch, out.Index)
	}
	out.c1, out.d = r.point("C1"), r.point("D")
	if r.err == nil && (out.c1.isIdentity() || out.d.isIdentity()) {
		r.fail("partial: point at infinity")
	}
	out.c, out.z = r.scalar("challenge"), r.scalar("response")
	if err := r.end("partial"); err != nil {
		return err
	}
	*p = out
	return nil
}

// PublicState is what every node and every combiner knows after a key
// generation or refresh: the epoch, t, n and the aggregated Feldman
// commitments A_k of the joint polynomial. A_0 is the cluster public key Y;
// node j's public share is Y_j = Σ A_k·j^k. It holds no secret.
//
// Wire: 1 ‖ 4 ‖ epoch u64 ‖ t u16 ‖ n u16 ‖ t × A_k (65).
type PublicState struct {
	Epoch   uint64
	t, n    int
	commits []point
}

// MarshalBinary encodes s in the wire format above.
func (s *PublicState) MarshalBinary() ([]byte, error) {
	b := appendHeader(make([]byte, 0, 14+s.t*pointLen), typePublic)
	b = appendU64(b, s.Epoch)
	b = appendU16(b, s.t)
	b = appendU16(b, s.n)
	for _, c := range s.commits {
		b = append(b, c.bytes()...)
	}
	return b, nil
}

// UnmarshalBinary decodes and strictly validates the encoding.
func (s *PublicState) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.header(typePublic, "public state")
	var out PublicState
	out.Epoch = r.u64("epoch")
	out.t, out.n = r.u16("threshold"), r.u16("node count")
	if r.err == nil {
		if err := checkTN(out.t, out.n); err != nil {
			r.fail("public state: %v", err)
		} else if out.Epoch == 0 {
			r.fail("public state: epoch 0")
		}
	}
	for k := 0; r.err == nil && k < out.t; k++ {
		out.commits = append(out.commits, r.point("commitment"))
	}
	if r.err == nil && out.commits[0].isIdentity() {
		r.fail("public state: cluster key at infinity")
	}
	if err := r.end("public state"); err != nil {
		return err
	}
	*s = out
	return nil
}
