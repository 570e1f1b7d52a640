package keysync

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/otkd/otkd/internal/keys"
)

// Key file layout, version 1 (all integers big-endian; docs/keysync.md):
//
//	off      size  field
//	0        4     magic "OKSF"
//	4        1     version = 1
//	5        32    recipient fingerprint = SM3(0x04 || X || Y) of the node's SM2 public key
//	37       2     n = length of the SM2 ciphertext, always 113
//	39       n     SM2 ciphertext (C1 uncompressed || C3 || C2) of the 16-byte SM4 content key
//	39+n     12    SM4-GCM nonce
//	51+n     rest  SM4-GCM ciphertext || 16-byte tag of the record block;
//	               additional data = bytes 0 .. 51+n (the whole header)
//
// Record block (plaintext): count uint32 (1..MaxRecords), then count times:
// id length uint8 (1..64), id (KeyID format), key length uint8 (16..64), key.
// Nothing may follow the last record.
const (
	fileMagic     = "OKSF"
	fileVersion   = 1
	fpLen         = sm3.Size
	contentKeyLen = 16
	sm2CTLen      = 65 + sm3.Size + contentKeyLen // C1 || C3 || C2
	nonceLen      = 12
	tagLen        = 16
	headerLen     = 4 + 1 + fpLen + 2 + sm2CTLen + nonceLen

	// MaxFileSize bounds an imported key file.
	MaxFileSize = 16 << 20
	// MaxRecords bounds the records of one key file.
	MaxRecords = 1 << 20
	// MinKeyLen and MaxKeyLen bound the length of one key.
	MinKeyLen = 16
	MaxKeyLen = 64
)

// Record is one key of a vendor's key file.
type Record struct {
	ID  string // key id, KeyID format
	Key []byte // the key bytes (MinKeyLen..MaxKeyLen)
}

// Envelope is a structurally parsed key file, not yet decrypted.
type Envelope struct {
	Recipient  [32]byte // keys.PublicDigest of the recipient's public key
	WrappedKey []byte   // SM2 ciphertext of the content key
	Nonce      []byte   // SM4-GCM nonce
	Sealed     []byte   // SM4-GCM ciphertext || tag of the record block
	header     []byte   // additional data of the GCM seal
}

// ParseKeyFile checks the structure of a key file and splits it into its
// fields. It never decrypts; errors wrap ErrMalformed. The returned
// Envelope aliases data.
func ParseKeyFile(data []byte) (*Envelope, error) {
	switch {
	case len(data) > MaxFileSize:
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(data), MaxFileSize)
	case len(data) < headerLen+tagLen:
		return nil, fmt.Errorf("%w: %d bytes, at least %d", ErrMalformed, len(data), headerLen+tagLen)
	case string(data[:4]) != fileMagic:
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	case data[4] != fileVersion:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, data[4], fileVersion)
	}
	if n := binary.BigEndian.Uint16(data[37:39]); n != sm2CTLen {
		return nil, fmt.Errorf("%w: wrapped key of %d bytes, want %d", ErrMalformed, n, sm2CTLen)
	}
	e := &Envelope{
		WrappedKey: data[39 : 39+sm2CTLen],
		Nonce:      data[39+sm2CTLen : headerLen],
		Sealed:     data[headerLen:],
		header:     data[:headerLen],
	}
	copy(e.Recipient[:], data[5:37])
	return e, nil
}

// Open decrypts the envelope with the recipient's private key and parses its
// records. A key file for another node fails with ErrWrongRecipient, a
// damaged or forged one with ErrEnvelope, a bad record block with
// ErrMalformed. The caller should clear the returned keys when done.
func (e *Envelope) Open(priv *sm2.PrivateKey) ([]Record, error) {
	if keys.PublicDigest(&priv.PublicKey) != e.Recipient {
		return nil, fmt.Errorf("%w: file is for %x", ErrWrongRecipient, e.Recipient[:8])
	}
	ck, err := sm2.Decrypt(priv, e.WrappedKey)
	if err != nil || len(ck) != contentKeyLen {
		return nil, fmt.Errorf("%w: content key does not decrypt", ErrEnvelope)
	}
	defer clear(ck)
	aead, err := newGCM(ck)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, e.Nonce, e.Sealed, e.header)
	if err != nil {
		return nil, fmt.Errorf("%w: record block fails authentication", ErrEnvelope)
	}
	defer clear(plain)
	return parseRecords(plain)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// parseRecords parses a record block; the keys are copied out of plain.
func parseRecords(plain []byte) ([]Record, error) {
	if len(plain) < 4 {
		return nil, fmt.Errorf("%w: record block of %d bytes", ErrMalformed, len(plain))
	}
	count := binary.BigEndian.Uint32(plain)
	if count == 0 || count > MaxRecords {
		return nil, fmt.Errorf("%w: %d records, want 1..%d", ErrMalformed, count, MaxRecords)
	}
	r := bytes.NewReader(plain[4:])
	recs := make([]Record, 0, min(int(count), len(plain)/(2+1+MinKeyLen)))
	seen := make(map[string]bool)
	for i := range int(count) {
		id, err := readField(r, 1, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d id: %v", ErrMalformed, i, err)
		}
		if err := CheckKeyID(string(id)); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if seen[string(id)] {
			return nil, fmt.Errorf("%w: key id %q twice in the file", ErrMalformed, id)
		}
		seen[string(id)] = true
		key, err := readField(r, MinKeyLen, MaxKeyLen)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d (%q) key: %v", ErrMalformed, i, id, err)
		}
		recs = append(recs, Record{ID: string(id), Key: key})
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrMalformed, r.Len())
	}
	return recs, nil
}

func readField(r *bytes.Reader, lo, hi int) ([]byte, error) {
	n, err := r.ReadByte()
	if err != nil {
		return nil, errors.New("truncated")
	}
	if int(n) < lo || int(n) > hi {
		return nil, fmt.Errorf("length %d, want %d..%d", n, lo, hi)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, errors.New("truncated")
	}
	return b, nil
}

// BuildKeyFile writes a key file of recs for the holder of the SM2 public
// key to, as a vendor would (tests and tools). rand supplies the content
// key, the nonce and the SM2 randomness.
func BuildKeyFile(rand io.Reader, to *ecdsa.PublicKey, recs []Record) ([]byte, error) {
	block, err := encodeRecords(recs)
	if err != nil {
		return nil, err
	}
	defer clear(block)
	ck := make([]byte, contentKeyLen)
	defer clear(ck)
	if _, err := io.ReadFull(rand, ck); err != nil {
		return nil, err
	}
	wrapped, err := sm2.Encrypt(rand, to, ck, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	if err != nil {
		return nil, fmt.Errorf("keysync: wrap content key: %w", err)
	}
	if len(wrapped) != sm2CTLen {
		return nil, fmt.Errorf("keysync: wrapped key of %d bytes, want %d", len(wrapped), sm2CTLen)
	}
	fp := keys.PublicDigest(to)
	out := make([]byte, 0, headerLen+len(block)+tagLen)
	out = append(out, fileMagic...)
	out = append(out, fileVersion)
	out = append(out, fp[:]...)
	out = binary.BigEndian.AppendUint16(out, sm2CTLen)
	out = append(out, wrapped...)
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	aead, err := newGCM(ck)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, block, out[:headerLen]), nil
}

func encodeRecords(recs []Record) ([]byte, error) {
	if len(recs) == 0 || len(recs) > MaxRecords {
		return nil, fmt.Errorf("%w: %d records, want 1..%d", ErrMalformed, len(recs), MaxRecords)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(recs)))
	for _, r := range recs {
		if err := CheckKeyID(r.ID); err != nil {
			return nil, err
		}
		if len(r.Key) < MinKeyLen || len(r.Key) > MaxKeyLen {
			return nil, fmt.Errorf("%w: key %q of %d bytes, want %d..%d", ErrMalformed, r.ID, len(r.Key), MinKeyLen, MaxKeyLen)
		}
		b = append(b, byte(len(r.ID)))
		b = append(b, r.ID...)
		b = append(b, byte(len(r.Key)))
		b = append(b, r.Key...)
	}
	return b, nil
}
