package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/adobot/adobot/adoauth"
	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
)

func TestMapError(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("layer: %w", err) }
	tests := []struct {
		name       string
		err        error
		project    string
		want       []string
		connect    bool
		unexpected bool
	}{
		{"not linked", errNotLinked, "", []string{"haven't linked"}, true, false},
		{"store not found", wrap(store.ErrNotFound), "", []string{"haven't linked"}, true, false},
		{"storage down", wrap(store.ErrUnavailable), "", []string{"Storage is unavailable right now — try again in a minute."}, false, false},
		{"needs relink", wrap(adoauth.ErrNeedsRelink), "", []string{"Link again"}, true, false},
		{"grant gone", wrap(adoauth.ErrGrantGone), "", []string{"Link again"}, true, false},
		{"refresh busy", wrap(adoauth.ErrRefreshBusy), "", []string{"try again in a few seconds"}, false, false},
		{"rate limit", wrap(&devops.RateLimitError{RetryAfter: 2500 * time.Millisecond}), "", []string{"rate limiting; try again in 3 s"}, false, false},
		{"auth missing scope", wrap(&devops.AuthError{StatusCode: 401, MissingScope: "vso.code"}), "",
			[]string{"Your sign-in lacks the *vso.code* permission needed for this. Link again to grant it."}, true, false},
		{"permission missing scope", wrap(&devops.PermissionError{MissingScope: "vso.code", Message: "x"}), "", []string{"*vso.code*"}, true, false},
		{"permission", wrap(&devops.PermissionError{Message: "TF401027: You need <Git> & read"}), "", []string{"TF401027", "&lt;Git&gt; &amp; read"}, false, false},
		{"auth rejected", wrap(&devops.AuthError{StatusCode: 401}), "", []string{"Link again"}, true, false},
		{"not found project", wrap(&devops.NotFoundError{Message: "TF200016"}), "No <Such>", []string{"Project *No &lt;Such&gt;* was not found in organization *contoso*"}, false, false},
		{"not found org", wrap(&devops.NotFoundError{}), "", []string{"Organization *contoso*"}, false, false},
		{"validation", wrap(&devops.ValidationError{Field: "project", Reason: "must not contain <b>"}), "", []string{"project name isn't valid: must not contain &lt;b&gt;"}, false, false},
		{"no org", errNoOrg, "", []string{"/ado org NAME"}, false, false},
		{"parse", &ParseError{Msg: "--top needs a value."}, "", []string{"--top needs a value."}, false, false},
		{"timeout", wrap(context.DeadlineExceeded), "", []string{"too long"}, false, true},
		{"upstream 503", wrap(&devops.ErrorResponse{StatusCode: 503, Message: "down"}), "", []string{"Azure DevOps is having trouble right now (HTTP 503)"}, false, false},
		{"upstream 400", wrap(&devops.ErrorResponse{StatusCode: 400, Message: "bad"}), "", []string{"Something went wrong"}, false, true},
		{"other", fmt.Errorf("boom"), "", []string{"Something went wrong"}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mapError(tc.err, "contoso", tc.project)
			for _, w := range tc.want {
				if !strings.Contains(m.text, w) {
					t.Errorf("text %q lacks %q", m.text, w)
				}
			}
			if m.connect != tc.connect {
				t.Errorf("connect = %v, want %v", m.connect, tc.connect)
			}
			if m.unexpected != tc.unexpected {
				t.Errorf("unexpected = %v, want %v", m.unexpected, tc.unexpected)
			}
			if m.outcome == "" {
				t.Errorf("no metrics outcome")
			}
		})
	}
}

// A response_url is a capability (anyone holding it can post into the channel for
// 30 minutes): a failed reply must not write it into the log.
func TestFailedReplyDoesNotLogResponseURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/commands/T0123/4567/s3cretHookPathToken"
	l.Close() // nothing listens: the POST fails in the transport
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	b := &Bot{cfg: Config{HTTPClient: &http.Client{Timeout: time.Second}}}
	b.respond(context.Background(), dead, textReply("hello"), log)
	if !strings.Contains(logs.String(), "reply via response_url failed") {
		t.Fatalf("the failure was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cretHookPathToken") {
		t.Fatalf("the response_url reached the log: %s", logs.String())
	}
}
