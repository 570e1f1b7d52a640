// Package keyring hands keys from time-windowed keyrings to consumers
// (security-plugin sessions, each with a non-zero consumer id) and binds
// them, as docs/keyring.md describes.
//
// A Keyring is one consumer pool: R ≥ 2 rings of KeysPerRing keys; window n
// (of length W, counted from Origin) belongs to ring n mod R. The flow:
//
//	Connect(c)    ring of the current window (filled first if it is not
//	              filled for it, has no bindings and this end picks seeds)
//	              → first free slot of this
//	              end's half → publish the key into the shared-memory store,
//	              bound to c → persist binding and bind message (kstore
//	              Batch) → OnSync(bind)
//	Disconnect(c) persist "slot used, unbound" → Retire the key in the
//	              map (zeroised) → OnSync(unbind)
//	Maintain()    every ring with no bindings that is not filled for the
//	              window it serves next is refilled from a SeedSource
//	              (end A; end B with Follow fills on A's fill messages)
//	ApplySync(m)  the peer's message, applied once and in order, checked
//	              against this end's keys, acknowledged
//	Resend()      the messages the peer has not acknowledged, again
//
// Guarantees: a key is bound to at most one consumer and never handed out
// twice, not even after its consumer released it (a used slot stays used
// until its ring is refilled with a new seed); an exhausted ring is
// ErrExhausted and counted, never a reused key. A connect that must wait
// (ErrExhausted, ErrNotFilled) gets a *WaitError naming the time it must
// wait until. A connect publishes its
// key before it stores the binding or tells the peer: one whose key the
// map cannot take (full, or failing) leaves no binding at either end and
// sends nothing, and one whose binding cannot be stored takes the key out
// of the map again; a peer's bind that this end cannot publish is not
// acknowledged, so the peer's resend applies it once there is room. A
// release is persisted before it is published. After a crash Open
// republishes every bound key, retires every released one, and retires
// the pending keys no binding names (a connect that crashed between its
// publish and its store). Keys are derived deterministically
// from a negotiated seed and (ring, epoch, slot), so both ends of the link
// hold the same keyring; each end allocates from its own half of the slots
// (Config.Side) and tells the other with a SyncMsg. Sync messages are
// stored with the change they report and kept until the peer acknowledges
// them, so none is lost with a session and none is applied twice; a
// consumer bound to different keys at the two ends gets end A's (end B
// yields); end B fills its rings as end A's fill messages say, by seed id
// (docs/keyring.md, "Two ends, one keyring"). Seeds are kept sealed
// (SM4-GCM under Config.KEK) in the store and zeroised in memory on Close;
// key bytes never appear in errors, String output or the store.
//
// A Keyring is safe for concurrent use. Allocation is decided under one
// mutex; persisting and publishing run outside it, so concurrent connects
// share fsyncs. Refill holds the mutex for its one store transaction.
//
// Consumer ids are those of the shared-memory store: unique across every
// pool that publishes into the same writer.
package keyring
