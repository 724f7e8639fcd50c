package fakeado

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestXOAuth2Compat drives the Entra endpoints with golang.org/x/oauth2, which is
// what adoauth uses, in both client authentication styles.
func TestXOAuth2Compat(t *testing.T) {
	s := seeded(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cfg := &oauth2.Config{
			ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect,
			Scopes: strings.Fields(entraScopes),
			Endpoint: oauth2.Endpoint{
				AuthURL:   s.AuthorityURL() + "/organizations/oauth2/v2.0/authorize",
				TokenURL:  s.AuthorityURL() + "/organizations/oauth2/v2.0/token",
				AuthStyle: style,
			},
		}
		verifier := oauth2.GenerateVerifier()
		resp, err := noRedirect.Get(cfg.AuthCodeURL("st-x", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("style %d: exchange: %v", style, err)
		}
		if tok.RefreshToken == "" || time.Until(tok.Expiry) < 59*time.Minute || tok.TokenType != "Bearer" {
			t.Errorf("style %d: token %+v", style, tok)
		}
		// Force a refresh through the token source.
		tok.Expiry = time.Now().Add(-time.Minute)
		nt, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil || nt.AccessToken == tok.AccessToken || nt.RefreshToken == tok.RefreshToken {
			t.Fatalf("style %d: refresh: %v", style, err)
		}
		// The old refresh token is dead; x/oauth2 reports invalid_grant as RetrieveError.
		_, err = cfg.TokenSource(ctx, tok).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
			t.Errorf("style %d: reused refresh token: %v", style, err)
		}
	}
}
