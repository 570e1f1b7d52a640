// Package etcdstore is the controller store (ctrl/keymgmt/kstore) on etcd:
// the same Store and Tx contract as the bbolt file, for several otkd
// processes that share their state (docs/cluster.md).
//
// # Transactions
//
// A transaction reads from etcd at one revision (the first read's), so it
// sees one snapshot, and buffers its writes; a read sees the transaction's
// own writes first. Update commits with one etcd Txn whose compares check
// that nothing it read changed since: every key read (Get, NextSeq and the
// keys a Scan returned) still has the modification revision it had, and
// no key of a scanned range was created or changed after the snapshot.
// When another writer got there first the Txn does not apply, and fn runs
// again on fresh reads (kstore's contract: fn may run more than once), up
// to Options.MaxRetries times with a short random backoff; then Update
// fails with kstore.ErrConflict. The result is serializable.
//
// etcd bounds a Txn (server flag --max-txn-ops, default 128): at most
// Options.MaxOps writes (puts, deletes, range deletes) and at most MaxOps
// compares (keys read in a read-write transaction, plus one per range
// scanned). A transaction beyond either fails with kstore.ErrTxnTooLarge
// before anything is sent. A DeleteRange is one write however many keys
// it removes. Batch is Update: etcd groups concurrent commits into one
// raft proposal and fsync by itself.
//
// A failed read is kstore.ErrUnavailable (no quorum, timeout). A commit
// that fails the same way is kstore.ErrUnavailable too, and then its
// outcome is unknown: it is not retried here, because only the caller
// knows whether doing it again is safe (key sync's requests are).
//
// # Layout
//
// Under Options.Prefix:
//
//	kv/<bucket>/<key>   a value; <bucket> with bytes outside [A-Za-z0-9._-] as %XX
//	seq/<bucket>        the bucket's sequence, 8 bytes big-endian
//
// The schema version is the key schema of the reserved bucket kstore.meta.
// Values are stored as the callers give them: kstore's callers seal what is
// secret before they put it (etcd has no encryption at rest).
package etcdstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
)

// Options configure Open. Prefix is required; every other field has a
// default.
type Options struct {
	// Prefix is the store's key prefix in etcd; stores with different
	// prefixes are independent. It must not be empty.
	Prefix string
	// RequestTimeout bounds each request to etcd. Default 5 s.
	RequestTimeout time.Duration
	// MaxOps is the etcd server's --max-txn-ops. Default 128.
	MaxOps int
	// MaxRetries bounds the runs of a conflicting transaction. Default 100.
	MaxRetries int
}

// Stats are the store's counters since Open.
type Stats struct {
	Commits   uint64 // transactions committed with writes
	Conflicts uint64 // runs that lost to a concurrent writer and ran again
	Failures  uint64 // transactions that failed on etcd (unavailable, too large, conflicts exhausted)
}

// Store is a kstore.Store on etcd. Safe for concurrent use.
type Store struct {
	cli     *clientv3.Client
	pfx     string
	opt     Options
	version uint64

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	closed atomic.Bool

	commits, conflicts, failures atomic.Uint64
}

var _ kstore.Store = (*Store)(nil)

// Open returns the store under opt.Prefix on cli, which stays the
// caller's, and brings its schema up to len(migrations) (kstore's
// contract; concurrent Opens of one prefix run each migration once).
func Open(cli *clientv3.Client, migrations []kstore.Migration, opt Options) (*Store, error) {
	if opt.Prefix == "" {
		return nil, errors.New("etcdstore: Options.Prefix is required")
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 5 * time.Second
	}
	if opt.MaxOps <= 0 {
		opt.MaxOps = 128
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 100
	}
	for i, m := range migrations {
		if m.Up == nil {
			return nil, fmt.Errorf("kstore: migration %d (%s) has no Up function", i+1, m.Name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{cli: cli, pfx: opt.Prefix, opt: opt, ctx: ctx, cancel: cancel}
	if err := s.migrate(migrations); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// Version returns the schema version after Open's migrations.
func (s *Store) Version() uint64 { return s.version }

// Prefix returns the store's key prefix.
func (s *Store) Prefix() string { return s.pfx }

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Conflicts: s.conflicts.Load(), Failures: s.failures.Load()}
}

// MaxOps returns the bound on the writes of one transaction.
func (s *Store) MaxOps() int { return s.opt.MaxOps }

// Close implements kstore.Store: later calls fail with kstore.ErrClosed.
// The etcd client stays open (it is the caller's).
func (s *Store) Close() error {
	s.closed.Store(true)
	s.cancel()
	return nil
}

var (
	metaBucket = []byte("kstore.meta")
	metaSchema = []byte("schema")
	errRaced   = errors.New("another process migrated first")
)

func (s *Store) where() string { return "etcd " + s.pfx }

func (s *Store) migrate(migrations []kstore.Migration) error {
	known := uint64(len(migrations))
	for {
		var v uint64
		err := s.View(func(t kstore.Tx) error {
			var err error
			v, err = readVersion(t)
			return err
		})
		if err != nil {
			return fmt.Errorf("kstore: %s: %w", s.where(), err)
		}
		if v > known {
			return &kstore.SchemaError{Path: s.where(), Stored: v, Known: known}
		}
		if v == known {
			s.version = v
			return nil
		}
		m := migrations[v]
		err = s.Update(func(t kstore.Tx) error {
			cur, err := readVersion(t)
			if err != nil {
				return err
			}
			if cur != v {
				return errRaced
			}
			if err := m.Up(t); err != nil {
				return err
			}
			t.(*tx).put(s.kvKey(metaBucket, metaSchema), binary.BigEndian.AppendUint64(nil, v+1))
			return nil
		})
		if errors.Is(err, errRaced) {
			continue
		}
		if err != nil {
			return &kstore.MigrationError{Version: v + 1, Name: m.Name, Err: err}
		}
	}
}

func readVersion(t kstore.Tx) (uint64, error) {
	raw := t.Get(metaBucket, metaSchema)
	if err := t.(*tx).err; err != nil {
		return 0, err
	}
	if raw == nil {
		return 0, nil
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("%w: schema version is %d bytes", kstore.ErrCorrupt, len(raw))
	}
	return binary.BigEndian.Uint64(raw), nil
}

// View implements kstore.Store.
func (s *Store) View(fn func(kstore.Tx) error) error {
	if s.closed.Load() {
		return kstore.ErrClosed
	}
	t := s.newTx(false)
	err := fn(t)
	if t.err != nil {
		return t.err // a failed read: what fn made of it is moot
	}
	return err
}

// Update implements kstore.Store. See the package doc for retries.
func (s *Store) Update(fn func(kstore.Tx) error) error {
	for attempt := 0; ; attempt++ {
		if s.closed.Load() {
			return kstore.ErrClosed
		}
		t := s.newTx(true)
		err := fn(t)
		if t.err != nil {
			if errors.Is(t.err, errRetry) && attempt < s.opt.MaxRetries {
				s.conflicts.Add(1)
				s.backoff(attempt)
				continue
			}
			return s.failed(t.err)
		}
		if err != nil {
			return err
		}
		ok, err := t.commit()
		if err != nil {
			return s.failed(err)
		}
		if ok {
			if len(t.writes) > 0 || len(t.dels) > 0 {
				s.commits.Add(1)
			}
			return nil
		}
		s.conflicts.Add(1)
		if attempt == s.opt.MaxRetries {
			return s.failed(fmt.Errorf("%w (%d runs)", kstore.ErrConflict, attempt+1))
		}
		s.backoff(attempt)
	}
}

func (s *Store) failed(err error) error {
	if errors.Is(err, errRetry) {
		err = fmt.Errorf("%w: the snapshot was compacted on every run", kstore.ErrConflict)
	}
	s.failures.Add(1)
	return err
}

// Batch implements kstore.Store: it is Update (etcd batches concurrent
// commits into one proposal itself).
func (s *Store) Batch(fn func(kstore.Tx) error) error { return s.Update(fn) }

// backoff sleeps a random time that grows with the attempts (up to 50 ms),
// so that writers that keep colliding spread out.
func (s *Store) backoff(attempt int) {
	d := time.Duration(min(1<<min(attempt, 16), 50)) * time.Millisecond
	t := time.NewTimer(rand.N(d) + time.Millisecond/2)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// kvKey is the etcd key of key in bucket.
func (s *Store) kvKey(bucket, key []byte) string {
	return s.bucketPrefix(bucket) + string(key)
}

func (s *Store) bucketPrefix(bucket []byte) string {
	b := make([]byte, 0, len(s.pfx)+4+len(bucket)+1)
	b = append(append(b, s.pfx...), "kv/"...)
	return string(append(escape(b, bucket), '/'))
}

func (s *Store) seqKey(bucket []byte) string {
	return string(escape(append([]byte(s.pfx), "seq/"...), bucket))
}

// escape appends name with every byte outside [A-Za-z0-9._-] as %XX, so
// that no bucket's keys fall in another bucket's range ("a" and "a/b").
func escape(dst, name []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// errRetry marks a read that must run the transaction again (the snapshot
// revision was compacted away).
var errRetry = errors.New("etcdstore: snapshot compacted")

// mapErr turns an etcd error into kstore's.
func mapErr(what string, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return errRetry
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%w: %s: %v", kstore.ErrTxnTooLarge, what, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %s: %v", kstore.ErrClosed, what, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: etcd %s: no answer within the request timeout (no quorum, or no member reachable): %v", kstore.ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: etcd %s: %v", kstore.ErrUnavailable, what, err)
}

// write is one buffered write of a transaction.
type write struct {
	val []byte
	del bool
}

// span is a range of etcd keys [start, end).
type span struct{ start, end string }

func (sp span) has(k string) bool { return k >= sp.start && k < sp.end }

// tx is one transaction. Reads go to etcd at rev (set by the first read);
// writes stay in writes and dels until commit.
type tx struct {
	s        *Store
	writable bool
	rev      int64
	err      error // the first failed read; the transaction is void

	cache  map[string][]byte // values read (nil: absent)
	reads  map[string]int64  // key → modification revision read (0: absent), for the compares
	ranges []span            // ranges scanned, for the compares
	writes map[string]*write // key → last write
	dels   []span            // ranges deleted
}

func (s *Store) newTx(writable bool) *tx {
	return &tx{s: s, writable: writable, cache: map[string][]byte{}, reads: map[string]int64{}, writes: map[string]*write{}}
}

func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

func (t *tx) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(t.s.ctx), t.s.opt.RequestTimeout)
}

// fetch reads etcd at the transaction's revision.
func (t *tx) fetch(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	ctx, cancel := t.ctx()
	defer cancel()
	resp, err := t.s.cli.Get(ctx, key, opts...)
	if err != nil {
		err = mapErr("read", err)
		t.fail(err)
		return nil, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp, nil
}

func (t *tx) deleted(k string) bool {
	for _, d := range t.dels {
		if d.has(k) {
			return true
		}
	}
	return false
}

// get reads key k through the transaction's writes.
func (t *tx) get(k string) []byte {
	if w, ok := t.writes[k]; ok {
		if w.del {
			return nil
		}
		return w.val
	}
	if t.deleted(k) {
		return nil
	}
	if v, ok := t.cache[k]; ok {
		return v
	}
	resp, err := t.fetch(k)
	if err != nil {
		return nil
	}
	var v []byte
	var mod int64
	if len(resp.Kvs) == 1 {
		v, mod = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		if v == nil {
			v = []byte{} // present but empty: nil means missing
		}
	}
	t.cache[k] = v
	t.reads[k] = mod
	return v
}

func (t *tx) put(k string, v []byte) { t.writes[k] = &write{val: bytes.Clone(v)} }

func (t *tx) check(bucket []byte, what string) error {
	if string(bucket) == string(metaBucket) {
		return fmt.Errorf("%w: %q", kstore.ErrReserved, bucket)
	}
	if !t.writable {
		return fmt.Errorf("etcdstore: %s in %q: read-only transaction", what, bucket)
	}
	return t.err
}

// Get implements kstore.Tx. A failed read returns nil and voids the
// transaction: Update and View return the read's error.
func (t *tx) Get(bucket, key []byte) []byte { return t.get(t.s.kvKey(bucket, key)) }

// Put implements kstore.Tx.
func (t *tx) Put(bucket, key, val []byte) error {
	if err := t.check(bucket, "put"); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%w: put in %q", kstore.ErrEmptyKey, bucket)
	}
	t.put(t.s.kvKey(bucket, key), val)
	return nil
}

// Delete implements kstore.Tx.
func (t *tx) Delete(bucket, key []byte) error {
	if err := t.check(bucket, "delete"); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%w: delete in %q", kstore.ErrEmptyKey, bucket)
	}
	t.writes[t.s.kvKey(bucket, key)] = &write{del: true}
	return nil
}

// NextSeq implements kstore.Tx.
func (t *tx) NextSeq(bucket []byte) (uint64, error) {
	if err := t.check(bucket, "sequence"); err != nil {
		return 0, err
	}
	k := t.s.seqKey(bucket)
	var n uint64
	switch v := t.get(k); {
	case t.err != nil:
		return 0, t.err
	case v == nil:
	case len(v) != 8:
		return 0, fmt.Errorf("%w: sequence of %q is %d bytes", kstore.ErrCorrupt, bucket, len(v))
	default:
		n = binary.BigEndian.Uint64(v)
	}
	n++
	t.put(k, binary.BigEndian.AppendUint64(nil, n))
	return n, nil
}

// ForEach implements kstore.Tx.
func (t *tx) ForEach(bucket []byte, fn func(k, v []byte) error) error {
	return t.Scan(bucket, kstore.Range{}, fn)
}

// span returns the etcd keys of r in bucket.
func (t *tx) span(bucket []byte, r kstore.Range) span {
	bp := t.s.bucketPrefix(bucket)
	sp := span{start: bp + string(r.Start), end: bp + string(r.End)}
	if r.End == nil {
		sp.end = string(kstore.PrefixEnd([]byte(bp)))
	}
	return sp
}

// page is how many keys a Scan fetches per request.
const page = 256

// Scan implements kstore.Tx: etcd's keys of the range at the snapshot,
// fetched a page at a time, merged with the transaction's own writes.
func (t *tx) Scan(bucket []byte, r kstore.Range, fn func(k, v []byte) error) error {
	if err := r.Check(false); err != nil {
		return err
	}
	if t.err != nil {
		return t.err
	}
	sp := t.span(bucket, r)
	if sp.start >= sp.end {
		return nil
	}
	it := &scanner{t: t, sp: sp, rev: r.Reverse, lo: sp.start, hi: sp.end}
	for k, w := range t.writes {
		if !w.del && sp.has(k) {
			it.own = append(it.own, k)
		}
	}
	slices.Sort(it.own)
	if r.Reverse {
		slices.Reverse(it.own)
	}
	trim := len(sp.start) - len(r.Start) // the bucket prefix
	n := 0
	var err error
	for r.Limit == 0 || n < r.Limit {
		var k string
		var v []byte
		var ok bool
		if k, v, ok, err = it.next(); err != nil || !ok {
			break
		}
		n++
		if err = fn([]byte(k[trim:]), v); err != nil {
			break
		}
	}
	it.done(err == nil && (r.Limit == 0 || n < r.Limit))
	if t.err != nil {
		return t.err
	}
	return err
}

// scanner merges etcd's keys of a span with the transaction's own puts,
// in order. In a read-write transaction it records what it examined.
type scanner struct {
	t      *tx
	sp     span
	rev    bool
	lo, hi string // what remains to fetch from etcd: [lo, hi)
	buf    []etcdKV
	more   bool // etcd has more keys in [lo, hi)
	own    []string
	last   string // the last key returned
	seen   []etcdKV
	primed bool
}

type etcdKV struct {
	key string
	val []byte
	mod int64
}

func (it *scanner) fill() error {
	if it.primed && !it.more {
		return nil
	}
	opts := []clientv3.OpOption{clientv3.WithRange(it.hi), clientv3.WithLimit(page)}
	if it.rev {
		opts = append(opts, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	}
	resp, err := it.t.fetch(it.lo, opts...)
	if err != nil {
		return err
	}
	it.primed, it.more = true, resp.More
	for _, kv := range resp.Kvs {
		v := kv.Value
		if v == nil {
			v = []byte{}
		}
		it.buf = append(it.buf, etcdKV{key: string(kv.Key), val: v, mod: kv.ModRevision})
	}
	if n := len(resp.Kvs); n > 0 {
		if last := string(resp.Kvs[n-1].Key); it.rev {
			it.hi = last
		} else {
			it.lo = last + "\x00"
		}
	}
	return nil
}

// before reports whether a comes before b in the scan's order.
func (it *scanner) before(a, b string) bool {
	if it.rev {
		return a > b
	}
	return a < b
}

func (it *scanner) next() (string, []byte, bool, error) {
	for {
		if len(it.buf) == 0 && (!it.primed || it.more) {
			if err := it.fill(); err != nil {
				return "", nil, false, err
			}
		}
		var e *etcdKV
		if len(it.buf) > 0 {
			e = &it.buf[0]
		}
		if len(it.own) > 0 && (e == nil || !it.before(e.key, it.own[0])) {
			k := it.own[0]
			it.own = it.own[1:]
			if e != nil && e.key == k {
				it.seen = append(it.seen, *e) // shadowed by our write, still read
				it.buf = it.buf[1:]
			}
			it.last = k
			return k, it.t.writes[k].val, true, nil
		}
		if e == nil {
			return "", nil, false, nil
		}
		it.buf = it.buf[1:]
		it.seen = append(it.seen, *e)
		if w, ok := it.t.writes[e.key]; (ok && w.del) || it.t.deleted(e.key) {
			continue
		}
		it.last = e.key
		return e.key, e.val, true, nil
	}
}

// done records the range the scan examined for the commit's compares: all
// of the span when it ran to the end, else up to the last key it returned
// (what lies beyond did not shape the result).
func (it *scanner) done(whole bool) {
	if !it.t.writable {
		return
	}
	sp := it.sp
	if !whole && it.last != "" {
		if it.rev {
			sp.start = it.last
		} else {
			sp.end = it.last + "\x00"
		}
	}
	it.t.ranges = append(it.t.ranges, sp)
	for _, e := range it.seen {
		if sp.has(e.key) {
			if _, ok := it.t.reads[e.key]; !ok {
				it.t.reads[e.key] = e.mod
			}
		}
	}
}

// DeleteRange implements kstore.Tx.
func (t *tx) DeleteRange(bucket []byte, r kstore.Range) error {
	if err := t.check(bucket, "delete range"); err != nil {
		return err
	}
	if err := r.Check(true); err != nil {
		return err
	}
	sp := t.span(bucket, r)
	if sp.start >= sp.end {
		return nil
	}
	for k := range t.writes {
		if sp.has(k) {
			delete(t.writes, k)
		}
	}
	t.dels = append(t.dels, sp)
	return nil
}

// commit sends the transaction as one etcd Txn; ok is false when a
// compare failed (a concurrent writer changed what it read).
func (t *tx) commit() (ok bool, err error) {
	if len(t.writes) == 0 && len(t.dels) == 0 {
		return true, nil
	}
	cmps := make([]clientv3.Cmp, 0, len(t.reads)+len(t.ranges))
	for _, k := range slices.Sorted(maps.Keys(t.reads)) {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", t.reads[k]))
	}
	for _, sp := range t.ranges {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(sp.start), "<", t.rev+1).WithRange(sp.end))
	}
	ops := t.ops()
	if len(ops) > t.s.opt.MaxOps {
		return false, fmt.Errorf("%w: %d writes in one transaction, the store takes at most %d", kstore.ErrTxnTooLarge, len(ops), t.s.opt.MaxOps)
	}
	if len(cmps) > t.s.opt.MaxOps {
		return false, fmt.Errorf("%w: a read-write transaction that read %d keys and ranges, the store checks at most %d", kstore.ErrTxnTooLarge, len(cmps), t.s.opt.MaxOps)
	}
	ctx, cancel := t.ctx()
	defer cancel()
	resp, err := t.s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		err = mapErr("commit", err)
		if errors.Is(err, kstore.ErrUnavailable) {
			err = fmt.Errorf("%w (outcome unknown: the change may or may not be in the store)", err)
		}
		return false, err
	}
	return resp.Succeeded, nil
}

// ops returns the writes as etcd operations: puts, point deletes outside
// the deleted ranges, and the deleted ranges cut around the puts inside
// them (etcd refuses a Txn whose puts and deletes overlap).
func (t *tx) ops() []clientv3.Op {
	var puts []string
	var ops []clientv3.Op
	for _, k := range slices.Sorted(maps.Keys(t.writes)) {
		w := t.writes[k]
		switch {
		case !w.del:
			puts = append(puts, k)
			ops = append(ops, clientv3.OpPut(k, string(w.val)))
		case !t.deleted(k):
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	for _, d := range mergeSpans(t.dels) {
		start := d.start
		for _, p := range puts {
			if d.has(p) {
				if start < p {
					ops = append(ops, clientv3.OpDelete(start, clientv3.WithRange(p)))
				}
				start = p + "\x00"
			}
		}
		if start < d.end {
			ops = append(ops, clientv3.OpDelete(start, clientv3.WithRange(d.end)))
		}
	}
	return ops
}

// mergeSpans sorts spans and joins the ones that overlap or touch.
func mergeSpans(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b span) int { return cmpStr(a.start, b.start) })
	out := s[:1]
	for _, sp := range s[1:] {
		last := &out[len(out)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Watch returns a channel that receives (coalesced) after any committed
// write to bucket by any process, until ctx ends; it is closed then. A
// watch that breaks (etcd unreachable) is set up again.
func (s *Store) Watch(ctx context.Context, bucket []byte) <-chan struct{} {
	out := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(out)
		defer cancel()
		stop := context.AfterFunc(s.ctx, cancel)
		defer stop()
		for ctx.Err() == nil {
			wc := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.bucketPrefix(bucket), clientv3.WithPrefix())
			for resp := range wc {
				if resp.Err() != nil {
					break
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
			t := time.NewTimer(time.Second)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}()
	return out
}
