// Package publish puts the session keys a link controller activates into
// the shared-memory key store, where security plugins read them.
//
// For each (port, direction) the store holds the active key and the one
// before it (superseded: the receiver still accepts the previous epoch);
// older keys are retired, which zeroises them in the map and deletes them
// from the persistent store. A key's id is its fingerprint as a number
// (keys.Fingerprint.ID), so both ends of a link publish the same key under
// the same id, a plugin can look it up by id on either host, and the id
// printed in hex is the fingerprint the logs and otkctl show.
package publish

import (
	"fmt"
	"sync"

	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/shm"
)

// Keep is how many keys per (port, direction) stay in the store: the active
// one and the previous one.
const Keep = 2

// Publisher publishes one port's keys into a writer. Safe for concurrent use.
type Publisher struct {
	w    *shm.Writer
	port uint16
	mu   sync.Mutex
	live [2][]uint64 // ids per direction, oldest first
}

// New returns a publisher for port into w.
func New(w *shm.Writer, port uint16) *Publisher { return &Publisher{w: w, port: port} }

// Adopt records the ids the store already holds for direction dir, oldest
// first (after a restart), so that they are retired in turn.
func (p *Publisher) Adopt(dir int, ids []uint64) {
	p.mu.Lock()
	p.live[dir&1] = append(ids, p.live[dir&1]...)
	p.mu.Unlock()
}

// Publish makes ev's key the active key of its direction and retires keys
// older than the previous one. The key bytes are copied into the store and
// nowhere else.
func (p *Publisher) Publish(ev link.KeyEvent) error {
	var k shm.Key
	defer k.Zero()
	k.ID = ev.Key.Fingerprint().ID()
	k.Port, k.Dir, k.Epoch = p.port, shm.Dir(ev.Direction), ev.Epoch
	k.State, k.Alg = shm.StateActive, shm.AlgZUC128
	k.ValidFrom = ev.At.UnixNano()
	if err := k.SetMaterial(ev.Key[:]); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Put(&k); err != nil {
		return fmt.Errorf("publish: key epoch %d direction %d: %w", ev.Epoch, ev.Direction, err)
	}
	d := ev.Direction & 1
	ids := append(p.live[d], k.ID)
	for len(ids) > Keep {
		if err := p.w.Retire(ids[0]); err != nil {
			p.live[d] = ids
			return fmt.Errorf("publish: retiring key %x: %w", ids[0], err)
		}
		ids = ids[1:]
	}
	p.live[d] = ids
	return nil
}
