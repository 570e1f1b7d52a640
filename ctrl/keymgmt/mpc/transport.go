package mpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// HTTP paths and header of the node and operator endpoints.
const (
	PathPartial = "/mpc/v1/partial"
	PathRecover = "/mpc/v1/recover"
	HeaderTOTP  = "Otkd-Totp"
)

// maxBody bounds a request body (a backup ciphertext) and a partial reply.
const maxBody = 64 << 10

// MutualTLS returns a TLS 1.3 configuration that presents cert and, as a
// server, requires and verifies a client certificate issued by clientCAs; as
// a client it verifies servers against serverCAs. Either pool may be nil for
// a config used only on one side.
func MutualTLS(cert tls.Certificate, clientCAs, serverCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		RootCAs:      serverCAs,
	}
}

// PartialHandler serves nd's partial decryptions: POST PathPartial with the
// backup ciphertext as body returns the encoded Partial. It refuses requests
// that did not arrive over TLS with a verified client certificate; serve it
// with a MutualTLS config whose client CAs are the cluster's.
func PartialHandler(nd *Node) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathPartial, func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "client certificate required", http.StatusUnauthorized)
			return
		}
		ct, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		p, err := nd.PartialDecrypt(ct)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		b, _ := p.MarshalBinary()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	return mux
}

// FetchPartial asks the node at baseURL (https://host:port) for its partial
// decryption of ct. client must carry a MutualTLS configuration.
func FetchPartial(ctx context.Context, client *http.Client, baseURL string, ct []byte) (*Partial, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+PathPartial, bytes.NewReader(ct))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mpc: partial from %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("mpc: partial from %s: %w", baseURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mpc: partial from %s: %s", baseURL, resp.Status)
	}
	p := &Partial{}
	if err := p.UnmarshalBinary(body); err != nil {
		return nil, fmt.Errorf("mpc: partial from %s: %w", baseURL, err)
	}
	return p, nil
}

// RecoverHandler is the operator's recovery endpoint: POST PathRecover with
// the backup ciphertext as body and the TOTP code in HeaderTOTP. It requires
// both factors (auth.Authorize on the verified client certificate and the
// code), asks every node in nodes for a partial over client (mutual TLS),
// combines them under pub() and returns the plaintext. Replies: 401 for a
// failed authentication, 503 when fewer than t nodes gave a valid partial,
// 422 for a ciphertext that does not decrypt.
func RecoverHandler(auth *Authenticator, pub func() *PublicState, client *http.Client, nodes []string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathRecover, func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Authorize(r.TLS, r.Header.Get(HeaderTOTP)); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ct, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		rec, err := Combine(pub(), ct, gather(r.Context(), client, nodes, ct))
		switch {
		case errors.Is(err, ErrNotEnough):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(rec.Plaintext)
			clear(rec.Plaintext)
		}
	})
	return mux
}

// gather fetches partials from all nodes in parallel; unreachable nodes and
// malformed replies are skipped (Combine judges the rest).
func gather(ctx context.Context, client *http.Client, nodes []string, ct []byte) []*Partial {
	out := make([]*Partial, len(nodes))
	var wg sync.WaitGroup
	for i, u := range nodes {
		wg.Go(func() {
			if p, err := FetchPartial(ctx, client, u, ct); err == nil {
				out[i] = p
			}
		})
	}
	wg.Wait()
	return out
}
