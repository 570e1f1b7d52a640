package daemon

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keyring"
	"github.com/otkd/otkd/ctrl/keysync"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/negotiation"
)

// TestSeedSource: the source gives the newest A→B seed that arrived before
// the current window, so two ends that got the same seeds at about the
// same time pick the same one.
func TestSeedSource(t *testing.T) {
	w := 10 * time.Second
	s := newSeedSource(time.Time{}, w)
	base := time.Unix(1_000_000, 0) // a window boundary
	now := base.Add(3 * time.Second)
	s.now = func() time.Time { return now }
	if _, _, err := s.Seed(); !errors.Is(err, errNoSeed) {
		t.Fatalf("empty source: %v", err)
	}
	seed := func(b byte, at time.Time, dir negotiation.Direction) {
		var sd negotiation.Seed
		sd[0] = b
		s.add(link.SeedEvent{Direction: dir, Seed: &sd, At: at})
	}
	seed(1, base.Add(-5*time.Second), negotiation.AtoB)
	seed(2, base.Add(-time.Second), negotiation.AtoB)
	seed(3, base.Add(-time.Second/2), negotiation.BtoA) // other direction: ignored
	seed(4, base.Add(time.Second), negotiation.AtoB)    // this window: not yet
	got, id, err := s.Seed()
	if err != nil || got[0] != 2 || id != seedID(got) || id == 0 {
		t.Fatalf("Seed = %v, %d, %v; want seed 2", got, id, err)
	}
	got[0] = 99 // a copy
	if again, _, _ := s.Seed(); again[0] != 2 {
		t.Fatal("Seed returned the held seed, not a copy")
	}
	now = base.Add(w + time.Second) // next window: seed 4 is old enough
	if got, _, _ := s.Seed(); got[0] != 4 {
		t.Fatalf("next window: seed %d, want 4", got[0])
	}
	for i := range maxHeldSeeds + 5 {
		seed(byte(10+i), base, negotiation.AtoB)
	}
	if len(s.seeds) != maxHeldSeeds {
		t.Fatalf("holds %d seeds, want at most %d", len(s.seeds), maxHeldSeeds)
	}
	s.wipe()
	if _, _, err := s.Seed(); !errors.Is(err, errNoSeed) {
		t.Fatalf("after wipe: %v", err)
	}
}

// TestErrorMapping: keyring and keysync errors reach the API with the
// status the CLI documents (404 unknown, 409 exhausted or bound, 400 bad
// input) and keep their text.
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
		{syncErr(keysync.ErrMalformed), api.ErrBadRequest},
		{syncErr(keysync.ErrEnvelope), api.ErrBadRequest},
		{syncErr(keysync.ErrWrongRecipient), api.ErrBadRequest},
		{syncErr(keysync.ErrNotRegistered), api.ErrNotFound},
		{syncErr(keysync.ErrUnknownKey), api.ErrNotFound},
		{syncErr(keysync.ErrKeyBound), api.ErrConflict},
		{syncErr(keysync.ErrDuplicateKey), api.ErrConflict},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%v: not %v", c.err, c.want)
		}
	}
	if ringErr(nil) != nil || syncErr(nil) != nil {
		t.Error("nil maps to an error")
	}
	if err := ringErr(fmt.Errorf("%w: consumer 7", keyring.ErrNotBound)); !strings.Contains(err.Error(), "consumer 7") {
		t.Errorf("text lost: %v", err)
	}
}
