package adoauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adobot/adobot/store"
)

func TestLinkFlow(t *testing.T) {
	for _, mode := range []string{"entra", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: mode, requireEmailMatch: true})
			k, u := e.user("Ada <b>Lovelace</b>", "alpha", "beta")
			ctx := context.Background()
			startURL, err := e.svc.StartLink(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			state := stateOf(t, startURL)
			e.secret(state)
			if !strings.HasPrefix(startURL, e.cfg.PublicURL[:len(e.cfg.PublicURL)-1]+"/oauth/start?state=") {
				t.Fatalf("start URL %q", startURL)
			}

			// A link previewer (GET and HEAD, no redirects followed) consumes nothing.
			for _, m := range []string{http.MethodHead, http.MethodGet} {
				r := e.get(e.noFollow, m, startURL)
				if r.status != http.StatusFound {
					t.Fatalf("%s start: %d", m, r.status)
				}
				loc, _ := url.Parse(r.header.Get("Location"))
				if loc.Query().Get("state") != state {
					t.Fatalf("authorize URL lacks the state")
				}
				if mode == "entra" && (loc.Query().Get("code_challenge_method") != "S256" || loc.Query().Get("code_challenge") == "") {
					t.Fatalf("entra authorize URL lacks PKCE: %v", loc.Query())
				}
				if mode == "legacy" && loc.Query().Get("response_type") != "Assertion" {
					t.Fatalf("legacy authorize URL: %v", loc.Query())
				}
				if r.header.Get("Referrer-Policy") != "no-referrer" || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("start headers: %v", r.header)
				}
			}
			if _, err := e.st.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("previewer stored something: %v", err)
			}

			before := time.Now()
			r := e.get(e.browser, http.MethodGet, startURL)
			if r.status != http.StatusOK {
				t.Fatalf("callback: %d %s", r.status, r.body)
			}
			if !strings.Contains(r.body, "Linked as Ada &lt;b&gt;Lovelace&lt;/b&gt;.") || !strings.Contains(r.body, "Return to Slack") {
				t.Fatalf("success page not escaped or wrong: %s", r.body)
			}
			checkPageHeaders(t, r)
			callbackURL := r.url.String()
			if r.url.Path != "/oauth/callback" || r.url.Query().Get("code") == "" {
				t.Fatalf("final URL %s", r.url.Path)
			}
			e.secret(r.url.Query().Get("code"))

			rec, err := e.st.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			e.secret(rec.AccessToken, rec.RefreshToken)
			if rec.AuthMode != mode || rec.ProfileID != u.ID || rec.DisplayName != u.DisplayName || rec.Email != u.Email {
				t.Errorf("identity fields: %+v", *rec)
			}
			if !slices.Equal(rec.Orgs, []string{"alpha", "beta"}) || rec.DefaultOrg != "alpha" {
				t.Errorf("orgs %v default %q", rec.Orgs, rec.DefaultOrg)
			}
			for _, sc := range Scopes {
				if !slices.Contains(rec.Scopes, sc) {
					t.Errorf("scope %s missing from %v", sc, rec.Scopes)
				}
			}
			if rec.AccessToken == "" || rec.RefreshToken == "" || rec.NeedsRelink {
				t.Errorf("tokens missing or flagged")
			}
			if d := time.Until(rec.Expiry); d < 50*time.Minute || d > 61*time.Minute {
				t.Errorf("expiry in %v", d)
			}
			if rec.LinkedAt.Before(before.Add(-time.Second)) || rec.LinkedAt.After(time.Now()) {
				t.Errorf("LinkedAt %v", rec.LinkedAt)
			}
			if n := e.notifier.count(); n != 1 {
				t.Fatalf("notifier called %d times", n)
			}
			got := e.notifier.calls[0]
			if got.k != k || got.rec.DisplayName != u.DisplayName || got.rec.AccessToken != "" || got.rec.RefreshToken != "" {
				t.Errorf("notifier got %+v", got)
			}

			// Replaying the callback (same code and state) is refused and changes nothing.
			r = e.get(e.browser, http.MethodGet, callbackURL)
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "no longer valid") {
				t.Fatalf("replay: %d %s", r.status, r.body)
			}
			checkPageHeaders(t, r)
			// And the start link is dead too: the state was used up.
			if r := e.get(e.noFollow, http.MethodGet, startURL); r.status != http.StatusBadRequest {
				t.Fatalf("start after use: %d", r.status)
			}
			rec2, err := e.st.Get(ctx, k)
			if err != nil || rec2.Version != rec.Version {
				t.Fatalf("replay changed the record: %v", err)
			}
			if e.notifier.count() != 1 {
				t.Fatal("replay notified")
			}
			if !strings.Contains(e.logs.String(), `"request_id"`) {
				t.Fatal("no request id in logs")
			}
		})
	}
}

func checkPageHeaders(t *testing.T, r resp) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for h, v := range want {
		if got := r.header.Get(h); got != v {
			t.Errorf("header %s = %q, want %q", h, got, v)
		}
	}
}

func TestCallbackRefusals(t *testing.T) {
	type tc struct {
		name     string
		mode     string
		stateTTL time.Duration
		run      func(t *testing.T, e *env, k store.UserKey) resp
		status   int
		words    string
		exchange bool // whether a token exchange may have happened
	}
	// flowTo follows start -> authorize by hand and returns the callback URL.
	flowTo := func(t *testing.T, e *env, k store.UserKey) string {
		u, err := e.svc.StartLink(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		e.secret(stateOf(t, u))
		r := e.get(e.noFollow, http.MethodGet, u)
		if r.status != http.StatusFound {
			t.Fatalf("start: %d", r.status)
		}
		r = e.get(e.noFollow, http.MethodGet, r.header.Get("Location"))
		if r.status != http.StatusFound {
			t.Fatalf("authorize: %d", r.status)
		}
		cb := r.header.Get("Location")
		cu, _ := url.Parse(cb)
		e.secret(cu.Query().Get("code"))
		return cb
	}
	cases := []tc{
		{name: "forged state", status: 400, words: "no longer valid", run: func(t *testing.T, e *env, k store.UserKey) resp {
			cb := flowTo(t, e, k)
			cu, _ := url.Parse(cb)
			q := cu.Query()
			q.Set("state", "forged-"+q.Get("state")[:10])
			cu.RawQuery = q.Encode()
			return e.get(e.browser, http.MethodGet, cu.String())
		}},
		{name: "no state", status: 400, words: "no longer valid", run: func(t *testing.T, e *env, k store.UserKey) resp {
			u, _ := e.svc.StartLink(context.Background(), k)
			e.secret(stateOf(t, u))
			return e.get(e.browser, http.MethodGet, e.srv.URL+"/oauth/callback?code=abc")
		}},
		{name: "expired state", stateTTL: 300 * time.Millisecond, status: 400, words: "no longer valid", run: func(t *testing.T, e *env, k store.UserKey) resp {
			cb := flowTo(t, e, k)
			time.Sleep(600 * time.Millisecond)
			return e.get(e.browser, http.MethodGet, cb)
		}},
		{name: "expired start link", stateTTL: 300 * time.Millisecond, status: 400, words: "no longer valid", run: func(t *testing.T, e *env, k store.UserKey) resp {
			u, _ := e.svc.StartLink(context.Background(), k)
			e.secret(stateOf(t, u))
			time.Sleep(600 * time.Millisecond)
			return e.get(e.browser, http.MethodGet, u)
		}},
		{name: "declined consent entra", status: 400, words: "Consent was declined", run: declined},
		{name: "declined consent legacy", mode: "legacy", status: 400, words: "Consent was declined", run: declined},
		{name: "bad code", status: 502, words: "did not accept", exchange: true, run: func(t *testing.T, e *env, k store.UserKey) resp {
			cb := flowTo(t, e, k)
			cu, _ := url.Parse(cb)
			q := cu.Query()
			q.Set("code", "not-a-real-code")
			cu.RawQuery = q.Encode()
			return e.get(e.browser, http.MethodGet, cu.String())
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: c.mode, stateTTL: c.stateTTL})
			k, _ := e.user("Grace Hopper", "alpha")
			r := c.run(t, e, k)
			if r.status != c.status || !strings.Contains(r.body, c.words) {
				t.Fatalf("got %d, want %d with %q: %s", r.status, c.status, c.words, r.body)
			}
			checkPageHeaders(t, r)
			if _, err := e.st.Get(context.Background(), k); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("something was stored: %v", err)
			}
			if e.notifier.count() != 0 {
				t.Fatal("notifier called")
			}
			if !c.exchange {
				if n := e.fake.TokenCalls("authorization_code") + e.fake.TokenCalls("urn:ietf:params:oauth:grant-type:jwt-bearer"); n != 0 {
					t.Fatalf("%d token exchanges", n)
				}
			}
		})
	}
}

func declined(t *testing.T, e *env, k store.UserKey) resp {
	e.fake.SetDenyConsent(true)
	u, err := e.svc.StartLink(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	e.secret(stateOf(t, u))
	r := e.get(e.browser, http.MethodGet, u)
	// The error callback used the state up: following the link again is refused.
	e.fake.SetDenyConsent(false)
	if again := e.get(e.browser, http.MethodGet, u); again.status != http.StatusBadRequest {
		t.Errorf("state survived an error callback: %d", again.status)
	}
	return r
}

func TestEmailMatch(t *testing.T) {
	for _, require := range []bool{true, false} {
		t.Run(map[bool]string{true: "required", false: "off"}[require], func(t *testing.T) {
			e := newEnv(t, envOpts{requireEmailMatch: require})
			k, u := e.user("Alan Turing", "alpha")
			// The Slack person is someone else: a forwarded link.
			e.dir.set(k, "mallory@corp.example")
			start, err := e.svc.StartLink(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			e.secret(stateOf(t, start))
			r := e.get(e.browser, http.MethodGet, start)
			_, gerr := e.st.Get(context.Background(), k)
			if !require {
				if r.status != http.StatusOK || gerr != nil {
					t.Fatalf("link with check off: %d %v", r.status, gerr)
				}
				return
			}
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d", r.status)
			}
			for _, w := range []string{"m***@corp.example", "a different Azure DevOps account", "a***@example.com"} {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q: %s", w, r.body)
				}
			}
			for _, leak := range []string{"mallory@corp.example", u.Email} {
				if strings.Contains(r.body, leak) {
					t.Errorf("page shows full email %q", leak)
				}
			}
			if !errors.Is(gerr, store.ErrNotFound) || e.notifier.count() != 0 {
				t.Fatalf("refused link stored something: %v", gerr)
			}
		})
	}
}

func TestUnlink(t *testing.T) {
	for _, c := range []struct{ mode, url string }{
		{"entra", "https://myapps.microsoft.com"},
		{"legacy", "https://app.vssps.visualstudio.com/Profile/View"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: c.mode})
			k, _ := e.user("Edsger Dijkstra", "alpha")
			e.link(k)
			got, err := e.svc.Unlink(context.Background(), k)
			if err != nil || got != c.url {
				t.Fatalf("Unlink = %q, %v", got, err)
			}
			if _, err := e.st.Get(context.Background(), k); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("record survived unlink: %v", err)
			}
			if _, err := e.svc.TokenSource(k, nil).Token(context.Background()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("token after unlink: %v", err)
			}
		})
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com",
		" Bob@x.io ":        "B***@x.io",
		"":                  "",
		"nobody":            "***",
		"é@x.fr":            "é***@x.fr",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
