package adoauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenEndpoint is a scripted token endpoint recording the forms it got.
type tokenEndpoint struct {
	mu     sync.Mutex
	forms  []url.Values
	status int
	body   string
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f, _ := url.ParseQuery(string(b))
	te.mu.Lock()
	te.forms = append(te.forms, f)
	st, body := te.status, te.body
	te.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	io.WriteString(w, body)
}

func (te *tokenEndpoint) last() url.Values {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.forms[len(te.forms)-1]
}

func TestProviderTokenResponses(t *testing.T) {
	const secretRT = "rt-secret-abcdef123456"
	cases := []struct {
		name      string
		status    int
		body      string
		wantAT    string
		wantRT    string
		wantTTL   time.Duration
		grantGone bool
		transient bool
	}{
		{name: "number expires_in", status: 200, body: `{"access_token":"AT1","refresh_token":"RT2","expires_in":3599,"token_type":"Bearer"}`, wantAT: "AT1", wantRT: "RT2", wantTTL: 3599 * time.Second},
		{name: "string expires_in", status: 200, body: `{"access_token":"AT1","refresh_token":"RT2","expires_in":"3599","token_type":"jwt-bearer"}`, wantAT: "AT1", wantRT: "RT2", wantTTL: 3599 * time.Second},
		{name: "no new refresh token keeps old", status: 200, body: `{"access_token":"AT1","expires_in":60}`, wantAT: "AT1", wantRT: secretRT, wantTTL: time.Minute},
		{name: "rfc error invalid_grant", status: 400, body: `{"error":"invalid_grant","error_description":"AADSTS70008: expired"}`, grantGone: true},
		{name: "legacy error shape", status: 400, body: `{"Error":"invalid_grant","ErrorDescription":"Invalid refresh token"}`, grantGone: true},
		{name: "legacy error shape with 401", status: 401, body: `{"Error":"InvalidRefreshToken","ErrorDescription":"x"}`, grantGone: true},
		{name: "interaction_required", status: 400, body: `{"error":"interaction_required"}`, grantGone: true},
		{name: "consent_required", status: 400, body: `{"error":"consent_required"}`, grantGone: true},
		{name: "unauthorized_client", status: 400, body: `{"error":"unauthorized_client"}`, grantGone: true},
		{name: "server error", status: 503, body: `<html>down</html>`, transient: true},
		{name: "temporarily_unavailable", status: 400, body: `{"error":"temporarily_unavailable"}`, transient: true},
		{name: "unknown 400", status: 400, body: `{"error":"invalid_request"}`},
	}
	for _, mode := range []string{"entra", "legacy"} {
		for _, c := range cases {
			if mode == "entra" && c.name == "legacy error shape with 401" {
				continue // x/oauth2 reads only the RFC field names
			}
			if mode == "entra" && c.name == "legacy error shape" {
				continue
			}
			t.Run(mode+"/"+c.name, func(t *testing.T) {
				te := &tokenEndpoint{status: c.status, body: c.body}
				srv := httptest.NewServer(te)
				defer srv.Close()
				var p Provider
				if mode == "entra" {
					p = NewEntra(EntraConfig{AuthorityURL: srv.URL, Tenant: "t1", ClientID: "cid", ClientSecret: "csecret-0123456789", RedirectURL: "https://bot/oauth/callback"})
				} else {
					p = NewLegacy(LegacyConfig{VSSPSURL: srv.URL, ClientID: "cid", ClientSecret: "csecret-0123456789", RedirectURL: "https://bot/oauth/callback"})
				}
				before := time.Now()
				tok, err := p.Refresh(context.Background(), secretRT)
				f := te.last()
				if mode == "entra" {
					if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != secretRT || f.Get("client_secret") != "csecret-0123456789" {
						t.Fatalf("entra refresh form: %v", f)
					}
				} else if f.Get("grant_type") != "refresh_token" || f.Get("assertion") != secretRT ||
					f.Get("client_assertion") != "csecret-0123456789" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
					f.Get("redirect_uri") != "https://bot/oauth/callback" {
					t.Fatalf("legacy refresh form: %v", f)
				}
				if c.wantAT != "" {
					if err != nil {
						t.Fatal(err)
					}
					if tok.AccessToken != c.wantAT || tok.RefreshToken != c.wantRT {
						t.Fatalf("token %+v", tok)
					}
					if d := tok.Expiry.Sub(before); d < c.wantTTL-2*time.Second || d > c.wantTTL+2*time.Second {
						t.Fatalf("expiry in %v, want %v", d, c.wantTTL)
					}
					return
				}
				if err == nil {
					t.Fatal("no error")
				}
				var pe *ProviderError
				if !errors.As(err, &pe) {
					t.Fatalf("not a *ProviderError: %T", err)
				}
				if pe.Status != c.status {
					t.Errorf("status %d", pe.Status)
				}
				if errors.Is(err, ErrGrantGone) != c.grantGone {
					t.Errorf("grant gone = %v for %v", !c.grantGone, err)
				}
				if errors.Is(err, ErrProviderUnavailable) != c.transient {
					t.Errorf("transient = %v for %v", !c.transient, err)
				}
				for _, s := range []string{secretRT, "csecret", "AADSTS", "Invalid refresh"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q contains %q", err, s)
					}
				}
			})
		}
	}
}

func TestEntraExchangeAndURLs(t *testing.T) {
	te := &tokenEndpoint{status: 200, body: `{"access_token":"AT","refresh_token":"RT","expires_in":3599,"scope":"499b84ac-1321-427f-aa17-267ca6975798/vso.build 499b84ac-1321-427f-aa17-267ca6975798/vso.code offline_access"}`}
	mux := http.NewServeMux()
	mux.Handle("/t1/oauth2/v2.0/token", te)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p := NewEntra(EntraConfig{AuthorityURL: srv.URL + "/", Tenant: "t1", ClientID: "cid", ClientSecret: "cs", RedirectURL: "https://bot/oauth/callback"})
	au, err := url.Parse(p.AuthCodeURL("st", "verifier-verifier-verifier-verifier-verifier"))
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if au.Path != "/t1/oauth2/v2.0/authorize" || q.Get("code_challenge_method") != "S256" || q.Get("state") != "st" ||
		q.Get("response_type") != "code" || q.Get("redirect_uri") != "https://bot/oauth/callback" {
		t.Fatalf("authorize URL %s", au)
	}
	wantScope := "499b84ac-1321-427f-aa17-267ca6975798/vso.build 499b84ac-1321-427f-aa17-267ca6975798/vso.work 499b84ac-1321-427f-aa17-267ca6975798/vso.project 499b84ac-1321-427f-aa17-267ca6975798/vso.profile 499b84ac-1321-427f-aa17-267ca6975798/vso.code offline_access"
	if q.Get("scope") != wantScope {
		t.Fatalf("scope %q", q.Get("scope"))
	}
	tok, err := p.Exchange(context.Background(), "the-code", "verifier-verifier-verifier-verifier-verifier")
	if err != nil {
		t.Fatal(err)
	}
	f := te.last()
	if f.Get("code") != "the-code" || f.Get("code_verifier") != "verifier-verifier-verifier-verifier-verifier" || f.Get("grant_type") != "authorization_code" || f.Get("client_id") != "cid" {
		t.Fatalf("exchange form %v", f)
	}
	if strings.Join(tok.Scopes, ",") != "vso.build,vso.code" {
		t.Fatalf("scopes %v", tok.Scopes)
	}
}

func TestLegacyAuthURL(t *testing.T) {
	p := NewLegacy(LegacyConfig{VSSPSURL: "https://vssps.example/", ClientID: "cid", RedirectURL: "https://bot/oauth/callback"})
	u, _ := url.Parse(p.AuthCodeURL("st", "ignored"))
	q := u.Query()
	if u.Host != "vssps.example" || u.Path != "/oauth2/authorize" || q.Get("response_type") != "Assertion" ||
		q.Get("scope") != "vso.build vso.work vso.project vso.profile vso.code" || q.Get("client_id") != "cid" || q.Get("state") != "st" {
		t.Fatalf("legacy authorize URL %s", u)
	}
}

func TestProviderTransportErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // connection refused from now on
	for _, p := range []Provider{
		NewEntra(EntraConfig{AuthorityURL: base, ClientID: "c", ClientSecret: "s"}),
		NewLegacy(LegacyConfig{VSSPSURL: base, ClientID: "c", ClientSecret: "s"}),
	} {
		_, err := p.Refresh(context.Background(), "rt-transport-secret")
		if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrGrantGone) || strings.Contains(err.Error(), "rt-transport-secret") {
			t.Errorf("%s: %v", p.Mode(), err)
		}
	}
}

func FuzzParseExpiresIn(f *testing.F) {
	for _, s := range []string{`3599`, `"3599"`, `""`, `null`, `-1`, `"abc"`, `1e3`, `"  60 "`, `99999999999999999999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseExpiresIn(json.RawMessage(s))
		if err == nil && (d < 0 || d > 10*365*24*time.Hour) {
			t.Fatalf("parseExpiresIn(%q) = %v", s, d)
		}
	})
}
