package mpcsvc

// Threshold custody in otkd run ([mpc], docs/mpc.md). The node's share
// lives in the controller store, bucket "mpc": "state" (Node.MarshalState,
// the share sealed to the node key; wire type 5), "commit" (the Commit of its
// epoch, type 8), "round" (its dealing and complaints of the round in
// progress, a Transcript, type 6), "vote" (epoch u64 ‖ digest of its latest
// vote) and "totp/<operator>" (last accepted step, u64). Backups are in
// bucket "mpc-backups": id → JSON record with "v": 1. Workers:
//   - "mpc cluster": the cluster endpoint on mpc.listen, mutual TLS with the
//     cluster CA: the broadcast rounds (mpc.RoundHandler, node names only)
//     and partial decryptions (mpc.PartialHandler);
//   - "mpc operator": the operator endpoint on mpc.operator_listen, mutual
//     TLS with the operators' CA, every request with client certificate +
//     TOTP: recovery, gathering partials from every node over the cluster
//     endpoint, and the operator requests init, refresh and delete
//     (operator.go; the local socket refuses those);
//   - "mpc refresh": on node 1, a proactive refresh every refresh_period;
//   - "mpc backup": with backup_period, a seeds export every period
//     (export.go), keeping the newest 8.
// Rounds this node coordinates (otkctl mpc init|refresh, the timer) run
// one at a time.

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/link/handshake"
	"github.com/otkd/otkd/ctrl/service"
	"github.com/otkd/otkd/internal/httpsrv"
	"github.com/otkd/otkd/internal/keys"
)

// Buckets and keys of the controller store.
var (
	mpcBucket       = []byte("mpc")
	mpcBackupBucket = []byte("mpc-backups")
	mpcStateKey     = []byte("state")
	mpcCommitKey    = []byte("commit")
	mpcVoteKey      = []byte("vote")
	mpcRoundKey     = []byte("round")
)

// Service runs this node's part in threshold custody ([mpc]). It
// implements service.Service and MPCBackend.
type Service struct {
	cfg      Config
	node     string // [node] name
	self     handshake.Identity
	kst      kstore.Store
	keyrings Keyrings
	log      *slog.Logger
	run      *custody // nil when [mpc] is off or before Start
}

// New returns the service of an [mpc] table; keyrings are the daemon's
// keyring pools, which its exports read (nil: none).
func New(cfg Config, keyrings Keyrings) *Service {
	return &Service{cfg: cfg.Clone(), keyrings: keyrings, log: slog.New(slog.DiscardHandler)}
}

var _ service.Service = (*Service)(nil)

// Name implements service.Service.
func (s *Service) Name() string { return "mpc" }

// Enabled implements service.Service.
func (s *Service) Enabled() bool { return s.cfg.Enabled }

// Check implements service.Service: nothing beyond the config's checks
// (Start reads the key and certificate files).
func (s *Service) Check() error { return nil }

// Status implements service.Service.
func (s *Service) Status() []any {
	if s.run == nil {
		return nil
	}
	nd := s.run.node
	return []any{"index", s.cfg.Index, "t", s.cfg.Threshold, "n", len(s.cfg.Peers), "epoch", nd.Epoch(), "cluster_key", nd.Public().Fingerprint()}
}

// Routes implements service.Service: the service serves its routes
// whether it is enabled or not (off, each answers 503 naming the key that
// turns it on, as the daemon always has).
func (s *Service) Routes(r *api.Router) { Routes(r, s) }

// Stop implements service.Service: the controller store is the daemon's
// to close.
func (s *Service) Stop() error { return nil }

// custody is the running node's state.
type custody struct {
	node    *mpc.Node
	part    *mpc.Participant
	cluster *mpc.Cluster
	auth    *mpc.Authenticator
	client  *http.Client
	srvTLS  *tls.Config // cluster endpoint
	opTLS   *tls.Config // operator endpoint
	names   map[string]bool
	peers   []MPCPeer
	period  time.Duration
	log     *slog.Logger

	roundMu sync.Mutex // one round coordinated by this node at a time

	mu        sync.Mutex
	lastRound time.Time
	lastErr   string
	roundsOK  uint64 // rounds coordinated here that finished
	roundsBad uint64 // and that failed
}

// Start implements service.Service: it builds the node from the
// configuration and restores its state from the controller store.
func (s *Service) Start(h *service.Host) error {
	mc := s.cfg
	if !mc.Enabled {
		return nil
	}
	s.node, s.self, s.log = h.Node, h.Self, h.Log.With("component", "mpc")
	m := &custody{names: map[string]bool{}, period: s.cfg.RefreshPeriodDuration(), log: s.log}
	var pubs []*ecdsa.PublicKey
	for i, p := range mc.Peers {
		k, err := handshake.LoadPublicKey(p.PublicKey)
		if err != nil {
			return fmt.Errorf("mpc.peer[%d].public_key: %w", i, err)
		}
		pubs = append(pubs, k)
		m.names[p.Name] = true
		m.peers = append(m.peers, MPCPeer{Index: i + 1, Name: p.Name, Address: p.Address,
			NodeKey: keys.PublicFingerprint(k), Self: i+1 == mc.Index})
	}
	if !pubs[mc.Index-1].Equal(&s.self.Priv.PublicKey) {
		return fmt.Errorf("mpc.peer[%d].public_key: not the public key of node.private_key (this node is mpc.index %d)", mc.Index-1, mc.Index)
	}
	nd, err := mpc.NewNode(mpc.Config{Index: mc.Index, Threshold: mc.Threshold, Key: s.self.Priv, Peers: pubs})
	if err != nil {
		return fmt.Errorf("mpc: %w", err)
	}
	m.node = nd
	if err := m.loadTLS(mc.CertFile, mc.KeyFile, mc.CAFile, mc.OperatorCAFile); err != nil {
		return err
	}
	if err := m.loadOperators(s.cfg.Operators); err != nil {
		return err
	}
	kst, err := h.Store()
	if err != nil {
		return err
	}
	s.kst = kst
	last, round, err := m.restore(s.kst)
	if err != nil {
		return err
	}
	st := s.kst
	if err := m.persistTOTP(st, s.cfg.Operators); err != nil {
		return err
	}
	m.part = mpc.NewParticipant(nd, mpc.ParticipantOptions{
		Votes:      storeVotes{st},
		LastCommit: last,
		Round:      round,
		SaveRound: func(r []byte) error {
			return st.Update(func(tx kstore.Tx) error { return tx.Put(mpcBucket, mpcRoundKey, r) })
		},
		OnFinish: func(state, commit []byte) error {
			err := st.Update(func(tx kstore.Tx) error {
				if err := tx.Put(mpcBucket, mpcStateKey, state); err != nil {
					return err
				}
				return tx.Put(mpcBucket, mpcCommitKey, commit)
			})
			m.log.Info("mpc round finished", "epoch", nd.Epoch(), "cluster_key", nd.Public().Fingerprint(), "persisted", err == nil)
			return err
		},
	})
	var urls []string
	for _, p := range mc.Peers {
		urls = append(urls, "https://"+p.Address)
	}
	m.cluster = &mpc.Cluster{Self: m.part, Client: m.client, URLs: urls}
	s.run = m
	return nil
}

// loadTLS reads the node's certificate and the two CAs.
func (m *custody) loadTLS(certFile, keyFile, caFile, opCAFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("mpc.cert_file/key_file: %w", err)
	}
	ca, err := readPool("mpc.ca_file", caFile)
	if err != nil {
		return err
	}
	m.srvTLS = mpc.MutualTLS(cert, ca, nil)
	m.client = &http.Client{Transport: &http.Transport{TLSClientConfig: mpc.MutualTLS(cert, nil, ca)}, Timeout: 30 * time.Second}
	if opCAFile != "" {
		op, err := readPool("mpc.operator_ca_file", opCAFile)
		if err != nil {
			return err
		}
		if op.Equal(ca) {
			return fmt.Errorf("mpc.operator_ca_file %s: the same CA as mpc.ca_file; operators are named by their certificate, so a node's must never pass as one", opCAFile)
		}
		m.opTLS = mpc.MutualTLS(cert, op, nil)
	}
	return nil
}

func readPool(field, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", field, path)
	}
	return pool, nil
}

// loadOperators reads every operator's TOTP secret (base32, as
// authenticator apps take it; spaces and case do not matter).
func (m *custody) loadOperators(ops []Operator) error {
	m.auth = mpc.NewAuthenticator(nil)
	for i, o := range ops {
		field := fmt.Sprintf("mpc.operator[%d].totp_secret_file", i)
		raw, err := os.ReadFile(o.TOTPSecretFile)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		text := strings.ToUpper(strings.Join(strings.Fields(string(raw)), ""))
		clear(raw)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(text, "="))
		if err != nil {
			return fmt.Errorf("%s %s: not base32 text", field, o.TOTPSecretFile)
		}
		err = m.auth.AddOperator(o.Name, secret)
		clear(secret)
		if err != nil {
			return fmt.Errorf("%s %s: want at least 16 bytes of secret (26 base32 characters)", field, o.TOTPSecretFile)
		}
	}
	return nil
}

// persistTOTP restores each operator's last accepted TOTP step from the
// store and records every new one there before it is accepted, so a code
// stays single-use across restarts.
func (m *custody) persistTOTP(st kstore.Store, ops []Operator) error {
	key := func(name string) []byte { return []byte("totp/" + name) }
	err := st.View(func(tx kstore.Tx) error {
		for _, o := range ops {
			if v := tx.Get(mpcBucket, key(o.Name)); len(v) == 8 {
				if err := m.auth.SetLastStep(o.Name, binary.BigEndian.Uint64(v)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("controller.store: reading the operators' TOTP steps: %w", err)
	}
	m.auth.OnAccept(func(name string, step uint64) error {
		return st.Update(func(tx kstore.Tx) error {
			return tx.Put(mpcBucket, key(name), binary.BigEndian.AppendUint64(nil, step))
		})
	})
	return nil
}

// restore loads the node's state, the commit of its epoch and its part of
// a round in progress, if stored.
func (m *custody) restore(st kstore.Store) (last, round []byte, err error) {
	var state []byte
	err = st.View(func(tx kstore.Tx) error {
		state = append([]byte(nil), tx.Get(mpcBucket, mpcStateKey)...)
		last = append([]byte(nil), tx.Get(mpcBucket, mpcCommitKey)...)
		round = append([]byte(nil), tx.Get(mpcBucket, mpcRoundKey)...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("controller.store: reading the mpc state: %w", err)
	}
	if len(state) == 0 {
		return nil, round, nil
	}
	if err := m.node.RestoreState(state); err != nil {
		return nil, nil, fmt.Errorf("controller.store: mpc state does not fit this node ([mpc] index, threshold, peers or node key changed?): %w", err)
	}
	return last, round, nil
}

// storeVotes keeps a node's latest vote in the controller store.
type storeVotes struct{ st kstore.Store }

// Vote implements mpc.VoteStore.
func (v storeVotes) Vote(epoch uint64, digest [32]byte) ([32]byte, error) {
	out := digest
	err := v.st.Update(func(tx kstore.Tx) error {
		if rec := tx.Get(mpcBucket, mpcVoteKey); len(rec) == 40 && binary.BigEndian.Uint64(rec) == epoch {
			copy(out[:], rec[8:])
			return nil
		}
		return tx.Put(mpcBucket, mpcVoteKey, append(binary.BigEndian.AppendUint64(nil, epoch), digest[:]...))
	})
	return out, err
}

// Workers implements service.Service: the endpoints and the timers.
func (s *Service) Workers() []service.Worker {
	m := s.run
	if m == nil {
		return nil
	}
	isNode := func(cn string) bool { return m.names[cn] }
	cluster := http.NewServeMux()
	cluster.Handle("/mpc/v1/round/", mpc.RoundHandler(m.part, isNode))
	cluster.Handle(mpc.PathPartial, onlyNodes(isNode, mpc.PartialHandler(m.node)))
	ws := []service.Worker{{Name: "mpc cluster", Run: func(ctx context.Context) error {
		return serveTLS(ctx, s.cfg.Listen, m.srvTLS, cluster, m.log)
	}}}
	if s.cfg.OperatorListen != "" {
		h := mpc.RecoverHandler(m.auth, m.node.Public, m.client, m.cluster.URLs)
		ws = append(ws, service.Worker{Name: "mpc operator", Run: func(ctx context.Context) error {
			return serveTLS(ctx, s.cfg.OperatorListen, m.opTLS, s.operatorMux(m, h), m.log)
		}})
	}
	if m.period > 0 && m.node.Index() == 1 {
		ws = append(ws, service.Worker{Name: "mpc refresh", Run: m.runRefresh})
	}
	if p := s.cfg.BackupPeriodDuration(); p > 0 {
		ws = append(ws, service.Worker{Name: "mpc backup", Run: func(ctx context.Context) error { return s.runBackups(ctx, p) }})
	}
	return ws
}

// onlyNodes refuses requests whose verified client certificate does not
// name a node of the cluster: partials go to the nodes' operator endpoints
// only, not to any holder of a cluster-CA certificate.
func onlyNodes(isNode func(string) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 ||
			!isNode(r.TLS.VerifiedChains[0][0].Subject.CommonName) {
			http.Error(w, "not a node of this cluster", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// auditRecover logs every recovery request and its status (never the
// body or the code).
func (m *custody) auditRecover(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		op := "-"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			op = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		m.log.Info("mpc recovery request", "operator", op, "remote", r.RemoteAddr, "status", sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// serveTLS serves h with cfg on addr until ctx ends.
func serveTLS(ctx context.Context, addr string, cfg *tls.Config, h http.Handler, log *slog.Logger) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug), // refused handshakes are routine
	}
	return httpsrv.Run(ctx, hs, 5*time.Second, func() error { return hs.ServeTLS(l, "", "") })
}

// runRefresh loops coordinating a refresh every period until ctx ends.
func (m *custody) runRefresh(ctx context.Context) error {
	return m.every(ctx, m.period, "scheduled refresh", func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		r, err := m.round(rctx, true)
		if err == nil {
			m.log.Info("mpc scheduled refresh", "epoch", r.Epoch, "qualified", r.Qualified, "caught_up", r.CaughtUp)
		}
		return err
	})
}

// every is custody's timer loop (refresh, timed backups): it runs task
// every period until ctx ends, skipping the ticks before the cluster has a
// key and logging a failure, which the next tick tries again.
func (m *custody) every(ctx context.Context, period time.Duration, what string, task func(context.Context) error) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if m.node.Epoch() == 0 {
			m.log.Debug("mpc " + what + " skipped: no cluster key yet")
			continue
		}
		if err := task(ctx); err != nil {
			m.log.Warn("mpc "+what+" failed; next try in one period", "err", err, "period", period)
		}
	}
}

// round coordinates one round; refresh says which one the caller expects.
func (m *custody) round(ctx context.Context, refresh bool) (MPCRound, error) {
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	has := m.node.Epoch() > 0
	switch {
	case refresh && !has:
		return MPCRound{}, fmt.Errorf("%w: no cluster key yet: run otkctl mpc init first", api.ErrConflict)
	case !refresh && has:
		return MPCRound{}, fmt.Errorf("%w: the cluster key exists (epoch %d, key %s): use otkctl mpc refresh",
			api.ErrConflict, m.node.Epoch(), m.node.Public().Fingerprint())
	}
	res, err := m.cluster.Run(ctx)
	m.mu.Lock()
	m.lastRound, m.lastErr = time.Now(), ""
	if err != nil {
		m.lastErr = err.Error()
		m.roundsBad++
	} else {
		m.roundsOK++
	}
	m.mu.Unlock()
	out := MPCRound{Kind: "keygen"}
	if refresh {
		out.Kind = "refresh"
	}
	if res != nil {
		out.Epoch, out.Qualified, out.CaughtUp = res.Epoch, res.Qualified, res.CaughtUp
		out.ClusterKey = res.Public.Fingerprint()
		if res.Epoch > 1 {
			out.Kind = "refresh" // an init that caught this node up from a node ahead
		}
	}
	if err != nil {
		m.log.Warn("mpc round failed", "kind", out.Kind, "err", err)
		return out, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	m.log.Info("mpc round", "kind", out.Kind, "epoch", out.Epoch, "cluster_key", out.ClusterKey, "qualified", out.Qualified)
	return out, nil
}

// MPCStatus implements MPCBackend.
func (s *Service) MPCStatus(ctx context.Context) (MPCStatus, error) {
	m := s.run
	if m == nil {
		return MPCStatus{}, errNoMPC
	}
	mc := s.cfg
	st := MPCStatus{
		Index: mc.Index, Threshold: mc.Threshold, Nodes: len(mc.Peers), Epoch: m.node.Epoch(),
		ClusterKey: m.node.Public().Fingerprint(), NodeKey: keys.PublicFingerprint(&s.self.Priv.PublicKey),
		Listen: mc.Listen, OperatorListen: mc.OperatorListen, Peers: m.peers,
	}
	if m.node.Index() == 1 {
		st.RefreshPeriodSeconds = m.period.Seconds()
	}
	m.mu.Lock()
	st.LastRound, st.LastRoundError = m.lastRound, m.lastErr
	m.mu.Unlock()
	err := s.kst.View(func(tx kstore.Tx) error {
		return tx.ForEach(mpcBackupBucket, func(k, v []byte) error { st.Backups++; return nil })
	})
	return st, err
}

// MPCPeers implements MPCBackend.
func (s *Service) MPCPeers(ctx context.Context) ([]MPCPeerState, error) {
	m := s.run
	if m == nil {
		return nil, errNoMPC
	}
	var out []MPCPeerState
	for _, s := range m.cluster.States(ctx) {
		p := MPCPeerState{Index: s.Node, Name: m.peers[s.Node-1].Name, Reachable: s.Err == nil}
		if s.Err != nil {
			p.Error = s.Err.Error()
		}
		if s.Public != nil {
			p.Epoch, p.ClusterKey = s.Public.Epoch, s.Public.Fingerprint()
		}
		out = append(out, p)
	}
	return out, nil
}

// MPCInit implements MPCBackend: refused on the local socket, since
// key generation is an operator request (operator.go).
func (s *Service) MPCInit(ctx context.Context) (MPCRound, error) {
	if s.run == nil {
		return MPCRound{}, errNoMPC
	}
	return MPCRound{}, s.operatorOnly("mpc init")
}

// MPCRefresh implements MPCBackend: refused on the local socket like
// MPCInit.
func (s *Service) MPCRefresh(ctx context.Context) (MPCRound, error) {
	if s.run == nil {
		return MPCRound{}, errNoMPC
	}
	return MPCRound{}, s.operatorOnly("mpc refresh")
}

// backupRecord is a stored backup (JSON, versioned).
type backupRecord struct {
	V           int       `json:"v"`
	Label       string    `json:"label,omitempty"`
	Created     time.Time `json:"created"`
	Epoch       uint64    `json:"epoch"`
	Size        int       `json:"size"`
	Fingerprint string    `json:"fingerprint"`
	Ciphertext  []byte    `json:"ciphertext"`
}

func (r *backupRecord) api(id string, withCT bool) MPCBackup {
	b := MPCBackup{ID: id, Label: r.Label, Created: r.Created, Epoch: r.Epoch, Size: r.Size, Fingerprint: r.Fingerprint}
	if withCT {
		b.Ciphertext = r.Ciphertext
	}
	return b
}

// MPCBackup implements MPCBackend: data is encrypted to the cluster
// key, then wiped; only the ciphertext is stored.
func (s *Service) MPCBackup(ctx context.Context, label string, data []byte) (MPCBackup, error) {
	defer clear(data)
	m := s.run
	if m == nil {
		return MPCBackup{}, errNoMPC
	}
	if err := CheckMPCLabel(label); err != nil {
		return MPCBackup{}, err
	}
	pub := m.node.Public()
	if pub == nil {
		return MPCBackup{}, fmt.Errorf("%w: no cluster key yet: run otkctl mpc init first", api.ErrConflict)
	}
	ct, err := mpc.Encrypt(rand.Reader, pub, data)
	if err != nil {
		return MPCBackup{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	rec := backupRecord{V: 1, Label: label, Created: time.Now().UTC(), Epoch: pub.Epoch, Size: len(data),
		Fingerprint: Fingerprint(data), Ciphertext: ct}
	sum := sm3.Sum(ct)
	id := hex.EncodeToString(sum[:8])
	b, _ := json.Marshal(&rec)
	if err := s.kst.Update(func(tx kstore.Tx) error { return tx.Put(mpcBackupBucket, []byte(id), b) }); err != nil {
		return MPCBackup{}, fmt.Errorf("controller.store: %w", err)
	}
	m.log.Info("mpc backup stored", "id", id, "label", label, "size", rec.Size, "fingerprint", rec.Fingerprint, "epoch", rec.Epoch)
	return rec.api(id, false), nil
}

// MPCBackups implements MPCBackend.
func (s *Service) MPCBackups(ctx context.Context) ([]MPCBackup, error) {
	if s.run == nil {
		return nil, errNoMPC
	}
	var out []MPCBackup
	err := s.kst.View(func(tx kstore.Tx) error {
		return tx.ForEach(mpcBackupBucket, func(k, v []byte) error {
			var r backupRecord
			if err := json.Unmarshal(v, &r); err != nil || r.V != 1 {
				return fmt.Errorf("mpc backup %s: unreadable record", k)
			}
			out = append(out, r.api(string(k), false))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b MPCBackup) int { return a.Created.Compare(b.Created) })
	return out, err
}

// MPCBackupDelete implements MPCBackend: refused on the local socket
// like MPCInit.
func (s *Service) MPCBackupDelete(ctx context.Context, id string) error {
	if s.run == nil {
		return errNoMPC
	}
	return s.operatorOnly("mpc delete")
}

// deleteBackup removes a stored backup (an operator request).
func (s *Service) deleteBackup(id string) error {
	found := false
	err := s.kst.Update(func(tx kstore.Tx) error {
		if found = tx.Get(mpcBackupBucket, []byte(id)) != nil; !found {
			return nil
		}
		return tx.Delete(mpcBackupBucket, []byte(id))
	})
	if err == nil && !found {
		return fmt.Errorf("%w: no backup %s", api.ErrNotFound, id)
	}
	if err == nil {
		s.run.log.Info("mpc backup deleted", "id", id)
	}
	return err
}

// MPCBackupGet implements MPCBackend.
func (s *Service) MPCBackupGet(ctx context.Context, id string) (MPCBackup, error) {
	if s.run == nil {
		return MPCBackup{}, errNoMPC
	}
	var out MPCBackup
	found := false
	err := s.kst.View(func(tx kstore.Tx) error {
		v := tx.Get(mpcBackupBucket, []byte(id))
		if v == nil {
			return nil
		}
		var r backupRecord
		if err := json.Unmarshal(v, &r); err != nil || r.V != 1 {
			return fmt.Errorf("mpc backup %s: unreadable record", id)
		}
		out, found = r.api(id, true), true
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no backup %s", api.ErrNotFound, id)
	}
	return out, err
}

// WriteMetrics implements service.Service: the node's epoch (0 before key
// generation), the rounds it coordinated, and when the last one ran. Never
// a share, a key or a backup's content.
func (s *Service) WriteMetrics(mw *service.Metrics) {
	m := s.run
	if m == nil {
		return
	}
	m.mu.Lock()
	ok, bad, last := m.roundsOK, m.roundsBad, m.lastRound
	m.mu.Unlock()
	lb := fmt.Sprintf("node=\"%d\"", s.cfg.Index)
	mw.Put("otkd_mpc_epoch", "gauge", "Epoch of this node's share of the cluster key (0: no key yet); refresh raises it.", lb, float64(m.node.Epoch()))
	mw.Put("otkd_mpc_rounds_total", "counter", "Key-generation and refresh rounds this node coordinated, by result.", lb+`,result="ok"`, float64(ok))
	mw.Put("otkd_mpc_rounds_total", "counter", "", lb+`,result="failed"`, float64(bad))
	var ts float64
	if !last.IsZero() {
		ts = float64(last.Unix())
	}
	mw.Put("otkd_mpc_last_round_timestamp_seconds", "gauge", "Unix time of the last round this node coordinated (0: none since start).", lb, ts)
}
