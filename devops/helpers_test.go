package devops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testToken  = "tok-1-secret"
	testToken2 = "tok-2-secret"
	testUA     = "adobot/test"
)

// fixture returns responses["200"].body of a shared Azure DevOps example payload.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", "azure-devops", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var w struct {
		Responses map[string]struct {
			Body json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	body := w.Responses["200"].Body
	if len(body) == 0 {
		t.Fatalf("fixture %s: no 200 body", name)
	}
	return body
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeTS is a TokenSource double: Token gives tok; Refresh counts calls and gives
// next (or err).
type fakeTS struct {
	mu         sync.Mutex
	tok, next  string
	tokenErr   error
	refreshErr error
	refreshes  atomic.Int32
	rejected   []string
}

func newTS() *fakeTS { return &fakeTS{tok: testToken, next: testToken2} }

func (f *fakeTS) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tok, f.tokenErr
}

func (f *fakeTS) Refresh(_ context.Context, rejected string) (string, error) {
	f.refreshes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected = append(f.rejected, rejected)
	if f.refreshErr != nil {
		return "", f.refreshErr
	}
	f.tok = f.next
	return f.next, nil
}

// seen is one request as the server received it.
type seen struct {
	Method     string
	RequestURI string // as on the wire
	Path       string // escaped path
	Query      map[string][]string
	Header     http.Header
	Body       []byte
}

// recorder is an httptest server that records requests and answers with h.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t testing.TB, h http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{
			Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.EscapedPath(),
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
		})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func newTestClient(url string) *Client {
	return NewClient(Config{APIURL: url, VSSPSURL: url + "/vssps", UserAgent: testUA, BaseBackoff: time.Millisecond})
}

func jsonAnswer(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8; api-version=7.1")
		_, _ = w.Write(body)
	}
}

// checkCommon asserts the headers and api-version every request carries.
func checkCommon(t *testing.T, s seen, wantToken string) {
	t.Helper()
	for k, want := range map[string]string{
		"Authorization":         "Bearer " + wantToken,
		"Accept":                "application/json",
		"X-Tfs-Fedauthredirect": "Suppress",
		"User-Agent":            testUA,
	} {
		if got := s.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if got := s.Query["api-version"]; len(got) != 1 || got[0] != "7.1" {
		t.Errorf("api-version = %v", got)
	}
}

func asErr[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not %T", err, err, target)
	}
	return target
}
