package mpcsvc

// Operator requests on the operator endpoint (docs/mpc.md, "Operator
// requests"): init, refresh and backup deletion change custody state, so
// they need both factors, like recovery. The local socket's routes for
// them answer 403 naming the command to use instead.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
)

// Operator requests that change custody state, served on the operator
// endpoint beside mpc.PathRecover with the same two factors (docs/mpc.md,
// "Operator requests"). Each is a POST with the TOTP code in
// mpc.HeaderTOTP.
const (
	PathOpInit    = "/mpc/v1/op/init"    // coordinate the key generation
	PathOpRefresh = "/mpc/v1/op/refresh" // coordinate a proactive refresh
	PathOpDelete  = "/mpc/v1/op/delete"  // ?id=<backup id>: delete a stored backup
)

// requireOperator serves h only for requests that auth.Authorize accepts
// (a verified client certificate of a registered operator and that
// operator's unused TOTP code in mpc.HeaderTOTP), handing h the operator's
// name; others get 401 and h never runs. A code is spent by the
// authorization, whatever h then does.
func requireOperator(auth *mpc.Authenticator, h func(w http.ResponseWriter, r *http.Request, operator string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, err := auth.Authorize(r.TLS, r.Header.Get(mpc.HeaderTOTP))
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r, op)
	})
}

var backupIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// operatorMux serves recovery and the operator requests.
func (s *Service) operatorMux(m *custody, recoverH http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(mpc.PathRecover, m.auditRecover(recoverH))
	op := func(name string, fn func(ctx context.Context, r *http.Request) (any, error)) http.Handler {
		return requireOperator(m.auth, func(w http.ResponseWriter, r *http.Request, operator string) {
			out, err := fn(r.Context(), r)
			status := http.StatusOK
			if err != nil {
				status = httpStatus(err)
				http.Error(w, err.Error(), status)
			} else {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(out)
			}
			m.log.Info("mpc operator request", "op", name, "operator", operator, "remote", r.RemoteAddr, "status", status)
		})
	}
	mux.Handle("POST "+PathOpInit, op("init", func(ctx context.Context, _ *http.Request) (any, error) {
		return m.round(ctx, false)
	}))
	mux.Handle("POST "+PathOpRefresh, op("refresh", func(ctx context.Context, _ *http.Request) (any, error) {
		return m.round(ctx, true)
	}))
	del := op("delete", func(ctx context.Context, r *http.Request) (any, error) {
		id := r.URL.Query().Get("id")
		if err := s.deleteBackup(id); err != nil {
			return nil, err
		}
		return MPCBackupResult{ID: id, Action: "delete", Status: "done"}, nil
	})
	// A malformed id is refused before the code is spent.
	mux.Handle("POST "+PathOpDelete, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("id"); !backupIDRE.MatchString(id) {
			http.Error(w, fmt.Sprintf("backup id %q: want 16 hex digits", id), http.StatusBadRequest)
			return
		}
		del.ServeHTTP(w, r)
	}))
	return mux
}

// httpStatus maps the api error kinds to status codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, api.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, api.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, api.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, api.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// operatorOnly is the local socket's answer to an operator request.
func (s *Service) operatorOnly(cmd string) error {
	node := "https://<mpc.operator_listen of a node>"
	if l := s.cfg.OperatorListen; l != "" {
		node = "https://" + strings.Replace(l, "0.0.0.0", "<this host>", 1)
	}
	return fmt.Errorf("%w: %s is an operator request: it needs an operator's client certificate and TOTP code on a node's operator endpoint: "+
		"otkctl %s --node %s --cert OP.pem --key OP.key --ca CLUSTER-CA.pem --totp CODE (or --totp-secret-file F)",
		api.ErrForbidden, cmd, cmd, node)
}
