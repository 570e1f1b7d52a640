package keyring

import (
	"errors"
	"strings"
	"testing"
)

// TestFailedPublishUnbindsAtPeer: a connect whose binding was persisted
// and sent to the peer but whose key could not be published retires the
// slot and tells the peer (an unbind of the same key after the bind), so
// the peer's ring does not keep a binding this end gave up.
func TestFailedPublishUnbindsAtPeer(t *testing.T) {
	e := newEnv(t, 2, 16, 0)
	e.maintain()
	e.k.Close()
	k, err := Open(e.cfg, e.db, failPut{e.w}, e.src)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Connect(1); err == nil || !strings.Contains(err.Error(), "map full") {
		t.Fatalf("connect with a failing map: %v", err)
	}
	e.smu.Lock()
	var ms []SyncMsg
	for _, m := range e.syncs {
		if m.Op != OpFill && m.Consumer == 1 {
			ms = append(ms, m)
		}
	}
	e.smu.Unlock()
	if len(ms) != 2 || ms[0].Op != OpBind || ms[1].Op != OpUnbind || ms[1].KeyID != ms[0].KeyID || ms[1].Seq <= ms[0].Seq {
		t.Fatalf("messages for consumer 1: %v, want bind then unbind of the same key", ms)
	}
	if err := k.Disconnect(1); !errors.Is(err, ErrNotBound) {
		t.Fatalf("consumer 1 still bound after the failed connect: %v", err)
	}
}
