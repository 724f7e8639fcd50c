package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/app"
	"github.com/adobot/adobot/internal/blocktext"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/redistest"
	"github.com/adobot/adobot/internal/simenv"
)

// lockedBuffer collects every log line of every instance so tests can scan them.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type env struct {
	t      *testing.T
	redis  *redistest.Server
	ado    *fakeado.Server
	slack  *fakeslack.Server
	apps   []*app.App
	logs   *lockedBuffer
	team   string
	user   fakeado.User
	slackU string
	web    *http.Client

	acksMu sync.Mutex
	acks   []time.Duration
}

type envOptions struct {
	instances int
	ownRedis  bool // a private redis-server the test may stop
	mode      string
	latency   time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.instances == 0 {
		o.instances = 1
	}
	if o.mode == "" {
		o.mode = "entra"
	}
	e := &env{t: t, logs: &lockedBuffer{}, web: &http.Client{Timeout: 10 * time.Second}}
	if o.ownRedis {
		e.redis = redistest.StartOwn(t)
	} else {
		e.redis = redistest.Start(t)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ado, err := fakeado.New(fakeado.Options{ClientID: simenv.ClientID, ClientSecret: simenv.ClientSecret, Latency: o.latency, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ado.Close)
	e.ado = ado
	e.team = redistest.UniqueID("T")
	e.slackU = redistest.UniqueID("U")
	e.user = fakeado.User{ID: "d6245f20-2af8-44f4-9451-8107cb2767db", DisplayName: "Normal Paulk", Email: "normal.paulk@fabrikam.example", Orgs: []string{"contoso", "fabrikam"}}
	fakeado.SeedDemo(ado, e.user)
	ado.AddProject("fabrikam", fakeado.Project{Name: "Fiber"}) // the person's second organization

	sl, err := fakeslack.New(fakeslack.Options{AppToken: simenv.AppToken, BotToken: simenv.BotToken, PingInterval: time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sl.Close)
	e.slack = sl
	sl.AddUser(fakeslack.User{Team: e.team, ID: e.slackU, Name: "normal", Email: "Normal.Paulk@fabrikam.example"})

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for i := 0; i < o.instances; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := simenv.Config(sl, ado, e.redis.URL, key, "http://"+ln.Addr().String())
		cfg.ADOAuth, cfg.LogLevel = o.mode, "debug"
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		a, err := app.New(cfg, app.Options{Logger: logger.With("instance", i), Listener: ln, ShutdownTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("instance %d did not stop within 15s", i)
			}
		})
		e.apps = append(e.apps, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sl.WaitConnections(ctx, o.instances); err != nil {
		t.Fatalf("bots did not connect: %v", err)
	}
	t.Cleanup(func() {
		if v := sl.Violations(); len(v) > 0 {
			t.Errorf("Slack limits violated: %v", v)
		}
		e.reportAcks()
	})
	return e
}

func (e *env) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	e.t.Cleanup(cancel)
	return ctx
}

// reply is a rendered reply: its text plus every text/url in its blocks.
type reply struct {
	fakeslack.Message
	All string
}

func flatten(m fakeslack.Message) string { return blocktext.Flatten(m.Text, m.Blocks) }

// send runs one /ado command as the test user and returns its first reply.
func (e *env) send(text string) reply {
	e.t.Helper()
	return e.sendAs(e.team, e.slackU, text)
}

func (e *env) sendAs(team, user, text string) reply {
	e.t.Helper()
	return e.sendSC(fakeslack.SlashCommand{Team: team, User: user, Text: text})
}

// sendSC runs one slash command as described (channel defaulted) and returns its first reply.
func (e *env) sendSC(sc fakeslack.SlashCommand) reply {
	e.t.Helper()
	if sc.Channel == "" {
		sc.Channel = "C0E2E"
	}
	ctx := e.ctx(20 * time.Second)
	c, err := e.slack.Slash(ctx, sc)
	if err != nil {
		e.t.Fatalf("slash %q: %v", sc.Text, err)
	}
	ack, err := c.WaitAck(ctx)
	if err != nil {
		e.t.Fatalf("no ack for %q: %v", sc.Text, err)
	}
	e.recordAck(ack.Latency)
	m, err := c.WaitReply(ctx)
	if err != nil {
		e.t.Fatalf("no reply for %q: %v", sc.Text, err)
	}
	if m.Method == "chat.postMessage" {
		e.t.Errorf("reply to %q went to a DM", sc.Text)
	}
	return reply{m, flatten(m)}
}

func (e *env) recordAck(d time.Duration) {
	e.acksMu.Lock()
	e.acks = append(e.acks, d)
	e.acksMu.Unlock()
	if d > 3*time.Second {
		e.t.Errorf("ack took %v, beyond Slack's 3 s", d)
	}
}

func (e *env) reportAcks() {
	e.acksMu.Lock()
	defer e.acksMu.Unlock()
	if len(e.acks) == 0 {
		return
	}
	s := slices.Clone(e.acks)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	e.t.Logf("ack latency over %d commands: p50 %v p90 %v p99 %v max %v", len(s), q(0.5), q(0.9), q(0.99), s[len(s)-1])
}

var startURL = regexp.MustCompile(`https?://[^\s"<>|]+/oauth/start\?[^\s"<>|]+`)

// link runs /ado link, follows the DM'd URL like a browser (through the identity
// provider to the callback) and waits for the confirmation DM.
func (e *env) link() (page string, confirmation fakeslack.Message) {
	e.t.Helper()
	return e.linkSC(fakeslack.SlashCommand{Team: e.team, User: e.slackU})
}

// linkSC links the person sc describes (team, enterprise, user).
func (e *env) linkSC(sc fakeslack.SlashCommand) (page string, confirmation fakeslack.Message) {
	e.t.Helper()
	before := len(e.slack.DMs(sc.User))
	sc.Text = "link"
	r := e.sendSC(sc)
	if !strings.Contains(strings.ToLower(r.All), "dm") {
		e.t.Errorf("link reply does not point at the DM: %q", r.All)
	}
	ctx := e.ctx(15 * time.Second)
	dms, err := e.slack.WaitDM(ctx, sc.User, before+1)
	if err != nil {
		e.t.Fatalf("no sign-in DM: %v", err)
	}
	u := startURL.FindString(flatten(dms[len(dms)-1]))
	if u == "" {
		e.t.Fatalf("DM has no sign-in link: %s", flatten(dms[len(dms)-1]))
	}
	res, err := e.web.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("callback: HTTP %d: %s", res.StatusCode, body)
	}
	dms, err = e.slack.WaitDM(ctx, sc.User, before+2)
	if err != nil {
		e.t.Fatalf("no confirmation DM: %v", err)
	}
	return string(body), dms[len(dms)-1]
}
