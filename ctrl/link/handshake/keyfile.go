package handshake

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// maxKeyFileSize bounds what the loaders read; a PEM SM2 key is ~250 bytes.
const maxKeyFileSize = 64 << 10

// PEM block types of the key files.
const (
	pemPrivate = "PRIVATE KEY" // PKCS#8
	pemPublic  = "PUBLIC KEY"  // PKIX SubjectPublicKeyInfo
)

// keyFileError wraps ErrKeyFile with the path and a reason. Reasons never
// contain key bytes.
func keyFileError(path, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrKeyFile, path, fmt.Sprintf(format, args...))
}

// readKeyFile opens path, checks that it is a regular file whose permission
// bits have none of badPerm set, and returns its content.
func readKeyFile(path string, badPerm fs.FileMode, want string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err) // *PathError names the path
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if !st.Mode().IsRegular() {
		return nil, keyFileError(path, "not a regular file (%v)", st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&badPerm != 0 {
		return nil, keyFileError(path, "mode %04o is too open, want %s", perm, want)
	}
	if st.Size() > maxKeyFileSize {
		return nil, keyFileError(path, "%d bytes, larger than any key file (max %d)", st.Size(), maxKeyFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, keyFileError(path, "larger than any key file (max %d bytes)", maxKeyFileSize)
	}
	return data, nil
}

// decodePEM returns the DER of the single PEM block of type typ in data.
func decodePEM(path string, data []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, keyFileError(path, "no PEM block found, want %q", typ)
	}
	if block.Type != typ {
		return nil, keyFileError(path, "PEM block %q, want %q", block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, keyFileError(path, "PEM headers present (encrypted keys are not supported)")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, keyFileError(path, "data after the PEM block")
	}
	return block.Bytes, nil
}

// LoadPrivateKey reads an SM2 private key from a PEM file holding one
// unencrypted PKCS#8 "PRIVATE KEY" block. The file must be a regular file
// that neither group nor others can access (mode 0600 or 0400). Errors wrap
// ErrKeyFile, name the path and never contain key bytes.
func LoadPrivateKey(path string) (*sm2.PrivateKey, error) {
	data, err := readKeyFile(path, 0o077, "0600 or 0400")
	if err != nil {
		return nil, err
	}
	defer clear(data)
	der, err := decodePEM(path, data, pemPrivate)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	key, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, keyFileError(path, "not a PKCS#8 private key")
	}
	priv, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, keyFileError(path, "%T is not an SM2 private key", key)
	}
	return priv, nil
}

// LoadPublicKey reads an SM2 public key from a PEM file holding one PKIX
// "PUBLIC KEY" block. The file must be a regular file that neither group nor
// others can write (a pinned key that others can replace pins nothing).
// Errors wrap ErrKeyFile and name the path.
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	data, err := readKeyFile(path, 0o022, "no group or other write permission")
	if err != nil {
		return nil, err
	}
	der, err := decodePEM(path, data, pemPublic)
	if err != nil {
		return nil, err
	}
	key, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, keyFileError(path, "not a PKIX public key: %v", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, keyFileError(path, "%T is not an SM2 public key", key)
	}
	return pub, nil
}

// LoadIdentity returns the Identity id with the private key from path.
func LoadIdentity(id, path string) (Identity, error) {
	if err := CheckID(id); err != nil {
		return Identity{}, err
	}
	priv, err := LoadPrivateKey(path)
	if err != nil {
		return Identity{}, err
	}
	return Identity{ID: id, Priv: priv}, nil
}

// LoadPeer returns the Peer id with the pinned public key from path.
func LoadPeer(id, path string) (Peer, error) {
	if err := CheckID(id); err != nil {
		return Peer{}, err
	}
	pub, err := LoadPublicKey(path)
	if err != nil {
		return Peer{}, err
	}
	return Peer{ID: id, Pub: pub}, nil
}

// Generate returns a new Identity with a fresh SM2 key, for tests and key
// tools. rand nil means crypto/rand.Reader.
func Generate(id string, rand io.Reader) (Identity, error) {
	if err := CheckID(id); err != nil {
		return Identity{}, err
	}
	if rand == nil {
		rand = cryptoRand()
	}
	priv, err := sm2.GenerateKey(rand)
	if err != nil {
		return Identity{}, fmt.Errorf("handshake: generate SM2 key: %w", err)
	}
	return Identity{ID: id, Priv: priv}, nil
}

// WritePrivateKey writes priv to a new file at path as PEM PKCS#8 with mode
// 0600. It refuses to overwrite an existing file.
func WritePrivateKey(path string, priv *sm2.PrivateKey) error {
	if priv == nil {
		return errors.New("handshake: WritePrivateKey: nil key")
	}
	der, err := smx509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("handshake: encode private key: %w", err)
	}
	defer clear(der)
	return writeNew(path, 0o600, &pem.Block{Type: pemPrivate, Bytes: der})
}

// WritePublicKey writes pub to a new file at path as PEM PKIX with mode 0644.
// It refuses to overwrite an existing file.
func WritePublicKey(path string, pub *ecdsa.PublicKey) error {
	if pub == nil {
		return errors.New("handshake: WritePublicKey: nil key")
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("handshake: encode public key: %w", err)
	}
	return writeNew(path, 0o644, &pem.Block{Type: pemPublic, Bytes: der})
}

func writeNew(path string, perm fs.FileMode, b *pem.Block) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
