// Package store keeps adobot's per-person state in Redis: sealed token records,
// single-use OAuth state, the per-user refresh lock and envelope dedupe.
// It knows nothing of Slack or HTTP.
//
// CONTRACT STUB: signatures here are fixed for the other packages; bodies are
// filled in by the store implementation.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors; callers use errors.Is.
var (
	// ErrNotFound: no record / state / lock for that key.
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable: Redis did not answer (timeout, connection refused, ...).
	ErrUnavailable = errors.New("store: unavailable")
	// ErrVersionConflict: a compare-and-set found another version (the fencing write lost).
	ErrVersionConflict = errors.New("store: version conflict")
	// ErrLocked: the lock is held by someone else.
	ErrLocked = errors.New("store: locked")
	// ErrLockLost: extending/releasing a lock we no longer hold.
	ErrLockLost = errors.New("store: lock lost")
)

// UserKey identifies one person: Team is the Slack team id, or the enterprise id
// for org-wide installs.
type UserKey struct {
	Team string
	User string
}

// Record is one person's link to Azure DevOps. Version is maintained by the store.
type Record struct {
	AccessToken  string    `json:"at"`
	RefreshToken string    `json:"rt"`
	Expiry       time.Time `json:"exp"`
	Scopes       []string  `json:"scp,omitempty"`
	AuthMode     string    `json:"mode"` // "entra" or "legacy"
	ProfileID    string    `json:"pid"`
	DisplayName  string    `json:"name"`
	Email        string    `json:"email"`
	Orgs         []string  `json:"orgs,omitempty"`
	DefaultOrg   string    `json:"org,omitempty"`
	LinkedAt     time.Time `json:"linked"`
	NeedsRelink  bool      `json:"relink,omitempty"`
	// Version increases on every write; the compare-and-set compares it.
	// Not part of the sealed JSON (it is kept beside it, in clear, for Lua).
	Version int64 `json:"-"`
}

// State is the OAuth state record: who started the link, the PKCE verifier and when.
type State struct {
	Team      string    `json:"t"`
	User      string    `json:"u"`
	Verifier  string    `json:"v"`
	CreatedAt time.Time `json:"c"`
}

// Options tune the store.
type Options struct {
	// OpTimeout bounds every Redis call (default 1s).
	OpTimeout time.Duration
	// StateTTL is how long OAuth state lives (default 10m).
	StateTTL time.Duration
}

// Store is the Redis-backed store.
type Store struct{}

// Connect parses a redis:// or rediss:// URL and returns a client with short timeouts.
func Connect(url string) (redis.UniversalClient, error) { panic("stub") }

// New builds a Store.
func New(rdb redis.UniversalClient, sealer *Sealer, opts Options) *Store { panic("stub") }

// Ping checks Redis.
func (s *Store) Ping(ctx context.Context) error { panic("stub") }

// Get returns the record (ErrNotFound when not linked). One round trip.
func (s *Store) Get(ctx context.Context, k UserKey) (*Record, error) { panic("stub") }

// Put stores a new link, replacing any record; the new Version is greater than any
// version the key ever had (so a stale refresher from an old link can never win a CAS).
// r.Version is set on return.
func (s *Store) Put(ctx context.Context, k UserKey, r *Record) error { panic("stub") }

// CompareAndSwap writes r only if the stored version is still expect; on success
// r.Version == expect+1. ErrVersionConflict otherwise, ErrNotFound if the record is gone.
func (s *Store) CompareAndSwap(ctx context.Context, k UserKey, expect int64, r *Record) error {
	panic("stub")
}

// Update is read-modify-write by function (dex style): fn mutates a copy of the
// current record; the write is a CompareAndSwap, retried a few times on conflict.
func (s *Store) Update(ctx context.Context, k UserKey, fn func(*Record) error) (*Record, error) {
	panic("stub")
}

// MarkNeedsRelink sets NeedsRelink if the version is still expect (CAS).
func (s *Store) MarkNeedsRelink(ctx context.Context, k UserKey, expect int64) error { panic("stub") }

// Delete removes every key of that person (record, lock, ...). Deleting nothing is not an error.
func (s *Store) Delete(ctx context.Context, k UserKey) error { panic("stub") }

// PutState stores OAuth state under adobot:state:<sha256(state)> with StateTTL.
func (s *Store) PutState(ctx context.Context, state string, st State) error { panic("stub") }

// PeekState reads state without consuming it (for the start redirect a link previewer may fetch).
func (s *Store) PeekState(ctx context.Context, state string) (*State, error) { panic("stub") }

// TakeState reads and deletes state atomically (GETDEL). ErrNotFound when unknown, expired or used.
func (s *Store) TakeState(ctx context.Context, state string) (*State, error) { panic("stub") }

// FirstDelivery records an envelope id (SET NX EX ttl) and reports whether this is its first delivery.
func (s *Store) FirstDelivery(ctx context.Context, envelopeID string, ttl time.Duration) (bool, error) {
	panic("stub")
}

// Lock is a held per-user lock.
type Lock struct{}

// TryLock takes the per-user lock once (SET NX PX, random value); ErrLocked if held.
func (s *Store) TryLock(ctx context.Context, k UserKey, ttl time.Duration) (*Lock, error) {
	panic("stub")
}

// Extend pushes the lock's expiry to ttl from now if still held (ErrLockLost otherwise).
func (l *Lock) Extend(ctx context.Context, ttl time.Duration) error { panic("stub") }

// Release deletes the lock if still held (compare-and-delete). Callers pass a context
// that is not the request's, so a cancelled request still releases.
func (l *Lock) Release(ctx context.Context) error { panic("stub") }

// Version returns the current record version without opening it (0, ErrNotFound if none).
// Used by refresh waiters to poll cheaply.
func (s *Store) Version(ctx context.Context, k UserKey) (int64, error) { panic("stub") }
