// Package fakeado is a fake Azure DevOps plus identity provider (Microsoft Entra ID v2
// and legacy Azure DevOps OAuth) served over real HTTP, in the spirit of
// net/http/httptest. End-to-end tests, the sandbox and the load tool point adobot's
// ADO_API_URL, ADO_VSSPS_URL and ADO_AUTHORITY_URL at one Server.
//
// One listener serves three "hosts" told apart by path prefix:
//
//	APIURL()       {base}            organizations at {base}/{org}/... (like dev.azure.com)
//	VSSPSURL()     {base}/_vssps     profile, accounts, legacy OAuth (like app.vssps.visualstudio.com)
//	AuthorityURL() {base}/_login     Entra v2 (like login.microsoftonline.com)
//
// Organization names cannot start with "_" in Azure DevOps, so the prefixes never
// collide with an organization.
//
// Everything is safe for concurrent use. The server keeps a bounded log of the
// requests it received (with their headers and bodies, secrets included: it is a test
// double) for assertions.
package fakeado

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	vsspsPrefix     = "_vssps"
	authorityPrefix = "_login"

	// ResourceID is Azure DevOps' resource (application) id in Entra ID; Entra
	// scopes are "<ResourceID>/vso.build" and so on.
	ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"

	// LegacyGrantType is the grant_type of the legacy Azure DevOps code exchange,
	// as passed to TokenCalls.
	LegacyGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// LegacyAssertionType is the client_assertion_type legacy token calls carry.
	LegacyAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

	defaultRequestLog = 10000
	maxLoggedBody     = 64 << 10
	maxBody           = 1 << 20
)

// Options configure a Server. The zero value works.
type Options struct {
	// ClientID and ClientSecret are what the token endpoints expect. Entra: client_id
	// plus client_secret as form fields or HTTP basic auth. Legacy: client_id on
	// authorize and the secret as client_assertion on token calls. Empty ClientID
	// defaults to "fake-client-id", empty ClientSecret to "fake-client-secret".
	ClientID, ClientSecret string
	// RedirectURIs, when set, are the only redirect_uri values the authorize
	// endpoints accept (like an app registration). Empty accepts any absolute URL.
	RedirectURIs []string
	// AccessTokenTTL is how long access tokens live; default 1h. expires_in reports
	// one second less, as Entra does (3599 for 1h).
	AccessTokenTTL time.Duration
	// Latency is added to every REST call (not to identity provider endpoints).
	Latency time.Duration
	// Logger receives one debug line per request (method, path, status); nil discards.
	Logger *slog.Logger
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// MaxRequestLog bounds Requests(); older entries are dropped. Default 10000;
	// negative disables the log.
	MaxRequestLog int
	// Seed seeds the fault injection random source; 0 means a fixed default, so runs
	// are repeatable.
	Seed uint64
}

// Faults are injected into REST calls (not identity provider calls).
type Faults struct {
	// Latency is added to every REST call on top of Options.Latency.
	Latency time.Duration
	// RateLimitRatio of REST calls (0..1) get 429 with Retry-After and X-RateLimit-*.
	RateLimitRatio float64
	// RetryAfter is sent in Retry-After (whole seconds, rounded up); 0 means 1s.
	RetryAfter time.Duration
	// UnavailableRatio of REST calls (0..1) get 503.
	UnavailableRatio float64
}

// Request is one request the server received.
type Request struct {
	Method  string
	Path    string // unescaped
	RawPath string // escaped, exactly as received
	Query   url.Values
	Header  http.Header
	Body    []byte // first 64 KiB
	Time    time.Time
}

// Server is a running fake. Create it with New and stop it with Close.
type Server struct {
	opts Options
	log  *slog.Logger
	ln   net.Listener
	srv  *http.Server
	base string
	done chan struct{}

	randMu sync.Mutex
	rand   *rand.Rand

	faultsMu sync.RWMutex
	faults   Faults

	// mu guards the identity and data state below.
	mu          sync.RWMutex
	users       map[string]*User
	userOrder   []string
	signInUser  string
	denyConsent bool
	grantScopes []string        // nil: grant what was requested
	orgs        map[string]*org // key: lower-case name
	orgOrder    []string
	nextWIID    int
	nextPRID    int
	tokens      tokenState

	reqMu   sync.Mutex
	reqLog  []Request
	reqNext int // ring write position once full

	apiCalls   atomic.Int64
	refreshes  atomic.Int64
	tokenMu    sync.Mutex
	tokenCalls map[string]int64
}

// New starts a Server listening on opts.Addr.
func New(opts Options) (*Server, error) {
	if opts.ClientID == "" {
		opts.ClientID = "fake-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.MaxRequestLog == 0 {
		opts.MaxRequestLog = defaultRequestLog
	}
	if opts.Seed == 0 {
		opts.Seed = 0x5eed_fa4e_ad0
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakeado: listen %s: %w", opts.Addr, err)
	}
	s := &Server{
		opts:       opts,
		log:        logger,
		ln:         ln,
		base:       "http://" + ln.Addr().String(),
		done:       make(chan struct{}),
		rand:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		users:      map[string]*User{},
		orgs:       map[string]*org{},
		nextWIID:   1,
		nextPRID:   1,
		tokens:     newTokenState(),
		tokenCalls: map[string]int64{},
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("fakeado: serve", "err", err)
		}
	}()
	return s, nil
}

// Close stops the server and closes every connection, then waits for the serve loop.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.done
}

// APIURL is ADO_API_URL: organization APIs live at {APIURL}/{org}/...
func (s *Server) APIURL() string { return s.base }

// VSSPSURL is ADO_VSSPS_URL: /_apis/profile/profiles/me, /_apis/accounts,
// /oauth2/authorize and /oauth2/token (legacy OAuth).
func (s *Server) VSSPSURL() string { return s.base + "/" + vsspsPrefix }

// AuthorityURL is ADO_AUTHORITY_URL: {AuthorityURL}/{tenant}/oauth2/v2.0/authorize and /token.
func (s *Server) AuthorityURL() string { return s.base + "/" + authorityPrefix }

// SetFaults replaces the faults applied to subsequent REST calls.
func (s *Server) SetFaults(f Faults) {
	s.faultsMu.Lock()
	s.faults = f
	s.faultsMu.Unlock()
}

func (s *Server) currentFaults() Faults {
	s.faultsMu.RLock()
	defer s.faultsMu.RUnlock()
	return s.faults
}

// float64 draws from the seeded source; math/rand/v2 sources are not goroutine safe.
func (s *Server) float64() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64()
}

// TokenCalls counts token endpoint calls (successful or not) by grant_type as sent:
// "authorization_code", "refresh_token" or LegacyGrantType.
func (s *Server) TokenCalls(grantType string) int64 {
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	return s.tokenCalls[grantType]
}

func (s *Server) countTokenCall(grantType string) {
	s.tokenMu.Lock()
	s.tokenCalls[grantType]++
	s.tokenMu.Unlock()
}

// Refreshes counts refresh grant calls, successful or failed, Entra and legacy.
func (s *Server) Refreshes() int64 { return s.refreshes.Load() }

// APICalls counts REST calls (organization APIs, profile and accounts), including
// ones answered with an injected fault or an auth error.
func (s *Server) APICalls() int64 { return s.apiCalls.Load() }

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	out := make([]Request, 0, len(s.reqLog))
	out = append(out, s.reqLog[s.reqNext:]...)
	out = append(out, s.reqLog[:s.reqNext]...)
	return out
}

// ResetCounters zeroes TokenCalls, Refreshes and APICalls and empties the request log.
func (s *Server) ResetCounters() {
	s.apiCalls.Store(0)
	s.refreshes.Store(0)
	s.tokenMu.Lock()
	clear(s.tokenCalls)
	s.tokenMu.Unlock()
	s.reqMu.Lock()
	s.reqLog = nil
	s.reqNext = 0
	s.reqMu.Unlock()
}

func (s *Server) record(r *http.Request, rawPath string, body []byte) {
	if s.opts.MaxRequestLog < 0 {
		return
	}
	if len(body) > maxLoggedBody {
		body = body[:maxLoggedBody]
	}
	req := Request{
		Method:  r.Method,
		Path:    r.URL.Path,
		RawPath: rawPath,
		Query:   r.URL.Query(),
		Header:  r.Header.Clone(),
		Body:    body,
		Time:    time.Now(),
	}
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if len(s.reqLog) < s.opts.MaxRequestLog {
		s.reqLog = append(s.reqLog, req)
		return
	}
	s.reqLog[s.reqNext] = req
	s.reqNext = (s.reqNext + 1) % len(s.reqLog)
}

// statusWriter remembers the status for the debug log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveHTTP records the request, splits the escaped path into unescaped segments and
// dispatches on the first one. Routing never uses a cleaned path: a ".." segment is
// refused here, so it cannot reach another route.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	start := time.Now()

	rawPath := r.URL.EscapedPath()
	if strings.HasPrefix(r.RequestURI, "/") {
		rawPath, _, _ = strings.Cut(r.RequestURI, "?")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	s.record(r, rawPath, body)
	defer func() {
		s.log.Debug("fakeado request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", time.Since(start))
	}()
	if err != nil {
		writeVSSError(w, http.StatusRequestEntityTooLarge, "request body too large", "RequestTooLargeException")
		return
	}

	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeVSSError(w, http.StatusBadRequest, "The request path is not valid.", "InvalidPathException")
		return
	}
	if len(segs) == 0 {
		writeVSSError(w, http.StatusNotFound, "Not found.", "VssResourceNotFoundException")
		return
	}
	switch segs[0] {
	case authorityPrefix:
		s.serveAuthority(w, r, segs[1:], body)
	case vsspsPrefix:
		s.serveVSSPS(w, r, segs[1:], body)
	default:
		s.serveAPI(w, r, segs, body)
	}
}

// splitPath splits an escaped path into unescaped segments. It refuses (ok=false)
// bad escapes, dot segments and segments that unescape to a slash or backslash, so
// "%2e%2e" and "a%2F..%2Fb" are as dead as "..". A single trailing slash is allowed.
func splitPath(escaped string) (segs []string, ok bool) {
	p := strings.TrimPrefix(escaped, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil, true
	}
	parts := strings.Split(p, "/")
	segs = make([]string, 0, len(parts))
	for _, part := range parts {
		seg, err := url.PathUnescape(part)
		if err != nil {
			return nil, false
		}
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\\x00") {
			return nil, false
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// sleepCtx waits d or until ctx ends, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
