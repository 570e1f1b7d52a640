package mpc

import "net/http"

// Operator requests that change custody state, served on the operator
// endpoint beside PathRecover with the same two factors (docs/mpc.md,
// "Operator requests"). Each is a POST with the TOTP code in HeaderTOTP.
const (
	PathOpInit    = "/mpc/v1/op/init"    // coordinate the key generation
	PathOpRefresh = "/mpc/v1/op/refresh" // coordinate a proactive refresh
	PathOpDelete  = "/mpc/v1/op/delete"  // ?id=<backup id>: delete a stored backup
)

// RequireOperator serves h only for requests that auth.Authorize accepts
// (a verified client certificate of a registered operator and that
// operator's unused TOTP code in HeaderTOTP), handing h the operator's
// name; others get 401 and h never runs. A code is spent by the
// authorization, whatever h then does.
func RequireOperator(auth *Authenticator, h func(w http.ResponseWriter, r *http.Request, operator string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, err := auth.Authorize(r.TLS, r.Header.Get(HeaderTOTP))
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r, op)
	})
}
