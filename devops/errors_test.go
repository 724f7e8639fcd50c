package devops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const signInPage = `<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>sign in</body></html>`

func TestCheckResponseMapping(t *testing.T) {
	reset := time.Unix(1716200000, 0)
	tests := []struct {
		name   string
		status int
		ctype  string
		header map[string]string
		body   string
		check  func(t *testing.T, err error)
	}{
		{"200 json", 200, "application/json", nil, `{}`, func(t *testing.T, err error) {
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"200 no content type", 200, "", nil, `{}`, func(t *testing.T, err error) {
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"401 expired", 401, "application/json", nil,
			`{"$id":"1","innerException":null,"message":"TF400813: The user '' is not authorized to access this resource.","typeName":"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException","typeKey":"UnauthorizedRequestException","errorCode":0,"eventId":3000}`,
			func(t *testing.T, err error) {
				e := asErr[*AuthError](t, err)
				if e.StatusCode != 401 || e.MissingScope != "" || !strings.Contains(e.Message, "TF400813") {
					t.Errorf("%+v", e)
				}
			}},
		{"401 names scope in message", 401, "application/json", nil,
			`{"$id":"1","message":"The requested operation requires scope vso.code; the access token does not have it.","typeKey":"UnauthorizedRequestException","errorCode":0}`,
			func(t *testing.T, err error) {
				if e := asErr[*AuthError](t, err); e.MissingScope != "vso.code" {
					t.Errorf("scope = %q", e.MissingScope)
				}
			}},
		{"401 entra qualified scope", 401, "application/json", nil,
			`{"message":"Token is missing scope 499b84ac-1321-427f-aa17-267ca6975798/vso.work_write."}`,
			func(t *testing.T, err error) {
				if e := asErr[*AuthError](t, err); e.MissingScope != "vso.work_write" {
					t.Errorf("scope = %q", e.MissingScope)
				}
			}},
		{"401 RFC 6750 challenge", 401, "", map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope", scope="vso.build vso.project"`}, ``,
			func(t *testing.T, err error) {
				if e := asErr[*AuthError](t, err); e.MissingScope != "vso.build" {
					t.Errorf("scope = %q", e.MissingScope)
				}
			}},
		{"203 sign-in page", 203, "text/html; charset=utf-8", nil, signInPage, func(t *testing.T, err error) {
			if e := asErr[*AuthError](t, err); e.StatusCode != 203 || e.MissingScope != "" || strings.Contains(e.Message, "<") {
				t.Errorf("%+v", e)
			}
		}},
		{"200 text/html", 200, "text/html", nil, signInPage, func(t *testing.T, err error) {
			if e := asErr[*AuthError](t, err); e.StatusCode != 200 {
				t.Errorf("%+v", e)
			}
		}},
		{"302 sign-in redirect", 302, "", map[string]string{"Location": "https://login.example/"}, "", func(t *testing.T, err error) {
			asErr[*AuthError](t, err)
		}},
		{"403 permission", 403, "application/json", nil,
			`{"message":"TF401027: You need the Git 'GenericRead' permission to perform this action.","typeKey":"GitNeedsPermissionException","errorCode":0}`,
			func(t *testing.T, err error) {
				e := asErr[*PermissionError](t, err)
				if !strings.HasPrefix(e.Message, "TF401027") || e.MissingScope != "" || e.TypeKey != "GitNeedsPermissionException" {
					t.Errorf("%+v", e)
				}
				var ae *AuthError
				if errors.As(err, &ae) {
					t.Error("403 is not an AuthError")
				}
			}},
		{"403 scope", 403, "application/json", nil, `{"message":"Access denied: the token needs vso.code"}`, func(t *testing.T, err error) {
			if e := asErr[*PermissionError](t, err); e.MissingScope != "vso.code" {
				t.Errorf("%+v", e)
			}
		}},
		{"404 project", 404, "application/json", nil,
			`{"$id":"1","innerException":null,"message":"TF200016: The following project does not exist: Nope. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.","typeName":"Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi","typeKey":"ProjectDoesNotExistWithNameException","errorCode":0,"eventId":3000}`,
			func(t *testing.T, err error) {
				e := asErr[*NotFoundError](t, err)
				if !strings.HasPrefix(e.Message, "TF200016") || e.TypeKey != "ProjectDoesNotExistWithNameException" {
					t.Errorf("%+v", e)
				}
			}},
		{"429 seconds", 429, "application/json", map[string]string{"Retry-After": "7", "X-RateLimit-Limit": "200",
			"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1716200000", "X-RateLimit-Resource": "ATCPU"}, `{"message":"slow down"}`,
			func(t *testing.T, err error) {
				e := asErr[*RateLimitError](t, err)
				if e.RetryAfter != 7*time.Second || e.Limit != "200" || e.Remaining != "0" || !e.Reset.Equal(reset) || e.Resource != "ATCPU" {
					t.Errorf("%+v", e)
				}
			}},
		{"429 http date", 429, "", map[string]string{"Retry-After": time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}, ``,
			func(t *testing.T, err error) {
				if e := asErr[*RateLimitError](t, err); e.RetryAfter < 80*time.Second || e.RetryAfter > 91*time.Second {
					t.Errorf("retry after %s", e.RetryAfter)
				}
			}},
		{"500 json", 500, "application/json", nil,
			`{"$id":"1","innerException":null,"message":"VS402337: boom","typeName":"X","typeKey":"WorkItemTrackingQueryResultSizeLimitExceededException","errorCode":600171,"eventId":3200}`,
			func(t *testing.T, err error) {
				e := asErr[*ErrorResponse](t, err)
				if e.StatusCode != 500 || e.Message != "VS402337: boom" || e.TypeKey != "WorkItemTrackingQueryResultSizeLimitExceededException" ||
					e.ErrorCode != 600171 || e.Method != "GET" || e.Path != "/org/_apis/x" {
					t.Errorf("%+v", e)
				}
				if strings.Contains(e.Error(), "api-version") || strings.Contains(e.Error(), "secret") {
					t.Errorf("error text leaks the query: %s", e)
				}
			}},
		{"503 html gateway page stays retryable", 503, "text/html", map[string]string{"Retry-After": "2"}, "<html>busy</html>",
			func(t *testing.T, err error) {
				if e := asErr[*ErrorResponse](t, err); e.StatusCode != 503 || e.RetryAfter != 2*time.Second {
					t.Errorf("%+v", e)
				}
			}},
		{"400 plain text", 400, "text/plain", nil, "bad \x00 request", func(t *testing.T, err error) {
			if e := asErr[*ErrorResponse](t, err); e.Message != "bad   request" {
				t.Errorf("%q", e.Message)
			}
		}},
		{"huge body bounded", 500, "application/json", nil, `{"message":"` + strings.Repeat("x", 200<<10) + `"}`,
			func(t *testing.T, err error) {
				// The body is cut at 64 KiB, so the JSON does not parse; the message is the raw text, shortened.
				if e := asErr[*ErrorResponse](t, err); len([]rune(e.Message)) > maxMessageLen+1 {
					t.Errorf("message of %d runes", len([]rune(e.Message)))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "https://dev.azure.com/org/_apis/x?api-version=7.1&secret=1", nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body)), Request: req}
			if tc.ctype != "" {
				resp.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			tc.check(t, CheckResponse(resp))
		})
	}
}

// The same mapping through the client, against a real server.
func TestClientErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		ctype  string
		body   string
		want   any
	}{
		{403, "application/json", `{"message":"TF401027: no"}`, &PermissionError{}},
		{404, "application/json", `{"message":"TF200016: The following project does not exist: P."}`, &NotFoundError{}},
		{400, "application/json", `{"message":"bad"}`, &ErrorResponse{}},
		{203, "text/html", signInPage, &AuthError{}},
		{200, "text/html", signInPage, &AuthError{}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, tc.ctype), func(t *testing.T) {
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newTestClient(rec.URL).For(newTS()).Builds(context.Background(), "org", "P", BuildListOptions{})
			switch tc.want.(type) {
			case *PermissionError:
				asErr[*PermissionError](t, err)
			case *NotFoundError:
				asErr[*NotFoundError](t, err)
			case *ErrorResponse:
				asErr[*ErrorResponse](t, err)
			case *AuthError:
				asErr[*AuthError](t, err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "api-version") {
				t.Errorf("error text leaks: %s", err)
			}
		})
	}
}

func TestAuthRefreshOnce(t *testing.T) {
	t.Run("rejected twice: one refresh, one retry, then AuthError", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"message":"TF400813: The user '' is not authorized to access this resource."}`)
		})
		ts := newTS()
		_, err := newTestClient(rec.URL).For(ts).Repositories(context.Background(), "org", "P")
		asErr[*AuthError](t, err)
		reqs := rec.requests()
		if ts.refreshes.Load() != 1 || len(reqs) != 2 {
			t.Fatalf("refreshes=%d requests=%d", ts.refreshes.Load(), len(reqs))
		}
		if ts.rejected[0] != testToken {
			t.Errorf("Refresh told %q was rejected", ts.rejected[0])
		}
		checkCommon(t, reqs[0], testToken)
		checkCommon(t, reqs[1], testToken2)
	})
	t.Run("203 then 200 succeeds with the new token", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer "+testToken {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(203)
				fmt.Fprint(w, signInPage)
				return
			}
			fmt.Fprint(w, `{"value":[{"name":"r"}]}`)
		})
		ts := newTS()
		repos, err := newTestClient(rec.URL).For(ts).Repositories(context.Background(), "org", "P")
		if err != nil || len(repos) != 1 || ts.refreshes.Load() != 1 || len(rec.requests()) != 2 {
			t.Fatalf("repos=%v err=%v refreshes=%d", repos, err, ts.refreshes.Load())
		}
	})
	t.Run("missing scope: no refresh", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"message":"The access token lacks scope vso.code."}`)
		})
		ts := newTS()
		_, err := newTestClient(rec.URL).For(ts).Repositories(context.Background(), "org", "P")
		if e := asErr[*AuthError](t, err); e.MissingScope != "vso.code" {
			t.Errorf("%+v", e)
		}
		if ts.refreshes.Load() != 0 || len(rec.requests()) != 1 {
			t.Errorf("refreshes=%d requests=%d", ts.refreshes.Load(), len(rec.requests()))
		}
	})
	t.Run("token source errors pass through", func(t *testing.T) {
		errRelink := errors.New("needs relink")
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })
		ts := newTS()
		ts.tokenErr = errRelink
		_, err := newTestClient(rec.URL).For(ts).Profile(context.Background())
		if !errors.Is(err, errRelink) || len(rec.requests()) != 0 {
			t.Errorf("Token error: %v", err)
		}
		ts = newTS()
		ts.refreshErr = errRelink
		_, err = newTestClient(rec.URL).For(ts).Profile(context.Background())
		if !errors.Is(err, errRelink) || len(rec.requests()) != 1 {
			t.Errorf("Refresh error: %v", err)
		}
		asErr[*AuthError](t, err) // the rejection stays visible too
	})
	t.Run("token echoed by the service is redacted", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"message":"bad header %s"}`, r.Header.Get("Authorization"))
		})
		_, err := newTestClient(rec.URL).For(newTS()).Profile(context.Background())
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRetry(t *testing.T) {
	t.Run("429 Retry-After 1 then 200", func(t *testing.T) {
		var n atomic.Int32
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				return
			}
			fmt.Fprint(w, `{"value":[]}`)
		})
		start := time.Now()
		_, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "org")
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.requests()) != 2 {
			t.Errorf("%d requests", len(rec.requests()))
		}
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Errorf("Retry-After not honoured: %s", el)
		}
	})
	t.Run("503 x3 gives up after MaxAttempts", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			fmt.Fprint(w, `{"message":"unavailable"}`)
		})
		_, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "org")
		if e := asErr[*ErrorResponse](t, err); e.StatusCode != 503 {
			t.Error(e)
		}
		if len(rec.requests()) != 3 {
			t.Errorf("%d requests", len(rec.requests()))
		}
	})
	t.Run("404 is not retried", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
		_, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "org")
		asErr[*NotFoundError](t, err)
		if len(rec.requests()) != 1 {
			t.Errorf("%d requests", len(rec.requests()))
		}
	})
	t.Run("deadline stops retrying early", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(503)
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := newTestClient(rec.URL).For(newTS()).Projects(ctx, "org")
		asErr[*ErrorResponse](t, err)
		if el := time.Since(start); el > 500*time.Millisecond {
			t.Errorf("waited %s though the deadline was too close", el)
		}
		if len(rec.requests()) != 1 {
			t.Errorf("%d requests", len(rec.requests()))
		}
	})
	t.Run("wiql POST retried with the same body", func(t *testing.T) {
		var n atomic.Int32
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.WriteHeader(502)
				return
			}
			fmt.Fprint(w, `{"workItems":[]}`)
		})
		items, total, err := newTestClient(rec.URL).For(newTS()).MyWorkItems(context.Background(), "org", "", WorkItemOptions{})
		if err != nil || total != 0 || len(items) != 0 {
			t.Fatal(items, total, err)
		}
		reqs := rec.requests()
		if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) || len(reqs[1].Body) == 0 {
			t.Errorf("requests %d, bodies %q / %q", len(reqs), reqs[0].Body, reqs[len(reqs)-1].Body)
		}
	})
	t.Run("a writing POST is never retried", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
		c := newTestClient(rec.URL)
		cl := &call{method: "POST", url: endpoint(c.api, "org", "_apis", "x"), query: withVersion(nil), body: []byte(`{}`)}
		_, err := c.For(newTS()).do(context.Background(), cl, nil)
		asErr[*ErrorResponse](t, err)
		if len(rec.requests()) != 1 {
			t.Errorf("%d requests", len(rec.requests()))
		}
	})
	t.Run("transport error retried", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				_ = conn.Close()
				return
			}
			fmt.Fprint(w, `{"value":[]}`)
		}))
		defer srv.Close()
		if _, err := newTestClient(srv.URL).For(newTS()).Projects(context.Background(), "org"); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 2 {
			t.Errorf("%d requests", n.Load())
		}
	})
	t.Run("transport error text has no query", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		_ = l.Close()
		_, err := newTestClient("http://"+addr).For(newTS()).PullRequests(context.Background(), "org", "", PullRequestCriteria{ReviewerID: "d6245f20-2af8-44f4-9451-8107cb2767db"})
		if err == nil || strings.Contains(err.Error(), "reviewerId") || strings.Contains(err.Error(), "api-version") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	c := NewClient(Config{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for i := 0; i < 200; i++ {
		if d := c.backoff(1, 0); d < 50*time.Millisecond || d > 100*time.Millisecond {
			t.Fatalf("attempt 1: %s", d)
		}
		if d := c.backoff(3, 0); d < 200*time.Millisecond || d > 400*time.Millisecond {
			t.Fatalf("attempt 3: %s", d)
		}
		if d := c.backoff(30, 0); d > time.Second {
			t.Fatalf("attempt 30: %s", d)
		}
		if d := c.backoff(1, time.Hour); d != time.Second {
			t.Fatalf("Retry-After not capped: %s", d)
		}
		if d := c.backoff(1, 700*time.Millisecond); d != 700*time.Millisecond {
			t.Fatalf("Retry-After not honoured: %s", d)
		}
	}
}

func TestManyConcurrentCalls(t *testing.T) {
	rec := newRecorder(t, jsonAnswer(fixture(t, "GET__projects.json")))
	uc := newTestClient(rec.URL).For(newTS())
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		go func() {
			ps, err := uc.Projects(context.Background(), "org")
			if err == nil && len(ps) != 3 {
				err = fmt.Errorf("%d projects", len(ps))
			}
			errs <- err
		}()
	}
	for i := 0; i < 64; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
