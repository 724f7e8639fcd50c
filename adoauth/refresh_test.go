package adoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adobot/adobot/store"
)

func TestRefreshStampedeAcrossReplicas(t *testing.T) {
	for _, mode := range []string{"entra", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: mode})
			k, u := e.user("Barbara Liskov", "alpha")
			rec := e.link(k)
			e.fake.RejectAccessTokens(u.ID)
			replicas := []*Service{e.replica(nil), e.replica(nil), e.replica(nil)}

			const n = 100
			tokens := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			startGate := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-startGate
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					// Half start from a fresh source, half from one holding the old record.
					var r *store.Record
					if i%2 == 0 {
						r = rec
					}
					tokens[i], errs[i] = replicas[i%3].TokenSource(k, r).Refresh(ctx, rec.AccessToken)
				}()
			}
			began := time.Now()
			close(startGate)
			wg.Wait()
			took := time.Since(began)
			for i := range n {
				e.noteErr(errs[i])
				if errs[i] != nil {
					t.Fatalf("goroutine %d: %v", i, errs[i])
				}
				if tokens[i] != tokens[0] {
					t.Fatalf("goroutine %d got a different token", i)
				}
			}
			e.secret(tokens[0])
			if tokens[0] == rec.AccessToken {
				t.Fatal("got the rejected token back")
			}
			if got := e.fake.Refreshes(); got != 1 {
				t.Fatalf("IdP refreshes = %d, want 1", got)
			}
			if got := e.refreshCalls(); got != 1 {
				t.Fatalf("refresh_token calls = %d, want 1", got)
			}
			cur, err := e.st.Get(context.Background(), k)
			if err != nil || cur.AccessToken != tokens[0] || cur.Version != rec.Version+1 {
				t.Fatalf("stored record: %v (version %d -> %d)", err, rec.Version, cur.Version)
			}
			e.secret(cur.RefreshToken)
			t.Logf("%s: %d concurrent refreshes over 3 replicas -> %d IdP refresh in %v", mode, n, e.fake.Refreshes(), took)
		})
	}
}

func TestSuccessiveRefreshesThenRevokedGrant(t *testing.T) {
	for _, mode := range []string{"entra", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: mode})
			k, u := e.user("Ken Thompson", "alpha")
			rec := e.link(k)
			ctx := context.Background()
			ts := e.svc.TokenSource(k, rec)
			prev := rec.AccessToken
			for i := range 2 {
				// A new replica each time: nothing cached in process.
				tok, err := e.replica(nil).TokenSource(k, nil).Refresh(ctx, prev)
				e.noteErr(err)
				if err != nil {
					t.Fatalf("refresh %d: %v", i+1, err)
				}
				e.secret(tok)
				if tok == prev {
					t.Fatalf("refresh %d returned the old token", i+1)
				}
				prev = tok
			}
			if got := e.fake.Refreshes(); got != 2 {
				t.Fatalf("refreshes = %d, want 2", got)
			}

			e.fake.RevokeGrant(u.ID)
			calls := e.refreshCalls()
			_, err := ts.Refresh(ctx, prev)
			e.noteErr(err)
			if !errors.Is(err, ErrNeedsRelink) || !errors.Is(err, ErrGrantGone) {
				t.Fatalf("revoked grant: %v", err)
			}
			if got := e.refreshCalls() - calls; got != 1 {
				t.Fatalf("refresh attempts after revoke = %d, want 1", got)
			}
			cur, err := e.st.Get(ctx, k)
			if err != nil || !cur.NeedsRelink {
				t.Fatalf("record not flagged: %v", err)
			}
			calls = e.refreshCalls()
			for _, src := range []func() (string, error){
				func() (string, error) { return ts.Token(ctx) },
				func() (string, error) { return ts.Refresh(ctx, prev) },
				func() (string, error) { return e.svc.TokenSource(k, nil).Token(ctx) },
				func() (string, error) { return e.replica(nil).TokenSource(k, nil).Refresh(ctx, prev) },
			} {
				if _, err := src(); !errors.Is(err, ErrNeedsRelink) {
					t.Fatalf("after flag: %v", err)
				}
			}
			if got := e.refreshCalls() - calls; got != 0 {
				t.Fatalf("%d IdP calls after the link was flagged", got)
			}
			// Linking again clears the flag.
			e.link(k)
			if _, err := e.svc.TokenSource(k, nil).Token(ctx); err != nil {
				t.Fatalf("after relink: %v", err)
			}
		})
	}
}

// scriptedProvider answers refreshes from a function; the link flow is not used.
type scriptedProvider struct {
	calls   atomic.Int64
	refresh func(ctx context.Context, n int64, rt string) (*Token, error)
}

func (p *scriptedProvider) Mode() string                              { return "entra" }
func (p *scriptedProvider) AuthCodeURL(state, verifier string) string { return "http://idp.invalid/" }
func (p *scriptedProvider) Exchange(context.Context, string, string) (*Token, error) {
	return nil, errors.New("not used")
}
func (p *scriptedProvider) Refresh(ctx context.Context, rt string) (*Token, error) {
	return p.refresh(ctx, p.calls.Add(1), rt)
}

func putRecord(t *testing.T, e *env, k store.UserKey, at, rt string, exp time.Time) *store.Record {
	t.Helper()
	rec := &store.Record{AccessToken: at, RefreshToken: rt, Expiry: exp, AuthMode: "entra", ProfileID: "p", DisplayName: "X", LinkedAt: time.Now()}
	if err := e.st.Put(context.Background(), k, rec); err != nil {
		t.Fatal(err)
	}
	e.secret(at, rt)
	return rec
}

// stalledRace stages the lock-expiry race: replica A starts refreshing old and its
// IdP call (answering first) stalls past A's 200 ms lock, which is never extended;
// then replica B refreshes the same token and its IdP call answers with second.
// It returns B's outcome, and finishA, which lets A's IdP call return and waits
// for A's outcome.
func stalledRace(t *testing.T, e *env, k store.UserKey, old *store.Record, first *Token, second func() (*Token, error)) (tokB string, errB error, finishA func() (string, error), prov *scriptedProvider) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	prov = &scriptedProvider{refresh: func(ctx context.Context, n int64, rt string) (*Token, error) {
		if n == 1 {
			close(entered)
			<-release // for the IdP, the refresh token is redeemed from here on
			return first, nil
		}
		return second()
	}}
	tune := func(s *Service) {
		s.prov = prov
		s.lockTTL = 200 * time.Millisecond
		s.noExtend = true
	}
	a, b := e.replica(tune), e.replica(tune)

	type result struct {
		tok string
		err error
	}
	resA := make(chan result, 1)
	go func() {
		tok, err := a.TokenSource(k, nil).Refresh(context.Background(), old.AccessToken)
		resA <- result{tok, err}
	}()
	<-entered
	time.Sleep(400 * time.Millisecond) // A's lock has expired; A does not know.
	tokB, errB = b.TokenSource(k, nil).Refresh(context.Background(), old.AccessToken)
	finishA = func() (string, error) {
		close(release)
		ra := <-resA
		e.noteErr(ra.err)
		return ra.tok, ra.err
	}
	return tokB, errB, finishA, prov
}

func TestStalledLockHolderIsFenced(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Leslie Lamport")
	old := putRecord(t, e, k, "at-old-0123456789", "rt-old-0123456789", time.Now().Add(time.Hour))
	e.secret("at-stalled-holder-xyz", "rt-stalled-holder-xyz", "at-second-holder-xyz", "rt-second-holder-xyz")

	tokB, err, finishA, prov := stalledRace(t, e, k, old,
		&Token{AccessToken: "at-stalled-holder-xyz", RefreshToken: "rt-stalled-holder-xyz", Expiry: time.Now().Add(time.Hour)},
		func() (*Token, error) {
			return &Token{AccessToken: "at-second-holder-xyz", RefreshToken: "rt-second-holder-xyz", Expiry: time.Now().Add(time.Hour)}, nil
		})
	if err != nil || tokB != "at-second-holder-xyz" {
		t.Fatalf("second holder: %q %v", tokB, err)
	}
	tokA, errA := finishA()
	if errA != nil || tokA != "at-second-holder-xyz" {
		t.Fatalf("stalled holder returned %q, %v; want the second holder's token", tokA, errA)
	}
	cur, err := e.st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if cur.AccessToken != "at-second-holder-xyz" || cur.RefreshToken != "rt-second-holder-xyz" || cur.Version != old.Version+1 {
		t.Fatalf("final record is not the second holder's (version %d -> %d)", old.Version, cur.Version)
	}
	if prov.calls.Load() != 2 {
		t.Fatalf("provider calls = %d", prov.calls.Load())
	}
}

// A stalled holder whose IdP call succeeded (rotating the refresh token) loses its
// lock; the next holder redeems the same, now dead, refresh token, gets invalid_grant
// and flags the link. The first holder's fenced write must not log the person out:
// it holds the only valid tokens, and the flag it finds names the refresh token it
// redeemed, so it writes them over the flag.
func TestStalledWinnerRescuesLinkFlaggedByLoser(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Barbara Liskov")
	old := putRecord(t, e, k, "at-old-liskov-0123", "rt-old-liskov-0123", time.Now().Add(time.Hour))
	e.secret("at-winner-liskov-xyz", "rt-winner-liskov-xyz")

	_, errB, finishA, prov := stalledRace(t, e, k, old,
		&Token{AccessToken: "at-winner-liskov-xyz", RefreshToken: "rt-winner-liskov-xyz", Expiry: time.Now().Add(time.Hour)},
		func() (*Token, error) {
			return nil, &ProviderError{Mode: "entra", Op: "refresh", Code: "invalid_grant", Status: 400}
		})
	if !errors.Is(errB, ErrNeedsRelink) {
		t.Fatalf("loser: %v, want ErrNeedsRelink", errB)
	}
	if cur, _ := e.st.Get(context.Background(), k); cur == nil || !cur.NeedsRelink {
		t.Fatal("the loser did not flag the link (the race this test needs did not happen)")
	}
	tokA, errA := finishA()
	if errA != nil || tokA != "at-winner-liskov-xyz" {
		t.Fatalf("winner returned %q, %v; want its own fresh token", tokA, errA)
	}
	cur, err := e.st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if cur.NeedsRelink || cur.AccessToken != "at-winner-liskov-xyz" || cur.RefreshToken != "rt-winner-liskov-xyz" {
		t.Fatalf("link not rescued: relink=%v", cur.NeedsRelink)
	}
	// And it keeps working: the next command on another replica uses it, no IdP call.
	calls := prov.calls.Load()
	tok, err := e.replica(func(s *Service) { s.prov = prov }).TokenSource(k, nil).Token(context.Background())
	if err != nil || tok != "at-winner-liskov-xyz" || prov.calls.Load() != calls {
		t.Fatalf("after rescue: %q %v (IdP calls %d -> %d)", tok, err, calls, prov.calls.Load())
	}
}

// slowAfterProvider lets the real refresh happen, then takes a while to "return"
// and gives up if its context is cancelled: exactly how a request-scoped context
// would lose a rotated refresh token.
type slowAfterProvider struct {
	Provider
	delay time.Duration
}

func (p slowAfterProvider) Refresh(ctx context.Context, rt string) (*Token, error) {
	tok, err := p.Provider.Refresh(ctx, rt)
	select {
	case <-time.After(p.delay):
		return tok, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestCancelledRefreshStillStoresRotatedToken(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Niklaus Wirth", "alpha")
	rec := e.link(k)
	svc := e.replica(func(s *Service) { s.prov = slowAfterProvider{Provider: s.prov, delay: 300 * time.Millisecond} })

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := svc.TokenSource(k, nil).Refresh(ctx, rec.AccessToken)
	e.noteErr(err)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled refresh: %v", err)
	}
	// The flight carries on and stores the rotated token.
	deadline := time.Now().Add(5 * time.Second)
	var cur *store.Record
	for {
		cur, err = e.st.Get(context.Background(), k)
		if err == nil && cur.AccessToken != rec.AccessToken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rotated token never stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.secret(cur.AccessToken, cur.RefreshToken)
	// The lock was released despite the cancel: the next refresh is immediate.
	began := time.Now()
	tok, err := e.replica(nil).TokenSource(k, nil).Refresh(context.Background(), cur.AccessToken)
	e.noteErr(err)
	if err != nil || tok == cur.AccessToken {
		t.Fatalf("next refresh (rotated refresh token lost?): %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("next refresh waited %v: lock not released", d)
	}
	e.secret(tok)
	if got := e.fake.Refreshes(); got != 2 {
		t.Fatalf("refreshes = %d, want 2", got)
	}
}

func TestProactiveRefresh(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Frances Allen", "alpha")
	rec := e.link(k)
	ctx := context.Background()
	for _, c := range []struct {
		in      time.Duration
		refresh bool
	}{
		{10 * time.Minute, false},
		{6 * time.Minute, false},
		{4 * time.Minute, true},
		{-time.Minute, true},
	} {
		t.Run(fmt.Sprint(c.in), func(t *testing.T) {
			cur, err := e.st.Update(ctx, k, func(r *store.Record) error { r.Expiry = time.Now().Add(c.in); return nil })
			if err != nil {
				t.Fatal(err)
			}
			before := e.fake.Refreshes()
			ts := e.svc.TokenSource(k, nil)
			tok, err := ts.Token(ctx)
			e.noteErr(err)
			if err != nil {
				t.Fatal(err)
			}
			e.secret(tok)
			if refreshed := e.fake.Refreshes()-before == 1; refreshed != c.refresh || (tok != cur.AccessToken) != c.refresh {
				t.Fatalf("expiry in %v: refreshes %d, token changed %v", c.in, e.fake.Refreshes()-before, tok != cur.AccessToken)
			}
			// The source caches: a second call makes no IdP call and returns the same.
			again, err := ts.Token(ctx)
			if err != nil || again != tok || e.fake.Refreshes()-before > 1 {
				t.Fatalf("second Token: %v", err)
			}
		})
	}
	_ = rec
}

func TestTransientFailureRetriesOnceAndBacksOff(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Donald Knuth")
	old := putRecord(t, e, k, "at-old-transient-1", "rt-old-transient-1", time.Now().Add(time.Hour))
	prov := &scriptedProvider{refresh: func(ctx context.Context, n int64, rt string) (*Token, error) {
		return nil, &ProviderError{Mode: "entra", Op: "refresh", Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable"}
	}}
	svc := e.replica(func(s *Service) { s.prov = prov; s.negTTL = 300 * time.Millisecond })
	ctx := context.Background()
	_, err := svc.TokenSource(k, nil).Refresh(ctx, old.AccessToken)
	e.noteErr(err)
	if err == nil || errors.Is(err, ErrNeedsRelink) || errors.Is(err, ErrGrantGone) || !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("transient: %v", err)
	}
	if got := prov.calls.Load(); got != 2 {
		t.Fatalf("provider calls = %d, want 2 (one retry)", got)
	}
	// A stampede right after does not reach the IdP.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.TokenSource(k, nil).Refresh(ctx, old.AccessToken)
			if err == nil {
				t.Error("negative cache answered success")
			}
		}()
	}
	wg.Wait()
	if got := prov.calls.Load(); got != 2 {
		t.Fatalf("provider calls during negative cache = %d", got)
	}
	cur, _ := e.st.Get(ctx, k)
	if cur.NeedsRelink || cur.Version != old.Version {
		t.Fatal("transient failure touched the record")
	}
	// After the negative cache lapses, the IdP is asked again.
	time.Sleep(350 * time.Millisecond)
	svc.TokenSource(k, nil).Refresh(ctx, old.AccessToken)
	if got := prov.calls.Load(); got != 4 {
		t.Fatalf("provider calls after negative cache = %d, want 4", got)
	}
}

func TestWaiterGivesUpWithBusy(t *testing.T) {
	e := newEnv(t, envOpts{})
	k, _ := e.user("Tony Hoare")
	old := putRecord(t, e, k, "at-old-busy-000001", "rt-old-busy-000001", time.Now().Add(time.Hour))
	lock, err := e.st.TryLock(context.Background(), k, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(context.Background())
	prov := &scriptedProvider{refresh: func(context.Context, int64, string) (*Token, error) { return nil, errors.New("must not be called") }}
	svc := e.replica(func(s *Service) { s.prov = prov; s.waitMax = 300 * time.Millisecond })
	began := time.Now()
	_, err = svc.TokenSource(k, nil).Refresh(context.Background(), old.AccessToken)
	if !errors.Is(err, ErrRefreshBusy) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(began); d < 250*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v", d)
	}
	cur, _ := e.st.Get(context.Background(), k)
	if cur.NeedsRelink || cur.Version != old.Version || prov.calls.Load() != 0 {
		t.Fatal("busy wait changed something")
	}
}
