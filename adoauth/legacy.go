package adoauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type legacyProvider struct {
	cfg       LegacyConfig
	authURL   string
	tokenURL  string
	hc        *http.Client
	now       func() time.Time
	scopeList string
}

// NewLegacy returns the legacy Azure DevOps OAuth provider (response_type=Assertion,
// JWT-bearer token grants at {VSSPSURL}/oauth2/token).
func NewLegacy(cfg LegacyConfig) Provider {
	base := strings.TrimRight(cfg.VSSPSURL, "/")
	if base == "" {
		base = "https://app.vssps.visualstudio.com"
	}
	return &legacyProvider{
		cfg:       cfg,
		authURL:   base + "/oauth2/authorize",
		tokenURL:  base + "/oauth2/token",
		hc:        defaultHTTPClient(cfg.HTTPClient),
		now:       time.Now,
		scopeList: strings.Join(Scopes, " "),
	}
}

func (p *legacyProvider) Mode() string { return "legacy" }

// AuthCodeURL ignores the verifier: legacy Azure DevOps OAuth has no PKCE.
func (p *legacyProvider) AuthCodeURL(state, _ string) string {
	v := url.Values{
		"client_id":     {p.cfg.ClientID},
		"response_type": {"Assertion"},
		"state":         {state},
		"scope":         {p.scopeList},
		"redirect_uri":  {p.cfg.RedirectURL},
	}
	return p.authURL + "?" + v.Encode()
}

func (p *legacyProvider) Exchange(ctx context.Context, code, _ string) (*Token, error) {
	return p.post(ctx, "exchange", url.Values{
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {p.cfg.ClientSecret},
		"grant_type":            {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":             {code},
		"redirect_uri":          {p.cfg.RedirectURL},
	}, "")
}

func (p *legacyProvider) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, &ProviderError{Mode: "legacy", Op: "refresh", Code: "invalid_grant", Description: "no refresh token stored"}
	}
	return p.post(ctx, "refresh", url.Values{
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {p.cfg.ClientSecret},
		"grant_type":            {"refresh_token"},
		"assertion":             {refreshToken},
		"redirect_uri":          {p.cfg.RedirectURL},
	}, refreshToken)
}

// legacyTokenJSON covers both error shapes: {"error","error_description"} and
// {"Error","ErrorDescription"} (encoding/json matches "Error" to "error" itself).
type legacyTokenJSON struct {
	AccessToken       string          `json:"access_token"`
	RefreshToken      string          `json:"refresh_token"`
	ExpiresIn         json.RawMessage `json:"expires_in"`
	Scope             string          `json:"scope"`
	Error             string          `json:"error"`
	ErrorDescription  string          `json:"error_description"`
	ErrorDescription2 string          `json:"ErrorDescription"`
}

func (p *legacyProvider) post(ctx context.Context, op string, form url.Values, oldRT string) (*Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &ProviderError{Mode: "legacy", Op: op, Err: errors.New("bad token URL")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, &ProviderError{Mode: "legacy", Op: op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &ProviderError{Mode: "legacy", Op: op, Status: resp.StatusCode, Err: err}
	}
	var tj legacyTokenJSON
	jerr := json.Unmarshal(body, &tj)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || tj.Error != "" {
		pe := &ProviderError{Mode: "legacy", Op: op, Status: resp.StatusCode, Code: cleanCode(tj.Error)}
		pe.Description = tj.ErrorDescription
		if pe.Description == "" {
			pe.Description = tj.ErrorDescription2
		}
		return nil, pe
	}
	if jerr != nil || tj.AccessToken == "" {
		return nil, &ProviderError{Mode: "legacy", Op: op, Status: resp.StatusCode, Code: "bad_response"}
	}
	ttl, err := parseExpiresIn(tj.ExpiresIn)
	if err != nil {
		return nil, &ProviderError{Mode: "legacy", Op: op, Status: resp.StatusCode, Code: "bad_response"}
	}
	t := &Token{AccessToken: tj.AccessToken, RefreshToken: tj.RefreshToken, Scopes: shortScopes(tj.Scope)}
	if t.RefreshToken == "" {
		t.RefreshToken = oldRT
	}
	if ttl > 0 {
		t.Expiry = p.now().Add(ttl)
	}
	return t, nil
}
