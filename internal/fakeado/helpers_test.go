package fakeado

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testClientID = "cid-123"
	testSecret   = "s3cret&=+"
	testRedirect = "https://bot.example/oauth/callback"
)

var (
	alice = User{ID: "11111111-aaaa-4aaa-8aaa-111111111111", DisplayName: "Alice Example", Email: "alice@example.com", Orgs: []string{"contoso"}}
	bob   = User{ID: "22222222-bbbb-4bbb-8bbb-222222222222", DisplayName: "Bob Example", Email: "bob@example.com", Orgs: []string{"contoso"}}
)

var entraScopes = "offline_access " + ResourceID + "/vso.build " + ResourceID + "/vso.work " +
	ResourceID + "/vso.project " + ResourceID + "/vso.profile " + ResourceID + "/vso.code"

func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = testClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = testSecret
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func seeded(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, Options{})
	SeedDemo(s, alice, bob)
	return s
}

// noRedirect is a client that shows us the 302 instead of following it.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

var client = &http.Client{Timeout: 10 * time.Second}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize runs an authorize request and returns the redirect's query.
func authorize(t testing.TB, authURL string, q url.Values) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %q", got)
	}
	return loc.Query()
}

func entraAuthorizeQuery(verifier string) url.Values {
	return url.Values{
		"client_id": {testClientID}, "response_type": {"code"}, "redirect_uri": {testRedirect},
		"scope": {entraScopes}, "state": {"st-1"},
		"code_challenge": {challengeOf(verifier)}, "code_challenge_method": {"S256"},
	}
}

func entraCode(t testing.TB, s *Server, verifier string) string {
	t.Helper()
	q := authorize(t, s.AuthorityURL()+"/organizations/oauth2/v2.0/authorize", entraAuthorizeQuery(verifier))
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("authorize redirect query = %v", q)
	}
	return q.Get("code")
}

type tokenResult struct {
	status int
	body   map[string]any
}

func postForm(t testing.TB, u string, form url.Values, basicUser, basicPass string) tokenResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response not JSON: %v", err)
	}
	return tokenResult{resp.StatusCode, body}
}

func entraTokenURL(s *Server) string { return s.AuthorityURL() + "/organizations/oauth2/v2.0/token" }

func entraExchange(t testing.TB, s *Server, code, verifier string) tokenResult {
	t.Helper()
	return postForm(t, entraTokenURL(s), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {verifier}, "client_id": {testClientID}, "client_secret": {testSecret},
	}, "", "")
}

func entraRefresh(t testing.TB, s *Server, rt string) tokenResult {
	t.Helper()
	return postForm(t, entraTokenURL(s), url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
	}, testClientID, testSecret)
}

// entraLogin signs in as the current sign-in user and returns access and refresh tokens.
func entraLogin(t testing.TB, s *Server) (at, rt string) {
	t.Helper()
	verifier := "verifier-" + strings.Repeat("x", 43)
	res := entraExchange(t, s, entraCode(t, s, verifier), verifier)
	if res.status != 200 {
		t.Fatalf("exchange: %d %v", res.status, res.body)
	}
	return res.body["access_token"].(string), res.body["refresh_token"].(string)
}

func legacyTokenForm(grant, assertion string) url.Values {
	return url.Values{
		"client_assertion_type": {LegacyAssertionType}, "client_assertion": {testSecret},
		"grant_type": {grant}, "assertion": {assertion}, "redirect_uri": {testRedirect},
	}
}

func legacyLogin(t testing.TB, s *Server) tokenResult {
	t.Helper()
	q := authorize(t, s.VSSPSURL()+"/oauth2/authorize", url.Values{
		"client_id": {testClientID}, "response_type": {"Assertion"}, "state": {"st-L"},
		"scope": {"vso.build vso.work vso.project vso.profile vso.code"}, "redirect_uri": {testRedirect},
	})
	if q.Get("state") != "st-L" || q.Get("code") == "" {
		t.Fatalf("legacy authorize redirect query = %v", q)
	}
	return postForm(t, s.VSSPSURL()+"/oauth2/token", legacyTokenForm(LegacyGrantType, q.Get("code")), "", "")
}

type apiResult struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResult) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body not JSON: %v: %.300s", r.status, err, r.body)
	}
	return m
}

// call makes a REST call the way the devops client does (api-version 7.1, Suppress).
func call(t testing.TB, method, u, token string, body string) apiResult {
	t.Helper()
	return callH(t, method, u, token, body, http.Header{"X-Tfs-Fedauthredirect": {"Suppress"}})
}

func callH(t testing.TB, method, u, token string, body string, h http.Header) apiResult {
	t.Helper()
	if !strings.Contains(u, "api-version=") {
		if strings.Contains(u, "?") {
			u += "&api-version=7.1"
		} else {
			u += "?api-version=7.1"
		}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{resp.StatusCode, resp.Header, b}
}

func values(t testing.TB, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", m)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}
