package negotiation

import (
	"errors"
	"fmt"
)

var (
	// ErrParams reports invalid Params.
	ErrParams = errors.New("negotiation: invalid parameters")
	// ErrMalformed reports a message that does not decode; the concrete
	// error is a *FieldError naming the field.
	ErrMalformed = errors.New("negotiation: malformed message")
	// ErrUnexpected reports a well-formed message that does not fit the
	// machine's state (wrong type, attempt or block: lost, duplicated or
	// reordered). The state is unchanged.
	ErrUnexpected = errors.New("negotiation: unexpected message")
	// ErrMismatch reports a message whose content contradicts the local
	// state (e.g. a bit count or leak total the receiver does not share);
	// the state is unchanged.
	ErrMismatch = errors.New("negotiation: message contradicts local state")
	// ErrRound reports a rejected Add (duplicate round id or count out of
	// range).
	ErrRound = errors.New("negotiation: bad round")
	// ErrBusy reports a request that must wait until the machine is
	// between blocks.
	ErrBusy = errors.New("negotiation: busy with a block")
)

// FieldError is a decoding error naming the message and field at fault.
type FieldError struct {
	Msg    string // message type name
	Field  string // field name
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("negotiation: malformed %s: field %s: %s", e.Msg, e.Field, e.Reason)
}

// Unwrap returns ErrMalformed.
func (e *FieldError) Unwrap() error { return ErrMalformed }

func malformed(msg, field, format string, args ...any) error {
	return &FieldError{Msg: msg, Field: field, Reason: fmt.Sprintf(format, args...)}
}
