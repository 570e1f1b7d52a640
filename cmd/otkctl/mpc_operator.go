package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/keymgmt/mpc"
)

// opFlags are the flags of a request to a node's operator endpoint: its
// URL, the operator's client certificate and TOTP code.
type opFlags struct {
	node, cert, key, ca, code, secretFile *string
}

func addOpFlags(fs *pflag.FlagSet) *opFlags {
	return &opFlags{
		node:       fs.String("node", "", "the operator endpoint of a node, https://host:port; required"),
		cert:       fs.String("cert", "", "the operator's client certificate (PEM); required"),
		key:        fs.String("key", "", "the operator's client key (PEM); required"),
		ca:         fs.String("ca", "", "the CA that issued the node's certificate (the cluster CA, PEM); required"),
		code:       fs.String("totp", "", "the operator's current TOTP code"),
		secretFile: fs.String("totp-secret-file", "", "compute the TOTP code from this base32 secret file instead of --totp"),
	}
}

// check reports missing or malformed flags as usage errors of cmd.
func (o *opFlags) check(cmd string) error {
	switch {
	case *o.node == "" || *o.cert == "" || *o.key == "" || *o.ca == "":
		return usagef("%s: --node, --cert, --key and --ca are required (an operator request needs the operator's client certificate and TOTP code)", cmd)
	case (*o.code == "") == (*o.secretFile == ""):
		return usagef("%s: give --totp or --totp-secret-file", cmd)
	}
	if u, err := url.Parse(*o.node); err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return usagef("%s: --node %q: want https://host:port", cmd, *o.node)
	}
	return nil
}

// dial returns the mutual-TLS client, the node's base URL and the code.
func (o *opFlags) dial(cmd string) (*http.Client, string, string, error) {
	totp := *o.code
	if *o.secretFile != "" {
		var err error
		if totp, err = totpFromFile(cmd, *o.secretFile); err != nil {
			return nil, "", "", err
		}
	}
	client, err := operatorClient(cmd, *o.cert, *o.key, *o.ca)
	if err != nil {
		return nil, "", "", err
	}
	return client, strings.TrimSuffix(*o.node, "/"), totp, nil
}

// post sends an operator request (path with its query) and decodes the
// JSON answer into out.
func (o *opFlags) post(ctx context.Context, cmd, path string, out any) error {
	client, node, totp, err := o.dial(cmd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, node+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set(mpc.HeaderTOTP, totp)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", cmd, node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s: %s: %w", cmd, node, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(out); err != nil {
			return fmt.Errorf("%s: %s: unreadable answer: %w", cmd, node, err)
		}
		return nil
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: operator not authenticated: the client certificate or the TOTP code was refused (a code is accepted once)", cmd)
	}
	return fmt.Errorf("%s: %s: %s", cmd, resp.Status, strings.TrimSpace(string(body)))
}

func totpFromFile(cmd, path string) (string, error) {
	secret, err := readTOTPSecret(path)
	if err != nil {
		if errors.Is(err, errNotBase32) {
			return "", dataf("%s: --totp-secret-file %s: not base32 text", cmd, path)
		}
		return "", fmt.Errorf("%s: %w", cmd, err)
	}
	defer clear(secret)
	return mpc.TOTP(secret, time.Now()), nil
}

var errNotBase32 = errors.New("not base32 text")

func readTOTPSecret(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	text := strings.TrimRight(strings.ToUpper(strings.Join(strings.Fields(string(raw)), "")), "=")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(text)
	if err != nil {
		return nil, errNotBase32
	}
	return secret, nil
}
