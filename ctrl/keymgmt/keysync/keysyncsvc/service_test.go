package keysyncsvc

import (
	"errors"
	"testing"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/keysync"
)

// TestErrorMapping: key-sync errors reach the API with the status the CLI
// documents (404 unknown, 409 bound or duplicate, 400 bad input).
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
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
	if syncErr(nil) != nil {
		t.Error("nil maps to an error")
	}
}
