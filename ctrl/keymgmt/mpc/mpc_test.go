package mpc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// cluster is n in-process nodes and their identity keys.
type cluster struct {
	t     int
	keys  []*sm2.PrivateKey
	nodes []*Node
}

func newCluster(tb testing.TB, t, n int) *cluster {
	tb.Helper()
	c := &cluster{t: t}
	var peers []*ecdsa.PublicKey
	for range n {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		c.keys = append(c.keys, k)
		peers = append(peers, &k.PublicKey)
	}
	for i := 1; i <= n; i++ {
		nd, err := NewNode(Config{Index: i, Threshold: t, Key: c.keys[i-1], Peers: peers})
		if err != nil {
			tb.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
	}
	return c
}

// round runs one broadcast round (key generation when refresh is false)
// among the given nodes (all when nil) and returns the qualified dealers.
func (c *cluster) round(tb testing.TB, refresh bool, who []*Node) []int {
	tb.Helper()
	if who == nil {
		who = c.nodes
	}
	var dealings []*Dealing
	for _, nd := range who {
		deal := nd.DealKey
		if refresh {
			deal = nd.DealRefresh
		}
		d, err := deal()
		if err != nil {
			tb.Fatal(err)
		}
		dealings = append(dealings, wire(tb, d, &Dealing{}))
	}
	return c.finish(tb, who, dealings)
}

// finish has every node check every dealing, collects complaints and closes
// the round on every node with the same transcript.
func (c *cluster) finish(tb testing.TB, who []*Node, dealings []*Dealing) []int {
	tb.Helper()
	var complaints []*Complaint
	for _, nd := range who {
		for _, d := range dealings {
			cp, err := nd.Check(d)
			if err != nil {
				continue // dropped: counts as not received
			}
			if cp != nil {
				complaints = append(complaints, wire(tb, cp, &Complaint{}))
			}
		}
	}
	var qual []int
	for _, nd := range who {
		q, err := nd.Finish(dealings, complaints)
		if err != nil {
			tb.Fatalf("node %d: %v", nd.Index(), err)
		}
		if qual != nil && !slices.Equal(q, qual) {
			tb.Fatalf("nodes disagree on qualified dealers: %v vs %v", q, qual)
		}
		qual = q
	}
	return qual
}

type binaryMsg interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// wire sends m through its binary encoding into out.
func wire[T binaryMsg](tb testing.TB, m, out T) T {
	tb.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	if err := out.UnmarshalBinary(b); err != nil {
		tb.Fatal(err)
	}
	return out
}

func (c *cluster) partials(tb testing.TB, ct []byte, idx []int) []*Partial {
	tb.Helper()
	var ps []*Partial
	for _, i := range idx {
		p, err := c.nodes[i-1].PartialDecrypt(ct)
		if err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, wire(tb, p, &Partial{}))
	}
	return ps
}

func (c *cluster) backup(tb testing.TB, secret []byte) []byte {
	tb.Helper()
	pub := wire(tb, c.nodes[0].Public(), &PublicState{})
	ct, err := Encrypt(rand.Reader, pub, secret)
	if err != nil {
		tb.Fatal(err)
	}
	return ct
}

// subsets returns every k-subset of 1…n.
func subsets(n, k int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i <= n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(1, nil)
	return out
}

func seed(tb testing.TB) []byte {
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		tb.Fatal(err)
	}
	return s
}

func recoverWith(tb testing.TB, c *cluster, ct []byte, idx []int) (*Recovery, error) {
	tb.Helper()
	return Combine(c.nodes[0].Public(), ct, c.partials(tb, ct, idx))
}

func TestEveryThresholdSubsetRecovers(t *testing.T) {
	for _, tc := range []struct{ t, n int }{{2, 3}, {3, 5}} {
		t.Run(fmt.Sprintf("%dof%d", tc.t, tc.n), func(t *testing.T) {
			c := newCluster(t, tc.t, tc.n)
			if q := c.round(t, false, nil); len(q) != tc.n {
				t.Fatalf("qualified %v", q)
			}
			secret := seed(t)
			ct := c.backup(t, secret)
			for _, sub := range subsets(tc.n, tc.t) {
				rec, err := recoverWith(t, c, ct, sub)
				if err != nil {
					t.Fatalf("subset %v: %v", sub, err)
				}
				if !bytes.Equal(rec.Plaintext, secret) || !slices.Equal(rec.Used, sub) || rec.Excluded != nil {
					t.Fatalf("subset %v: %+v", sub, rec)
				}
			}
		})
	}
}

// reconstruct interpolates the shares at zero; a test-only oracle (no API
// path does this).
func reconstruct(t *testing.T, c *cluster, idx []int) *big.Int {
	t.Helper()
	x := new(big.Int)
	for i, j := range idx {
		s, err := c.nodes[j-1].unseal()
		if err != nil {
			t.Fatal(err)
		}
		term := new(big.Int).SetBytes(s.bytes())
		x.Add(x, term.Mul(term, lagrange(idx, i)))
	}
	return x.Mod(x, curve.Params().N)
}

// TestStandardSM2 checks the backup format against gmsm: a backup decrypts
// with sm2.Decrypt under the (test-reconstructed) cluster key, and an
// sm2.Encrypt ciphertext decrypts by parts.
func TestStandardSM2(t *testing.T) {
	c := newCluster(t, 2, 3)
	c.round(t, false, nil)
	x := reconstruct(t, c, []int{1, 3})
	priv, err := sm2.NewPrivateKeyFromInt(x)
	if err != nil {
		t.Fatal(err)
	}
	pub := c.nodes[0].Public().PublicKey()
	if priv.X.Cmp(pub.X) != 0 || priv.Y.Cmp(pub.Y) != 0 {
		t.Fatal("interpolated key does not match the cluster public key")
	}
	secret := seed(t)
	got, err := sm2.Decrypt(priv, c.backup(t, secret))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("sm2.Decrypt: %v", err)
	}
	ct, err := sm2.Encrypt(rand.Reader, pub, []byte("keyring backup"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recoverWith(t, c, ct, []int{2, 3})
	if err != nil || string(rec.Plaintext) != "keyring backup" {
		t.Fatalf("recover sm2.Encrypt ciphertext: %v", err)
	}
}

func TestBelowThresholdRefused(t *testing.T) {
	c := newCluster(t, 3, 5)
	c.round(t, false, nil)
	ct := c.backup(t, seed(t))
	for _, sub := range subsets(5, 2) {
		rec, err := recoverWith(t, c, ct, sub)
		if !errors.Is(err, ErrNotEnough) || rec == nil || rec.Plaintext != nil {
			t.Fatalf("subset %v: %v %+v", sub, err, rec)
		}
	}
	// The same partial twice does not count twice.
	ps := c.partials(t, ct, []int{1, 2})
	if _, err := Combine(c.nodes[0].Public(), ct, append(ps, ps[0])); !errors.Is(err, ErrNotEnough) {
		t.Fatalf("duplicate counted: %v", err)
	}
}

func TestNodeLossKeepsService(t *testing.T) {
	c := newCluster(t, 3, 5)
	c.round(t, false, nil)
	secret := seed(t)
	ct := c.backup(t, secret)
	// Nodes 2 and 4 are gone (n−t = 2 lost): the other three still recover,
	// and a refresh among the survivors keeps the backup decryptable.
	alive := []int{1, 3, 5}
	rec, err := recoverWith(t, c, ct, alive)
	if err != nil || !bytes.Equal(rec.Plaintext, secret) {
		t.Fatal(err)
	}
	c.round(t, true, []*Node{c.nodes[0], c.nodes[2], c.nodes[4]})
	rec, err = recoverWith(t, c, ct, alive)
	if err != nil || !bytes.Equal(rec.Plaintext, secret) {
		t.Fatalf("after refresh without lost nodes: %v", err)
	}
	// The lost nodes missed the refresh: their partials are excluded.
	ps := c.partials(t, ct, []int{2, 4, 1})
	if rec, err := Combine(c.nodes[0].Public(), ct, ps); !errors.Is(err, ErrNotEnough) ||
		!slices.Equal(rec.Excluded, []int{2, 4}) {
		t.Fatalf("stale nodes: %v %+v", err, rec)
	}
}

func TestRefresh(t *testing.T) {
	c := newCluster(t, 3, 5)
	c.round(t, false, nil)
	secret := seed(t)
	ct := c.backup(t, secret)
	pub1 := c.nodes[0].Public()
	old := make([]scalar, 5)
	for i, nd := range c.nodes {
		s, err := nd.unseal()
		if err != nil {
			t.Fatal(err)
		}
		old[i] = s
	}
	oldPartials := c.partials(t, ct, []int{1, 2, 3, 4, 5})

	for range 2 {
		c.round(t, true, nil)
	}
	pub3 := c.nodes[0].Public()
	if pub3.Epoch != 3 || !pub3.commits[0].equal(pub1.commits[0]) {
		t.Fatalf("refresh changed the cluster key or epoch: %d", pub3.Epoch)
	}
	for i, nd := range c.nodes {
		s, err := nd.unseal()
		if err != nil {
			t.Fatal(err)
		}
		if s.equal(old[i]) {
			t.Fatalf("node %d share unchanged", i+1)
		}
	}
	for _, sub := range subsets(5, 3) {
		rec, err := recoverWith(t, c, ct, sub)
		if err != nil || !bytes.Equal(rec.Plaintext, secret) {
			t.Fatalf("subset %v after refresh: %v", sub, err)
		}
	}
	newPartials := c.partials(t, ct, []int{1, 2, 3, 4, 5})

	t.Run("old partial excluded", func(t *testing.T) {
		rec, err := Combine(pub3, ct, []*Partial{oldPartials[0], newPartials[1], newPartials[2]})
		if !errors.Is(err, ErrNotEnough) || !slices.Equal(rec.Excluded, []int{1}) {
			t.Fatalf("%v %+v", err, rec)
		}
	})
	t.Run("old share fails the proof", func(t *testing.T) {
		c1, _, _, _ := parseCiphertext(ct)
		p, err := provePartial(rand.Reader, pub3.Epoch, 1, old[0], pub3.share(1), c1)
		if err != nil {
			t.Fatal(err)
		}
		if verifyPartial(p, pub3.share(1)) {
			t.Fatal("proof with the old share verifies against the new public share")
		}
		rec, err := Combine(pub3, ct, []*Partial{p, newPartials[1], newPartials[2], newPartials[3]})
		if err != nil || !slices.Equal(rec.Excluded, []int{1}) || !slices.Equal(rec.Used, []int{2, 3, 4}) {
			t.Fatalf("%v %+v", err, rec)
		}
	})
	t.Run("old and new points give a result C3 rejects", func(t *testing.T) {
		_, c3, c2, _ := parseCiphertext(ct)
		mixed := []*Partial{oldPartials[0], newPartials[1], newPartials[2]}
		if _, err := finish(combinePoints(mixed), c3, c2); !errors.Is(err, ErrDecryption) {
			t.Fatalf("mixed epochs: %v", err)
		}
		if m, err := finish(combinePoints(newPartials[:3]), c3, c2); err != nil || !bytes.Equal(m, secret) {
			t.Fatalf("control: %v", err)
		}
	})
}

func TestCheatingNodeExcluded(t *testing.T) {
	c := newCluster(t, 3, 5)
	c.round(t, false, nil)
	secret := seed(t)
	ct := c.backup(t, secret)
	other := c.backup(t, seed(t))
	pub := c.nodes[0].Public()
	otherP, err := c.nodes[1].PartialDecrypt(other)
	if err != nil {
		t.Fatal(err)
	}
	cheats := map[string]func(p *Partial) *Partial{
		"wrong D": func(p *Partial) *Partial { p.d = p.d.add(baseMult(scalarFromUint(1))); return p },
		"wrong z": func(p *Partial) *Partial { p.z = p.z.clone().add(scalarFromUint(1)); return p },
		"wrong c": func(p *Partial) *Partial { p.c = p.c.clone().add(scalarFromUint(1)); return p },
		"D of other backup": func(p *Partial) *Partial {
			return &Partial{Epoch: p.Epoch, Index: p.Index, c1: p.c1, d: otherP.d, c: otherP.c, z: otherP.z}
		},
		"proof of other backup": func(p *Partial) *Partial { q := *otherP; return &q },
		"wrong epoch":           func(p *Partial) *Partial { p.Epoch++; return p },
		"claims another index":  func(p *Partial) *Partial { p.Index = 5; return p },
	}
	for name, cheat := range cheats {
		t.Run(name, func(t *testing.T) {
			ps := c.partials(t, ct, []int{1, 2, 3, 4})
			ps[1] = wire(t, cheat(ps[1]), &Partial{})
			if name == "claims another index" {
				ps = ps[:3] // node 2 posing as node 5
			}
			rec, err := Combine(pub, ct, ps)
			want := []int{2}
			if name == "claims another index" {
				want = []int{5}
				if !errors.Is(err, ErrNotEnough) || !slices.Equal(rec.Excluded, want) {
					t.Fatalf("%v %+v", err, rec)
				}
				return
			}
			if err != nil || !bytes.Equal(rec.Plaintext, secret) || !slices.Equal(rec.Excluded, want) ||
				!slices.Equal(rec.Used, []int{1, 3, 4}) {
				t.Fatalf("%v %+v", err, rec)
			}
			// With only t partials, the cheat leaves too few.
			if _, err := Combine(pub, ct, ps[:3]); !errors.Is(err, ErrNotEnough) {
				t.Fatalf("t partials with a cheat: %v", err)
			}
		})
	}
}

// resign re-signs a tampered dealing with its dealer's key.
func (c *cluster) resign(t *testing.T, d *Dealing) {
	sig, err := c.keys[d.Dealer-1].SignWithSM2(rand.Reader, nil, d.signed())
	if err != nil {
		t.Fatal(err)
	}
	d.sig = sig
}

func TestDealingSignature(t *testing.T) {
	c := newCluster(t, 2, 3)
	var ds []*Dealing
	for _, nd := range c.nodes {
		d, err := nd.DealKey()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	forged := *ds[0]
	forged.sig = slices.Clone(ds[0].sig)
	forged.sig[len(forged.sig)-1] ^= 1
	impostor := *ds[1]
	impostor.Dealer = 1 // node 2's dealing claiming to be node 1's
	for name, d := range map[string]*Dealing{"flipped bit": &forged, "other dealer": &impostor} {
		if _, err := c.nodes[2].Check(d); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The forged dealing is dropped; with it only, dealer 1 is absent.
	q := c.finish(t, c.nodes, []*Dealing{&forged, ds[1], ds[2]})
	if !slices.Equal(q, []int{2, 3}) {
		t.Fatalf("qualified %v", q)
	}
}

func TestComplaintExcludesDealer(t *testing.T) {
	c := newCluster(t, 3, 5)
	var ds []*Dealing
	for _, nd := range c.nodes {
		d, err := nd.DealKey()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	// Dealer 4 sends node 2 a share off its polynomial, properly signed.
	bad, err := sealShare(rand.Reader, c.nodes[1].peers[1], 1, 4, 2, scalarFromUint(7))
	if err != nil {
		t.Fatal(err)
	}
	ds[3].shares[1] = bad
	c.resign(t, ds[3])
	cp, err := c.nodes[1].Check(ds[3])
	if err != nil || cp == nil || cp.Accuser != 2 || cp.Accused != 4 {
		t.Fatalf("complaint %+v %v", cp, err)
	}
	if q := c.finish(t, c.nodes, ds); !slices.Equal(q, []int{1, 2, 3, 5}) {
		t.Fatalf("qualified %v", q)
	}
	secret := seed(t)
	ct := c.backup(t, secret)
	rec, err := recoverWith(t, c, ct, []int{2, 4, 5})
	if err != nil || !bytes.Equal(rec.Plaintext, secret) {
		t.Fatal(err)
	}
	// A refresh that shares a non-zero constant is refused.
	d, err := c.nodes[0].DealRefresh()
	if err != nil {
		t.Fatal(err)
	}
	d.commits[0] = baseMult(scalarFromUint(1))
	c.resign(t, d)
	if _, err := c.nodes[1].Check(d); !errors.Is(err, ErrBadDealing) {
		t.Fatalf("non-zero refresh: %v", err)
	}
}

func TestTooFewQualified(t *testing.T) {
	c := newCluster(t, 3, 4)
	d1, _ := c.nodes[0].DealKey()
	d2, _ := c.nodes[1].DealKey()
	if _, err := c.nodes[0].Finish([]*Dealing{d1, d2}, nil); !errors.Is(err, ErrTooFewDealers) {
		t.Fatalf("%v", err)
	}
	if _, err := c.nodes[0].PartialDecrypt(make([]byte, 100)); err == nil {
		t.Fatal("partial decryption before key generation")
	}
}

func TestShareCiphertextsOnlyForTheirNode(t *testing.T) {
	c := newCluster(t, 2, 3)
	d, err := c.nodes[0].DealKey()
	if err != nil {
		t.Fatal(err)
	}
	for j := 1; j <= 3; j++ {
		for k := 1; k <= 3; k++ {
			_, err := openShare(c.keys[k-1], d.shares[j-1], 1, 1, j)
			if (err == nil) != (j == k) {
				t.Fatalf("share for node %d opened with key of node %d: %v", j, k, err)
			}
		}
	}
	c.round(t, false, nil)
	sealed := c.nodes[0].SealedShare()
	if _, err := sm2.Decrypt(c.keys[1], sealed); err == nil {
		t.Fatal("sealed share of node 1 opens with node 2's key")
	}
	if pt, err := sm2.Decrypt(c.keys[0], sealed); err != nil || len(pt) != sharePlainLen {
		t.Fatalf("sealed share with own key: %v", err)
	}
}

func TestConfigRejected(t *testing.T) {
	c := newCluster(t, 2, 3)
	peers := []*ecdsa.PublicKey{&c.keys[0].PublicKey, &c.keys[1].PublicKey, &c.keys[2].PublicKey}
	for name, cfg := range map[string]Config{
		"t=1":        {Index: 1, Threshold: 1, Key: c.keys[0], Peers: peers},
		"t=n":        {Index: 1, Threshold: 3, Key: c.keys[0], Peers: peers},
		"index 0":    {Index: 0, Threshold: 2, Key: c.keys[0], Peers: peers},
		"wrong key":  {Index: 2, Threshold: 2, Key: c.keys[0], Peers: peers},
		"nil peer":   {Index: 1, Threshold: 2, Key: c.keys[0], Peers: []*ecdsa.PublicKey{peers[0], nil, peers[2]}},
		"no own key": {Index: 1, Threshold: 2, Peers: peers},
	} {
		if _, err := NewNode(cfg); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// messages returns one valid encoding of each message type.
func messages(tb testing.TB) [][]byte {
	c := newCluster(tb, 2, 3)
	var ds []*Dealing
	for _, nd := range c.nodes {
		d, err := nd.DealKey()
		if err != nil {
			tb.Fatal(err)
		}
		ds = append(ds, d)
	}
	c.finish(tb, c.nodes, ds)
	cp := &Complaint{Epoch: 1, Accuser: 1, Accused: 2}
	cp.sig, _ = c.keys[0].SignWithSM2(rand.Reader, nil, cp.signed())
	ct := c.backup(tb, []byte("x"))
	var out [][]byte
	for _, m := range []binaryMsg{ds[0], cp, c.partials(tb, ct, []int{1})[0], c.nodes[0].Public()} {
		b, _ := m.MarshalBinary()
		out = append(out, b)
	}
	st, err := c.nodes[0].MarshalState()
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, st)
}

func TestStrictDecoding(t *testing.T) {
	decoders := []binaryMsg{&Dealing{}, &Complaint{}, &Partial{}, &PublicState{}, &nodeState{}}
	for i, b := range messages(t) {
		if err := decoders[i].UnmarshalBinary(b); err != nil {
			t.Fatalf("type %d: %v", i+1, err)
		}
		bad := map[string][]byte{
			"trailing":  append(slices.Clone(b), 0),
			"truncated": b[:len(b)-1],
			"empty":     nil,
			"version":   append([]byte{2}, b[1:]...),
			"type":      append([]byte{1, byte(i+2)%5 + 1}, b[2:]...),
		}
		if i != 1 { // every type but the complaint carries a point at offset 14 or 12
			off := map[int]int{0: 16, 2: 12, 3: 14, 4: 4 + shareCipherLen + 14}[i]
			p := slices.Clone(b)
			p[off+64] ^= 1 // last byte of Y: off the curve
			bad["off-curve"] = p
		}
		for name, data := range bad {
			if err := decoders[i].UnmarshalBinary(data); !errors.Is(err, ErrMalformed) {
				t.Errorf("type %d %s: %v", i+1, name, err)
			}
		}
	}
}

// FuzzUnmarshal feeds arbitrary bytes to every decoder: none may panic, and
// whatever decodes must re-encode to exactly the input.
func FuzzUnmarshal(f *testing.F) {
	for _, b := range messages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []binaryMsg{&Dealing{}, &Complaint{}, &Partial{}, &PublicState{}, &nodeState{}} {
			if m.UnmarshalBinary(data) != nil {
				continue
			}
			out, err := m.MarshalBinary()
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("%T: re-encoding differs", m)
			}
		}
	})
}

// TestWriteFuzzCorpus refreshes testdata/fuzz/FuzzUnmarshal when
// MPC_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("MPC_WRITE_CORPUS") != "1" {
		t.Skip("set MPC_WRITE_CORPUS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzUnmarshal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"dealing", "complaint", "partial", "public", "state"}
	for i, b := range messages(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, names[i]), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestZeroValues(t *testing.T) {
	for _, m := range []binaryMsg{&Dealing{}, &Complaint{}, &Partial{}, &PublicState{}} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if m.UnmarshalBinary(b) == nil {
			t.Errorf("%T: zero value decodes", m)
		}
	}
	if _, err := Encrypt(rand.Reader, &PublicState{}, []byte("x")); !errors.Is(err, ErrNoKey) {
		t.Fatal(err)
	}
	if _, err := Combine(&PublicState{}, nil, nil); !errors.Is(err, ErrNoKey) {
		t.Fatal(err)
	}
	if (&PublicState{}).PublicKey() != nil {
		t.Fatal("zero state has a key")
	}
}

func TestEquivocatingDealerExcluded(t *testing.T) {
	c := newCluster(t, 2, 4)
	var ds []*Dealing
	for _, nd := range c.nodes {
		d, err := nd.DealKey()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	second, err := c.nodes[2].DealKey() // node 3 deals twice, both signed
	if err != nil {
		t.Fatal(err)
	}
	if q := c.finish(t, c.nodes, append(ds, second)); !slices.Equal(q, []int{1, 2, 4}) {
		t.Fatalf("qualified %v", q)
	}
	secret := seed(t)
	if rec, err := recoverWith(t, c, c.backup(t, secret), []int{3, 4}); err != nil || !bytes.Equal(rec.Plaintext, secret) {
		t.Fatal(err)
	}
}

// BenchmarkRecover3of5 measures one recovery: three partial decryptions with
// proofs and the combine that checks them.
func BenchmarkRecover3of5(b *testing.B) {
	c := newCluster(b, 3, 5)
	c.round(b, false, nil)
	ct := c.backup(b, make([]byte, 32))
	pub := c.nodes[0].Public()
	b.SetBytes(32)
	b.ReportAllocs()
	for b.Loop() {
		var ps []*Partial
		for _, nd := range c.nodes[:3] {
			p, err := nd.PartialDecrypt(ct)
			if err != nil {
				b.Fatal(err)
			}
			ps = append(ps, p)
		}
		if _, err := Combine(pub, ct, ps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "recoveries/s")
}

func TestStateRestore(t *testing.T) {
	c := newCluster(t, 2, 3)
	c.round(t, false, nil)
	secret := seed(t)
	ct := c.backup(t, secret)
	st, err := c.nodes[0].MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	// A restarted node 1 (fresh Node, same key) serves again.
	fresh, err := NewNode(Config{Index: 1, Threshold: 2, Key: c.keys[0], Peers: peersOf(c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	c.nodes[0] = fresh
	if rec, err := recoverWith(t, c, ct, []int{1, 3}); err != nil || !bytes.Equal(rec.Plaintext, secret) {
		t.Fatal(err)
	}
	// Node 2 cannot load node 1's state, even renumbered.
	if c.nodes[1].RestoreState(st) == nil {
		t.Fatal("node 2 loaded node 1's state")
	}
	renumbered := slices.Clone(st)
	renumbered[3] = 2
	if c.nodes[1].RestoreState(renumbered) == nil {
		t.Fatal("node 2 opened node 1's sealed share")
	}
	if _, err := (&Node{}).MarshalState(); !errors.Is(err, ErrNoKey) {
		t.Fatal(err)
	}
}

func peersOf(c *cluster) []*ecdsa.PublicKey {
	var out []*ecdsa.PublicKey
	for _, k := range c.keys {
		out = append(out, &k.PublicKey)
	}
	return out
}
