package bot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/adobot/adobot/adoauth"
	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/redistest"
	"github.com/adobot/adobot/store"
)

type harness struct {
	t     *testing.T
	slack *fakeslack.Server
	store *store.Store
	bot   *Bot
	reg   *prometheus.Registry
	team  string
	user  string
	stop  func() error // cancels Run and returns its error
}

func newHarness(t *testing.T, adoURL string) *harness {
	t.Helper()
	rs := redistest.Start(t)
	rdb, err := store.Connect(rs.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := store.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(rdb, sealer, store.Options{})

	sl, err := fakeslack.New(fakeslack.Options{AppToken: "xapp-bot-test", BotToken: "xoxb-bot-test", PingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sl.Close)
	h := &harness{t: t, slack: sl, store: st, reg: prometheus.NewRegistry(), team: redistest.UniqueID("T"), user: redistest.UniqueID("U")}
	sl.AddUser(fakeslack.User{Team: h.team, ID: h.user, Name: "pat", Email: "pat@example.com"})

	if adoURL == "" {
		adoURL = "http://127.0.0.1:1"
	}
	dc := devops.NewClient(devops.Config{APIURL: adoURL, VSSPSURL: adoURL, MaxAttempts: 1})
	api := slack.New("xoxb-bot-test", slack.OptionAppLevelToken("xapp-bot-test"), slack.OptionAPIURL(sl.APIURL()))
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auth := adoauth.NewService(adoauth.Config{
		Provider: adoauth.NewEntra(adoauth.EntraConfig{AuthorityURL: "http://127.0.0.1:1", Tenant: "organizations",
			ClientID: "c", ClientSecret: "s", RedirectURL: "http://bot.test/oauth/callback"}),
		Store: st, DevOps: dc, PublicURL: "http://bot.test", Logger: logger,
	})
	b, err := New(Config{API: api, Store: st, Auth: auth, DevOps: dc, Logger: logger, Workers: 4,
		Registerer: h.reg, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	var runErr error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("Run did not return within 15s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = h.stop() })
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	if err := sl.WaitConnections(wctx, 1); err != nil {
		t.Fatalf("bot did not connect: %v", err)
	}
	t.Cleanup(func() {
		if v := sl.Violations(); len(v) > 0 {
			t.Errorf("Slack limits violated: %v", v)
		}
	})
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// send runs one command and returns its ack and first reply.
func (h *harness) send(text string) (*fakeslack.Command, fakeslack.Ack, fakeslack.Message) {
	h.t.Helper()
	ctx := h.ctx()
	c, err := h.slack.Slash(ctx, fakeslack.SlashCommand{Team: h.team, User: h.user, Channel: "C0BOT", Text: text})
	if err != nil {
		h.t.Fatal(err)
	}
	ack, err := c.WaitAck(ctx)
	if err != nil {
		h.t.Fatalf("no ack for %q: %v", text, err)
	}
	m, err := c.WaitReply(ctx)
	if err != nil {
		h.t.Fatalf("no reply for %q: %v", text, err)
	}
	return c, ack, m
}

func msgText(t *testing.T, m fakeslack.Message) string {
	t.Helper()
	var blocks []json.RawMessage
	_ = json.Unmarshal(m.Blocks, &blocks)
	var sb strings.Builder
	sb.WriteString(m.Text + "\n")
	for _, b := range blocks {
		sb.Write(b)
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestSmokeHelpOverSocketMode(t *testing.T) {
	h := newHarness(t, "")
	// The fake counts the connection at dial; the bot learns it from the next event.
	for deadline := time.Now().Add(5 * time.Second); !h.bot.Connected() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !h.bot.Connected() {
		t.Errorf("Connected() = false after the fake saw a connection")
	}
	_, ack, m := h.send("help")
	if len(ack.Payload) != 0 && string(ack.Payload) != "null" && string(ack.Payload) != "{}" {
		t.Errorf("slash ack carried a payload: %s", ack.Payload)
	}
	if ack.Latency > time.Second {
		t.Errorf("ack took %v", ack.Latency)
	}
	if m.Method != "response_url" || m.ResponseType != "ephemeral" || m.ReplaceOriginal {
		t.Errorf("reply went %s, type %q, replace_original %v; want an ephemeral response_url reply", m.Method, m.ResponseType, m.ReplaceOriginal)
	}
	all := msgText(t, m)
	for _, want := range []string{"/ado link", "/ado builds", "/ado workitems", "/ado projects", "/ado repos", "/ado prs"} {
		if !strings.Contains(all, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if n := counterValue(t, h.reg, "adobot_commands_total", map[string]string{"command": "help", "outcome": "ok"}); n != 1 {
		t.Errorf("commands_total{help,ok} = %v, want 1", n)
	}
	if err := h.stop(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if h.bot.Connected() {
		t.Errorf("Connected() = true after Run returned")
	}
}

func TestRedeliveredEnvelopeAnsweredOnce(t *testing.T) {
	h := newHarness(t, "")
	c, _, _ := h.send("status")
	ctx := h.ctx()
	for range 3 {
		if err := h.slack.Redeliver(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Acks()) < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(c.Acks()); n != 4 {
		t.Errorf("%d acks for 4 deliveries", n)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(c.Replies()); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
}

func TestNotLinkedGetsConnectButton(t *testing.T) {
	h := newHarness(t, "")
	for _, cmd := range []string{`builds "Mobile App"`, "workitems", "prs --mine", "projects", "org"} {
		_, _, m := h.send(cmd)
		all := msgText(t, m)
		if !strings.Contains(all, "haven't linked") || !strings.Contains(all, "Connect Azure DevOps") || !strings.Contains(all, "http://bot.test/oauth/start?state=") {
			t.Errorf("%s: reply lacks the not-linked text or Connect button:\n%s", cmd, all)
		}
	}
}

func TestInvalidProjectNeverCallsAzureDevOps(t *testing.T) {
	h := newHarness(t, "")
	_, _, m := h.send(`builds "../../_apis" --org contoso`)
	if all := msgText(t, m); !strings.Contains(all, "project name isn't valid") {
		t.Errorf("reply: %s", all)
	}
	_, _, m = h.send(`builds --top 99 X`)
	if all := msgText(t, m); !strings.Contains(all, "--top must be a whole number from 1 to 50") {
		t.Errorf("reply: %s", all)
	}
}

func TestLinkDMsSignInLinkAndOrgSwitch(t *testing.T) {
	h := newHarness(t, "")
	_, _, m := h.send("link")
	if all := msgText(t, m); !strings.Contains(all, "sent you a DM") {
		t.Errorf("link reply: %s", all)
	}
	dms, err := h.slack.WaitDM(h.ctx(), h.user, 1)
	if err != nil {
		t.Fatal(err)
	}
	if all := msgText(t, dms[0]); !strings.Contains(all, "Connect Azure DevOps") || !strings.Contains(all, "/oauth/start?state=") {
		t.Errorf("DM lacks the Connect button: %s", all)
	}

	k := store.UserKey{Team: h.team, User: h.user}
	rec := &store.Record{AccessToken: "at-secret", RefreshToken: "rt-secret", Expiry: time.Now().Add(time.Hour),
		DisplayName: "Pat <Q>", Email: "pat@example.com", Orgs: []string{"Contoso", "fabrikam"}, DefaultOrg: "Contoso", LinkedAt: time.Now()}
	if err := h.store.Put(h.ctx(), k, rec); err != nil {
		t.Fatal(err)
	}
	_, _, m = h.send("link")
	if all := msgText(t, m); !strings.Contains(all, "linked as *Pat &lt;Q&gt;*") || !strings.Contains(all, "Relink") {
		t.Errorf("relink offer: %s", all)
	}
	_, _, m = h.send("org FABRIKAM")
	if all := msgText(t, m); !strings.Contains(all, "now *fabrikam*") {
		t.Errorf("org switch: %s", all)
	}
	got, err := h.store.Get(h.ctx(), k)
	if err != nil || got.DefaultOrg != "fabrikam" {
		t.Fatalf("stored default org = %v, %v", got, err)
	}
	_, _, m = h.send("org nope")
	if all := msgText(t, m); !strings.Contains(all, "not one of your organizations") || !strings.Contains(all, "Contoso") {
		t.Errorf("unknown org: %s", all)
	}
	_, _, m = h.send("status")
	all := msgText(t, m)
	if !strings.Contains(all, "fabrikam") || !strings.Contains(all, "expires in") || strings.Contains(all, "secret") {
		t.Errorf("status: %s", all)
	}
	_, _, m = h.send("unlink")
	if all := msgText(t, m); !strings.Contains(all, "Unlinked") || !strings.Contains(all, "https://") {
		t.Errorf("unlink: %s", all)
	}
	if _, err := h.store.Get(h.ctx(), k); err == nil {
		t.Errorf("record still there after unlink")
	}
	if n := len(h.slack.DMs(h.user)); n != 1 {
		t.Errorf("%d DMs, want only the sign-in one", n)
	}
}

func TestAppHomeAndDisconnect(t *testing.T) {
	h := newHarness(t, "")
	k := store.UserKey{Team: h.team, User: h.user}
	if err := h.store.Put(h.ctx(), k, &store.Record{AccessToken: "a", RefreshToken: "r", DisplayName: "Pat", DefaultOrg: "contoso"}); err != nil {
		t.Fatal(err)
	}
	ctx := h.ctx()
	if err := h.slack.AppHomeOpened(ctx, h.team, h.user); err != nil {
		t.Fatal(err)
	}
	v, err := h.slack.WaitHomeView(ctx, h.user, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(v); !strings.Contains(s, "Pat") || !strings.Contains(s, `"action_id":"unlink"`) {
		t.Errorf("home view: %s", s)
	}
	if err := h.slack.BlockAction(ctx, h.team, h.user, "unlink", "unlink"); err != nil {
		t.Fatal(err)
	}
	v, err = h.slack.WaitHomeView(ctx, h.user, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(v); !strings.Contains(s, "Disconnected") || !strings.Contains(s, "Connect Azure DevOps") {
		t.Errorf("home view after disconnect: %s", s)
	}
	if _, err := h.store.Get(ctx, k); err == nil {
		t.Errorf("still linked after Disconnect")
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// A command acknowledged before shutdown is still answered: Run waits for it.
func TestShutdownFinishesInFlightWork(t *testing.T) {
	h := newHarness(t, "")
	got := make(chan slack.WebhookMessage, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(700 * time.Millisecond)
		var m slack.WebhookMessage
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	t.Cleanup(slow.Close)
	ctx := h.ctx()
	c, err := h.slack.Slash(ctx, fakeslack.SlashCommand{Team: h.team, User: h.user, Channel: "C0BOT", Text: "help", ResponseURL: slow.URL + "/r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	select {
	case m := <-got:
		if m.ResponseType != "ephemeral" || !strings.Contains(m.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text, "/ado builds") {
			t.Errorf("unexpected reply %+v", m)
		}
	default:
		t.Fatalf("Run returned after %v without finishing the acknowledged command", time.Since(start))
	}
}
