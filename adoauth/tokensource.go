package adoauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
)

// TokenSource for k; rec is the record the caller already loaded (saves a Redis round
// trip; nil means load it). It implements devops.TokenSource.
func (s *Service) TokenSource(k store.UserKey, rec *store.Record) devops.TokenSource {
	return &tokenSource{s: s, k: k, rec: rec}
}

type tokenSource struct {
	s *Service
	k store.UserKey

	mu     sync.Mutex
	rec    *store.Record // latest record seen; never mutated once set
	relink bool          // a refresh through this source found the link flagged
}

func (t *tokenSource) latest() *store.Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec
}

func (t *tokenSource) remember(rec *store.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rec == nil || rec.Version >= t.rec.Version {
		t.rec = rec
	}
}

func (t *tokenSource) flagged() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.relink
}

func (t *tokenSource) noteErr(err error) {
	if errors.Is(err, ErrNeedsRelink) {
		t.mu.Lock()
		t.relink = true
		t.mu.Unlock()
	}
}

// Token returns the current access token, refreshing first when it expires within
// the proactive window.
func (t *tokenSource) Token(ctx context.Context) (string, error) {
	if t.flagged() {
		return "", ErrNeedsRelink
	}
	rec := t.latest()
	if rec == nil {
		var err error
		rec, err = t.s.st.Get(ctx, t.k)
		if err != nil {
			return "", fmt.Errorf("adoauth: load link: %w", err)
		}
		t.remember(rec)
	}
	if rec.NeedsRelink {
		return "", ErrNeedsRelink
	}
	if !t.s.dueSoon(rec) {
		return rec.AccessToken, nil
	}
	nrec, err := t.s.refresh(ctx, t.k, rec.AccessToken)
	t.noteErr(err)
	if err != nil {
		// A proactive refresh that failed for a passing reason need not fail the
		// command while the current token still works.
		if !errors.Is(err, ErrNeedsRelink) && !errors.Is(err, store.ErrNotFound) && !t.s.expired(rec) {
			t.s.log.WarnContext(ctx, "proactive refresh failed; using current token", "team", t.k.Team, "user", t.k.User, "err", err)
			return rec.AccessToken, nil
		}
		return "", err
	}
	t.remember(nrec)
	return nrec.AccessToken, nil
}

// Refresh returns a token other than rejected, refreshing at most once across all
// replicas.
func (t *tokenSource) Refresh(ctx context.Context, rejected string) (string, error) {
	if t.flagged() {
		return "", ErrNeedsRelink
	}
	rec, err := t.s.refresh(ctx, t.k, rejected)
	t.noteErr(err)
	if err != nil {
		return "", err
	}
	t.remember(rec)
	return rec.AccessToken, nil
}

func (s *Service) dueSoon(rec *store.Record) bool {
	if rec.AccessToken == "" {
		return true
	}
	return !rec.Expiry.IsZero() && s.now().Add(s.proactive).After(rec.Expiry)
}

func (s *Service) expired(rec *store.Record) bool {
	return rec.AccessToken == "" || (!rec.Expiry.IsZero() && !s.now().Before(rec.Expiry))
}

// usable: the record holds a token other than the rejected one that has not
// expired. Deliberately not "outside the proactive window": an IdP issuing short
// tokens must not turn every waiter into another refresh.
func (s *Service) usable(rec *store.Record, rejected string) bool {
	return !rec.NeedsRelink && rec.AccessToken != rejected && !s.expired(rec)
}

func (s *Service) negative(k store.UserKey) error {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if e, ok := s.neg[k]; ok {
		if s.now().Before(e.until) {
			return e.err
		}
		delete(s.neg, k)
	}
	return nil
}

func (s *Service) setNegative(k store.UserKey, err error) {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	s.neg[k] = negEntry{until: s.now().Add(s.negTTL), err: err}
}

func (s *Service) forgetNegative(k store.UserKey) {
	s.negMu.Lock()
	defer s.negMu.Unlock()
	delete(s.neg, k)
}

// refresh is the refresh-once path: singleflight per user in this process, then
// the Redis lock and the versioned record across processes.
func (s *Service) refresh(ctx context.Context, k store.UserKey, rejected string) (*store.Record, error) {
	if err := s.negative(k); err != nil {
		return nil, err
	}
	// The flight outlives any single caller: a cancelled command must not abort a
	// refresh whose rotated refresh token has to be stored.
	ch := s.flights.DoChan(k.Team+"\x00"+k.User, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.waitMax+s.refreshTimeout+5*time.Second)
		defer cancel()
		return s.refreshFlight(fctx, k, rejected)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		rec := res.Val.(*store.Record)
		if rec.AccessToken == rejected {
			// Joined a flight started for an older rejected token whose answer is
			// the very token this caller saw rejected. Do not loop; say so.
			return nil, ErrRefreshBusy
		}
		return rec, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("adoauth: refresh: %w", ctx.Err())
	}
}

func (s *Service) refreshFlight(ctx context.Context, k store.UserKey, rejected string) (*store.Record, error) {
	rec, err := s.st.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("adoauth: refresh: load link: %w", err)
	}
	if rec.NeedsRelink {
		return nil, ErrNeedsRelink
	}
	if s.usable(rec, rejected) {
		s.count("refresh", "already_fresh")
		return rec, nil
	}
	deadline := time.Now().Add(s.waitMax)
	for {
		lock, err := s.st.TryLock(ctx, k, s.lockTTL)
		if err == nil {
			return s.refreshLocked(ctx, k, rejected, lock)
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("adoauth: refresh: lock: %w", err)
		}
		// Another replica is refreshing: wait for its write or for the lock to free.
		if !time.Now().Before(deadline) {
			s.count("refresh", "busy")
			return nil, ErrRefreshBusy
		}
		jitter := time.Duration(rand.Int64N(int64(s.pollEvery)/2 + 1))
		t := time.NewTimer(s.pollEvery/2 + jitter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("adoauth: refresh: %w", ctx.Err())
		}
		v, err := s.st.Version(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("adoauth: refresh: poll: %w", err)
		}
		if v == rec.Version {
			continue
		}
		if rec, err = s.st.Get(ctx, k); err != nil {
			return nil, fmt.Errorf("adoauth: refresh: load link: %w", err)
		}
		if rec.NeedsRelink {
			return nil, ErrNeedsRelink
		}
		if s.usable(rec, rejected) {
			s.count("refresh", "waited")
			return rec, nil
		}
	}
}

func (s *Service) bgCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

func (s *Service) refreshLocked(ctx context.Context, k store.UserKey, rejected string, lock *store.Lock) (*store.Record, error) {
	defer func() {
		// Not the request's context: a cancelled command still frees the lock.
		rctx, cancel := s.bgCtx()
		defer cancel()
		if err := lock.Release(rctx); err != nil && !errors.Is(err, store.ErrLockLost) {
			s.log.Warn("refresh: lock release failed", "team", k.Team, "user", k.User, "err", err)
		}
	}()
	// Double-check under the lock: the previous holder may have just written.
	cur, err := s.st.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("adoauth: refresh: load link: %w", err)
	}
	if cur.NeedsRelink {
		return nil, ErrNeedsRelink
	}
	if s.usable(cur, rejected) {
		s.count("refresh", "already_fresh")
		return cur, nil
	}

	stopExtend := s.extendWhile(k, lock)
	start := time.Now()
	tok, err := s.callProvider(ctx, cur.RefreshToken)
	stopExtend()
	log := s.log.With("team", k.Team, "user", k.User, "mode", s.prov.Mode(), "took_ms", time.Since(start).Milliseconds())

	if err != nil {
		if errors.Is(err, ErrGrantGone) {
			log.Warn("refresh rejected: grant gone; link flagged", "err", err)
			s.count("refresh", "grant_gone")
			mctx, cancel := s.bgCtx()
			defer cancel()
			merr := s.st.MarkNeedsRelink(mctx, k, cur.Version)
			if errors.Is(merr, store.ErrVersionConflict) {
				// Someone wrote a newer record (a relink, or a holder after our lock
				// expired): theirs wins.
				if nrec, gerr := s.st.Get(mctx, k); gerr == nil && s.usable(nrec, rejected) {
					return nrec, nil
				}
			} else if merr != nil && !errors.Is(merr, store.ErrNotFound) {
				log.Warn("refresh: flagging link failed", "err", merr)
			}
			return nil, fmt.Errorf("%w: %w", ErrNeedsRelink, err)
		}
		log.Warn("refresh failed", "err", err)
		s.count("refresh", "failed")
		werr := fmt.Errorf("adoauth: refresh: %w", err)
		s.setNegative(k, werr)
		return nil, werr
	}

	next := cur.Clone()
	next.AccessToken = tok.AccessToken
	if tok.RefreshToken != "" {
		next.RefreshToken = tok.RefreshToken
	}
	next.Expiry = tok.Expiry.UTC()
	if len(tok.Scopes) > 0 {
		next.Scopes = tok.Scopes
	}
	next.NeedsRelink = false
	// Detached: the IdP has already rotated the refresh token; losing this write
	// would lose the link.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.st.CompareAndSwap(wctx, k, cur.Version, next); err != nil {
		if errors.Is(err, store.ErrVersionConflict) {
			// Fencing: our lock expired and a later holder wrote first.
			log.Warn("refresh: record changed while refreshing; using the newer one")
			s.count("refresh", "fenced")
			nrec, gerr := s.st.Get(wctx, k)
			if gerr != nil {
				return nil, fmt.Errorf("adoauth: refresh: reload: %w", gerr)
			}
			if nrec.NeedsRelink && nrec.RefreshToken == cur.RefreshToken {
				// The flag came from a holder that redeemed the same refresh token
				// after we did and was told invalid_grant. We hold its valid
				// successors: keep the link instead of logging the person out.
				next.NeedsRelink = false
				if err := s.st.CompareAndSwap(wctx, k, nrec.Version, next); err == nil {
					log.Warn("refresh: rescued a link flagged by a racing holder", "version", next.Version)
					s.count("refresh", "rescued")
					s.forgetNegative(k)
					return next, nil
				}
				return nil, ErrNeedsRelink
			}
			if nrec.NeedsRelink {
				return nil, ErrNeedsRelink
			}
			return nrec, nil
		}
		log.Error("refresh: storing the new token failed", "err", err)
		return nil, fmt.Errorf("adoauth: refresh: store: %w", err)
	}
	s.forgetNegative(k)
	log.Info("token refreshed", "version", next.Version)
	s.count("refresh", "ok")
	return next, nil
}

// callProvider makes the IdP call with its own deadline, retrying once, quickly,
// on a transient failure.
func (s *Service) callProvider(ctx context.Context, rt string) (*Token, error) {
	for attempt := 0; ; attempt++ {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refreshTimeout)
		tok, err := s.prov.Refresh(pctx, rt)
		cancel()
		if err == nil {
			return tok, nil
		}
		if attempt > 0 || !errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// extendWhile keeps the lock alive every lockTTL/3 until the returned stop is called.
func (s *Service) extendWhile(k store.UserKey, lock *store.Lock) (stop func()) {
	if s.noExtend {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.lockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := s.bgCtx()
				err := lock.Extend(ctx, s.lockTTL)
				cancel()
				if errors.Is(err, store.ErrLockLost) {
					s.log.Warn("refresh: lock lost while refreshing", "team", k.Team, "user", k.User)
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
