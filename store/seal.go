package store

import "errors"

// ErrSealBroken: a sealed value did not open (tampered, wrong key, moved to another key).
var ErrSealBroken = errors.New("store: sealed record does not open")

// OpenError says why a record did not open; errors.Is(err, ErrSealBroken) holds.
type OpenError struct{ Reason string }

func (e *OpenError) Error() string { return "store: sealed record does not open: " + e.Reason }
func (e *OpenError) Unwrap() error { return ErrSealBroken }

// Sealer is AES-256-GCM with a key-id byte; seals with the current key, opens with any.
type Sealer struct{}

// ParseKey accepts 32 bytes as std/URL base64 (padded or not) or 64 hex chars.
func ParseKey(s string) ([]byte, error) { panic("stub") }

// NewSealer: current is used for every seal; old keys are accepted for opening.
func NewSealer(current []byte, old ...[]byte) (*Sealer, error) { panic("stub") }

// Seal encrypts plaintext with aad (the Redis key name) as additional data.
func (s *Sealer) Seal(aad string, plaintext []byte) ([]byte, error) { panic("stub") }

// Open decrypts; errors are *OpenError. It also reports whether the value was sealed
// with an old key (so the caller re-seals on next write).
func (s *Sealer) Open(aad string, sealed []byte) (plaintext []byte, stale bool, err error) {
	panic("stub")
}
