package adoauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/redistest"
	"github.com/adobot/adobot/store"
	"github.com/redis/go-redis/v9"
)

const (
	testClientID     = "client-id-0f3a"
	testClientSecret = "client-secret-9b7c1d2e3f4a5b6c"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type notifierRec struct {
	k   store.UserKey
	rec store.Record
}

type countingNotifier struct {
	mu    sync.Mutex
	calls []notifierRec
}

func (n *countingNotifier) Linked(_ context.Context, k store.UserKey, rec *store.Record) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, notifierRec{k, *rec})
}

func (n *countingNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}

type mapDirectory struct {
	mu     sync.Mutex
	emails map[store.UserKey]string
}

func (d *mapDirectory) Email(_ context.Context, k store.UserKey) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.emails[k]
	if !ok {
		return "", errors.New("no such slack user")
	}
	return e, nil
}

func (d *mapDirectory) set(k store.UserKey, email string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.emails[k] = email
}

// env is one bot "deployment" under test: a Redis, a fake IdP + Azure DevOps, and
// the HTTP server the callback lands on.
type env struct {
	t        *testing.T
	mode     string
	redis    *redistest.Server
	sealer   *store.Sealer
	st       *store.Store
	rdb      redis.UniversalClient
	fake     *fakeado.Server
	dv       *devops.Client
	logs     *syncBuffer
	logger   *slog.Logger
	notifier *countingNotifier
	dir      *mapDirectory
	srv      *httptest.Server
	svc      *Service
	cfg      Config
	browser  *http.Client
	noFollow *http.Client

	secretsMu sync.Mutex
	secrets   map[string]bool // values that must never appear in clear
	errs      []string        // every error string the tests saw
}

type envOpts struct {
	mode              string
	stateTTL          time.Duration
	requireEmailMatch bool
	accessTokenTTL    time.Duration
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	if o.mode == "" {
		o.mode = "entra"
	}
	e := &env{t: t, mode: o.mode, secrets: map[string]bool{testClientSecret: true}}
	e.redis = redistest.Start(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var err error
	if e.sealer, err = store.NewSealer(key); err != nil {
		t.Fatal(err)
	}
	e.rdb = e.newRedis()
	e.st = store.New(e.rdb, e.sealer, store.Options{StateTTL: o.stateTTL})
	e.fake, err = fakeado.New(fakeado.Options{ClientID: testClientID, ClientSecret: testClientSecret, AccessTokenTTL: o.accessTokenTTL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.fake.Close)
	e.dv = devops.NewClient(devops.Config{APIURL: e.fake.APIURL(), VSSPSURL: e.fake.VSSPSURL(), MaxAttempts: 1})
	e.logs = &syncBuffer{}
	e.logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.notifier = &countingNotifier{}
	e.dir = &mapDirectory{emails: map[store.UserKey]string{}}

	e.srv = httptest.NewUnstartedServer(nil)
	public := "http://" + e.srv.Listener.Addr().String()
	e.cfg = Config{
		Provider:          e.newProvider(public),
		Store:             e.st,
		DevOps:            e.dv,
		PublicURL:         public + "/",
		RequireEmailMatch: o.requireEmailMatch,
		Directory:         e.dir,
		Notifier:          e.notifier,
		Logger:            e.logger,
	}
	e.svc = NewService(e.cfg)
	e.srv.Config.Handler = e.svc.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.browser = &http.Client{Timeout: 10 * time.Second}
	e.noFollow = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	t.Cleanup(e.scanSecrets)
	return e
}

func (e *env) newRedis() redis.UniversalClient {
	opt, err := redis.ParseURL(e.redis.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	c := redis.NewClient(opt)
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) newProvider(public string) Provider {
	if e.mode == "legacy" {
		return NewLegacy(LegacyConfig{VSSPSURL: e.fake.VSSPSURL(), ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: public + "/oauth/callback"})
	}
	return NewEntra(EntraConfig{AuthorityURL: e.fake.AuthorityURL(), Tenant: "organizations", ClientID: testClientID, ClientSecret: testClientSecret, RedirectURL: public + "/oauth/callback"})
}

// replica is another bot process: its own Redis connection, store and Service
// (so its own singleflight), same Redis and same IdP.
func (e *env) replica(tune func(*Service)) *Service {
	st := store.New(e.newRedis(), e.sealer, store.Options{})
	cfg := e.cfg
	cfg.Store = st
	s := NewService(cfg)
	if tune != nil {
		tune(s)
	}
	return s
}

func (e *env) secret(vals ...string) {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	for _, v := range vals {
		if len(v) >= 8 {
			e.secrets[v] = true
		}
	}
}

func (e *env) noteErr(err error) {
	if err == nil {
		return
	}
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	e.errs = append(e.errs, err.Error())
}

// user adds an Azure DevOps user and a Slack key for them.
func (e *env) user(name string, orgs ...string) (store.UserKey, fakeado.User) {
	k := store.UserKey{Team: redistest.UniqueID("T"), User: redistest.UniqueID("U")}
	for _, o := range orgs {
		e.fake.AddProject(o, fakeado.Project{Name: "Proj"})
	}
	u := fakeado.User{ID: redistest.UniqueID("ado"), DisplayName: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@example.com", Orgs: orgs}
	e.fake.AddUser(u)
	e.fake.SetSignInUser(u.ID)
	e.dir.set(k, "  "+strings.ToUpper(u.Email)+" ")
	return k, u
}

type resp struct {
	status int
	body   string
	header http.Header
	url    *url.URL
}

func (e *env) get(c *http.Client, method, u string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, body: string(b), header: r.Header, url: r.Request.URL}
}

// link runs the whole browser flow for k and returns the stored record.
func (e *env) link(k store.UserKey) *store.Record {
	e.t.Helper()
	u, err := e.svc.StartLink(context.Background(), k)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secret(stateOf(e.t, u))
	r := e.get(e.browser, http.MethodGet, u)
	if r.status != http.StatusOK {
		e.t.Fatalf("link: status %d: %s", r.status, r.body)
	}
	rec, err := e.st.Get(context.Background(), k)
	if err != nil {
		e.t.Fatalf("link: record: %v", err)
	}
	e.secret(rec.AccessToken, rec.RefreshToken)
	return rec
}

func stateOf(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	s := pu.Query().Get("state")
	if s == "" {
		t.Fatalf("no state in %q", u)
	}
	return s
}

// scanSecrets checks that no secret the test saw is in Redis, the logs, or an error.
func (e *env) scanSecrets() {
	t := e.t
	ctx := context.Background()
	// Everything the IdP and the API received is a secret we produced or forwarded.
	for _, r := range e.fake.Requests() {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			e.secret(strings.TrimPrefix(h, "Bearer "))
		}
		for _, name := range []string{"code", "state"} {
			e.secret(r.Query.Get(name))
		}
		if form, err := url.ParseQuery(string(r.Body)); err == nil {
			for _, name := range []string{"code", "assertion", "refresh_token", "client_secret", "client_assertion", "code_verifier"} {
				e.secret(form.Get(name))
			}
		}
	}
	var haystacks []string
	iter := e.rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		haystacks = append(haystacks, key)
		switch typ, _ := e.rdb.Type(ctx, key).Result(); typ {
		case "string":
			v, _ := e.rdb.Get(ctx, key).Result()
			haystacks = append(haystacks, v)
		case "hash":
			m, _ := e.rdb.HGetAll(ctx, key).Result()
			for f, v := range m {
				haystacks = append(haystacks, f, v)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan: %v", err)
	}
	logs := e.logs.String()
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	n := 0
	for s := range e.secrets {
		n++
		for _, h := range haystacks {
			if strings.Contains(h, s) {
				t.Errorf("a secret (%d chars) found in clear in Redis", len(s))
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars) found in logs", len(s))
		}
		for _, es := range e.errs {
			if strings.Contains(es, s) {
				t.Errorf("a secret (%d chars) found in an error string", len(s))
			}
		}
	}
	if n < 2 {
		t.Errorf("secret scan saw only %d secrets: the scan cannot fail", n)
	}
}

// countRefreshes counts refresh_token grants that reached the IdP (failed ones too).
func (e *env) refreshCalls() int64 { return e.fake.TokenCalls("refresh_token") }
