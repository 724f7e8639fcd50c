package adoauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrProviderUnavailable: the identity provider could not be reached or answered 5xx.
// The grant may well be fine; try again later. Use errors.Is.
var ErrProviderUnavailable = errors.New("adoauth: identity provider unavailable")

// ProviderError is a failed exchange or refresh. Its Error string carries the mode,
// the operation, the HTTP status and the OAuth error code, never a token, code or
// secret. Description is the provider's text, kept out of Error() because providers
// sometimes echo request values into it.
type ProviderError struct {
	Mode        string // "entra" / "legacy"
	Op          string // "exchange" / "refresh"
	Code        string // OAuth error code, lower-cased (e.g. "invalid_grant")
	Description string
	Status      int   // HTTP status; 0 for transport failures
	Err         error // underlying transport error, if any
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString("adoauth: ")
	b.WriteString(e.Mode)
	b.WriteByte(' ')
	b.WriteString(e.Op)
	b.WriteString(" failed")
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// GrantGone reports whether the provider rejected the grant for good.
func (e *ProviderError) GrantGone() bool { return grantGoneCodes[e.Code] }

// Temporary reports a transport failure or a 5xx: the grant itself may be fine.
func (e *ProviderError) Temporary() bool {
	if e.GrantGone() {
		return false
	}
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Code == "temporarily_unavailable" || e.Code == "server_error"
}

func (e *ProviderError) Unwrap() []error {
	var errs []error
	switch {
	case e.GrantGone():
		errs = append(errs, ErrGrantGone)
	case e.Temporary():
		errs = append(errs, ErrProviderUnavailable)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// grantGoneCodes are refresh rejections after which only a new sign-in helps.
// Legacy Azure DevOps OAuth answers with the same RFC 6749 codes, in any case,
// plus a few of its own.
var grantGoneCodes = map[string]bool{
	"invalid_grant":         true,
	"invalid_client":        true,
	"unauthorized_client":   true,
	"interaction_required":  true,
	"consent_required":      true,
	"login_required":        true,
	"invalid_refresh_token": true,
	"invalidrefreshtoken":   true,
	"access_denied":         true,
	"revoked":               true,
}

// cleanCode keeps an IdP error code printable and short; it lands in logs and errors.
func cleanCode(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return -1
	}, s)
}

// parseExpiresIn accepts expires_in as a JSON number or a JSON string (legacy
// Azure DevOps OAuth sends "3599").
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, nil
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 10*365*24*3600 {
		return 0, errors.New("adoauth: bad expires_in")
	}
	return time.Duration(n) * time.Second, nil
}

// shortScopes turns granted scopes into Azure DevOps scope names ("vso.build"),
// dropping the Entra resource prefix and OpenID/offline scopes.
func shortScopes(granted string) []string {
	var out []string
	for _, s := range strings.Fields(granted) {
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[i+1:]
		}
		switch strings.ToLower(s) {
		case "offline_access", "openid", "profile", "email", ".default":
			continue
		}
		out = append(out, s)
	}
	return out
}

func defaultHTTPClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 20 * time.Second}
}
