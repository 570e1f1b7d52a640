package mpc

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tlsCluster is a cluster whose nodes serve RoundHandler and PartialHandler
// on loopback over mutual TLS.
type tlsCluster struct {
	*cluster
	parts   []*Participant
	servers []*httptest.Server
	urls    []string
	client  *http.Client
	saved   [][]byte // last state each node persisted (OnFinish)
	rounds  [][]byte // last round in progress each node persisted (SaveRound)
	votes   []VoteStore
	ca      *testCA
	allow   func(string) bool
}

func newTLSCluster(t *testing.T, th, n int) *tlsCluster {
	t.Helper()
	c := &tlsCluster{cluster: newCluster(t, th, n), saved: make([][]byte, n), rounds: make([][]byte, n)}
	ca := newTestCA(t, "cluster")
	c.ca = ca
	names := map[string]bool{}
	for i := range n {
		names["node"+string(rune('1'+i))] = true
	}
	c.allow = func(cn string) bool { return names[cn] }
	for i := range c.nodes {
		c.votes = append(c.votes, &memVotes{})
		c.parts = append(c.parts, c.participant(i, nil))
		mux := http.NewServeMux()
		// Through c.parts and c.nodes, so that a test can restart a node.
		mux.HandleFunc("/mpc/v1/round/", func(w http.ResponseWriter, r *http.Request) {
			RoundHandler(c.parts[i], c.allow).ServeHTTP(w, r)
		})
		mux.HandleFunc(PathPartial, func(w http.ResponseWriter, r *http.Request) {
			PartialHandler(c.nodes[i]).ServeHTTP(w, r)
		})
		s := serveTLS(t, mux, MutualTLS(ca.issue(t, "node"+string(rune('1'+i))), ca.pool, nil))
		c.servers = append(c.servers, s)
		c.urls = append(c.urls, s.URL)
	}
	c.client = tlsClient(MutualTLS(ca.issue(t, "node1"), nil, ca.pool))
	return c
}

// participant returns node i's participant (i from 0), persisting into c.
func (c *tlsCluster) participant(i int, last []byte) *Participant {
	return NewParticipant(c.nodes[i], ParticipantOptions{
		Votes:      c.votes[i],
		LastCommit: last,
		Round:      c.rounds[i],
		SaveRound:  func(r []byte) error { c.rounds[i] = r; return nil },
		OnFinish: func(st, _ []byte) error {
			c.saved[i] = st
			return nil
		},
	})
}

// restart replaces node i (from 0) by a fresh one restored from what it
// persisted; keepRound false drops its round in progress.
func (c *tlsCluster) restart(t *testing.T, i int, keepRound bool) {
	t.Helper()
	nd, err := NewNode(Config{Index: i + 1, Threshold: c.t, Key: c.keys[i], Peers: peersOf(c.cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.RestoreState(c.saved[i]); err != nil {
		t.Fatal(err)
	}
	if !keepRound {
		c.rounds[i] = nil
	}
	last := c.parts[i].LastCommit()
	c.nodes[i] = nd
	c.parts[i] = c.participant(i, last)
}

func (c *tlsCluster) coordinator(i int) *Cluster {
	return &Cluster{Self: c.parts[i-1], Client: c.client, URLs: c.urls}
}

func (c *tlsCluster) recoverVia(t *testing.T, ct []byte, idx []int) []byte {
	t.Helper()
	var ps []*Partial
	for _, i := range idx {
		p, err := FetchPartial(t.Context(), c.client, c.urls[i-1], ct)
		if err != nil {
			t.Fatalf("partial of node %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	rec, err := Combine(c.nodes[0].Public(), ct, ps)
	if err != nil {
		t.Fatalf("combine %v: %v", idx, err)
	}
	return rec.Plaintext
}

func TestRoundOverTLS(t *testing.T) {
	c := newTLSCluster(t, 2, 3)
	for _, ps := range c.coordinator(1).States(t.Context()) {
		if ps.Err != nil || ps.Public != nil {
			t.Fatalf("state of node %d before key generation: %+v", ps.Node, ps)
		}
	}
	res, err := c.coordinator(1).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epoch != 1 || !slices.Equal(res.Qualified, []int{1, 2, 3}) {
		t.Fatalf("key generation: %+v", res)
	}
	for i, nd := range c.nodes {
		if nd.Epoch() != 1 || !nd.Public().PublicKey().Equal(res.Public.PublicKey()) || c.saved[i] == nil {
			t.Fatalf("node %d: epoch %d, key differs or state not persisted", i+1, nd.Epoch())
		}
	}
	secret := seed(t)
	ct := c.backup(t, secret)
	for _, idx := range subsets(3, 2) {
		if got := c.recoverVia(t, ct, idx); !bytes.Equal(got, secret) {
			t.Fatalf("recover with %v", idx)
		}
	}
	// Refresh coordinated by another node keeps the backup.
	res, err = c.coordinator(2).Run(t.Context())
	if err != nil || res.Epoch != 2 {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	if got := c.recoverVia(t, ct, []int{1, 3}); !bytes.Equal(got, secret) {
		t.Fatal("backup lost by refresh")
	}
	for _, ps := range c.coordinator(3).States(t.Context()) {
		if ps.Err != nil || ps.Public == nil || ps.Public.Epoch != 2 || ps.Public.Fingerprint() != res.Public.Fingerprint() {
			t.Fatalf("state of node %d: %+v", ps.Node, ps)
		}
	}
	// A node down stops rounds, naming it; recovery goes on with t nodes.
	c.servers[2].Close()
	if st := c.coordinator(1).States(t.Context()); st[2].Err == nil || st[0].Public == nil {
		t.Fatalf("states with node 3 down: %+v", st)
	}
	_, err = c.coordinator(1).Run(t.Context())
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Node != 3 || pe.Phase != "deal" {
		t.Fatalf("round with node 3 down: %v", err)
	}
	if c.nodes[0].Epoch() != 2 || c.nodes[1].Epoch() != 2 {
		t.Fatal("a failed round moved a node")
	}
	if got := c.recoverVia(t, ct, []int{1, 2}); !bytes.Equal(got, secret) {
		t.Fatal("recovery with node 3 down")
	}
}

// TestCatchUp: a node that missed the commit of a round is handed it by the
// next coordinator, and the next round then runs normally.
func TestCatchUp(t *testing.T) {
	c := newTLSCluster(t, 2, 3)
	if _, err := c.coordinator(1).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A refresh whose commit reaches nodes 1 and 2 only.
	cm := manualRound(t, c)
	for _, i := range []int{0, 1} {
		if _, err := c.parts[i].Commit(cm); err != nil {
			t.Fatal(err)
		}
	}
	if c.nodes[2].Epoch() != 1 {
		t.Fatal("node 3 moved")
	}
	// Node 3 coordinates: it is behind, takes the commit from a node ahead.
	res, err := c.coordinator(3).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epoch != 3 || !slices.Contains(res.CaughtUp, 3) {
		t.Fatalf("%+v", res)
	}
	// Again with node 1 coordinating and node 2 behind.
	cm = manualRound(t, c)
	for _, i := range []int{0, 2} {
		if _, err := c.parts[i].Commit(cm); err != nil {
			t.Fatal(err)
		}
	}
	res, err = c.coordinator(1).Run(t.Context())
	if err != nil || res.Epoch != 5 || !slices.Contains(res.CaughtUp, 2) {
		t.Fatalf("%+v %v", res, err)
	}
	// A commit delivered again is acknowledged, not applied twice.
	if _, err := c.parts[0].Commit(mustCommit(t, c.parts[0].LastCommit())); err != nil {
		t.Fatal(err)
	}
	if c.nodes[0].Epoch() != 5 {
		t.Fatal("repeated commit moved the node")
	}
}

func mustCommit(t *testing.T, b []byte) *Commit {
	t.Helper()
	var cm Commit
	if err := cm.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return &cm
}

// manualRound runs deal, check and prepare of the next epoch directly on
// the participants and returns the commit, not delivered.
func manualRound(t *testing.T, c *tlsCluster) *Commit {
	t.Helper()
	tr := dealAndCheck(t, c)
	cm := &Commit{Transcript: tr}
	for _, p := range c.parts {
		v, err := p.Prepare(tr)
		if err != nil {
			t.Fatal(err)
		}
		cm.Votes = append(cm.Votes, v)
	}
	return cm
}

// dealAndCheck runs deal and check of the next epoch directly on the
// participants and returns the canonical transcript.
func dealAndCheck(t *testing.T, c *tlsCluster) *Transcript {
	t.Helper()
	epoch := c.nodes[0].Epoch() + 1
	tr := &Transcript{Epoch: epoch}
	for _, p := range c.parts {
		d, err := p.Deal(epoch)
		if err != nil {
			t.Fatal(err)
		}
		tr.Dealings = append(tr.Dealings, d)
	}
	var cs []*Complaint
	for _, p := range c.parts {
		mine, a, err := p.Check(tr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, mine...)
		tr.Attestations = append(tr.Attestations, a)
	}
	tr.Complaints = cs
	return tr
}

// TestMaliciousCoordinator: what a coordinator cannot do.
func TestMaliciousCoordinator(t *testing.T) {
	c := newTLSCluster(t, 2, 3)
	if _, err := c.coordinator(1).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	full := dealAndCheck(t, c)
	epoch := full.Epoch
	with := func(f func(tr *Transcript)) *Transcript {
		tr := *full
		tr.Dealings, tr.Complaints, tr.Attestations = slices.Clone(full.Dealings), slices.Clone(full.Complaints), slices.Clone(full.Attestations)
		f(&tr)
		return &tr
	}
	// A complaint of node 3 about node 2, signed by node 3 but not attested.
	cp := &Complaint{Epoch: epoch, Accuser: 3, Accused: 2}
	cp.sig, _ = c.keys[2].SignWithSM2(rand.Reader, nil, cp.signed())
	for name, tr := range map[string]*Transcript{
		"dealing dropped":      with(func(tr *Transcript) { tr.Dealings = tr.Dealings[:2] }),
		"dealings reordered":   with(func(tr *Transcript) { tr.Dealings[0], tr.Dealings[1] = tr.Dealings[1], tr.Dealings[0] }),
		"attestation dropped":  with(func(tr *Transcript) { tr.Attestations = tr.Attestations[1:] }),
		"complaint slipped in": with(func(tr *Transcript) { tr.Complaints = append(tr.Complaints, cp) }),
	} {
		for i, p := range c.parts {
			if _, err := p.Prepare(tr); !errors.Is(err, ErrTranscript) {
				t.Fatalf("%s: node %d: %v", name, i+1, err)
			}
		}
	}
	// A second canonical transcript exists only if a node signs two
	// attestations (node 3 here, with its key): a node votes for the first
	// transcript it sees only.
	att3 := &Attestation{Epoch: epoch, Index: 3, Dealings: dealingsDigest(full), Accused: []int{2}}
	att3.sig, _ = c.keys[2].SignWithSM2(rand.Reader, nil, att3.signed())
	variant := with(func(tr *Transcript) {
		tr.Complaints = []*Complaint{cp}
		tr.Attestations[2] = att3
	})
	v1, err := c.parts[0].Prepare(full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.parts[0].Prepare(variant); !errors.Is(err, ErrVoteConflict) {
		t.Fatalf("second transcript: %v", err)
	}
	v2, err := c.parts[1].Prepare(variant)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.parts[2].Prepare(variant); !errors.Is(err, ErrTranscript) {
		t.Fatalf("node 3's participant voted for an attestation it did not make: %v", err)
	}
	v3 := &Vote{Epoch: epoch, Index: 3, Digest: variant.Digest()}
	v3.sig, _ = c.keys[2].SignWithSM2(rand.Reader, nil, v3.signed())
	// Fewer than n votes for a digest, or votes for another digest: refused.
	for name, votes := range map[string][]*Vote{
		"missing vote":   {v2, v3},
		"mixed digests":  {v1, v2, v3},
		"repeated voter": {v2, v2, v3},
	} {
		if _, err := c.parts[1].Commit(&Commit{Transcript: variant, Votes: votes}); !errors.Is(err, ErrTranscript) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// A forged vote (signed by the wrong key) counts for nothing.
	forged := *v3
	forged.Index = 1
	if _, err := c.parts[1].Commit(&Commit{Transcript: variant, Votes: []*Vote{&forged, v2, v3}}); !errors.Is(err, ErrTranscript) {
		t.Fatalf("forged vote: %v", err)
	}
	for i, nd := range c.nodes {
		if nd.Epoch() != 1 {
			t.Fatalf("node %d moved", i+1)
		}
	}
}

func TestRoundHandlerRefuses(t *testing.T) {
	c := newTLSCluster(t, 2, 3)
	post := func(client *http.Client, path string, body []byte) int {
		resp, err := client.Post(c.urls[0]+path, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for name, tc := range map[string]struct {
		body []byte
		want int
	}{
		"short epoch": {[]byte{1}, http.StatusBadRequest},
		"wrong epoch": {[]byte{0, 0, 0, 0, 0, 0, 0, 5}, http.StatusConflict},
		"right epoch": {[]byte{0, 0, 0, 0, 0, 0, 0, 1}, http.StatusOK},
	} {
		if got := post(c.client, PathRoundDeal, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
	if got := post(c.client, PathRoundCommit, []byte{1, 8, 0}); got != http.StatusBadRequest {
		t.Errorf("malformed commit: %d", got)
	}
	// A cluster certificate with a name that is not a node's.
	gw := tlsClient(MutualTLS(c.ca.issue(t, "gateway"), nil, c.ca.pool))
	if got := post(gw, PathRoundDeal, []byte{0, 0, 0, 0, 0, 0, 0, 1}); got != http.StatusForbidden {
		t.Errorf("gateway certificate: %d", got)
	}
}

func roundMessages(tb testing.TB) [][]byte {
	c := newCluster(tb, 2, 3)
	tr := &Transcript{Epoch: 1}
	for _, nd := range c.nodes {
		d, err := nd.DealKey()
		if err != nil {
			tb.Fatal(err)
		}
		tr.Dealings = append(tr.Dealings, d)
	}
	cp := &Complaint{Epoch: 1, Accuser: 1, Accused: 2}
	cp.sig, _ = c.keys[0].SignWithSM2(rand.Reader, nil, cp.signed())
	tr.Complaints = []*Complaint{cp}
	a := &Attestation{Epoch: 1, Index: 1, Dealings: dealingsDigest(tr), Accused: []int{2, 3}}
	a.sig, _ = c.keys[0].SignWithSM2(rand.Reader, nil, a.signed())
	tr.Attestations = []*Attestation{a, a}
	v := &Vote{Epoch: 1, Index: 1, Digest: tr.Digest()}
	v.sig, _ = c.keys[0].SignWithSM2(rand.Reader, nil, v.signed())
	var out [][]byte
	for _, m := range []binaryMsg{tr, v, &Commit{Transcript: tr, Votes: []*Vote{v, v}}, a} {
		b, _ := m.MarshalBinary()
		out = append(out, b)
	}
	return out
}

func TestRoundMessagesStrict(t *testing.T) {
	decoders := []binaryMsg{&Transcript{}, &Vote{}, &Commit{}, &Attestation{}}
	for i, b := range roundMessages(t) {
		if err := decoders[i].UnmarshalBinary(b); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if out, _ := decoders[i].MarshalBinary(); !bytes.Equal(out, b) {
			t.Fatalf("message %d: re-encoding differs", i)
		}
		for name, data := range map[string][]byte{
			"trailing": append(slices.Clone(b), 0), "truncated": b[:len(b)-1], "empty": nil,
			"version": append([]byte{2}, b[1:]...),
		} {
			if err := decoders[i].UnmarshalBinary(data); !errors.Is(err, ErrMalformed) {
				t.Errorf("message %d %s: %v", i, name, err)
			}
		}
	}
}

// FuzzRoundMessages: the broadcast decoders never panic and what decodes
// re-encodes to the input.
func FuzzRoundMessages(f *testing.F) {
	for _, b := range roundMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []binaryMsg{&Transcript{}, &Vote{}, &Commit{}, &Attestation{}} {
			if m.UnmarshalBinary(data) != nil {
				continue
			}
			if out, _ := m.MarshalBinary(); !bytes.Equal(out, data) {
				t.Fatalf("%T: re-encoding differs", m)
			}
		}
	})
}

// TestWriteRoundFuzzCorpus refreshes testdata/fuzz/FuzzRoundMessages when
// MPC_WRITE_CORPUS=1.
func TestWriteRoundFuzzCorpus(t *testing.T) {
	if os.Getenv("MPC_WRITE_CORPUS") != "1" {
		t.Skip("set MPC_WRITE_CORPUS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRoundMessages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, b := range roundMessages(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		name := []string{"transcript", "vote", "commit", "attestation"}[i]
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestartMidRound: a node restarted after the others voted serves its
// stored dealing again, so the next Run rebuilds the same transcript and
// finishes the round. Without the stored dealing the round can never
// finish (the voters are bound to their vote): that is what SaveRound is
// for.
func TestRestartMidRound(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			c := newTLSCluster(t, 2, 3)
			if _, err := c.coordinator(1).Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			cm := manualRound(t, c) // nodes 1..3 voted; commit not delivered
			_ = cm
			c.restart(t, 2, keep)
			_, err := c.coordinator(1).Run(t.Context())
			if keep {
				if err != nil || c.nodes[2].Epoch() != 2 || c.nodes[0].Epoch() != 2 {
					t.Fatalf("after a restart mid-round: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrVoteConflict) {
				t.Fatalf("without the stored dealing: %v", err)
			}
		})
	}
}

// TestRoundWithComplaint: node 3 deals node 2 a share that fails Feldman
// verification; over TLS node 2 complains and attests it, every node votes
// for the transcript, and node 3 is excluded from the qualified dealers.
func TestRoundWithComplaint(t *testing.T) {
	c := newTLSCluster(t, 2, 4)
	if _, err := c.coordinator(1).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	secret := seed(t)
	ct := c.backup(t, secret)
	d, err := c.parts[2].Deal(2)
	if err != nil {
		t.Fatal(err)
	}
	bad := *d
	bad.shares = slices.Clone(d.shares)
	bad.shares[1] = slices.Clone(d.shares[3]) // node 4's share ciphertext: does not open for node 2
	c.resign(t, &bad)
	c.parts[2].dealt = &bad
	res, err := c.coordinator(1).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Epoch != 2 || !slices.Equal(res.Qualified, []int{1, 2, 4}) {
		t.Fatalf("%+v", res)
	}
	var cm Commit
	if err := cm.UnmarshalBinary(c.parts[0].LastCommit()); err != nil {
		t.Fatal(err)
	}
	if cs := cm.Transcript.Complaints; len(cs) != 1 || cs[0].Accuser != 2 || cs[0].Accused != 3 ||
		!slices.Equal(cm.Transcript.Attestations[1].Accused, []int{3}) {
		t.Fatalf("complaints %+v", cs)
	}
	if got := c.recoverVia(t, ct, []int{2, 3}); !bytes.Equal(got, secret) {
		t.Fatal("backup lost")
	}
}

// TestRoundHandlerMutations posts valid round messages with bytes flipped
// to a node: every reply is a 4xx or a 200, never a crash or a 5xx, and
// the node does not move.
func TestRoundHandlerMutations(t *testing.T) {
	c := newTLSCluster(t, 2, 3)
	if _, err := c.coordinator(1).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	cm := manualRound(t, c)
	tb, _ := cm.Transcript.MarshalBinary()
	cb, _ := cm.MarshalBinary()
	rnd := mrand.New(mrand.NewPCG(1, 2))
	for _, m := range []struct {
		path string
		body []byte
	}{{PathRoundCheck, tb}, {PathRoundPrepare, tb}, {PathRoundCommit, cb}} {
		for range 40 {
			b := slices.Clone(m.body)
			for range 1 + rnd.IntN(3) {
				b[rnd.IntN(len(b))] ^= byte(1 + rnd.IntN(255))
			}
			resp, err := c.client.Post(c.urls[1]+m.path, "application/octet-stream", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("%s: status %d", m.path, resp.StatusCode)
			}
		}
	}
	if c.nodes[1].Epoch() != 1 {
		t.Fatal("a mutated message moved node 2")
	}
}
