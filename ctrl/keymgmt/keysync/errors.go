package keysync

import "errors"

// Errors of the package; returned errors wrap one of these (errors.Is).
var (
	ErrMalformed      = errors.New("keysync: malformed key file")
	ErrWrongRecipient = errors.New("keysync: key file is enveloped to another node")
	ErrEnvelope       = errors.New("keysync: key file envelope does not authenticate")
	ErrDuplicateKey   = errors.New("keysync: key id already imported")
	ErrBadKeyID       = errors.New("keysync: malformed key id")
	ErrBadIdentity    = errors.New("keysync: malformed subscriber identity")
	ErrBadApp         = errors.New("keysync: malformed application id")
	ErrUnknownApp     = errors.New("keysync: no platform configured for the application")
	ErrNotRegistered  = errors.New("keysync: identity not registered for the application")
	ErrAppRequired    = errors.New("keysync: identity holds several applications; name one")
	ErrUnknownKey     = errors.New("keysync: unknown key id")
	ErrKeyBound       = errors.New("keysync: key already bound")
	ErrTooLarge       = errors.New("keysync: key file too large for the store")
)
