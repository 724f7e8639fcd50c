package devops

import (
	"fmt"
	"net/http"
	"time"
)

// ErrorResponse is any non-2xx answer not covered by a more specific type.
type ErrorResponse struct {
	StatusCode int
	Method     string
	Path       string // no query string, no token
	Message    string
	TypeKey    string
	ErrorCode  int
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

// CheckResponse maps a response to nil or a typed error (go-github style).
func CheckResponse(r *http.Response) error { panic("stub") }
