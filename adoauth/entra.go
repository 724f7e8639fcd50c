package adoauth

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/oauth2"
)

type entraProvider struct {
	conf   oauth2.Config
	client func(ctx context.Context) context.Context
}

// NewEntra returns the Microsoft Entra ID provider: authorization code + PKCE (S256)
// on the v2 endpoints {AuthorityURL}/{Tenant}/oauth2/v2.0/authorize|token.
func NewEntra(cfg EntraConfig) Provider {
	authority := strings.TrimRight(cfg.AuthorityURL, "/")
	if authority == "" {
		authority = "https://login.microsoftonline.com"
	}
	tenant := cfg.Tenant
	if tenant == "" {
		tenant = "organizations"
	}
	scopes := make([]string, 0, len(Scopes)+1)
	for _, s := range Scopes {
		scopes = append(scopes, ResourceID+"/"+s)
	}
	scopes = append(scopes, "offline_access")
	hc := defaultHTTPClient(cfg.HTTPClient)
	base := authority + "/" + tenant + "/oauth2/v2.0/"
	return &entraProvider{
		conf: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
			Endpoint: oauth2.Endpoint{
				AuthURL:  base + "authorize",
				TokenURL: base + "token",
				// Entra accepts both styles; auto-detect would make a doomed first
				// request per process, and a failed refresh attempt is not free.
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		client: func(ctx context.Context) context.Context {
			return context.WithValue(ctx, oauth2.HTTPClient, hc)
		},
	}
}

func (p *entraProvider) Mode() string { return "entra" }

func (p *entraProvider) AuthCodeURL(state, verifier string) string {
	return p.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

func (p *entraProvider) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	t, err := p.conf.Exchange(p.client(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, p.wrap("exchange", err)
	}
	return p.token(t, ""), nil
}

// Refresh makes exactly one refresh_token grant. A fresh tokenRefresher is used
// each time (no reuse cache), so the call always reaches the IdP and the rotated
// refresh token comes back in the result.
func (p *entraProvider) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, &ProviderError{Mode: "entra", Op: "refresh", Code: "invalid_grant", Description: "no refresh token stored"}
	}
	t, err := p.conf.TokenSource(p.client(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, p.wrap("refresh", err)
	}
	return p.token(t, refreshToken), nil
}

func (p *entraProvider) token(t *oauth2.Token, oldRT string) *Token {
	out := &Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
	if out.RefreshToken == "" {
		// Entra may omit it; the old one then stays valid.
		out.RefreshToken = oldRT
	}
	if s, ok := t.Extra("scope").(string); ok {
		out.Scopes = shortScopes(s)
	}
	return out
}

func (p *entraProvider) wrap(op string, err error) error {
	pe := &ProviderError{Mode: "entra", Op: op}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// re.Error() quotes the response body; keep only the parsed fields.
		pe.Code = cleanCode(re.ErrorCode)
		pe.Description = re.ErrorDescription
		if re.Response != nil {
			pe.Status = re.Response.StatusCode
		}
		if pe.Code == "" && pe.Status == 0 {
			pe.Code = "bad_response"
			pe.Status = 200
		}
		return pe
	}
	if strings.HasPrefix(err.Error(), "oauth2: ") {
		// Malformed success response (e.g. missing access_token): not transient.
		pe.Code = "bad_response"
		pe.Status = 200
		return pe
	}
	pe.Err = err
	return pe
}
