package devops

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorResponse is any non-2xx answer not covered by a more specific type.
type ErrorResponse struct {
	StatusCode int
	Method     string
	Path       string // no query string, no token
	Message    string
	TypeKey    string
	ErrorCode  int
	RetryAfter time.Duration // from Retry-After on a 503 and the like; 0 if absent
}

func (e *ErrorResponse) Error() string {
	return fmt.Sprintf("azure devops: %s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// AuthError: 401, or 203 / text/html sign-in page: the token was rejected.
// If MissingScope is set, the token lacks a scope: link again, do not refresh.
type AuthError struct {
	StatusCode   int
	MissingScope string
	Message      string
}

func (e *AuthError) Error() string {
	if e.MissingScope != "" {
		return fmt.Sprintf("azure devops: token lacks scope %s", e.MissingScope)
	}
	return fmt.Sprintf("azure devops: token rejected (HTTP %d)", e.StatusCode)
}

// PermissionError: 403; MissingScope set when the message names a scope.
type PermissionError struct {
	Message      string
	MissingScope string
	TypeKey      string
	ErrorCode    int
}

func (e *PermissionError) Error() string { return "azure devops: permission denied: " + e.Message }

// NotFoundError: 404 (e.g. TF200016 project does not exist).
type NotFoundError struct {
	Message   string
	TypeKey   string
	ErrorCode int
}

func (e *NotFoundError) Error() string { return "azure devops: not found: " + e.Message }

// RateLimitError: 429.
type RateLimitError struct {
	RetryAfter time.Duration
	Limit      string // X-RateLimit-Limit
	Remaining  string // X-RateLimit-Remaining
	Reset      time.Time
	Resource   string // X-RateLimit-Resource
	Message    string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("azure devops: rate limited, retry after %s", e.RetryAfter)
}

// ValidationError: input rejected before any call.
type ValidationError struct {
	Field  string // "organization" / "project"
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

const (
	maxErrorBody  = 64 << 10 // error bodies are read up to this many bytes
	maxMessageLen = 500      // runes kept of a service message
)

// serviceError is the JSON error body Azure DevOps returns
// ({"$id","innerException","message","typeName","typeKey","errorCode","eventId"}).
type serviceError struct {
	Message   string `json:"message"`
	TypeName  string `json:"typeName"`
	TypeKey   string `json:"typeKey"`
	ErrorCode int    `json:"errorCode"`
}

// CheckResponse maps a response to nil or a typed error (go-github style). It reads
// (at most 64 KiB of) the body of an error answer; the caller still closes it.
//
// Mapping: 401, 203, any 3xx (sign-in redirect) and any 2xx text/html page →
// *AuthError (MissingScope set when the answer names a vso.* scope); 403 →
// *PermissionError; 404 → *NotFoundError; 429 → *RateLimitError; everything else
// non-2xx → *ErrorResponse. An HTML page with 4xx/5xx status is mapped by its status:
// a gateway's 502/503 page must stay retryable, not trigger a token refresh.
func CheckResponse(r *http.Response) error {
	if r == nil {
		return &ErrorResponse{Message: "no response"}
	}
	html := isHTML(r.Header.Get("Content-Type"))
	code := r.StatusCode
	if code >= 200 && code < 300 && code != http.StatusNonAuthoritativeInfo && !html {
		return nil
	}

	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	}
	var se serviceError
	if !html && len(body) > 0 {
		_ = json.Unmarshal(body, &se) // a non-JSON body leaves se empty; status still decides
	}
	msg := cleanMessage(se.Message)
	if msg == "" && !html {
		msg = cleanMessage(string(body))
	}
	if msg == "" {
		msg = http.StatusText(code)
	}

	switch {
	case code == http.StatusUnauthorized, code == http.StatusNonAuthoritativeInfo,
		code >= 300 && code < 400, html && code >= 200 && code < 300:
		e := &AuthError{StatusCode: code, Message: msg}
		if code == http.StatusUnauthorized {
			e.MissingScope = missingScope(r.Header, se.Message, body)
		}
		if html {
			e.Message = "sign-in page instead of an API answer"
		}
		return e
	case code == http.StatusForbidden:
		return &PermissionError{Message: msg, MissingScope: missingScope(r.Header, se.Message, body),
			TypeKey: se.TypeKey, ErrorCode: se.ErrorCode}
	case code == http.StatusNotFound:
		return &NotFoundError{Message: msg, TypeKey: se.TypeKey, ErrorCode: se.ErrorCode}
	case code == http.StatusTooManyRequests:
		return rateLimitError(r.Header, msg, time.Now())
	}
	e := &ErrorResponse{StatusCode: code, Message: msg, TypeKey: se.TypeKey, ErrorCode: se.ErrorCode,
		RetryAfter: parseRetryAfter(r.Header.Get("Retry-After"), time.Now())}
	if r.Request != nil {
		e.Method = r.Request.Method
		if r.Request.URL != nil {
			e.Path = r.Request.URL.Path // never the query string
		}
	}
	return e
}

func isHTML(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.Contains(strings.ToLower(contentType), "text/html")
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// cleanMessage keeps a service message printable and short: it ends up in logs and,
// escaped, in Slack replies.
func cleanMessage(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = ' '
		}
		if n == maxMessageLen {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// missingScope finds the Azure DevOps scope a 401/403 says the token lacks. Shapes
// handled: an RFC 6750 challenge (WWW-Authenticate: Bearer error="insufficient_scope",
// scope="vso.code"), and a message naming a vso.* scope, bare or Entra-qualified
// ("499b84ac-1321-427f-aa17-267ca6975798/vso.code"). Azure DevOps' usual answer for
// a token without the scope (TF400813 "not authorized to access this resource")
// names none, so it is treated as a rejected token: refreshed once, then reported.
func missingScope(h http.Header, message string, body []byte) string {
	for _, v := range h.Values("WWW-Authenticate") {
		if !strings.Contains(v, "insufficient_scope") {
			continue
		}
		if s := findScope(v); s != "" {
			return s
		}
		if i := strings.Index(v, `scope="`); i >= 0 {
			rest := v[i+len(`scope="`):]
			if j := strings.IndexByte(rest, '"'); j > 0 {
				if f := strings.Fields(rest[:j]); len(f) > 0 {
					return cleanMessage(f[0])
				}
			}
		}
	}
	if s := findScope(message); s != "" {
		return s
	}
	return findScope(string(body))
}

// findScope returns the first "vso.<name>" token in s (name: [a-z0-9_]+).
func findScope(s string) string {
	for off := 0; ; {
		i := strings.Index(s[off:], "vso.")
		if i < 0 {
			return ""
		}
		i += off
		off = i + 4
		if i > 0 && isScopeChar(s[i-1]) && s[i-1] != '_' {
			continue // part of a longer word, e.g. "avso.x"
		}
		j := off
		for j < len(s) && isScopeChar(s[j]) {
			j++
		}
		if j > off {
			return s[i:j]
		}
	}
}

func isScopeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func rateLimitError(h http.Header, msg string, now time.Time) *RateLimitError {
	e := &RateLimitError{
		RetryAfter: parseRetryAfter(h.Get("Retry-After"), now),
		Limit:      h.Get("X-RateLimit-Limit"),
		Remaining:  h.Get("X-RateLimit-Remaining"),
		Resource:   h.Get("X-RateLimit-Resource"),
		Message:    msg,
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && s > 0 {
		e.Reset = time.Unix(s, 0)
	}
	return e
}

// parseRetryAfter reads delta-seconds or an HTTP date; anything else (or a past
// date) gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > 24*3600 {
			s = 24 * 3600
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
