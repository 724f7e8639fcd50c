package adoauth

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
	"golang.org/x/oauth2"
)

//go:embed templates/page.html
var templateFS embed.FS

// pageTmpl is parsed once; it is immutable, so sharing it is not mutable global state.
var pageTmpl = template.Must(template.ParseFS(templateFS, "templates/page.html"))

// maxStateAge backs up the store's TTL: a state older than this is refused even if
// Redis still had it.
const maxStateAge = 10 * time.Minute

// StartLink creates single-use state + PKCE verifier for k and returns the URL to DM
// (PublicURL + "/oauth/start?state=..."; following it redirects to the provider; a
// link previewer fetching it consumes nothing).
func (s *Service) StartLink(ctx context.Context, k store.UserKey) (string, error) {
	if k.Team == "" || k.User == "" {
		return "", errors.New("adoauth: start link: empty team or user")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("adoauth: start link: random: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(b[:])
	st := store.State{Team: k.Team, User: k.User, Verifier: oauth2.GenerateVerifier(), CreatedAt: s.now().UTC()}
	if err := s.st.PutState(ctx, state, st); err != nil {
		return "", fmt.Errorf("adoauth: start link: save state: %w", err)
	}
	s.log.InfoContext(ctx, "link started", "team", k.Team, "user", k.User, "mode", s.prov.Mode())
	return s.cfg.PublicURL + "/oauth/start?" + url.Values{"state": {state}}.Encode(), nil
}

// Handler serves GET /oauth/start and GET /oauth/callback.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/start", s.handleStart)
	mux.HandleFunc("/oauth/callback", s.handleCallback)
	return mux
}

func securityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	// The provider URL and our callback carry state/code in the query: never leak them.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
}

type page struct {
	Title, Heading string
	Paragraphs     []string
	RequestID      string
}

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, p page) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := pageTmpl.Execute(w, p); err != nil {
		s.log.Warn("page render failed", "request_id", p.RequestID, "err", err)
	}
}

func newRequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func allowGetHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	securityHeaders(w.Header())
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

var (
	pageBadState = page{
		Title:   "Link expired",
		Heading: "This sign-in link is no longer valid",
		Paragraphs: []string{
			"It has expired, was already used, or was not made by adobot.",
			"Type /ado link in Slack to get a new one.",
		},
	}
	pageStoreDown = page{
		Title:      "Try again",
		Heading:    "adobot could not reach its storage",
		Paragraphs: []string{"Please try again in a minute. If this keeps happening, type /ado link in Slack for a new link."},
	}
)

func (s *Service) handleStart(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r) {
		return
	}
	rid := newRequestID(r)
	log := s.log.With("request_id", rid, "handler", "start")
	state := r.URL.Query().Get("state")
	if state == "" {
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	}
	st, err := s.st.PeekState(r.Context(), state)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Info("start: unknown or expired state")
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	case err != nil:
		log.Warn("start: state lookup failed", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, withID(pageStoreDown, rid))
		return
	}
	if s.now().Sub(st.CreatedAt) > maxStateAge {
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	}
	securityHeaders(w.Header())
	// A redirect, not a page: following it consumes nothing, so a link previewer
	// (GET or HEAD) is harmless.
	http.Redirect(w, r, s.prov.AuthCodeURL(state, st.Verifier), http.StatusFound)
}

func withID(p page, rid string) page {
	p.RequestID = rid
	return p
}

func (s *Service) handleCallback(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r) {
		return
	}
	rid := newRequestID(r)
	log := s.log.With("request_id", rid, "handler", "callback", "mode", s.prov.Mode())
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		log.Info("callback: no state")
		s.count("link", "bad_state")
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	}
	// Any callback carrying a known state uses it up, whatever else it says.
	st, err := s.st.TakeState(ctx, state)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Info("callback: unknown, expired or replayed state")
		s.count("link", "bad_state")
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	case err != nil:
		log.Warn("callback: state lookup failed", "err", err)
		s.count("link", "store_error")
		s.render(w, r, http.StatusServiceUnavailable, withID(pageStoreDown, rid))
		return
	}
	k := store.UserKey{Team: st.Team, User: st.User}
	log = log.With("team", k.Team, "user", k.User)
	if s.now().Sub(st.CreatedAt) > maxStateAge {
		log.Info("callback: state too old")
		s.count("link", "bad_state")
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	}
	if e := q.Get("error"); e != "" {
		code := cleanCode(e)
		log.Info("callback: provider returned an error", "oauth_error", code)
		if code == "access_denied" || code == "consent_required" {
			s.count("link", "declined")
			s.render(w, r, http.StatusBadRequest, page{
				Title:   "Not linked",
				Heading: "You declined access",
				Paragraphs: []string{
					"Consent was declined, so adobot is not linked to your Azure DevOps account and nothing was stored.",
					"If that was a mistake, type /ado link in Slack to try again.",
				},
				RequestID: rid,
			})
			return
		}
		s.count("link", "provider_error")
		s.render(w, r, http.StatusBadRequest, page{
			Title:      "Not linked",
			Heading:    "Sign-in did not complete",
			Paragraphs: []string{"The sign-in service reported a problem. Nothing was stored. Type /ado link in Slack to try again."},
			RequestID:  rid,
		})
		return
	}
	code := q.Get("code")
	if code == "" {
		log.Info("callback: no code")
		s.count("link", "no_code")
		s.render(w, r, http.StatusBadRequest, withID(pageBadState, rid))
		return
	}

	xctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := s.prov.Exchange(xctx, code, st.Verifier)
	if err != nil {
		log.Warn("callback: code exchange failed", "err", err)
		s.count("link", "exchange_failed")
		s.render(w, r, http.StatusBadGateway, page{
			Title:      "Not linked",
			Heading:    "Sign-in could not be completed",
			Paragraphs: []string{"Microsoft did not accept the sign-in. Nothing was stored. Type /ado link in Slack to get a new link and try again."},
			RequestID:  rid,
		})
		return
	}
	uc := s.cfg.DevOps.For(staticToken(tok.AccessToken))
	prof, err := uc.Profile(xctx)
	var accts []devops.Account
	if err == nil {
		accts, err = uc.Organizations(xctx, prof.ID)
	}
	if err != nil {
		log.Warn("callback: profile lookup failed", "err", err)
		s.count("link", "profile_failed")
		s.render(w, r, http.StatusBadGateway, page{
			Title:      "Not linked",
			Heading:    "Azure DevOps did not answer",
			Paragraphs: []string{"Signed in, but your Azure DevOps profile could not be read. Nothing was stored. Please try /ado link again in a minute."},
			RequestID:  rid,
		})
		return
	}

	if s.cfg.RequireEmailMatch {
		if ok := s.checkEmail(w, r, xctx, log, rid, k, prof.EmailAddress); !ok {
			return
		}
	}

	rec := &store.Record{
		AccessToken:  tok.AccessToken,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry.UTC(),
		Scopes:       tok.Scopes,
		AuthMode:     s.prov.Mode(),
		ProfileID:    prof.ID,
		DisplayName:  prof.DisplayName,
		Email:        prof.EmailAddress,
		LinkedAt:     s.now().UTC(),
	}
	if len(rec.Scopes) == 0 {
		rec.Scopes = append([]string(nil), Scopes...)
	}
	for _, a := range accts {
		if a.AccountName != "" {
			rec.Orgs = append(rec.Orgs, a.AccountName)
		}
	}
	rec.DefaultOrg = s.cfg.DefaultOrg
	if rec.DefaultOrg == "" && len(rec.Orgs) > 0 {
		rec.DefaultOrg = rec.Orgs[0]
	}
	if err := s.st.Put(xctx, k, rec); err != nil {
		log.Warn("callback: saving the link failed", "err", err)
		s.count("link", "store_error")
		s.render(w, r, http.StatusServiceUnavailable, withID(pageStoreDown, rid))
		return
	}
	s.forgetNegative(k)
	log.Info("linked", "profile_id", rec.ProfileID, "orgs", len(rec.Orgs))
	s.count("link", "ok")
	s.notify(ctx, log, k, rec)

	name := rec.DisplayName
	if name == "" {
		name = maskEmail(rec.Email)
	}
	s.render(w, r, http.StatusOK, page{
		Title:      "Linked",
		Heading:    "Linked as " + name + ".",
		Paragraphs: []string{"Return to Slack. You can close this tab."},
		RequestID:  rid,
	})
}

// checkEmail enforces LINK_REQUIRE_EMAIL_MATCH; it writes the refusal page itself.
func (s *Service) checkEmail(w http.ResponseWriter, r *http.Request, ctx context.Context, log *slog.Logger, rid string, k store.UserKey, adoEmail string) bool {
	if s.cfg.Directory == nil {
		log.Error("callback: email match required but no directory configured")
		s.render(w, r, http.StatusBadGateway, withID(pageStoreDown, rid))
		return false
	}
	slackEmail, err := s.cfg.Directory.Email(ctx, k)
	if err != nil {
		log.Warn("callback: Slack email lookup failed", "err", err)
		s.count("link", "directory_failed")
		s.render(w, r, http.StatusBadGateway, page{
			Title:      "Not linked",
			Heading:    "Slack did not answer",
			Paragraphs: []string{"adobot could not read your Slack email address to check it. Nothing was stored. Please try /ado link again in a minute."},
			RequestID:  rid,
		})
		return false
	}
	a, b := strings.TrimSpace(slackEmail), strings.TrimSpace(adoEmail)
	if a != "" && strings.EqualFold(a, b) {
		return true
	}
	log.Info("callback: email mismatch; link refused")
	s.count("link", "email_mismatch")
	slackShown := "your Slack account"
	if a != "" {
		slackShown = "the Slack account " + maskEmail(a)
	}
	adoShown := "a different Azure DevOps account"
	if b != "" {
		adoShown += " (" + maskEmail(b) + ")"
	}
	s.render(w, r, http.StatusForbidden, page{
		Title:   "Not linked",
		Heading: "This Azure DevOps account does not match your Slack account",
		Paragraphs: []string{
			"This sign-in link was made for " + slackShown + ", but you signed in with " + adoShown + ".",
			"Nothing was stored. Sign in with the Azure DevOps account that uses the same email address as Slack, or, if this link was forwarded to you, type /ado link in Slack to get your own.",
		},
		RequestID: rid,
	})
	return false
}

// notify runs the Notifier detached from the request (a closed browser tab must not
// cancel the confirmation DM) but waits briefly, so the confirmation usually goes
// out before the page is shown.
func (s *Service) notify(ctx context.Context, log *slog.Logger, k store.UserKey, rec *store.Record) {
	if s.cfg.Notifier == nil {
		return
	}
	// The notifier never needs the tokens.
	cp := *rec
	cp.AccessToken, cp.RefreshToken = "", ""
	cp.Orgs = append([]string(nil), rec.Orgs...)
	cp.Scopes = append([]string(nil), rec.Scopes...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				log.Error("notifier panicked", "panic", fmt.Sprint(p))
			}
		}()
		s.cfg.Notifier.Linked(nctx, k, &cp)
	}()
	t := time.NewTimer(s.notifyWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("notifier still running; page sent anyway")
	}
}

// maskEmail shows enough to recognise an address without disclosing it:
// "alice@example.com" -> "a***@example.com".
func maskEmail(e string) string {
	e = strings.TrimSpace(e)
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		if e == "" {
			return ""
		}
		return "***"
	}
	r := []rune(e[:at])
	return string(r[0]) + "***" + e[at:]
}

// staticToken serves the freshly exchanged token during the callback; there is
// nothing to refresh yet.
type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }
func (t staticToken) Refresh(context.Context, string) (string, error) {
	return "", errors.New("adoauth: fresh token rejected by Azure DevOps")
}
