package handshake

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package matches one of them
// with errors.Is; none of them ever carries key bytes.
var (
	// ErrAuth: the peer could not be authenticated: wrong id, wrong
	// confirmation value, a nonce that does not belong to this handshake, or a
	// point that yields no shared secret.
	ErrAuth = errors.New("handshake: authentication failed")
	// ErrMalformed: a message does not parse; the error is a *FieldError.
	ErrMalformed = errors.New("handshake: malformed message")
	// ErrState: a message arrived that is not expected in the current state,
	// or the handshake already ended.
	ErrState = errors.New("handshake: unexpected message for state")
	// ErrVersion: a message carries a protocol version this package does not
	// speak.
	ErrVersion = errors.New("handshake: unsupported version")
	// ErrKeyFile: a key file could not be used (see LoadPrivateKey).
	ErrKeyFile = errors.New("handshake: bad key file")
)

// FieldError reports which field of which message is malformed. It matches
// ErrMalformed with errors.Is.
type FieldError struct {
	Msg    MsgType // message being decoded; 0 when the header itself is bad
	Field  string  // field name as in the package documentation, e.g. "R_A"
	Reason string
}

func (e *FieldError) Error() string {
	if e.Msg == 0 {
		return fmt.Sprintf("handshake: malformed message: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("handshake: malformed %v: %s: %s", e.Msg, e.Field, e.Reason)
}

// Unwrap returns ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }

func malformed(m MsgType, field, reason string) error {
	return &FieldError{Msg: m, Field: field, Reason: reason}
}
