package keyringsvc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keyring"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/internal/keys"
)

// TestSeedSource: the source gives a copy of the newest A→B seed, at once
// (a new pool fills its current ring from the link's first seed), and
// signals each arrival.
func TestSeedSource(t *testing.T) {
	s := newSeedSource()
	s.arrived = make(chan struct{}, 1)
	if _, _, err := s.Seed(); !errors.Is(err, errNoSeed) {
		t.Fatalf("empty source: %v", err)
	}
	base := time.Unix(1_000_000, 0)
	seed := func(b byte, at time.Time, dir keys.Direction) {
		var sd keys.Seed
		sd[0] = b
		s.add(link.SeedEvent{Direction: dir, Seed: &sd, At: at})
	}
	seed(1, base, keys.BtoA) // other direction: ignored
	if _, _, err := s.Seed(); !errors.Is(err, errNoSeed) || len(s.arrived) != 0 {
		t.Fatalf("after a B→A seed: %v, arrival signalled %v", err, len(s.arrived) != 0)
	}
	seed(2, base.Add(time.Second), keys.AtoB)
	if len(s.arrived) != 1 {
		t.Fatal("arrival not signalled")
	}
	<-s.arrived
	seed(3, base.Add(2*time.Second), keys.AtoB)
	seed(4, base.Add(3*time.Second), keys.BtoA)
	got, id, err := s.Seed()
	if err != nil || got[0] != 3 || id != (got).ID() || id == 0 {
		t.Fatalf("Seed = %v, %d, %v; want seed 3", got, id, err)
	}
	got[0] = 99 // a copy
	if again, _, _ := s.Seed(); again[0] != 3 {
		t.Fatal("Seed returned the held seed, not a copy")
	}
	for i := range maxHeldSeeds + 5 {
		seed(byte(10+i), base, keys.AtoB)
	}
	if len(s.seeds) != maxHeldSeeds {
		t.Fatalf("holds %d seeds, want at most %d", len(s.seeds), maxHeldSeeds)
	}
	s.wipe()
	if _, _, err := s.Seed(); !errors.Is(err, errNoSeed) {
		t.Fatalf("after wipe: %v", err)
	}
}

// TestErrorMapping: keyring errors reach the API with the status the CLI
// documents (404 unknown, 409 exhausted, 400 bad input) and keep their
// text (keysyncsvc has the same test for key sync's).
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{ringErr(fmt.Errorf("%w: consumer 7", keyring.ErrNotBound)), api.ErrNotFound},
		{ringErr(keyring.ErrExhausted), api.ErrConflict},
		{ringErr(keyring.ErrNotFilled), api.ErrConflict},
		{ringErr(keyring.ErrBusy), api.ErrConflict},
		{ringErr(keyring.ErrConsumer), api.ErrBadRequest},
		{ringErr(keyring.ErrConfig), api.ErrBadRequest},
		{ringErr(keyring.ErrNoRing), api.ErrBadRequest},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%v: not %v", c.err, c.want)
		}
	}
	if ringErr(nil) != nil {
		t.Error("nil maps to an error")
	}
	if err := ringErr(fmt.Errorf("%w: consumer 7", keyring.ErrNotBound)); !strings.Contains(err.Error(), "consumer 7") {
		t.Errorf("text lost: %v", err)
	}
}
