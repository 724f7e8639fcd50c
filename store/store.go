// Package store keeps adobot's per-person state in Redis: sealed token records,
// single-use OAuth state, the per-user refresh lock and envelope dedupe.
// It knows nothing of Slack or HTTP.
//
// Layout (all keys of one person share the hash tag {team:user}, so they live in one
// Redis Cluster slot and Lua scripts touching them stay legal):
//
//	adobot:{T:U}:tokens   HASH v=<version, clear> d=<sealed JSON, AAD = key+"\x00"+v>
//	adobot:{T:U}:lock     STRING random holder value, PX ttl
//	adobot:state:<sha256> STRING sealed JSON (AAD = key), PX StateTTL
//	adobot:envelope:<id>  STRING "1", EX ttl
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
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
	// ErrInvalidKey: a UserKey that cannot be used to build Redis keys safely.
	ErrInvalidKey = errors.New("store: invalid user key")
)

// UserKey identifies one person: Team is the Slack team id, or the enterprise id
// for org-wide installs.
type UserKey struct {
	Team string
	User string
}

// Validate rejects keys that would break the {team:user} hash tag or be ambiguous.
func (k UserKey) Validate() error {
	if k.Team == "" || k.User == "" {
		return fmt.Errorf("%w: team and user must be set", ErrInvalidKey)
	}
	// '{' '}' would change which part Redis Cluster hashes; ':' would let
	// ("a:b","c") and ("a","b:c") name the same keys.
	if strings.ContainsAny(k.Team, "{}:") || strings.ContainsAny(k.User, "{}:") {
		return fmt.Errorf("%w: team and user must not contain '{', '}' or ':'", ErrInvalidKey)
	}
	return nil
}

func (k UserKey) tag() string        { return "adobot:{" + k.Team + ":" + k.User + "}" }
func (k UserKey) tokensKey() string  { return k.tag() + ":tokens" }
func (k UserKey) lockKey() string    { return k.tag() + ":lock" }
func (k UserKey) allKeys() []string  { return []string{k.tokensKey(), k.lockKey()} }
func recordAAD(key, v string) string { return key + "\x00" + v }

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

// Clone returns a deep copy (slices included), so a caller's edits never reach a shared record.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	if r.Scopes != nil {
		c.Scopes = append([]string(nil), r.Scopes...)
	}
	if r.Orgs != nil {
		c.Orgs = append([]string(nil), r.Orgs...)
	}
	return &c
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

const (
	defaultOpTimeout = time.Second
	defaultStateTTL  = 10 * time.Minute
	updateAttempts   = 5
)

// Store is the Redis-backed store. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	sealer *Sealer
	opts   Options
	codec  *codec
}

// Connect parses a redis:// or rediss:// URL and returns a client with short timeouts.
// Errors never repeat the URL (it may hold a password).
func Connect(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error's text quotes the whole URL, password included
		}
		return nil, fmt.Errorf("store: REDIS_URL is not a valid URL: %v", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("store: REDIS_URL scheme %q not supported, want redis:// or rediss://", u.Scheme)
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		msg := err.Error()
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		return nil, fmt.Errorf("store: REDIS_URL: %s", msg)
	}
	opt.DialTimeout = time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.PoolTimeout = time.Second
	opt.MaxRetries = 1
	// One dial per attempt: the default 5 dials with backoff would stretch an outage
	// answer past the few seconds a Slack user waits.
	opt.DialerRetries = 1
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// New builds a Store.
func New(rdb redis.UniversalClient, sealer *Sealer, opts Options) *Store {
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = defaultOpTimeout
	}
	if opts.StateTTL <= 0 {
		opts.StateTTL = defaultStateTTL
	}
	return &Store{rdb: rdb, sealer: sealer, opts: opts, codec: &codec{}}
}

func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.OpTimeout)
}

// redisErr turns a Redis failure into an error wrapping ErrUnavailable. A caller that
// cancelled its own context gets context.Canceled instead: Redis was not at fault.
func redisErr(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("store: %s: %w", op, ctx.Err())
	}
	return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
}

// Ping checks Redis.
func (s *Store) Ping(ctx context.Context) error {
	c, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.rdb.Ping(c).Err(); err != nil {
		return redisErr(ctx, "ping", err)
	}
	return nil
}

// Lua scripts. Versions are compared as decimal strings written by this package.
var (
	// KEYS[1] tokens; ARGV[1] new version; ARGV[2] blob.
	// Writes only when the new version is above whatever is stored, so versions never
	// go backwards; otherwise returns the stored version for the caller to retry above it.
	putScript = redis.NewScript(`
local raw = redis.call('HGET', KEYS[1], 'v')
-- return raw, not tostring(cur): Lua would print 1.7e15 in %.14g and lose digits
if raw and (tonumber(raw) or 0) >= tonumber(ARGV[1]) then return raw end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
return 'ok'`)
	// KEYS[1] tokens; ARGV[1] expected version; ARGV[2] new version; ARGV[3] blob.
	casScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur then return 'missing' end
if cur ~= ARGV[1] then return 'conflict' end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
return 'ok'`)
	extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// sealRecord seals r's JSON for key at version v.
func (s *Store) sealRecord(key string, v int64, r *Record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	return s.sealer.Seal(recordAAD(key, strconv.FormatInt(v, 10)), s.codec.pack(js))
}

// openRecord is the whole read path after Redis: version parse, open, JSON decode.
// Every failure is an *OpenError (errors.Is ErrSealBroken).
func openRecord(sealer *Sealer, c *codec, key, v string, blob []byte) (*Record, bool, error) {
	ver, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ver <= 0 {
		return nil, false, &OpenError{Reason: "version field is not a positive integer"}
	}
	packed, stale, err := sealer.Open(recordAAD(key, v), blob)
	if err != nil {
		return nil, false, err
	}
	js, err := c.unpack(packed)
	if err != nil {
		return nil, false, &OpenError{Reason: "record does not inflate"}
	}
	var r Record
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, false, &OpenError{Reason: "record JSON does not decode"}
	}
	r.Version = ver
	return &r, stale, nil
}

// Get returns the record (ErrNotFound when not linked). One round trip.
func (s *Store) Get(ctx context.Context, k UserKey) (*Record, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	key := k.tokensKey()
	c, cancel := s.opCtx(ctx)
	defer cancel()
	vals, err := s.rdb.HMGet(c, key, "v", "d").Result()
	if err != nil {
		return nil, redisErr(ctx, "get record", err)
	}
	return s.decodeRecord(key, vals)
}

// decodeRecord opens the [v, d] pair an HMGET returned.
func (s *Store) decodeRecord(key string, vals []any) (*Record, error) {
	if len(vals) != 2 || (vals[0] == nil && vals[1] == nil) {
		return nil, ErrNotFound
	}
	v, _ := vals[0].(string)
	d, _ := vals[1].(string)
	if vals[0] == nil || vals[1] == nil {
		return nil, fmt.Errorf("store: get record: %w", &OpenError{Reason: "record is missing a field"})
	}
	r, _, err := openRecord(s.sealer, s.codec, key, v, []byte(d))
	if err != nil {
		return nil, fmt.Errorf("store: get record: %w", err)
	}
	return r, nil
}

// Delivery is what Deliver learned in its one round trip.
type Delivery struct {
	// First: this is the envelope's first delivery (run it).
	First bool
	// Record is k's record, or nil with RecordErr (ErrNotFound, or an *OpenError).
	Record    *Record
	RecordErr error
}

// Deliver records an envelope id like FirstDelivery and reads k's record in the same
// round trip (one pipeline): the hot path of every command is then one Redis call.
// An error means Redis did not answer (ErrUnavailable); the caller decides whether
// to run the command anyway.
func (s *Store) Deliver(ctx context.Context, envelopeID string, ttl time.Duration, k UserKey) (Delivery, error) {
	if envelopeID == "" {
		return Delivery{}, errors.New("store: deliver: empty envelope id")
	}
	if err := k.Validate(); err != nil {
		return Delivery{}, err
	}
	key := k.tokensKey()
	c, cancel := s.opCtx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	setnx := pipe.SetNX(c, "adobot:envelope:"+envelopeID, "1", ttl)
	hmget := pipe.HMGet(c, key, "v", "d")
	if _, err := pipe.Exec(c); err != nil {
		return Delivery{}, redisErr(ctx, "deliver envelope", err)
	}
	d := Delivery{First: setnx.Val()}
	d.Record, d.RecordErr = s.decodeRecord(key, hmget.Val())
	return d, nil
}

// Put stores a new link, replacing any record; the new Version is greater than any
// version the key ever had (so a stale refresher from an old link can never win a CAS).
// r.Version is set on return.
//
// Versions start from the wall clock in microseconds, so even after Delete (which
// leaves nothing behind to compare with) a new link gets a version above the old
// link's; CAS only adds 1 per refresh, far below a microsecond's worth of growth.
func (s *Store) Put(ctx context.Context, k UserKey, r *Record) error {
	if err := k.Validate(); err != nil {
		return err
	}
	key := k.tokensKey()
	floor := int64(0)
	for attempt := 0; attempt < updateAttempts; attempt++ {
		v := max(time.Now().UnixMicro(), floor+1)
		blob, err := s.sealRecord(key, v, r)
		if err != nil {
			return err
		}
		c, cancel := s.opCtx(ctx)
		res, err := putScript.Run(c, s.rdb, []string{key}, v, blob).Text()
		cancel()
		if err != nil {
			return redisErr(ctx, "put record", err)
		}
		if res == "ok" {
			r.Version = v
			return nil
		}
		// Someone holds a version at or above ours (clock skew between replicas, or a
		// burst of writes): go above it.
		cur, err := strconv.ParseInt(res, 10, 64)
		if err != nil {
			return fmt.Errorf("store: put record: unexpected script reply")
		}
		floor = cur
	}
	return fmt.Errorf("store: put record: %w", ErrVersionConflict)
}

// CompareAndSwap writes r only if the stored version is still expect; on success
// r.Version == expect+1. ErrVersionConflict otherwise, ErrNotFound if the record is gone.
func (s *Store) CompareAndSwap(ctx context.Context, k UserKey, expect int64, r *Record) error {
	if err := k.Validate(); err != nil {
		return err
	}
	key := k.tokensKey()
	next := expect + 1
	blob, err := s.sealRecord(key, next, r)
	if err != nil {
		return err
	}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	res, err := casScript.Run(c, s.rdb, []string{key},
		strconv.FormatInt(expect, 10), strconv.FormatInt(next, 10), blob).Text()
	if err != nil {
		return redisErr(ctx, "compare-and-swap record", err)
	}
	switch res {
	case "ok":
		r.Version = next
		return nil
	case "missing":
		return ErrNotFound
	case "conflict":
		return ErrVersionConflict
	}
	return fmt.Errorf("store: compare-and-swap record: unexpected script reply")
}

// Update is read-modify-write by function (dex style): fn mutates a copy of the
// current record; the write is a CompareAndSwap, retried a few times on conflict.
// fn may run more than once; an error from fn aborts without writing.
func (s *Store) Update(ctx context.Context, k UserKey, fn func(*Record) error) (*Record, error) {
	for attempt := 0; attempt < updateAttempts; attempt++ {
		cur, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		err = s.CompareAndSwap(ctx, k, cur.Version, next)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return next, nil
	}
	return nil, fmt.Errorf("store: update record: %w after %d attempts", ErrVersionConflict, updateAttempts)
}

// MarkNeedsRelink sets NeedsRelink if the version is still expect (CAS).
func (s *Store) MarkNeedsRelink(ctx context.Context, k UserKey, expect int64) error {
	r, err := s.Get(ctx, k)
	if err != nil {
		return err
	}
	if r.Version != expect {
		return ErrVersionConflict
	}
	r.NeedsRelink = true
	return s.CompareAndSwap(ctx, k, expect, r)
}

// Delete removes every key of that person (record, lock, ...). Deleting nothing is not an error.
func (s *Store) Delete(ctx context.Context, k UserKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.rdb.Del(c, k.allKeys()...).Err(); err != nil {
		return redisErr(ctx, "delete user keys", err)
	}
	return nil
}

func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "adobot:state:" + hex.EncodeToString(sum[:])
}

// PutState stores OAuth state under adobot:state:<sha256(state)> with StateTTL.
func (s *Store) PutState(ctx context.Context, state string, st State) error {
	if state == "" {
		return errors.New("store: put state: empty state")
	}
	key := stateKey(state)
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store: encode state: %w", err)
	}
	blob, err := s.sealer.Seal(key, js)
	if err != nil {
		return err
	}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.rdb.Set(c, key, blob, s.opts.StateTTL).Err(); err != nil {
		return redisErr(ctx, "put state", err)
	}
	return nil
}

func (s *Store) readState(ctx context.Context, state string, take bool) (*State, error) {
	if state == "" {
		return nil, ErrNotFound
	}
	key := stateKey(state)
	c, cancel := s.opCtx(ctx)
	defer cancel()
	var cmd *redis.StringCmd
	if take {
		cmd = s.rdb.GetDel(c, key)
	} else {
		cmd = s.rdb.Get(c, key)
	}
	blob, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, redisErr(ctx, "read state", err)
	}
	js, _, err := s.sealer.Open(key, blob)
	if err != nil {
		return nil, fmt.Errorf("store: read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(js, &st); err != nil {
		return nil, fmt.Errorf("store: read state: %w", &OpenError{Reason: "state JSON does not decode"})
	}
	return &st, nil
}

// PeekState reads state without consuming it (for the start redirect a link previewer may fetch).
func (s *Store) PeekState(ctx context.Context, state string) (*State, error) {
	return s.readState(ctx, state, false)
}

// TakeState reads and deletes state atomically (GETDEL). ErrNotFound when unknown, expired or used.
func (s *Store) TakeState(ctx context.Context, state string) (*State, error) {
	return s.readState(ctx, state, true)
}

// FirstDelivery records an envelope id (SET NX EX ttl) and reports whether this is its first delivery.
func (s *Store) FirstDelivery(ctx context.Context, envelopeID string, ttl time.Duration) (bool, error) {
	if envelopeID == "" {
		return false, errors.New("store: first delivery: empty envelope id")
	}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	ok, err := s.rdb.SetNX(c, "adobot:envelope:"+envelopeID, "1", ttl).Result()
	if err != nil {
		return false, redisErr(ctx, "record envelope", err)
	}
	return ok, nil
}

// Lock is a held per-user lock.
type Lock struct {
	s     *Store
	key   string
	value string
}

// TryLock takes the per-user lock once (SET NX PX, random value); ErrLocked if held.
func (s *Store) TryLock(ctx context.Context, k UserKey, ttl time.Duration) (*Lock, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if ttl < time.Millisecond {
		return nil, errors.New("store: lock ttl below 1ms")
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("store: lock value: %w", err)
	}
	l := &Lock{s: s, key: k.lockKey(), value: hex.EncodeToString(b)}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	ok, err := s.rdb.SetNX(c, l.key, l.value, ttl).Result()
	if err != nil {
		return nil, redisErr(ctx, "take lock", err)
	}
	if !ok {
		return nil, ErrLocked
	}
	return l, nil
}

// Extend pushes the lock's expiry to ttl from now if still held (ErrLockLost otherwise).
func (l *Lock) Extend(ctx context.Context, ttl time.Duration) error {
	if l == nil || l.s == nil {
		return ErrLockLost
	}
	c, cancel := l.s.opCtx(ctx)
	defer cancel()
	n, err := extendScript.Run(c, l.s.rdb, []string{l.key}, l.value, ttl.Milliseconds()).Int64()
	if err != nil {
		return redisErr(ctx, "extend lock", err)
	}
	if n != 1 {
		return ErrLockLost
	}
	return nil
}

// Release deletes the lock if still held (compare-and-delete). Callers pass a context
// that is not the request's, so a cancelled request still releases.
func (l *Lock) Release(ctx context.Context) error {
	if l == nil || l.s == nil {
		return ErrLockLost
	}
	c, cancel := l.s.opCtx(ctx)
	defer cancel()
	n, err := releaseScript.Run(c, l.s.rdb, []string{l.key}, l.value).Int64()
	if err != nil {
		return redisErr(ctx, "release lock", err)
	}
	if n != 1 {
		return ErrLockLost
	}
	return nil
}

// Version returns the current record version without opening it (0, ErrNotFound if none).
// Used by refresh waiters to poll cheaply.
func (s *Store) Version(ctx context.Context, k UserKey) (int64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	c, cancel := s.opCtx(ctx)
	defer cancel()
	v, err := s.rdb.HGet(c, k.tokensKey(), "v").Result()
	if errors.Is(err, redis.Nil) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, redisErr(ctx, "get version", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: get version: %w", &OpenError{Reason: "version field is not an integer"})
	}
	return n, nil
}
