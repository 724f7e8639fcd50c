package devops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	fastjson "github.com/goccy/go-json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxSuccessBody bounds a decoded answer; a 5000-build page is well under it.
const maxSuccessBody = 32 << 20

// call is one REST call, replayable: the body is kept as bytes so a retry or the
// retry after a token refresh sends it again unchanged.
type call struct {
	method string
	url    *url.URL // path already escaped (see endpoint); query from query
	query  url.Values
	body   []byte
	// idempotent marks calls that may be retried on 429/502/503/504 and transport
	// errors: every GET, and the read-only POSTs (WIQL, workitemsbatch). A POST that
	// changes something must leave this false: a retry could apply it twice.
	idempotent bool
}

func getCall(u *url.URL, q url.Values) *call {
	return &call{method: http.MethodGet, url: u, query: withVersion(q), idempotent: true}
}

// readPOST is a POST that only reads (WIQL, workitemsbatch), so it may be retried.
func readPOST(u *url.URL, q url.Values, body any) (*call, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &call{method: http.MethodPost, url: u, query: withVersion(q), body: b, idempotent: true}, nil
}

func withVersion(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", APIVersion)
	return q
}

// do runs cl as the person: on an *AuthError without MissingScope it asks the
// TokenSource for a new token once and repeats the call exactly once.
func (u *UserClient) do(ctx context.Context, cl *call, v any) (http.Header, error) {
	tok, err := u.ts.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	h, err := u.c.send(ctx, cl, tok, v)
	var ae *AuthError
	if err == nil || !errors.As(err, &ae) || ae.MissingScope != "" {
		return h, err
	}
	tok2, rerr := u.ts.Refresh(ctx, tok)
	if rerr != nil {
		// Both stay visible to errors.As/Is: the rejection and why no new token came.
		return nil, fmt.Errorf("refresh after rejected token: %w: %w", rerr, err)
	}
	return u.c.send(ctx, cl, tok2, v)
}

// send makes the call with one token, retrying idempotent calls (see retry.go).
func (c *Client) send(ctx context.Context, cl *call, tok string, v any) (http.Header, error) {
	for attempt := 1; ; attempt++ {
		h, err := c.once(ctx, cl, tok, v)
		if err == nil {
			return h, nil
		}
		if !cl.idempotent || attempt >= c.maxAttempts || !retryable(ctx, err) {
			return nil, err
		}
		if !c.wait(ctx, c.backoff(attempt, retryAfter(err))) {
			return nil, err // the deadline would pass while waiting: the last error now
		}
	}
}

// transportError is a failure below HTTP (dial, TLS, reset). Its text carries the
// method and path only: *url.Error would add the query string.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("azure devops: %s %s: %v", e.method, e.path, e.err)
}
func (e *transportError) Unwrap() error { return e.err }

func (c *Client) once(ctx context.Context, cl *call, tok string, v any) (http.Header, error) {
	u := *cl.url
	u.RawQuery = cl.query.Encode()
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("azure devops: %s %s: build request: %w", cl.method, cl.url.Path, stripURL(err))
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("azure devops: %s %s: %w", cl.method, cl.url.Path, cerr)
		}
		return nil, &transportError{method: cl.method, path: cl.url.Path, err: stripURL(err)}
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
	}()
	if err := CheckResponse(resp); err != nil {
		redact(err, tok)
		return nil, err
	}
	if v != nil {
		// Answers are read whole, then decoded with goccy/go-json: Azure DevOps
		// objects are large (a build is ~5 KB) and encoding/json's decoding was
		// most of a command's CPU (8× slower on a 50-build page).
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxSuccessBody+1))
		if err == nil && len(body) > maxSuccessBody {
			err = fmt.Errorf("answer larger than %d bytes", maxSuccessBody)
		}
		if err == nil {
			err = decodeAnswer(body, v)
		}
		if err != nil {
			if len(body) == 0 || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("azure devops: %s %s: decode answer: %w", cl.method, cl.url.Path, err)
		}
	}
	return resp.Header, nil
}

// stripURL drops *url.Error's URL (it holds the query string).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact removes the bearer token from a service message, should a service ever
// echo it back.
func redact(err error, tok string) {
	if tok == "" {
		return
	}
	r := func(s *string) { *s = strings.ReplaceAll(*s, tok, "[redacted]") }
	switch e := err.(type) {
	case *ErrorResponse:
		r(&e.Message)
	case *AuthError:
		r(&e.Message)
		r(&e.MissingScope)
	case *PermissionError:
		r(&e.Message)
		r(&e.MissingScope)
	case *NotFoundError:
		r(&e.Message)
	case *RateLimitError:
		r(&e.Message)
	}
}

// decodeAnswer decodes a successful answer. goccy/go-json decodes Azure DevOps'
// large objects about 8× faster than encoding/json (see BenchmarkDecodeBuilds).
func decodeAnswer(body []byte, v any) error { return fastjson.Unmarshal(body, v) }
