package keyring_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/keymgmt/kstore"
	"github.com/otkd/otkd/internal/keys"
	"github.com/otkd/otkd/shm"
)

// fixedSeed stands in for the link's negotiated seeds.
type fixedSeed struct{}

func (fixedSeed) Seed() (*keys.Seed, uint64, error) {
	var s keys.Seed
	s[0] = 1
	return &s, 1, nil
}

func Example() {
	dir, _ := os.MkdirTemp("", "keyring")
	defer os.RemoveAll(dir)
	db, _ := kstore.Open(filepath.Join(dir, "ctrl.db"), nil)
	defer db.Close()
	w, _ := shm.Create(shm.Options{Path: filepath.Join(dir, "keys"), Slots: 64, Heartbeat: -1}, nil)
	defer w.Close()

	// Sessions last up to 2 h: with 2 rings, windows of 2 h.
	plan, _ := keyring.ComputePlan([]keyring.Session{
		{Start: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
	}, keyring.PlanOptions{Spare: 3})
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	k, err := keyring.Open(keyring.Config{
		Pool: "trains", Rings: plan.Rings, Window: plan.Window, KeysPerRing: plan.KeysPerRing,
		KEK: bytes.Repeat([]byte{1}, 16), Now: func() time.Time { return now },
	}, db, w, fixedSeed{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()
	k.Maintain() // fill the rings
	info, _ := k.Connect(7)
	fmt.Printf("W=%v R=%d K=%d; consumer 7: ring %d slot %d, valid %s..%s\n", plan.Window, plan.Rings, plan.KeysPerRing,
		info.Ring, info.Slot, info.ValidFrom.UTC().Format("15:04"), info.ValidTo.UTC().Format("15:04"))
	k.Disconnect(7)
	st, _ := k.Status()
	fmt.Printf("ring %d: %d free, %d bound, %d used\n", st.Current, st.Rings[st.Current].Free, st.Rings[st.Current].Bound, st.Rings[st.Current].Retired)
	// Output:
	// W=2h0m0s R=2 K=8; consumer 7: ring 0 slot 0, valid 08:00..12:00
	// ring 0: 3 free, 0 bound, 1 used
}
