package daemon

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
//     (mpc_operator.go; the local socket refuses those);
//   - "mpc refresh": on node 1, a proactive refresh every refresh_period;
//   - "mpc backup": with backup_period, a seeds export every period
//     (mpc_export.go), keeping the newest 8.
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
	"github.com/otkd/otkd/ctrl/daemon/config"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
	"github.com/otkd/otkd/ctrl/link/handshake"
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

// mpcRun is the daemon's custody state; nil when [mpc] is off.
type mpcRun struct {
	node    *mpc.Node
	part    *mpc.Participant
	cluster *mpc.Cluster
	auth    *mpc.Authenticator
	client  *http.Client
	srvTLS  *tls.Config // cluster endpoint
	opTLS   *tls.Config // operator endpoint
	names   map[string]bool
	peers   []api.MPCPeer
	period  time.Duration
	log     *slog.Logger

	roundMu sync.Mutex // one round coordinated by this node at a time

	mu        sync.Mutex
	lastRound time.Time
	lastErr   string
	roundsOK  uint64 // rounds coordinated here that finished
	roundsBad uint64 // and that failed
}

var errNoMPC = fmt.Errorf("%w: this otkd runs no threshold custody: set [mpc] enabled = true in the configuration", api.ErrUnavailable)

// startMPC builds the node from the configuration and restores its state
// from the controller store (opening the store if key management did not).
func (d *Daemon) startMPC() error {
	mc := d.cfg.MPC
	if !mc.Enabled {
		return nil
	}
	m := &mpcRun{names: map[string]bool{}, period: d.cfg.MPCRefreshPeriod(), log: d.log.With("component", "mpc")}
	var pubs []*ecdsa.PublicKey
	for i, p := range mc.Peers {
		k, err := handshake.LoadPublicKey(p.PublicKey)
		if err != nil {
			return fmt.Errorf("mpc.peer[%d].public_key: %w", i, err)
		}
		pubs = append(pubs, k)
		m.names[p.Name] = true
		m.peers = append(m.peers, api.MPCPeer{Index: i + 1, Name: p.Name, Address: p.Address,
			NodeKey: keys.PublicFingerprint(k), Self: i+1 == mc.Index})
	}
	if !pubs[mc.Index-1].Equal(&d.self.Priv.PublicKey) {
		return fmt.Errorf("mpc.peer[%d].public_key: not the public key of node.private_key (this node is mpc.index %d)", mc.Index-1, mc.Index)
	}
	nd, err := mpc.NewNode(mpc.Config{Index: mc.Index, Threshold: mc.Threshold, Key: d.self.Priv, Peers: pubs})
	if err != nil {
		return fmt.Errorf("mpc: %w", err)
	}
	m.node = nd
	if err := m.loadTLS(mc.CertFile, mc.KeyFile, mc.CAFile, mc.OperatorCAFile); err != nil {
		return err
	}
	if err := m.loadOperators(d.cfg.MPC.Operators); err != nil {
		return err
	}
	if d.km.kst == nil {
		kst, err := kstore.Open(d.cfg.Controller.Store, controllerMigrations)
		if err != nil {
			return fmt.Errorf("controller.store: %w", err)
		}
		d.km.kst = kst // closed by closeKeyMgmt
	}
	last, round, err := m.restore(d.km.kst)
	if err != nil {
		return err
	}
	st := d.km.kst
	if err := m.persistTOTP(st, d.cfg.MPC.Operators); err != nil {
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
	d.custody = m
	m.log.Info("mpc node", "index", mc.Index, "t", mc.Threshold, "n", len(mc.Peers), "epoch", nd.Epoch(),
		"cluster_key", nd.Public().Fingerprint())
	return nil
}

// loadTLS reads the node's certificate and the two CAs.
func (m *mpcRun) loadTLS(certFile, keyFile, caFile, opCAFile string) error {
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
func (m *mpcRun) loadOperators(ops []config.MPCOperator) error {
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
func (m *mpcRun) persistTOTP(st *kstore.DB, ops []config.MPCOperator) error {
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
func (m *mpcRun) restore(st *kstore.DB) (last, round []byte, err error) {
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
type storeVotes struct{ st *kstore.DB }

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

// mpcWorkers are the supervised tasks of custody.
func (d *Daemon) mpcWorkers() []*worker {
	m := d.custody
	if m == nil {
		return nil
	}
	isNode := func(cn string) bool { return m.names[cn] }
	cluster := http.NewServeMux()
	cluster.Handle("/mpc/v1/round/", mpc.RoundHandler(m.part, isNode))
	cluster.Handle(mpc.PathPartial, onlyNodes(isNode, mpc.PartialHandler(m.node)))
	ws := []*worker{{name: "mpc cluster", run: func(ctx context.Context) error {
		return serveTLS(ctx, d.cfg.MPC.Listen, m.srvTLS, cluster, m.log)
	}}}
	if d.cfg.MPC.OperatorListen != "" {
		h := mpc.RecoverHandler(m.auth, m.node.Public, m.client, m.cluster.URLs)
		ws = append(ws, &worker{name: "mpc operator", run: func(ctx context.Context) error {
			return serveTLS(ctx, d.cfg.MPC.OperatorListen, m.opTLS, d.operatorMux(m, h), m.log)
		}})
	}
	if m.period > 0 && m.node.Index() == 1 {
		ws = append(ws, &worker{name: "mpc refresh", run: m.runRefresh})
	}
	if p := d.cfg.MPCBackupPeriod(); p > 0 {
		ws = append(ws, &worker{name: "mpc backup", run: func(ctx context.Context) error { return d.runBackups(ctx, p) }})
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
func (m *mpcRun) auditRecover(h http.Handler) http.Handler {
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
func (m *mpcRun) runRefresh(ctx context.Context) error {
	t := time.NewTicker(m.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if m.node.Epoch() == 0 {
			m.log.Debug("mpc refresh skipped: no key generated yet")
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		r, err := m.round(rctx, true)
		cancel()
		if err != nil {
			m.log.Warn("mpc scheduled refresh failed; next try in one period", "err", err, "period", m.period)
			continue
		}
		m.log.Info("mpc scheduled refresh", "epoch", r.Epoch, "qualified", r.Qualified, "caught_up", r.CaughtUp)
	}
}

// round coordinates one round; refresh says which one the caller expects.
func (m *mpcRun) round(ctx context.Context, refresh bool) (api.MPCRound, error) {
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	has := m.node.Epoch() > 0
	switch {
	case refresh && !has:
		return api.MPCRound{}, fmt.Errorf("%w: no cluster key yet: run otkctl mpc init first", api.ErrConflict)
	case !refresh && has:
		return api.MPCRound{}, fmt.Errorf("%w: the cluster key exists (epoch %d, key %s): use otkctl mpc refresh",
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
	out := api.MPCRound{Kind: "keygen"}
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

// MPCStatus implements api.MPCBackend.
func (d *Daemon) MPCStatus(ctx context.Context) (api.MPCStatus, error) {
	m := d.custody
	if m == nil {
		return api.MPCStatus{}, errNoMPC
	}
	mc := d.cfg.MPC
	st := api.MPCStatus{
		Index: mc.Index, Threshold: mc.Threshold, Nodes: len(mc.Peers), Epoch: m.node.Epoch(),
		ClusterKey: m.node.Public().Fingerprint(), NodeKey: keys.PublicFingerprint(&d.self.Priv.PublicKey),
		Listen: mc.Listen, OperatorListen: mc.OperatorListen, Peers: m.peers,
	}
	if m.node.Index() == 1 {
		st.RefreshPeriodSeconds = m.period.Seconds()
	}
	m.mu.Lock()
	st.LastRound, st.LastRoundError = m.lastRound, m.lastErr
	m.mu.Unlock()
	err := d.km.kst.View(func(tx kstore.Tx) error {
		return tx.ForEach(mpcBackupBucket, func(k, v []byte) error { st.Backups++; return nil })
	})
	return st, err
}

// MPCPeers implements api.MPCBackend.
func (d *Daemon) MPCPeers(ctx context.Context) ([]api.MPCPeerState, error) {
	m := d.custody
	if m == nil {
		return nil, errNoMPC
	}
	var out []api.MPCPeerState
	for _, s := range m.cluster.States(ctx) {
		p := api.MPCPeerState{Index: s.Node, Name: m.peers[s.Node-1].Name, Reachable: s.Err == nil}
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

// MPCInit implements api.MPCBackend: refused on the local socket, since
// key generation is an operator request (mpc_operator.go).
func (d *Daemon) MPCInit(ctx context.Context) (api.MPCRound, error) {
	if d.custody == nil {
		return api.MPCRound{}, errNoMPC
	}
	return api.MPCRound{}, d.operatorOnly("mpc init")
}

// MPCRefresh implements api.MPCBackend: refused on the local socket like
// MPCInit.
func (d *Daemon) MPCRefresh(ctx context.Context) (api.MPCRound, error) {
	if d.custody == nil {
		return api.MPCRound{}, errNoMPC
	}
	return api.MPCRound{}, d.operatorOnly("mpc refresh")
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

func (r *backupRecord) api(id string, withCT bool) api.MPCBackup {
	b := api.MPCBackup{ID: id, Label: r.Label, Created: r.Created, Epoch: r.Epoch, Size: r.Size, Fingerprint: r.Fingerprint}
	if withCT {
		b.Ciphertext = r.Ciphertext
	}
	return b
}

// MPCBackup implements api.MPCBackend: data is encrypted to the cluster
// key, then wiped; only the ciphertext is stored.
func (d *Daemon) MPCBackup(ctx context.Context, label string, data []byte) (api.MPCBackup, error) {
	defer clear(data)
	m := d.custody
	if m == nil {
		return api.MPCBackup{}, errNoMPC
	}
	if err := api.CheckMPCLabel(label); err != nil {
		return api.MPCBackup{}, err
	}
	pub := m.node.Public()
	if pub == nil {
		return api.MPCBackup{}, fmt.Errorf("%w: no cluster key yet: run otkctl mpc init first", api.ErrConflict)
	}
	ct, err := mpc.Encrypt(rand.Reader, pub, data)
	if err != nil {
		return api.MPCBackup{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	rec := backupRecord{V: 1, Label: label, Created: time.Now().UTC(), Epoch: pub.Epoch, Size: len(data),
		Fingerprint: mpc.Fingerprint(data), Ciphertext: ct}
	sum := sm3.Sum(ct)
	id := hex.EncodeToString(sum[:8])
	b, _ := json.Marshal(&rec)
	if err := d.km.kst.Update(func(tx kstore.Tx) error { return tx.Put(mpcBackupBucket, []byte(id), b) }); err != nil {
		return api.MPCBackup{}, fmt.Errorf("controller.store: %w", err)
	}
	m.log.Info("mpc backup stored", "id", id, "label", label, "size", rec.Size, "fingerprint", rec.Fingerprint, "epoch", rec.Epoch)
	return rec.api(id, false), nil
}

// MPCBackups implements api.MPCBackend.
func (d *Daemon) MPCBackups(ctx context.Context) ([]api.MPCBackup, error) {
	if d.custody == nil {
		return nil, errNoMPC
	}
	var out []api.MPCBackup
	err := d.km.kst.View(func(tx kstore.Tx) error {
		return tx.ForEach(mpcBackupBucket, func(k, v []byte) error {
			var r backupRecord
			if err := json.Unmarshal(v, &r); err != nil || r.V != 1 {
				return fmt.Errorf("mpc backup %s: unreadable record", k)
			}
			out = append(out, r.api(string(k), false))
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b api.MPCBackup) int { return a.Created.Compare(b.Created) })
	return out, err
}

// MPCBackupDelete implements api.MPCBackend: refused on the local socket
// like MPCInit.
func (d *Daemon) MPCBackupDelete(ctx context.Context, id string) error {
	if d.custody == nil {
		return errNoMPC
	}
	return d.operatorOnly("mpc delete")
}

// deleteBackup removes a stored backup (an operator request).
func (d *Daemon) deleteBackup(id string) error {
	found := false
	err := d.km.kst.Update(func(tx kstore.Tx) error {
		if found = tx.Get(mpcBackupBucket, []byte(id)) != nil; !found {
			return nil
		}
		return tx.Delete(mpcBackupBucket, []byte(id))
	})
	if err == nil && !found {
		return fmt.Errorf("%w: no backup %s", api.ErrNotFound, id)
	}
	if err == nil {
		d.custody.log.Info("mpc backup deleted", "id", id)
	}
	return err
}

// MPCBackupGet implements api.MPCBackend.
func (d *Daemon) MPCBackupGet(ctx context.Context, id string) (api.MPCBackup, error) {
	if d.custody == nil {
		return api.MPCBackup{}, errNoMPC
	}
	var out api.MPCBackup
	found := false
	err := d.km.kst.View(func(tx kstore.Tx) error {
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
