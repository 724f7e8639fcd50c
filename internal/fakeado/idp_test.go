package fakeado

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestEntraHappyPath(t *testing.T) {
	s := seeded(t)
	verifier := "v-" + strings.Repeat("a", 50)
	code := entraCode(t, s, verifier)
	res := entraExchange(t, s, code, verifier)
	if res.status != 200 {
		t.Fatalf("exchange: %d %v", res.status, res.body)
	}
	b := res.body
	if b["token_type"] != "Bearer" || b["expires_in"] != float64(3599) || b["ext_expires_in"] != float64(3599) {
		t.Errorf("token response = %v", b)
	}
	for _, sc := range []string{"vso.build", "vso.work", "vso.project", "vso.profile", "vso.code"} {
		if !strings.Contains(b["scope"].(string), ResourceID+"/"+sc) {
			t.Errorf("scope %q lacks %s", b["scope"], sc)
		}
	}
	at := b["access_token"].(string)
	if strings.Count(at, ".") == 2 && strings.HasPrefix(at, "eyJ") {
		t.Errorf("access token looks like a JWT: must be opaque")
	}
	if s.TokenCalls("authorization_code") != 1 {
		t.Errorf("TokenCalls = %d", s.TokenCalls("authorization_code"))
	}

	prof := call(t, "GET", s.VSSPSURL()+"/_apis/profile/profiles/me", at, "")
	if prof.status != 200 {
		t.Fatalf("profile: %d %s", prof.status, prof.body)
	}
	p := prof.json(t)
	if p["id"] != alice.ID || p["emailAddress"] != alice.Email || p["displayName"] != alice.DisplayName || p["publicAlias"] != alice.ID {
		t.Errorf("profile = %v", p)
	}
	acc := call(t, "GET", s.VSSPSURL()+"/_apis/accounts?memberId="+alice.ID, at, "")
	accs := values(t, acc.json(t))
	if len(accs) != 1 || accs[0]["accountName"] != "contoso" || accs[0]["accountId"] == "" {
		t.Errorf("accounts = %v", accs)
	}
	builds := call(t, "GET", s.APIURL()+"/contoso/Mobile%20App/_apis/build/builds?$top=5", at, "")
	if builds.status != 200 || len(values(t, builds.json(t))) != 5 {
		t.Errorf("builds: %d %.200s", builds.status, builds.body)
	}
	if s.APICalls() != 3 {
		t.Errorf("APICalls = %d, want 3", s.APICalls())
	}
}

func TestLegacyHappyPath(t *testing.T) {
	s := seeded(t)
	res := legacyLogin(t, s)
	if res.status != 200 {
		t.Fatalf("legacy exchange: %d %v", res.status, res.body)
	}
	if res.body["expires_in"] != "3599" || res.body["token_type"] != "jwt-bearer" ||
		res.body["scope"] != "vso.build vso.work vso.project vso.profile vso.code" {
		t.Errorf("legacy token response = %v", res.body)
	}
	at, rt := res.body["access_token"].(string), res.body["refresh_token"].(string)
	if r := call(t, "GET", s.APIURL()+"/contoso/_apis/projects", at, ""); r.status != 200 {
		t.Errorf("projects: %d %s", r.status, r.body)
	}
	if s.TokenCalls(LegacyGrantType) != 1 {
		t.Errorf("TokenCalls(legacy) = %d", s.TokenCalls(LegacyGrantType))
	}

	// Rotation, legacy shape.
	ref := postForm(t, s.VSSPSURL()+"/oauth2/token", legacyTokenForm("refresh_token", rt), "", "")
	if ref.status != 200 || ref.body["refresh_token"] == rt || ref.body["expires_in"] != "3599" {
		t.Fatalf("legacy refresh: %d %v", ref.status, ref.body)
	}
	again := postForm(t, s.VSSPSURL()+"/oauth2/token", legacyTokenForm("refresh_token", rt), "", "")
	if again.status != 400 || again.body["Error"] != "invalid_grant" || again.body["ErrorDescription"] == nil {
		t.Errorf("reused legacy refresh token: %d %v", again.status, again.body)
	}
	// An Entra endpoint does not take a legacy refresh token.
	if r := entraRefresh(t, s, ref.body["refresh_token"].(string)); r.status != 400 {
		t.Errorf("legacy token at Entra endpoint: %d", r.status)
	}
	if s.Refreshes() != 3 {
		t.Errorf("Refreshes = %d, want 3", s.Refreshes())
	}
	bad := legacyTokenForm("refresh_token", "x")
	bad.Set("client_assertion", "wrong")
	if r := postForm(t, s.VSSPSURL()+"/oauth2/token", bad, "", ""); r.status != 401 || r.body["Error"] != "invalid_client" {
		t.Errorf("bad client_assertion: %d %v", r.status, r.body)
	}
}

func TestEntraTokenErrors(t *testing.T) {
	s := seeded(t)
	verifier := "the-right-verifier-0123456789-0123456789-abc"
	tests := []struct {
		name       string
		mutate     func(form url.Values) (basicUser, basicPass string)
		wantStatus int
		wantError  string
		wantCode   float64
	}{
		{"ok with basic auth", func(f url.Values) (string, string) {
			f.Del("client_id")
			f.Del("client_secret")
			return testClientID, testSecret
		}, 200, "", 0},
		{"pkce mismatch", func(f url.Values) (string, string) { f.Set("code_verifier", "wrong"); return "", "" }, 400, "invalid_grant", 501481},
		{"pkce missing", func(f url.Values) (string, string) { f.Del("code_verifier"); return "", "" }, 400, "invalid_grant", 501481},
		{"redirect mismatch", func(f url.Values) (string, string) { f.Set("redirect_uri", "https://evil.example/cb"); return "", "" }, 400, "invalid_grant", 500112},
		{"bad secret", func(f url.Values) (string, string) { f.Set("client_secret", "nope"); return "", "" }, 401, "invalid_client", 7000215},
		{"bad client id", func(f url.Values) (string, string) { f.Set("client_id", "other"); return "", "" }, 401, "invalid_client", 700016},
		{"no secret", func(f url.Values) (string, string) { f.Del("client_secret"); return "", "" }, 401, "invalid_client", 7000218},
		{"unknown code", func(f url.Values) (string, string) { f.Set("code", "made-up"); return "", "" }, 400, "invalid_grant", 70000},
		{"bad grant type", func(f url.Values) (string, string) { f.Set("grant_type", "password"); return "", "" }, 400, "unsupported_grant_type", 70003},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{
				"grant_type": {"authorization_code"}, "code": {entraCode(t, s, verifier)}, "redirect_uri": {testRedirect},
				"code_verifier": {verifier}, "client_id": {testClientID}, "client_secret": {testSecret},
			}
			u, p := tc.mutate(form)
			res := postForm(t, entraTokenURL(s), form, u, p)
			if res.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", res.status, tc.wantStatus, res.body)
			}
			if tc.wantError == "" {
				if res.body["access_token"] == nil {
					t.Errorf("no access token: %v", res.body)
				}
				return
			}
			if res.body["error"] != tc.wantError {
				t.Errorf("error = %v, want %s", res.body["error"], tc.wantError)
			}
			codes, _ := res.body["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != tc.wantCode {
				t.Errorf("error_codes = %v, want [%v]", res.body["error_codes"], tc.wantCode)
			}
			desc, _ := res.body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") || res.body["trace_id"] == "" || res.body["correlation_id"] == "" || res.body["timestamp"] == "" {
				t.Errorf("error body shape: %v", res.body)
			}
			if strings.Contains(desc, testSecret) {
				t.Errorf("secret leaked in error")
			}
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	s := seeded(t)
	verifier := strings.Repeat("v", 43)
	code := entraCode(t, s, verifier)
	if r := entraExchange(t, s, code, verifier); r.status != 200 {
		t.Fatalf("first exchange: %d %v", r.status, r.body)
	}
	r := entraExchange(t, s, code, verifier)
	if r.status != 400 || r.body["error"] != "invalid_grant" || !strings.Contains(r.body["error_description"].(string), "AADSTS54005") {
		t.Errorf("reused code: %d %v", r.status, r.body)
	}
	// A code burnt by a failed PKCE check is dead too.
	code = entraCode(t, s, verifier)
	entraExchange(t, s, code, "wrong")
	if r := entraExchange(t, s, code, verifier); r.status != 400 {
		t.Errorf("code after failed PKCE: %d", r.status)
	}
	if got := s.TokenCalls("authorization_code"); got != 4 {
		t.Errorf("TokenCalls = %d, want 4", got)
	}
}

func TestEntraAuthorizeValidation(t *testing.T) {
	s := seeded(t)
	authURL := s.AuthorityURL() + "/organizations/oauth2/v2.0/authorize"
	tests := []struct {
		name      string
		mutate    func(url.Values)
		wantError string // "" = 400 page, no redirect
	}{
		{"plain pkce", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no pkce", func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		{"no offline_access", func(q url.Values) { q.Set("scope", ResourceID+"/vso.build") }, "invalid_scope"},
		{"no ado scope", func(q url.Values) { q.Set("scope", "offline_access openid") }, "invalid_scope"},
		{"bare vso scope", func(q url.Values) { q.Set("scope", "offline_access vso.build") }, "invalid_scope"},
		{"other resource", func(q url.Values) { q.Set("scope", "offline_access https://graph.microsoft.com/User.Read") }, "invalid_scope"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		{"bad client", func(q url.Values) { q.Set("client_id", "nope") }, ""},
		{"relative redirect", func(q url.Values) { q.Set("redirect_uri", "/cb") }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := entraAuthorizeQuery("v")
			tc.mutate(q)
			if tc.wantError == "" {
				resp, err := noRedirect.Get(authURL + "?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
					t.Errorf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			got := authorize(t, authURL, q)
			if got.Get("error") != tc.wantError || got.Get("code") != "" || got.Get("state") != "st-1" {
				t.Errorf("redirect query = %v", got)
			}
		})
	}
}

func TestDenyConsent(t *testing.T) {
	s := seeded(t)
	s.SetDenyConsent(true)
	q := authorize(t, s.AuthorityURL()+"/organizations/oauth2/v2.0/authorize", entraAuthorizeQuery("v"))
	if q.Get("error") != "access_denied" || !strings.Contains(q.Get("error_description"), "AADSTS65004") || q.Get("state") != "st-1" || q.Get("code") != "" {
		t.Errorf("deny: %v", q)
	}
	lq := authorize(t, s.VSSPSURL()+"/oauth2/authorize", url.Values{
		"client_id": {testClientID}, "response_type": {"Assertion"}, "state": {"L"}, "scope": {"vso.build"}, "redirect_uri": {testRedirect},
	})
	if lq.Get("error") != "access_denied" || lq.Get("state") != "L" {
		t.Errorf("legacy deny: %v", lq)
	}
	s.SetDenyConsent(false)
	if entraCode(t, s, "v") == "" {
		t.Error("no code after consent allowed again")
	}
}

func TestRefreshRotation(t *testing.T) {
	s := seeded(t)
	at1, rt1 := entraLogin(t, s)
	r := entraRefresh(t, s, rt1)
	if r.status != 200 {
		t.Fatalf("refresh: %d %v", r.status, r.body)
	}
	at2, rt2 := r.body["access_token"].(string), r.body["refresh_token"].(string)
	if rt2 == rt1 || at2 == at1 {
		t.Fatal("refresh did not rotate tokens")
	}
	old := entraRefresh(t, s, rt1)
	if old.status != 400 || old.body["error"] != "invalid_grant" {
		t.Errorf("old refresh token: %d %v", old.status, old.body)
	}
	if r := entraRefresh(t, s, rt2); r.status != 200 {
		t.Errorf("new refresh token: %d %v", r.status, r.body)
	}
	// Both access tokens still work: refresh does not revoke access tokens.
	for _, at := range []string{at1, at2} {
		if r := call(t, "GET", s.VSSPSURL()+"/_apis/profile/profiles/me", at, ""); r.status != 200 {
			t.Errorf("access token after refresh: %d", r.status)
		}
	}
	if s.Refreshes() != 3 || s.TokenCalls("refresh_token") != 3 {
		t.Errorf("Refreshes = %d, TokenCalls = %d, want 3", s.Refreshes(), s.TokenCalls("refresh_token"))
	}
	s.ResetCounters()
	if s.Refreshes() != 0 || s.APICalls() != 0 || s.TokenCalls("refresh_token") != 0 || len(s.Requests()) != 0 {
		t.Error("ResetCounters left something")
	}
}

func TestRevokeGrant(t *testing.T) {
	s := seeded(t)
	at, rtA := entraLogin(t, s)
	s.SetSignInUser(bob.ID)
	_, rtB := entraLogin(t, s)
	s.RevokeGrant(alice.ID)
	r := entraRefresh(t, s, rtA)
	if r.status != 400 || r.body["error"] != "invalid_grant" || !strings.Contains(r.body["error_description"].(string), "revoked") {
		t.Errorf("refresh after revoke: %d %v", r.status, r.body)
	}
	if r := entraRefresh(t, s, rtB); r.status != 200 {
		t.Errorf("other user's grant affected: %d", r.status)
	}
	if r := call(t, "GET", s.VSSPSURL()+"/_apis/profile/profiles/me", at, ""); r.status != 200 {
		t.Errorf("access token after revoke: %d", r.status)
	}
	// Legacy shape for a revoked legacy grant.
	s.SetSignInUser(alice.ID)
	lrt := legacyLogin(t, s).body["refresh_token"].(string)
	s.RevokeGrant(alice.ID)
	lr := postForm(t, s.VSSPSURL()+"/oauth2/token", legacyTokenForm("refresh_token", lrt), "", "")
	if lr.status != 400 || lr.body["Error"] != "invalid_grant" {
		t.Errorf("legacy refresh after revoke: %d %v", lr.status, lr.body)
	}
}

func TestSetGrantScopesAndMissingScope(t *testing.T) {
	s := seeded(t)
	s.SetGrantScopes([]string{"vso.build", ResourceID + "/vso.profile"})
	verifier := strings.Repeat("q", 43)
	res := entraExchange(t, s, entraCode(t, s, verifier), verifier)
	if got := res.body["scope"]; got != ResourceID+"/vso.build "+ResourceID+"/vso.profile" {
		t.Errorf("scope = %v", got)
	}
	at, rt := res.body["access_token"].(string), res.body["refresh_token"].(string)
	r := call(t, "GET", s.APIURL()+"/contoso/Platform/_apis/git/repositories", at, "")
	if r.status != 401 {
		t.Fatalf("git without vso.code: %d %s", r.status, r.body)
	}
	m := r.json(t)
	want := "TF400813: The user '" + alice.ID + "' is not authorized to access this resource. The OAuth token is missing the required scope vso.code."
	if m["message"] != want || m["typeKey"] != "UnauthorizedRequestException" || m["$id"] != "1" || m["eventId"] != float64(3000) {
		t.Errorf("missing scope body = %v", m)
	}
	if r := call(t, "GET", s.APIURL()+"/contoso/Platform/_apis/build/builds", at, ""); r.status != 200 {
		t.Errorf("build with vso.build: %d", r.status)
	}
	// Back to default: a refresh grants what was asked at sign-in.
	s.SetGrantScopes(nil)
	r2 := entraRefresh(t, s, rt)
	if !strings.Contains(r2.body["scope"].(string), "vso.code") {
		t.Errorf("scope after reset = %v", r2.body["scope"])
	}
	if r := call(t, "GET", s.APIURL()+"/contoso/Platform/_apis/git/repositories", r2.body["access_token"].(string), ""); r.status != 200 {
		t.Errorf("git after regrant: %d", r.status)
	}
}

func TestRejectAccessTokens(t *testing.T) {
	s := seeded(t)
	at, rt := entraLogin(t, s)
	s.SetSignInUser(bob.ID)
	bobAT, _ := entraLogin(t, s)
	s.RejectAccessTokens(alice.ID)
	u := s.APIURL() + "/contoso/_apis/projects"

	r := call(t, "GET", u, at, "")
	if r.status != 401 || !strings.Contains(r.header.Get("Content-Type"), "application/json") || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("suppressed: %d %v", r.status, r.header)
	}
	r = callH(t, "GET", u, at, "", nil)
	if r.status != http.StatusNonAuthoritativeInfo || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.body), "Sign In") {
		t.Errorf("unsuppressed: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := call(t, "GET", u, bobAT, ""); r.status != 200 {
		t.Errorf("other user rejected: %d", r.status)
	}
	nr := entraRefresh(t, s, rt)
	if r := call(t, "GET", u, nr.body["access_token"].(string), ""); r.status != 200 {
		t.Errorf("token issued after RejectAccessTokens: %d", r.status)
	}
	for name, tok := range map[string]string{"missing": "", "garbage": "nope"} {
		if r := call(t, "GET", u, tok, ""); r.status != 401 {
			t.Errorf("%s token: %d", name, r.status)
		}
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	s := newServer(t, Options{AccessTokenTTL: 300 * time.Millisecond})
	SeedDemo(s, alice)
	verifier := strings.Repeat("e", 43)
	res := entraExchange(t, s, entraCode(t, s, verifier), verifier)
	if res.body["expires_in"] != float64(1) {
		t.Errorf("expires_in = %v", res.body["expires_in"])
	}
	at := res.body["access_token"].(string)
	u := s.VSSPSURL() + "/_apis/profile/profiles/me"
	if r := call(t, "GET", u, at, ""); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	time.Sleep(400 * time.Millisecond)
	if r := call(t, "GET", u, at, ""); r.status != 401 {
		t.Errorf("expired token: %d", r.status)
	}
}

func TestRedirectURIAllowList(t *testing.T) {
	s := newServer(t, Options{RedirectURIs: []string{"https://other.example/cb"}})
	s.AddUser(alice)
	resp, err := noRedirect.Get(s.AuthorityURL() + "/organizations/oauth2/v2.0/authorize?" + entraAuthorizeQuery("v").Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("unregistered redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
