package mpc

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrUnauthenticated is returned for any failed operator authentication; the
// reason is wrapped but never the code or secret.
var ErrUnauthenticated = errors.New("mpc: operator not authenticated")

// TOTP parameters (RFC 6238 with the defaults of common authenticator apps):
// HMAC-SHA1, 30-second steps, 6 digits, one step of clock skew either way.
const (
	totpStep   = 30 * time.Second
	totpDigits = 6
	totpSkew   = 1
)

// Lockout after wrong codes: an operator who sends MaxTOTPFailures wrong
// codes in a row is refused, right code or not, for TOTPLockout. With 3
// codes valid at a time out of 10^6, this bounds a guesser holding a
// stolen operator certificate to 5 guesses per 5 minutes.
const (
	MaxTOTPFailures = 5
	TOTPLockout     = 5 * time.Minute
)

// TOTP returns the code of secret for the time step containing now.
func TOTP(secret []byte, now time.Time) string {
	return hotp(secret, uint64(now.Unix())/uint64(totpStep/time.Second))
}

// hotp is RFC 4226 with dynamic truncation.
func hotp(secret []byte, counter uint64) string {
	m := hmac.New(sha1.New, secret)
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%0*d", totpDigits, v%1_000_000)
}

// Authenticator checks the two factors of an operator request: a client
// certificate verified by the TLS layer (tls.RequireAndVerifyClientCert
// against the operators' CA) whose subject common name is a registered
// operator, and a TOTP code of that operator's secret. A code is accepted
// once: a replay within its validity window fails. The zero value is not
// usable; use NewAuthenticator. Safe for concurrent use.
type Authenticator struct {
	mu       sync.Mutex
	ops      map[string]*operator
	now      func() time.Time
	onAccept func(name string, step uint64) error
}

type operator struct {
	secret   []byte
	lastStep uint64 // last accepted time step; codes at or before it are refused
	failures int    // wrong codes in a row
	locked   time.Time
}

// NewAuthenticator returns an authenticator without operators; now nil means
// time.Now.
func NewAuthenticator(now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{ops: map[string]*operator{}, now: now}
}

// AddOperator registers the operator whose client certificate has the common
// name name, with its TOTP secret (at least 16 bytes; copied).
func (a *Authenticator) AddOperator(name string, totpSecret []byte) error {
	if name == "" || len(totpSecret) < 16 {
		return errors.New("mpc: operator needs a name and a TOTP secret of ≥ 16 bytes")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ops[name] = &operator{secret: append([]byte(nil), totpSecret...)}
	return nil
}

// OnAccept sets fn to be called, under the authenticator's lock, with the
// operator and time step of every code about to be accepted, so that the
// caller persists the step (SetLastStep restores it after a restart and a
// code stays single-use across restarts). An error from fn refuses the
// request. Set it before the authenticator is used.
func (a *Authenticator) OnAccept(fn func(name string, step uint64) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onAccept = fn
}

// SetLastStep restores the last accepted time step of a registered operator
// (what OnAccept was given); codes at or before it are refused.
func (a *Authenticator) SetLastStep(name string, step uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	op, ok := a.ops[name]
	if !ok {
		return fmt.Errorf("mpc: no operator %q", name)
	}
	op.lastStep = max(op.lastStep, step)
	return nil
}

// Authorize returns the operator's name when cs carries a verified client
// certificate of a registered operator and code is that operator's current
// TOTP code, not used before.
func (a *Authenticator) Authorize(cs *tls.ConnectionState, code string) (string, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", fmt.Errorf("%w: no verified client certificate", ErrUnauthenticated)
	}
	name := cs.VerifiedChains[0][0].Subject.CommonName
	a.mu.Lock()
	defer a.mu.Unlock()
	op, ok := a.ops[name]
	if !ok {
		return "", fmt.Errorf("%w: unknown operator", ErrUnauthenticated)
	}
	t := a.now()
	if t.Before(op.locked) {
		return "", fmt.Errorf("%w: locked after %d wrong codes", ErrUnauthenticated, MaxTOTPFailures)
	}
	now := uint64(t.Unix()) / uint64(totpStep/time.Second)
	for d := -totpSkew; d <= totpSkew; d++ {
		step := now + uint64(d)
		if subtle.ConstantTimeCompare([]byte(hotp(op.secret, step)), []byte(code)) == 1 {
			if step <= op.lastStep {
				return "", fmt.Errorf("%w: code already used", ErrUnauthenticated)
			}
			if a.onAccept != nil {
				if err := a.onAccept(name, step); err != nil {
					return "", fmt.Errorf("%w: recording the code's use: %v", ErrUnauthenticated, err)
				}
			}
			op.lastStep, op.failures = step, 0
			return name, nil
		}
	}
	if op.failures++; op.failures >= MaxTOTPFailures {
		op.failures, op.locked = 0, t.Add(TOTPLockout)
	}
	return "", fmt.Errorf("%w: wrong code", ErrUnauthenticated)
}
