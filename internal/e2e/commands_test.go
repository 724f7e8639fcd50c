package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/simenv"
)

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestHelpUnknownAndEmpty(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, in := range []string{"help", "", "frobnicate --now", "builds --top"} {
		r := e.send(in)
		if in == "builds --top" {
			mustContain(t, "reply to "+in, r.All, "--top")
			continue
		}
		mustContain(t, "help for "+in, r.All, "/ado link", "/ado builds", "/ado workitems", "/ado prs", "/ado projects", "/ado repos")
	}
}

func TestLinkFlowCommandsAndUnlink(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now()
	e.ado.AddBuild("contoso", "Mobile App", fakeado.Build{BuildNumber: "e2e.42", Status: "completed", Result: "failed",
		DefinitionName: "Mobile <CI> & co", SourceBranch: "refs/heads/feature/login", RequestedFor: e.user.ID,
		QueueTime: now.Add(time.Minute), StartTime: now.Add(time.Minute), FinishTime: now.Add(3 * time.Minute)})
	e.ado.AddWorkItem("contoso", "Mobile App", fakeado.WorkItem{ID: 987654, Title: "Fix <b>login</b> & logout", Type: "Bug",
		State: "Active", AssignedTo: e.user.ID, ChangedDate: now.Add(time.Minute)})
	e.ado.AddWorkItem("contoso", "Mobile App", fakeado.WorkItem{ID: 987655, Title: "Closed one must not show", Type: "Task",
		State: "Closed", AssignedTo: e.user.ID, ChangedDate: now.Add(2 * time.Minute)})

	// Not linked yet: the reply says so and carries the Connect button.
	r := e.send(`builds "Mobile App"`)
	mustContain(t, "unlinked builds reply", r.All, "Connect Azure DevOps", "/oauth/start?state=")

	page, confirm := e.link()
	mustContain(t, "callback page", page, "Normal Paulk")
	mustContain(t, "confirmation DM", flatten(confirm), "Normal Paulk", "contoso", "/ado builds")

	r = e.send(`builds "Mobile App"`)
	mustContain(t, "builds reply", r.All, "e2e.42", "Mobile &lt;CI&gt; &amp; co", "feature/login", "contoso", "Mobile App")
	if strings.Contains(r.All, "refs/heads/feature/login") {
		t.Errorf("branch shown with refs/heads/: %s", r.All)
	}
	if strings.Contains(r.All, "Mobile <CI>") {
		t.Errorf("Azure DevOps text not escaped for mrkdwn")
	}

	r = e.send(`builds "Mobile App" --failed --top 3 --branch feature/login`)
	mustContain(t, "filtered builds reply", r.All, "e2e.42")

	r = e.send("workitems")
	mustContain(t, "workitems reply", r.All, "987654", "Fix &lt;b&gt;login&lt;/b&gt; &amp; logout", "Bug", "Active",
		"/contoso/Mobile%20App/_workitems/edit/987654")
	if strings.Contains(r.All, "Closed one must not show") {
		t.Errorf("a closed work item was listed")
	}

	r = e.send(`workitems "Mobile App" --top 5`)
	mustContain(t, "project workitems reply", r.All, "987654")

	r = e.send("status")
	mustContain(t, "status", r.All, "Normal Paulk", "contoso")

	r = e.send("org")
	mustContain(t, "org list", r.All, "contoso", "fabrikam")
	r = e.send("org FABRIKAM")
	mustContain(t, "org set", r.All, "fabrikam")
	r = e.send("org nope-org")
	mustContain(t, "org unknown", r.All, "contoso")
	e.send("org contoso")

	// Already linked: /ado link says as whom instead of DMing again.
	dms := len(e.slack.DMs(e.slackU))
	r = e.send("link")
	mustContain(t, "relink offer", r.All, "Normal Paulk")
	time.Sleep(200 * time.Millisecond)
	if len(e.slack.DMs(e.slackU)) != dms {
		t.Errorf("an already linked person got another DM")
	}

	r = e.send("unlink")
	mustContain(t, "unlink", r.All, "https://")
	r = e.send("workitems")
	mustContain(t, "after unlink", r.All, "Connect Azure DevOps")

	scanSecrets(t, e)
}

// scanSecrets fails when any token the fake identity provider issued, or the client
// secret, appears in a log line, a Slack message, or a Redis value in clear.
func scanSecrets(t *testing.T, e *env) {
	t.Helper()
	secrets := append(e.ado.IssuedTokens(), simenv.ClientSecret)
	logs := e.logs.String()
	var slack strings.Builder
	for _, m := range append(e.slack.DMs(e.slackU), e.slack.Ephemerals(e.slackU)...) {
		slack.WriteString(flatten(m))
	}
	rdb := e.redis.Client(t)
	ctx := e.ctx(10 * time.Second)
	var raw strings.Builder
	iter := rdb.Scan(ctx, 0, "adobot:*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		switch rdb.Type(ctx, k).Val() {
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				raw.WriteString(f + v)
			}
		case "string":
			raw.WriteString(rdb.Get(ctx, k).Val())
		}
	}
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		for where, text := range map[string]string{"logs": logs, "slack": slack.String(), "redis": raw.String()} {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%d chars) appears in clear in %s", len(s), where)
			}
		}
	}
}

func TestHostileProjectNames(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.link()
	e.ado.ResetCounters()
	long := strings.Repeat("p", 300)
	for _, name := range []string{`x' OR 1=1 --`, `../../_apis/projects`, `<script>alert(1)</script>`, long, `..`, `a/b`, `%2e%2e`} {
		r := e.send(fmt.Sprintf(`builds "%s"`, name))
		if strings.Contains(r.All, "<script>") {
			t.Errorf("unescaped hostile text in reply to %q: %s", name, r.All)
		}
		if strings.Contains(r.All, "request id") && !strings.Contains(strings.ToLower(r.All), "project") {
			t.Errorf("hostile name %q got an opaque error: %s", name, r.All)
		}
		r = e.send(fmt.Sprintf(`workitems "%s"`, name))
		if strings.Contains(r.All, "<script>") {
			t.Errorf("unescaped hostile text in reply to %q", name)
		}
	}
	// Whatever reached Azure DevOps stayed inside one path segment under /contoso/.
	for _, req := range e.ado.Requests() {
		segs := strings.Split(strings.TrimPrefix(req.RawPath, "/"), "/")
		if strings.HasPrefix(req.RawPath, "/_apis/") { // vssps profile/accounts share the fake host
			continue
		}
		if len(segs) < 3 || segs[0] != "contoso" {
			t.Errorf("request left the org: %s %s", req.Method, req.RawPath)
			continue
		}
		if segs[1] != "_apis" && segs[2] != "_apis" {
			t.Errorf("project name escaped its path segment: %s", req.RawPath)
		}
		if p, err := url.PathUnescape(segs[1]); err == nil && (p == ".." || strings.Contains(p, "/")) {
			t.Errorf("traversal reached Azure DevOps: %s", req.RawPath)
		}
		if req.Method == "POST" && strings.Contains(string(req.Body), "OR 1=1") && !strings.Contains(string(req.Body), "'x'' OR 1=1") {
			t.Errorf("user text pasted into WIQL: %s", req.Body)
		}
	}
}

func TestRedeliveredEnvelopeRunsOnce(t *testing.T) {
	e := newEnv(t, envOptions{instances: 2})
	e.link()
	e.ado.ResetCounters()
	ctx := e.ctx(20 * time.Second)
	c, err := e.slack.Slash(ctx, fakeslack.SlashCommand{Team: e.team, User: e.slackU, Channel: "C0E2E", Text: `builds "Mobile App"`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := e.slack.Redeliver(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitReply(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if n := len(c.Replies()); n != 1 {
		t.Errorf("command answered %d times, want 1", n)
	}
	if n := e.ado.APICalls(); n != 1 {
		t.Errorf("Azure DevOps called %d times, want 1", n)
	}
}

func TestReconnectAfterDisconnect(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.send("help")
	e.slack.Disconnect("refresh_requested")
	ctx := e.ctx(20 * time.Second)
	if err := e.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("bot did not reconnect: %v", err)
	}
	r := e.send("help")
	mustContain(t, "help after reconnect", r.All, "/ado link")
}

func TestRedisDownAndBack(t *testing.T) {
	e := newEnv(t, envOptions{ownRedis: true})
	e.link()
	e.redis.Stop()
	start := time.Now()
	r := e.send(`builds "Mobile App"`)
	took := time.Since(start)
	mustContain(t, "redis down reply", strings.ToLower(r.All), "storage", "try again")
	if took > 5*time.Second {
		t.Errorf("storage-unavailable reply took %v", took)
	}
	ready := func() int {
		res, err := e.web.Get("http://" + e.apps[0].Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := ready(); code != 503 {
		t.Errorf("/readyz = %d with Redis down, want 503", code)
	}
	e.redis.Restart() // empty: the link is gone with the data, which the reply must say
	deadline := time.Now().Add(5 * time.Second)
	for ready() != 200 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if code := ready(); code != 200 {
		t.Errorf("/readyz = %d 5 s after Redis came back", code)
	}
	r = e.send(`builds "Mobile App"`)
	mustContain(t, "after redis returns", r.All, "Connect Azure DevOps")
}

// 40 concurrent /ado builds by one person whose token Azure DevOps rejects, spread
// over 3 bot instances: exactly one refresh, 40 correct replies.
func TestRefreshStampedeAcrossInstances(t *testing.T) {
	e := newEnv(t, envOptions{instances: 3})
	e.link()
	e.ado.RejectAccessTokens(e.user.ID)
	before := e.ado.Refreshes()
	var wg sync.WaitGroup
	replies := make([]reply, 40)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = e.send(`builds "Mobile App" --top 3`)
		}()
	}
	wg.Wait()
	if n := e.ado.Refreshes() - before; n != 1 {
		t.Errorf("%d refreshes, want exactly 1", n)
	}
	for i, r := range replies {
		if !strings.Contains(r.All, "Mobile App") || strings.Contains(strings.ToLower(r.All), "request id") {
			t.Errorf("reply %d is not a builds list: %s", i, r.All)
		}
	}
}

func TestAppHome(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := e.ctx(20 * time.Second)
	view := func(n int) string {
		if n == 1 {
			if err := e.slack.AppHomeOpened(ctx, e.team, e.slackU); err != nil {
				t.Fatal(err)
			}
		}
		v, err := e.slack.WaitHomeView(ctx, e.slackU, n)
		if err != nil {
			t.Fatalf("home view %d: %v", n, err)
		}
		var m fakeslack.Message
		var raw struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		_ = json.Unmarshal(v, &raw)
		m.Blocks = raw.Blocks
		return flatten(m)
	}
	mustContain(t, "home before link", view(1), "Connect Azure DevOps")
	e.link()
	if err := e.slack.AppHomeOpened(ctx, e.team, e.slackU); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "home after link", view(2), "Normal Paulk", "unlink")
	if err := e.slack.BlockAction(ctx, e.team, e.slackU, "unlink", ""); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "home after disconnect", view(3), "Connect Azure DevOps")
	r := e.send("status")
	if strings.Contains(r.All, "Normal Paulk") {
		t.Errorf("still linked after Disconnect: %s", r.All)
	}
}

// An envelope slack-go cannot decode is still acknowledged (Slack would redeliver
// it forever otherwise), and the bot keeps answering.
func TestUndecodableEnvelopeIsAcknowledged(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := e.ctx(15 * time.Second)
	c, err := e.slack.SendEnvelope(ctx, fakeslack.TypeSlashCommands, json.RawMessage(`"not a slash command"`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatalf("undecodable envelope not acknowledged: %v", err)
	}
	mustContain(t, "help afterwards", e.send("help").All, "/ado link")
}
