package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrSealBroken: a sealed value did not open (tampered, wrong key, moved to another key).
var ErrSealBroken = errors.New("store: sealed record does not open")

// OpenError says why a record did not open; errors.Is(err, ErrSealBroken) holds.
type OpenError struct{ Reason string }

func (e *OpenError) Error() string { return "store: sealed record does not open: " + e.Reason }
func (e *OpenError) Unwrap() error { return ErrSealBroken }

// Sealed layout: format(1) | key id(1) | nonce(12) | ciphertext | tag(16).
// The two header bytes are authenticated too (they are prepended to the AAD), so a
// blob cannot be re-labelled with another key id or format.
const (
	sealFormatV1 = 0x01
	keySize      = 32
	nonceSize    = 12
	tagSize      = 16
	headerSize   = 2
	// SealOverhead is how many bytes Seal adds to the plaintext.
	SealOverhead = headerSize + nonceSize + tagSize
)

type sealKey struct {
	id   byte
	aead cipher.AEAD
}

// Sealer is AES-256-GCM with a key-id byte; seals with the current key, opens with any.
// It is safe for concurrent use.
type Sealer struct {
	keys []sealKey // keys[0] is current
}

// keyID derives the one-byte id from the key itself, so configuration order does not
// matter and nothing has to be numbered by hand. Two keys may share an id (1 in 256);
// Open then tries each of them, which is still no more than a couple of attempts.
func keyID(key []byte) byte {
	h := sha256.New()
	h.Write([]byte("adobot/store key id\x00"))
	h.Write(key)
	return h.Sum(nil)[0]
}

// ParseKey accepts 32 bytes as std/URL base64 (padded or not) or 64 hex chars.
// Error texts describe the problem without repeating the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("store: key is empty")
	}
	if len(s) == 2*keySize {
		// 64 chars is also well-formed base64 (of 48 bytes), so hex must win here.
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != keySize {
			return nil, fmt.Errorf("store: key decodes to %d bytes, want %d (32 random bytes as base64, or 64 hex chars)", len(b), keySize)
		}
		return b, nil
	}
	if len(s) == 2*keySize {
		return nil, errors.New("store: key has 64 chars but is not valid hex (nor base64 of 32 bytes)")
	}
	return nil, fmt.Errorf("store: key (%d chars) is neither base64 of 32 bytes nor 64 hex chars", len(s))
}

// NewSealer: current is used for every seal; old keys are accepted for opening.
func NewSealer(current []byte, old ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	seen := make(map[string]bool)
	for i, k := range append([][]byte{current}, old...) {
		if len(k) != keySize {
			if i == 0 {
				return nil, fmt.Errorf("store: current key is %d bytes, want %d", len(k), keySize)
			}
			return nil, fmt.Errorf("store: old key #%d is %d bytes, want %d", i, len(k), keySize)
		}
		if seen[string(k)] {
			continue // the current key listed again among old ones is harmless
		}
		seen[string(k)] = true
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("store: key #%d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("store: key #%d: %w", i, err)
		}
		s.keys = append(s.keys, sealKey{id: keyID(k), aead: aead})
	}
	return s, nil
}

// gcmAAD binds the header and the caller's aad (the Redis key name).
func gcmAAD(header []byte, aad string) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	b = append(b, header...)
	return append(b, aad...)
}

// Seal encrypts plaintext with aad (the Redis key name) as additional data.
func (s *Sealer) Seal(aad string, plaintext []byte) ([]byte, error) {
	if s == nil || len(s.keys) == 0 {
		return nil, errors.New("store: sealer has no key")
	}
	k := s.keys[0]
	out := make([]byte, headerSize+nonceSize, SealOverhead+len(plaintext))
	out[0], out[1] = sealFormatV1, k.id
	if _, err := rand.Read(out[headerSize:]); err != nil {
		return nil, fmt.Errorf("store: nonce: %w", err)
	}
	nonce := out[headerSize : headerSize+nonceSize]
	return k.aead.Seal(out, nonce, plaintext, gcmAAD(out[:headerSize], aad)), nil
}

// Open decrypts; errors are *OpenError. It also reports whether the value was sealed
// with an old key (so the caller re-seals on next write).
func (s *Sealer) Open(aad string, sealed []byte) (plaintext []byte, stale bool, err error) {
	if s == nil || len(s.keys) == 0 {
		return nil, false, &OpenError{Reason: "sealer has no key"}
	}
	if len(sealed) < SealOverhead {
		return nil, false, &OpenError{Reason: fmt.Sprintf("too short (%d bytes)", len(sealed))}
	}
	if sealed[0] != sealFormatV1 {
		return nil, false, &OpenError{Reason: fmt.Sprintf("unknown format %d", sealed[0])}
	}
	id := sealed[1]
	nonce := sealed[headerSize : headerSize+nonceSize]
	body := sealed[headerSize+nonceSize:]
	ad := gcmAAD(sealed[:headerSize], aad)
	tried := false
	for i, k := range s.keys {
		if k.id != id {
			continue
		}
		tried = true
		pt, err := k.aead.Open(nil, nonce, body, ad)
		if err == nil {
			return pt, i > 0, nil
		}
	}
	if !tried {
		return nil, false, &OpenError{Reason: fmt.Sprintf("no key with id %d (key removed from rotation?)", id)}
	}
	return nil, false, &OpenError{Reason: "authentication failed (tampered, wrong key or moved to another key)"}
}
