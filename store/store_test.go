package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/redistest"
	"github.com/redis/go-redis/v9"
)

type fixture struct {
	srv *redistest.Server
	rdb redis.UniversalClient
	raw *redis.Client // a plain client for poking at Redis behind the store's back
	key []byte
	s   *Store
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv := redistest.Start(t)
	rdb, err := Connect(srv.URL)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	key := randKey(t)
	return &fixture{srv: srv, rdb: rdb, raw: srv.Client(t), key: key, s: New(rdb, mustSealer(t, key), opts)}
}

func newUser() UserKey { return UserKey{Team: redistest.UniqueID("T"), User: redistest.UniqueID("U")} }

func sampleRecord() *Record {
	return &Record{
		AccessToken:  "at-" + redistest.Hex(24),
		RefreshToken: "rt-" + redistest.Hex(24),
		Expiry:       time.Now().Add(time.Hour).UTC().Truncate(time.Second),
		Scopes:       []string{"vso.build", "vso.work"},
		AuthMode:     "entra",
		ProfileID:    "pid-1",
		DisplayName:  "Ada",
		Email:        "ada@example.com",
		Orgs:         []string{"contoso"},
		DefaultOrg:   "contoso",
		LinkedAt:     time.Now().UTC().Truncate(time.Second),
	}
}

func TestUserKeyValidate(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	for _, k := range []UserKey{{}, {Team: "T"}, {User: "U"}, {"T{", "U"}, {"T", "U}"}, {"T:x", "U"}, {"T", "{U}"}} {
		if err := k.Validate(); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%+v: Validate = %v", k, err)
		}
		if _, err := f.s.Get(ctx, k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%+v: Get = %v", k, err)
		}
		if err := f.s.Put(ctx, k, sampleRecord()); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%+v: Put = %v", k, err)
		}
		if _, err := f.s.TryLock(ctx, k, time.Second); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%+v: TryLock = %v", k, err)
		}
		if err := f.s.Delete(ctx, k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%+v: Delete = %v", k, err)
		}
	}
	if err := (UserKey{"T0123", "U0456"}).Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (UserKey{"T0123", "U0456"}).tokensKey(); got != "adobot:{T0123:U0456}:tokens" {
		t.Fatalf("tokens key %q", got)
	}
}

func TestConnectBadURL(t *testing.T) {
	for _, u := range []string{
		"http://user:hunter2secret@localhost:6379",
		"redis://user:hunter2secret@local host:6379/0",
		"redis://user:hunter2secret@localhost:6379/notadb",
		"://hunter2secret",
	} {
		_, err := Connect(u)
		if err == nil {
			t.Fatalf("Connect(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Fatalf("error echoes the password: %v", err)
		}
	}
	c, err := Connect("rediss://:pw@example.invalid:6380/2")
	if err != nil {
		t.Fatalf("rediss: %v", err)
	}
	_ = c.Close()
}

func TestRecordPutGet(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	if _, err := f.s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put: %v", err)
	}
	if _, err := f.s.Version(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Version before Put: %v", err)
	}
	if err := f.s.CompareAndSwap(ctx, k, 1, sampleRecord()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CAS on missing: %v", err)
	}
	r := sampleRecord()
	before := time.Now().UnixMicro()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	if r.Version < before {
		t.Fatalf("version %d below the clock %d", r.Version, before)
	}
	got, err := f.s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != r.AccessToken || got.RefreshToken != r.RefreshToken || !got.Expiry.Equal(r.Expiry) ||
		got.Version != r.Version || got.Email != r.Email || len(got.Scopes) != 2 || got.DefaultOrg != "contoso" {
		t.Fatalf("Get = %+v, want %+v", got, r)
	}
	v, err := f.s.Version(ctx, k)
	if err != nil || v != r.Version {
		t.Fatalf("Version = %d, %v; want %d", v, err, r.Version)
	}
	// Records carry no TTL.
	if ttl := f.raw.TTL(ctx, k.tokensKey()).Val(); ttl != -1 {
		t.Fatalf("record TTL %v, want none", ttl)
	}
	// Re-linking replaces and still moves the version up.
	r2 := sampleRecord()
	if err := f.s.Put(ctx, k, r2); err != nil {
		t.Fatal(err)
	}
	if r2.Version <= r.Version {
		t.Fatalf("second Put version %d <= %d", r2.Version, r.Version)
	}
}

// A version above the clock (skewed replica) must not make Put go backwards.
func TestPutAboveFutureVersion(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).UnixMicro()
	if err := f.raw.HSet(ctx, k.tokensKey(), "v", strconv.FormatInt(future, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	r2 := sampleRecord()
	if err := f.s.Put(ctx, k, r2); err != nil {
		t.Fatal(err)
	}
	if r2.Version != future+1 {
		t.Fatalf("Put version %d, want %d", r2.Version, future+1)
	}
	if got, err := f.s.Get(ctx, k); err != nil || got.AccessToken != r2.AccessToken {
		t.Fatalf("Get after Put: %v", err)
	}
}

func TestPutAfterDeleteVersionGrows(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // a few refreshes
		if err := f.s.CompareAndSwap(ctx, k, r.Version, r); err != nil {
			t.Fatal(err)
		}
	}
	lastOld := r.Version
	if _, err := f.s.TryLock(ctx, k, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if n := f.raw.Exists(ctx, k.allKeys()...).Val(); n != 0 {
		t.Fatalf("%d keys left after Delete", n)
	}
	if err := f.s.Delete(ctx, k); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	r2 := sampleRecord()
	if err := f.s.Put(ctx, k, r2); err != nil {
		t.Fatal(err)
	}
	if r2.Version <= lastOld {
		t.Fatalf("version after relink %d <= old %d", r2.Version, lastOld)
	}
	// The stale refresher from the old link loses.
	if err := f.s.CompareAndSwap(ctx, k, lastOld, sampleRecord()); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("stale CAS: %v", err)
	}
}

func TestCompareAndSwapAndUpdate(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	v0 := r.Version
	r.AccessToken = "at2-" + redistest.Hex(8)
	if err := f.s.CompareAndSwap(ctx, k, v0, r); err != nil {
		t.Fatal(err)
	}
	if r.Version != v0+1 {
		t.Fatalf("CAS version %d, want %d", r.Version, v0+1)
	}
	if err := f.s.CompareAndSwap(ctx, k, v0, sampleRecord()); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("CAS with old version: %v", err)
	}

	// Update retries when someone else writes between its read and its CAS.
	calls := 0
	got, err := f.s.Update(ctx, k, func(rec *Record) error {
		calls++
		if calls == 1 {
			other := rec.Clone()
			other.DisplayName = "concurrent"
			if err := f.s.CompareAndSwap(ctx, k, rec.Version, other); err != nil {
				return err
			}
		}
		rec.DefaultOrg = "fabrikam"
		rec.Orgs = append(rec.Orgs, "fabrikam")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2", calls)
	}
	stored, err := f.s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if stored.DefaultOrg != "fabrikam" || stored.DisplayName != "concurrent" || stored.Version != v0+3 || got.Version != stored.Version {
		t.Fatalf("after Update: %+v (returned v%d)", stored, got.Version)
	}

	// An error from fn aborts without a write.
	boom := errors.New("boom")
	if _, err := f.s.Update(ctx, k, func(*Record) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update fn error: %v", err)
	}
	if v, _ := f.s.Version(ctx, k); v != stored.Version {
		t.Fatalf("version moved after failed Update")
	}
	if _, err := f.s.Update(ctx, newUser(), func(*Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update missing: %v", err)
	}

	// Concurrent Updates never lose an increment (each either lands or reports a conflict).
	var wg sync.WaitGroup
	var landed atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.s.Update(ctx, k, func(rec *Record) error {
				rec.Scopes = append(rec.Scopes, "x")
				return nil
			})
			if err == nil {
				landed.Add(1)
			} else if !errors.Is(err, ErrVersionConflict) {
				t.Errorf("concurrent Update: %v", err)
			}
		}()
	}
	wg.Wait()
	final, err := f.s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(final.Scopes)-len(stored.Scopes)) != landed.Load() || final.Version != stored.Version+landed.Load() {
		t.Fatalf("landed %d updates but scopes grew by %d, version by %d",
			landed.Load(), len(final.Scopes)-len(stored.Scopes), final.Version-stored.Version)
	}
}

func TestMarkNeedsRelink(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkNeedsRelink(ctx, k, r.Version-1); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("wrong version: %v", err)
	}
	if err := f.s.MarkNeedsRelink(ctx, k, r.Version); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Get(ctx, k)
	if err != nil || !got.NeedsRelink || got.Version != r.Version+1 || got.RefreshToken != r.RefreshToken {
		t.Fatalf("after mark: %+v %v", got, err)
	}
	if err := f.s.MarkNeedsRelink(ctx, newUser(), 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestRecordBoundToKeyAndVersion(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	victim, attacker := newUser(), newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, victim, r); err != nil {
		t.Fatal(err)
	}
	fields, err := f.raw.HGetAll(ctx, victim.tokensKey()).Result()
	if err != nil || len(fields) != 2 {
		t.Fatalf("HGETALL: %v %v", fields, err)
	}
	if err := f.raw.HSet(ctx, attacker.tokensKey(), fields).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Get(ctx, attacker); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("copied record: Get = %v, want ErrSealBroken", err)
	}
	// Bump the clear version: the blob no longer matches it.
	if err := f.raw.HSet(ctx, victim.tokensKey(), "v", strconv.FormatInt(r.Version+1, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Get(ctx, victim); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("edited version: Get = %v, want ErrSealBroken", err)
	}
	// A hash with only one of the fields is broken, not missing.
	if err := f.raw.HDel(ctx, victim.tokensKey(), "d").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Get(ctx, victim); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("half record: Get = %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil { // sealed with f.key
		t.Fatal(err)
	}
	newKey := randKey(t)
	rotated := New(f.rdb, mustSealer(t, newKey, f.key), Options{})
	got, err := rotated.Get(ctx, k)
	if err != nil {
		t.Fatalf("old record with rotated sealer: %v", err)
	}
	if got.RefreshToken != r.RefreshToken {
		t.Fatal("wrong record")
	}
	// Stale is reported by the opener for this raw blob.
	blob, _ := f.raw.HGet(ctx, k.tokensKey(), "d").Bytes()
	if _, stale, err := rotated.sealer.Open(recordAAD(k.tokensKey(), strconv.FormatInt(got.Version, 10)), blob); err != nil || !stale {
		t.Fatalf("stale=%v err=%v, want stale", stale, err)
	}
	if blob[1] != keyID(f.key) {
		t.Fatal("blob not sealed with the old key")
	}
	if err := rotated.CompareAndSwap(ctx, k, got.Version, got); err != nil {
		t.Fatal(err)
	}
	blob, _ = f.raw.HGet(ctx, k.tokensKey(), "d").Bytes()
	if blob[1] != keyID(newKey) {
		t.Fatalf("after CAS key id %d, want new key's %d", blob[1], keyID(newKey))
	}
	onlyNew := New(f.rdb, mustSealer(t, newKey), Options{})
	if again, err := onlyNew.Get(ctx, k); err != nil || again.RefreshToken != r.RefreshToken {
		t.Fatalf("new-key-only Get: %v", err)
	}
	// And the old-key-only store can no longer read it.
	if _, err := f.s.Get(ctx, k); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("old-key-only Get after reseal: %v", err)
	}
}

func TestLockMutualExclusion(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	const n = 50
	var inside, maxInside, got atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				l, err := f.s.TryLock(ctx, k, 5*time.Second)
				if errors.Is(err, ErrLocked) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Errorf("TryLock: %v", err)
					return
				}
				cur := inside.Add(1)
				for {
					m := maxInside.Load()
					if cur <= m || maxInside.CompareAndSwap(m, cur) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				if err := l.Release(context.Background()); err != nil {
					t.Errorf("Release: %v", err)
				}
				got.Add(1)
				return
			}
			t.Errorf("never got the lock")
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once", maxInside.Load())
	}
	if got.Load() != n {
		t.Fatalf("%d of %d goroutines got the lock", got.Load(), n)
	}
}

func TestLockExtendAndRelease(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	a, err := f.s.TryLock(ctx, k, 150*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.TryLock(ctx, k, time.Second); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: %v", err)
	}
	// Extend twice across the original expiry; the lock must still be held.
	for i := 0; i < 2; i++ {
		time.Sleep(100 * time.Millisecond)
		if err := a.Extend(ctx, 150*time.Millisecond); err != nil {
			t.Fatalf("Extend %d: %v", i, err)
		}
	}
	if _, err := f.s.TryLock(ctx, k, time.Second); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock past the original TTL: %v (Extend did not hold)", err)
	}
	// Let it lapse; B takes it; A can neither extend nor release B's lock.
	time.Sleep(250 * time.Millisecond)
	b, err := f.s.TryLock(ctx, k, 5*time.Second)
	if err != nil {
		t.Fatalf("TryLock after expiry: %v", err)
	}
	if err := a.Extend(ctx, time.Second); !errors.Is(err, ErrLockLost) {
		t.Fatalf("stale Extend: %v", err)
	}
	if err := a.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("non-holder Release: %v", err)
	}
	if _, err := f.s.TryLock(ctx, k, time.Second); !errors.Is(err, ErrLocked) {
		t.Fatalf("B's lock gone after A's release: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("double Release: %v", err)
	}
	var nilLock *Lock
	if err := nilLock.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("nil Release: %v", err)
	}
}

func TestFencing(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	if err := f.s.Put(ctx, k, sampleRecord()); err != nil {
		t.Fatal(err)
	}
	lockA, err := f.s.TryLock(ctx, k, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	recA, err := f.s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	v := recA.Version
	time.Sleep(200 * time.Millisecond) // A stalls; its lock lapses
	lockB, err := f.s.TryLock(ctx, k, time.Second)
	if err != nil {
		t.Fatalf("B TryLock: %v", err)
	}
	recB := recA.Clone()
	recB.AccessToken, recB.RefreshToken = "at-B", "rt-B"
	if err := f.s.CompareAndSwap(ctx, k, v, recB); err != nil {
		t.Fatalf("B CAS: %v", err)
	}
	_ = lockB.Release(ctx)
	recA.AccessToken, recA.RefreshToken = "at-A", "rt-A"
	if err := f.s.CompareAndSwap(ctx, k, v, recA); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("A CAS: %v, want ErrVersionConflict", err)
	}
	if err := lockA.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("A Release: %v", err)
	}
	got, err := f.s.Get(ctx, k)
	if err != nil || got.RefreshToken != "rt-B" || got.Version != v+1 {
		t.Fatalf("stored %+v %v, want B's record at v%d", got, err, v+1)
	}
}

func TestState(t *testing.T) {
	f := newFixture(t, Options{StateTTL: 200 * time.Millisecond})
	ctx := context.Background()
	st := State{Team: "T1", User: "U1", Verifier: "verifier-" + redistest.Hex(16), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	state := redistest.Hex(16)
	if err := f.s.PutState(ctx, state, st); err != nil {
		t.Fatal(err)
	}
	if ttl := f.raw.PTTL(ctx, stateKey(state)).Val(); ttl <= 0 || ttl > 200*time.Millisecond {
		t.Fatalf("state TTL %v", ttl)
	}
	for i := 0; i < 2; i++ {
		got, err := f.s.PeekState(ctx, state)
		if err != nil || *got != st {
			t.Fatalf("Peek %d: %+v %v", i, got, err)
		}
	}
	got, err := f.s.TakeState(ctx, state)
	if err != nil || *got != st {
		t.Fatalf("Take: %+v %v", got, err)
	}
	if _, err := f.s.TakeState(ctx, state); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Take: %v", err)
	}
	if _, err := f.s.PeekState(ctx, state); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Peek after Take: %v", err)
	}
	if _, err := f.s.TakeState(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty state: %v", err)
	}

	// Expiry.
	s2 := redistest.Hex(16)
	if err := f.s.PutState(ctx, s2, st); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := f.s.TakeState(ctx, s2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired Take: %v", err)
	}

	// A state blob moved under another state's key does not open.
	s3, s4 := redistest.Hex(16), redistest.Hex(16)
	if err := f.s.PutState(ctx, s3, st); err != nil {
		t.Fatal(err)
	}
	blob, _ := f.raw.Get(ctx, stateKey(s3)).Bytes()
	f.raw.Set(ctx, stateKey(s4), blob, time.Minute)
	if _, err := f.s.TakeState(ctx, s4); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("moved state: %v", err)
	}
}

func TestFirstDelivery(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	id := redistest.UniqueID("E")
	first, err := f.s.FirstDelivery(ctx, id, time.Minute)
	if err != nil || !first {
		t.Fatalf("first: %v %v", first, err)
	}
	again, err := f.s.FirstDelivery(ctx, id, time.Minute)
	if err != nil || again {
		t.Fatalf("redelivery: %v %v", again, err)
	}
	if ttl := f.raw.TTL(ctx, "adobot:envelope:"+id).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("envelope TTL %v", ttl)
	}
}

func TestNoSecretInClear(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	k := newUser()
	r := sampleRecord()
	if err := f.s.Put(ctx, k, r); err != nil {
		t.Fatal(err)
	}
	verifier := "pkce-" + redistest.Hex(20)
	state := redistest.Hex(16)
	if err := f.s.PutState(ctx, state, State{Team: k.Team, User: k.User, Verifier: verifier}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{r.AccessToken, r.RefreshToken, verifier, state, r.Email}
	seen := 0
	iter := f.raw.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var vals []string
		switch f.raw.Type(ctx, key).Val() {
		case "string":
			vals = append(vals, f.raw.Get(ctx, key).Val())
		case "hash":
			for fk, fv := range f.raw.HGetAll(ctx, key).Val() {
				vals = append(vals, fk, fv)
			}
		default:
			continue
		}
		seen++
		for _, v := range append(vals, key) {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Fatalf("key %q holds a secret in clear", key)
				}
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < 2 {
		t.Fatalf("scanned only %d keys; the test saw nothing", seen)
	}
}

func TestUnavailable(t *testing.T) {
	srv := redistest.StartOwn(t)
	rdb, err := Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, mustSealer(t, randKey(t)), Options{})
	ctx := context.Background()
	k := newUser()
	if err := s.Put(ctx, k, sampleRecord()); err != nil { // warm the pool
		t.Fatal(err)
	}
	srv.Stop()
	ops := map[string]func() error{
		"Get":   func() error { _, err := s.Get(ctx, k); return err },
		"Put":   func() error { return s.Put(ctx, k, sampleRecord()) },
		"CAS":   func() error { return s.CompareAndSwap(ctx, k, 1, sampleRecord()) },
		"Take":  func() error { _, err := s.TakeState(ctx, "x"); return err },
		"Lock":  func() error { _, err := s.TryLock(ctx, k, time.Second); return err },
		"Ping":  func() error { return s.Ping(ctx) },
		"First": func() error { _, err := s.FirstDelivery(ctx, "e", time.Second); return err },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		took := time.Since(start)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
		t.Logf("%s failed in %v", name, took)
		if took > 1500*time.Millisecond {
			t.Errorf("%s took %v", name, took)
		}
	}
	// A caller's own cancellation is not Redis being down.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(cctx, k); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled Get: %v", err)
	}
	// Back again: the same Store recovers.
	srv.Restart()
	restarted := time.Now()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := s.Ping(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("recovered %v after restart", time.Since(restarted))
	if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on the restarted (empty) server: %v", err)
	}
}

// A server that accepts connections but never answers must still time out inside OpTimeout.
func TestOpTimeoutOnHungServer(t *testing.T) {
	ln, err := listenHung(t)
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := Connect("redis://" + ln + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, mustSealer(t, randKey(t)), Options{OpTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = s.Get(context.Background(), newUser())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get on hung server: %v", err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("took %v", took)
	}
}

// Deliver answers dedupe and the record in one pipeline, with the same meaning as
// FirstDelivery + Get.
func TestDeliver(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	s := New(rdb, mustSealer(t, randKey(t)), Options{})
	ctx := context.Background()
	k := UserKey{Team: redistest.UniqueID("T"), User: redistest.UniqueID("U")}
	env := redistest.UniqueID("E")

	d, err := s.Deliver(ctx, env, time.Minute, k)
	if err != nil || !d.First || d.Record != nil || !errors.Is(d.RecordErr, ErrNotFound) {
		t.Fatalf("unlinked first delivery: %+v, %v", d, err)
	}
	if err := s.Put(ctx, k, &Record{AccessToken: "at-deliver", DisplayName: "D"}); err != nil {
		t.Fatal(err)
	}
	d, err = s.Deliver(ctx, env, time.Minute, k)
	if err != nil || d.First || d.Record == nil || d.Record.AccessToken != "at-deliver" || d.RecordErr != nil {
		t.Fatalf("redelivery of a linked person: %+v, %v", d, err)
	}
	if _, err := s.Deliver(ctx, "", time.Minute, k); err == nil {
		t.Error("empty envelope id accepted")
	}
	own := redistest.StartOwn(t)
	down := New(own.Client(t), mustSealer(t, randKey(t)), Options{OpTimeout: 300 * time.Millisecond})
	own.Stop()
	if _, err := down.Deliver(ctx, env, time.Minute, k); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redis down: %v, want ErrUnavailable", err)
	}
}
