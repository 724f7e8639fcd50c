package devops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPath: any org/project either fails validation before a request, or the
// request's path (as the server got it on the wire) has exactly org and project as
// its first two segments and _apis as its third.
func FuzzPath(f *testing.F) {
	for _, s := range [][2]string{
		{"fabrikam", "Mobile App"}, {"org", "../../x"}, {"org", "a/b"}, {"org", "%2e%2e"}, {"org", "a%2Fb"},
		{"o", "x?y#z"}, {"o", "項目 ü"}, {"o", "a;b"}, {"o", "(x)!^`"}, {"../o", "p"}, {"o", ".."}, {"o", " lead"},
		{"o", "a\\b"}, {"o", "App_Data"}, {"o", "tab\tx"}, {"o", "\u202e"},
	} {
		f.Add(s[0], s[1])
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo the request target as received, so the check below sees the wire form.
		b, _ := json.Marshal(map[string]any{"value": []map[string]string{{"name": r.RequestURI}}})
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)
	uc := newTestClient(srv.URL).For(newTS())
	f.Fuzz(func(t *testing.T, org, project string) {
		repos, err := uc.Repositories(context.Background(), org, project)
		if err != nil {
			var v *ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("org %q project %q: non-validation error %v", org, project, err)
			}
			return
		}
		if len(repos) != 1 {
			t.Fatalf("no echo")
		}
		target := repos[0].Name
		path, _, _ := strings.Cut(target, "?")
		segs := strings.Split(path, "/")
		if len(segs) != 6 || segs[0] != "" {
			t.Fatalf("org %q project %q: path %q has %d segments", org, project, path, len(segs))
		}
		o, err1 := url.PathUnescape(segs[1])
		p, err2 := url.PathUnescape(segs[2])
		if err1 != nil || err2 != nil || o != org || p != project || segs[3] != "_apis" {
			t.Fatalf("org %q project %q went to %q", org, project, path)
		}
		// The URL helpers escape the same way.
		u, err := url.Parse(uc.c.ProjectURL(org, project))
		if err != nil {
			t.Fatal(err)
		}
		ws := strings.Split(u.EscapedPath(), "/")
		if len(ws) != 3 {
			t.Fatalf("ProjectURL path %q", u.EscapedPath())
		}
		if o, _ := url.PathUnescape(ws[1]); o != org {
			t.Fatalf("ProjectURL org %q", ws[1])
		}
		if p, _ := url.PathUnescape(ws[2]); p != project {
			t.Fatalf("ProjectURL project %q", ws[2])
		}
	})
}

// FuzzCheckResponse: any status, content type, headers and body map to nil exactly
// for non-HTML 2xx other than 203, otherwise to one of the typed errors; no panic;
// messages stay bounded and valid UTF-8.
func FuzzCheckResponse(f *testing.F) {
	f.Add(200, "application/json", "", []byte(`{}`))
	f.Add(401, "application/json", "", []byte(`{"message":"needs vso.code"}`))
	f.Add(401, "", `Bearer error="insufficient_scope", scope="  "`, []byte(``))
	f.Add(401, "", `Bearer error="insufficient_scope", scope=""`, []byte(``))
	f.Add(203, "text/html; charset=utf-8", "", []byte(signInPage))
	f.Add(429, "", "", []byte(`x`))
	f.Add(404, "application/json", "", []byte(`{"message":"TF200016","errorCode":"x"}`))
	f.Add(500, "text/html;;", "", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, status int, ctype, wwwAuth string, body []byte) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(string(body)))}
		resp.Header.Set("Content-Type", ctype)
		resp.Header.Set("WWW-Authenticate", wwwAuth)
		resp.Header.Set("Retry-After", string(body[:min(len(body), 40)]))
		resp.Request = httptest.NewRequest("GET", "http://x/o/p/_apis/y?api-version=7.1", nil)
		err := CheckResponse(resp)
		html := isHTML(ctype)
		wantNil := status >= 200 && status < 300 && status != 203 && !html
		if (err == nil) != wantNil {
			t.Fatalf("status %d ctype %q: err %v", status, ctype, err)
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || len(msg) > 4*maxMessageLen+200 {
			t.Fatalf("bad message %q", msg)
		}
		if strings.Contains(msg, "api-version") {
			t.Fatalf("query in error: %s", msg)
		}
		var (
			ae *AuthError
			pe *PermissionError
			ne *NotFoundError
			re *RateLimitError
			ee *ErrorResponse
		)
		switch {
		case errors.As(err, &ae), errors.As(err, &pe), errors.As(err, &ne), errors.As(err, &ee):
		case errors.As(err, &re):
			if re.RetryAfter < 0 {
				t.Fatalf("negative Retry-After")
			}
		default:
			t.Fatalf("untyped error %T", err)
		}
		if status == 429 && re == nil {
			t.Fatalf("429 gave %T", err)
		}
	})
}
