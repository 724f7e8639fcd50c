package fakeado

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	modeEntra  = "entra"
	modeLegacy = "legacy"

	codeTTL          = 10 * time.Minute
	maxTombstones    = 100000
	sweepEveryIssues = 1024
)

// knownScopes are what "<resource>/.default" expands to.
var knownScopes = []string{"vso.build", "vso.work", "vso.project", "vso.profile", "vso.code"}

type authCode struct {
	mode        string
	userID      string
	redirectURI string
	challenge   string
	scopes      []string
	expires     time.Time
	used        bool
}

type accessToken struct {
	userID  string
	scopes  []string
	expires time.Time
	serial  uint64
}

type refreshToken struct {
	mode   string
	userID string
	scopes []string // as requested at sign-in
}

// tokenState lives under Server.mu.
type tokenState struct {
	codes      map[string]*authCode
	access     map[string]*accessToken
	refresh    map[string]*refreshToken
	tombstones map[string]string // dead refresh token -> why, for error descriptions
	serial     uint64
	rejectUpTo map[string]uint64 // user id -> access tokens with serial <= this are rejected
	issued     int
	secrets    []string // every access token, refresh token and code handed out (bounded), for leak scans
}

func newTokenState() tokenState {
	return tokenState{
		codes:      map[string]*authCode{},
		access:     map[string]*accessToken{},
		refresh:    map[string]*refreshToken{},
		tombstones: map[string]string{},
		rejectUpTo: map[string]uint64{},
	}
}

func randomToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// RejectAccessTokens makes every access token issued so far to userID fail with 401
// (or the 203 sign-in page without X-TFS-FedAuthRedirect: Suppress). Tokens issued
// later, e.g. by a refresh, work.
func (s *Server) RejectAccessTokens(userID string) {
	s.mu.Lock()
	s.tokens.rejectUpTo[userID] = s.tokens.serial
	s.mu.Unlock()
}

// RevokeGrant kills every refresh token of userID: the next refresh gets
// invalid_grant (Entra shape or legacy shape, by endpoint). Access tokens keep
// working until they expire, as with the real services. A new sign-in works.
func (s *Server) RevokeGrant(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rt, t := range s.tokens.refresh {
		if t.userID == userID {
			delete(s.tokens.refresh, rt)
			s.tombstoneLocked(rt, "the grant was revoked by the user or an administrator")
		}
	}
}

func (s *Server) tombstoneLocked(rt, why string) {
	if len(s.tokens.tombstones) >= maxTombstones {
		clear(s.tokens.tombstones)
	}
	s.tokens.tombstones[rt] = why
}

// issueLocked mints an access and refresh token pair. Rotation: the caller has
// already removed the refresh token that was redeemed.
func (s *Server) issueLocked(mode, userID string, requested []string) (at, rt string, granted []string, ttl time.Duration) {
	granted = requested
	if s.grantScopes != nil {
		granted = slices.Clone(s.grantScopes)
	}
	now := time.Now()
	s.tokens.serial++
	at = randomToken("fakeado-at.")
	rt = randomToken("fakeado-rt.")
	ttl = s.opts.AccessTokenTTL
	s.tokens.access[at] = &accessToken{userID: userID, scopes: granted, expires: now.Add(ttl), serial: s.tokens.serial}
	s.tokens.refresh[rt] = &refreshToken{mode: mode, userID: userID, scopes: slices.Clone(requested)}
	s.tokens.issued++
	s.rememberSecretLocked(at, rt)
	if s.tokens.issued%sweepEveryIssues == 0 {
		for k, v := range s.tokens.access {
			if now.After(v.expires) {
				delete(s.tokens.access, k)
			}
		}
		for k, v := range s.tokens.codes {
			if now.After(v.expires) {
				delete(s.tokens.codes, k)
			}
		}
	}
	return at, rt, granted, ttl
}

// shortScope turns "499b84ac-.../vso.build" or "vso.build" into "vso.build";
// anything else gives "".
func shortScope(sc string) string {
	if i := strings.LastIndexByte(sc, '/'); i >= 0 {
		prefix := sc[:i]
		if !strings.EqualFold(prefix, ResourceID) && !strings.EqualFold(prefix, "https://app.vssps.visualstudio.com") {
			return ""
		}
		sc = sc[i+1:]
	}
	if strings.HasPrefix(sc, "vso.") && len(sc) > 4 {
		return sc
	}
	return ""
}

func expiresIn(ttl time.Duration) int {
	sec := int(ttl / time.Second)
	if sec > 1 {
		sec--
	}
	if sec < 1 {
		sec = 1
	}
	return sec
}

var signInErrorPage = template.Must(template.New("err").Parse(`<!DOCTYPE html>
<html><head><title>Sign in to your account</title></head>
<body><h1>Sorry, but we're having trouble signing you in.</h1><p>{{.}}</p></body></html>
`))

func writeHTMLError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = signInErrorPage.Execute(w, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// redirectWith sends the browser back to the client with params added to redirectURI.
func redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// checkRedirect validates redirect_uri like an app registration would.
func (s *Server) checkRedirect(redirectURI string) error {
	u, err := url.Parse(redirectURI)
	if redirectURI == "" || err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("the redirect_uri %q is not a valid absolute URL", redirectURI)
	}
	if len(s.opts.RedirectURIs) > 0 && !slices.Contains(s.opts.RedirectURIs, redirectURI) {
		return fmt.Errorf("the redirect URI %q does not match the redirect URIs configured for the application", redirectURI)
	}
	return nil
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ---- Entra ID v2 -------------------------------------------------------------------

func (s *Server) serveAuthority(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	// {tenant}/oauth2/v2.0/{authorize|token}
	if len(segs) != 4 || !strings.EqualFold(segs[1], "oauth2") || !strings.EqualFold(segs[2], "v2.0") {
		writeHTMLError(w, http.StatusNotFound, "The requested page was not found.")
		return
	}
	switch strings.ToLower(segs[3]) {
	case "authorize":
		if r.Method != http.MethodGet {
			writeHTMLError(w, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		s.entraAuthorize(w, r)
	case "token":
		if r.Method != http.MethodPost {
			s.entraError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
			return
		}
		s.entraToken(w, r, body)
	default:
		writeHTMLError(w, http.StatusNotFound, "The requested page was not found.")
	}
}

func (s *Server) entraAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		writeHTMLError(w, http.StatusBadRequest, "AADSTS700016: Application with identifier was not found in the directory.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if err := s.checkRedirect(redirectURI); err != nil {
		writeHTMLError(w, http.StatusBadRequest, "AADSTS50011: "+err.Error())
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectWith(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "AADSTS700054: response_type '"+q.Get("response_type")+"' is not enabled for the application.")
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" || q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange with code_challenge_method S256 is required.")
		return
	}
	var scopes []string
	offline := false
	for _, sc := range strings.Fields(q.Get("scope")) {
		switch strings.ToLower(sc) {
		case "offline_access":
			offline = true
			continue
		case "openid", "profile", "email":
			continue
		}
		if i := strings.LastIndexByte(sc, '/'); i >= 0 && strings.EqualFold(sc[:i], ResourceID) && sc[i+1:] == ".default" {
			scopes = append(scopes, knownScopes...)
			continue
		}
		short := shortScope(sc)
		if short == "" || !strings.Contains(sc, "/") {
			fail("invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope '"+sc+"' does not exist.")
			return
		}
		scopes = append(scopes, short)
	}
	if !offline {
		fail("invalid_scope", "AADSTS70011: The provided request must include offline_access to receive a refresh token.")
		return
	}
	if len(scopes) == 0 {
		fail("invalid_scope", "AADSTS70011: The provided request must include an Azure DevOps scope ("+ResourceID+"/vso.*).")
		return
	}
	s.finishAuthorize(w, r, modeEntra, redirectURI, state, challenge, scopes,
		"AADSTS65004: User declined to consent to access the app.")
}

// finishAuthorize signs in the configured user and redirects with a code.
func (s *Server) finishAuthorize(w http.ResponseWriter, r *http.Request, mode, redirectURI, state, challenge string, scopes []string, denyDesc string) {
	s.mu.Lock()
	deny, userID := s.denyConsent, s.signInUser
	_, known := s.users[userID]
	var code string
	if !deny && known {
		code = randomToken("fakeado-code.")
		s.rememberSecretLocked(code)
		s.tokens.codes[code] = &authCode{
			mode: mode, userID: userID, redirectURI: redirectURI, challenge: challenge,
			scopes: slices.Compact(scopes), expires: time.Now().Add(codeTTL),
		}
	}
	s.mu.Unlock()
	if deny {
		redirectWith(w, r, redirectURI, url.Values{"error": {"access_denied"}, "error_description": {denyDesc}, "state": {state}})
		return
	}
	if !known {
		writeHTMLError(w, http.StatusInternalServerError, "fakeado: no sign-in user; call AddUser or SetSignInUser first.")
		return
	}
	redirectWith(w, r, redirectURI, url.Values{"code": {code}, "state": {state}})
}

type entraTokenError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri,omitempty"`
}

func (s *Server) entraError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	now := time.Now().UTC()
	writeJSON(w, status, entraTokenError{
		Error:         code,
		Description:   fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, stableID("trace", msg, now.String()), stableID("corr", now.String()), now.Format("2006-01-02 15:04:05Z")),
		ErrorCodes:    []int{aadsts},
		Timestamp:     now.Format("2006-01-02 15:04:05Z"),
		TraceID:       stableID("trace", msg, now.String()),
		CorrelationID: stableID("corr", now.String()),
		ErrorURI:      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(aadsts),
	})
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
}

func (s *Server) entraToken(w http.ResponseWriter, r *http.Request, body []byte) {
	noStore(w)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain a valid application/x-www-form-urlencoded body.")
		return
	}
	grant := form.Get("grant_type")
	s.countTokenCall(grant)
	if grant == "refresh_token" {
		s.refreshes.Add(1)
	}

	id, secret := form.Get("client_id"), form.Get("client_secret")
	if bu, bp, ok := r.BasicAuth(); ok {
		// RFC 6749 2.3.1: basic credentials are form-urlencoded first (x/oauth2 does).
		if u, err := url.QueryUnescape(bu); err == nil {
			bu = u
		}
		if p, err := url.QueryUnescape(bp); err == nil {
			bp = p
		}
		if id != "" && id != bu {
			s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "client_id in the body and the Authorization header differ.")
			return
		}
		id, secret = bu, bp
	}
	if id != s.opts.ClientID {
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 700016, "Application with identifier '"+id+"' was not found in the directory.")
		return
	}
	if secret == "" {
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	if !secretEqual(secret, s.opts.ClientSecret) {
		s.entraError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}

	switch grant {
	case "authorization_code":
		c, errCode, msg := s.redeemCode(modeEntra, form.Get("code"), form.Get("redirect_uri"))
		if c == nil {
			s.entraError(w, http.StatusBadRequest, "invalid_grant", errCode, msg)
			return
		}
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if form.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			s.entraError(w, http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
		s.writeEntraTokens(w, modeEntra, c.userID, c.scopes)
	case "refresh_token":
		t, msg := s.redeemRefresh(modeEntra, form.Get("refresh_token"))
		if t == nil {
			s.entraError(w, http.StatusBadRequest, "invalid_grant", 70000, msg)
			return
		}
		s.writeEntraTokens(w, modeEntra, t.userID, t.scopes)
	case "":
		s.entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+grant+"'.")
	}
}

// redeemCode uses up a code (even when the exchange then fails, so a code cannot be
// probed repeatedly). On failure it returns an AADSTS number and message.
func (s *Server) redeemCode(mode, code, redirectURI string) (*authCode, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.tokens.codes[code]
	switch {
	case code == "" || c == nil || c.mode != mode:
		return nil, 70000, "The provided authorization code is invalid or malformed."
	case c.used:
		return nil, 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."
	case time.Now().After(c.expires):
		c.used = true
		return nil, 70008, "The provided authorization code or refresh token has expired due to inactivity."
	case c.redirectURI != redirectURI:
		c.used = true
		return nil, 500112, "The reply address '" + redirectURI + "' does not match the reply address provided when requesting the authorization code."
	}
	c.used = true
	cp := *c
	return &cp, 0, ""
}

// redeemRefresh removes a refresh token (rotation: it is dead from now on).
func (s *Server) redeemRefresh(mode, rt string) (*refreshToken, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens.refresh[rt]
	if t == nil || t.mode != mode {
		why := s.tokens.tombstones[rt]
		if why == "" {
			why = "the refresh token is invalid or malformed"
		}
		return nil, "The provided grant is invalid or malformed, or has expired or been revoked: " + why + "."
	}
	delete(s.tokens.refresh, rt)
	s.tombstoneLocked(rt, "the refresh token was already used (refresh tokens rotate)")
	return t, ""
}

type entraTokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) writeEntraTokens(w http.ResponseWriter, mode, userID string, requested []string) {
	s.mu.Lock()
	at, rt, granted, ttl := s.issueLocked(mode, userID, requested)
	s.mu.Unlock()
	full := make([]string, len(granted))
	for i, sc := range granted {
		full[i] = ResourceID + "/" + sc
	}
	writeJSON(w, http.StatusOK, entraTokenResponse{
		TokenType: "Bearer", Scope: strings.Join(full, " "),
		ExpiresIn: expiresIn(ttl), ExtExpiresIn: expiresIn(ttl),
		AccessToken: at, RefreshToken: rt,
	})
}

// ---- legacy Azure DevOps OAuth --------------------------------------------------------

type legacyError struct {
	Error       string `json:"Error"`
	Description string `json:"ErrorDescription"`
}

func (s *Server) legacyAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		writeHTMLError(w, http.StatusBadRequest, "The client_id is not a registered Azure DevOps application.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if err := s.checkRedirect(redirectURI); err != nil {
		writeHTMLError(w, http.StatusBadRequest, err.Error())
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectWith(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if q.Get("response_type") != "Assertion" {
		fail("unsupported_response_type", "response_type must be Assertion")
		return
	}
	var scopes []string
	for _, sc := range strings.Fields(q.Get("scope")) {
		short := shortScope(sc)
		if short == "" || strings.Contains(sc, "/") {
			fail("invalid_scope", "The scope '"+sc+"' is not a valid Azure DevOps scope.")
			return
		}
		scopes = append(scopes, short)
	}
	if len(scopes) == 0 {
		fail("invalid_scope", "At least one scope is required.")
		return
	}
	s.finishAuthorize(w, r, modeLegacy, redirectURI, state, "", scopes, "The user denied the authorization request.")
}

func (s *Server) legacyToken(w http.ResponseWriter, r *http.Request, body []byte) {
	noStore(w)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, legacyError{"invalid_request", "The request body is not a valid form."})
		return
	}
	grant := form.Get("grant_type")
	s.countTokenCall(grant)
	if grant == "refresh_token" {
		s.refreshes.Add(1)
	}
	if form.Get("client_assertion_type") != LegacyAssertionType {
		writeJSON(w, http.StatusBadRequest, legacyError{"invalid_request", "client_assertion_type must be " + LegacyAssertionType})
		return
	}
	if !secretEqual(form.Get("client_assertion"), s.opts.ClientSecret) {
		writeJSON(w, http.StatusUnauthorized, legacyError{"invalid_client", "The client assertion is not valid for this application."})
		return
	}
	switch grant {
	case LegacyGrantType:
		c, _, msg := s.redeemCode(modeLegacy, form.Get("assertion"), form.Get("redirect_uri"))
		if c == nil {
			writeJSON(w, http.StatusBadRequest, legacyError{"invalid_grant", msg})
			return
		}
		s.writeLegacyTokens(w, c.userID, c.scopes)
	case "refresh_token":
		t, msg := s.redeemRefresh(modeLegacy, form.Get("assertion"))
		if t == nil {
			writeJSON(w, http.StatusBadRequest, legacyError{"invalid_grant", msg})
			return
		}
		s.writeLegacyTokens(w, t.userID, t.scopes)
	default:
		writeJSON(w, http.StatusBadRequest, legacyError{"unsupported_grant_type", "grant_type '" + grant + "' is not supported."})
	}
}

type legacyTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"` // a string: legacy quirk
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

func (s *Server) writeLegacyTokens(w http.ResponseWriter, userID string, requested []string) {
	s.mu.Lock()
	at, rt, granted, ttl := s.issueLocked(modeLegacy, userID, requested)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, legacyTokenResponse{
		AccessToken: at, TokenType: "jwt-bearer", ExpiresIn: strconv.Itoa(expiresIn(ttl)),
		RefreshToken: rt, Scope: strings.Join(granted, " "),
	})
}

// maxRememberedSecrets bounds IssuedTokens so a long load run does not grow without end.
const maxRememberedSecrets = 4096

func (s *Server) rememberSecretLocked(secrets ...string) {
	if len(s.tokens.secrets)+len(secrets) > maxRememberedSecrets {
		return
	}
	s.tokens.secrets = append(s.tokens.secrets, secrets...)
}

// IssuedTokens returns every access token, refresh token and authorization code the
// identity provider handed out (the first 4096), so tests can scan logs, Redis and
// replies for any of them appearing in clear.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens.secrets)
}
