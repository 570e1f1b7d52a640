package mpc

import (
	"crypto/subtle"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
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

// totpOpts are the code parameters for github.com/pquerna/otp, which
// computes the codes (RFC 4226 HOTP of the time step). Which step a code
// matched, the single use of each step and the lockout stay here: the
// library's TOTP validation does not say which step matched.
var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

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
	code, _ := hotpCode(base32.StdEncoding.EncodeToString(secret), totpCounter(now), totpOpts)
	return code
}

func totpCounter(now time.Time) uint64 {
	return uint64(now.Unix()) / uint64(totpStep/time.Second)
}

// hotpCode is the RFC 4226 code of the base32 secret for counter; ok is
// false (and the code empty) only if the library refuses the secret.
func hotpCode(secret32 string, counter uint64, opts hotp.ValidateOpts) (code string, ok bool) {
	code, err := hotp.GenerateCodeCustom(secret32, counter, opts)
	return code, err == nil && code != ""
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
	secret   string // base32, as github.com/pquerna/otp takes it
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
	a.ops[name] = &operator{secret: base32.StdEncoding.EncodeToString(totpSecret)}
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
	now := totpCounter(t)
	for d := -totpSkew; d <= totpSkew; d++ {
		step := now + uint64(d)
		want, ok := hotpCode(op.secret, step, totpOpts)
		if ok && len(code) == totpDigits && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
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
