package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/adobot/adobot/internal/app"
	"github.com/adobot/adobot/internal/blocktext"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/simenv"
	"github.com/adobot/adobot/store"
)

const (
	benchChannel = "C0BENCH"
)

// person is one linked Slack user and the Azure DevOps identity with the same email.
type person struct {
	slackID string
	ado     fakeado.User
}

// instance is one in-process adobot, wired by app.New like cmd/adobot.
type instance struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan struct{}
}

// env is a complete system under test: Redis, fake Slack, fake Azure DevOps and
// the bot instances, with people linked through the real sign-in flow.
type env struct {
	o      envOptions
	log    *slog.Logger
	redis  *redisServer
	ado    *fakeado.Server
	slack  *fakeslack.Server
	insts  []*instance
	key    []byte
	sealer *store.Sealer
	team   string
	people []person
	web    *http.Client
	trips  *tripCounter // every instance's Redis round trips
}

type envOptions struct {
	instances      int
	people         int
	adoLatency     time.Duration
	ownRedis       bool
	redeliverAfter time.Duration
	logger         *slog.Logger
}

func newEnv(ctx context.Context, o envOptions) (e *env, err error) {
	e = &env{o: o, log: o.logger, web: &http.Client{Timeout: 15 * time.Second}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.redis, err = startRedis(ctx, o.ownRedis); err != nil {
		return e, err
	}
	e.ado, err = fakeado.New(fakeado.Options{
		ClientID: simenv.ClientID, ClientSecret: simenv.ClientSecret, Latency: o.adoLatency,
		Logger: e.log, MaxRequestLog: -1, // the request log would only inflate our RSS
	})
	if err != nil {
		return e, err
	}
	e.slack, err = fakeslack.New(fakeslack.Options{
		AppToken: simenv.AppToken, BotToken: simenv.BotToken, Logger: e.log,
		PingInterval: 5 * time.Second, RedeliverAfter: o.redeliverAfter,
	})
	if err != nil {
		return e, err
	}
	e.team = "TB" + strings.ToUpper(randHex(4))
	users := make([]fakeado.User, o.people)
	for i := range users {
		users[i] = fakeado.User{
			ID:          fmt.Sprintf("0b0e0c00-0000-4000-8000-%012d", i+1),
			DisplayName: fmt.Sprintf("Bench Person %d", i+1),
			Email:       fmt.Sprintf("bench.person%d@contoso.example", i+1),
			Orgs:        []string{fakeado.DemoOrg},
		}
		p := person{slackID: fmt.Sprintf("UB%06d", i+1), ado: users[i]}
		e.people = append(e.people, p)
		e.slack.AddUser(fakeslack.User{Team: e.team, ID: p.slackID, Name: fmt.Sprintf("bench%d", i+1),
			Email: strings.ToUpper(users[i].Email[:1]) + users[i].Email[1:]})
	}
	if len(users) > 0 {
		fakeado.SeedDemo(e.ado, users...)
	}

	e.key = make([]byte, 32)
	_, _ = rand.Read(e.key)
	if e.sealer, err = store.NewSealer(e.key); err != nil {
		return e, err
	}
	for i := 0; i < o.instances; i++ {
		if err := e.startInstance(i); err != nil {
			return e, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := e.slack.WaitConnections(wctx, o.instances); err != nil {
		return e, fmt.Errorf("bots did not connect to the fake Slack: %w", err)
	}
	return e, nil
}

// startInstance builds one adobot exactly as cmd/adobot does (app.Config →
// Validate → app.New → Run), with its own loopback listener.
func (e *env) startInstance(i int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg := simenv.Config(e.slack, e.ado, e.redis.URL, e.key, "http://"+ln.Addr().String())
	if err := cfg.Validate(); err != nil {
		_ = ln.Close()
		return err
	}
	if e.trips == nil {
		e.trips = &tripCounter{}
	}
	a, err := app.New(cfg, app.Options{Logger: e.log.With("instance", i), Listener: ln, ShutdownTimeout: 5 * time.Second,
		RedisHooks: []redis.Hook{e.trips}})
	if err != nil {
		_ = ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{app: a, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(in.done); _ = a.Run(ctx) }()
	e.insts = append(e.insts, in)
	return nil
}

// alive reports instances whose Run has not returned and whose /healthz answers.
func (e *env) alive(ctx context.Context) int {
	n := 0
	for _, in := range e.insts {
		select {
		case <-in.done:
			continue
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.app.Addr()+"/healthz", nil)
		res, err := e.web.Do(req)
		if err != nil {
			continue
		}
		_ = res.Body.Close()
		if res.StatusCode == http.StatusOK {
			n++
		}
	}
	return n
}

func (e *env) close() {
	for _, in := range e.insts {
		in.cancel()
	}
	for _, in := range e.insts {
		select {
		case <-in.done:
		case <-time.After(15 * time.Second):
		}
	}
	if e.slack != nil {
		e.slack.Close()
	}
	if e.ado != nil {
		e.ado.Close()
	}
	if e.redis != nil {
		e.redis.close()
	}
}

var startURL = regexp.MustCompile(`https?://[^\s"<>|]+/oauth/start\?[^\s"<>|]+`)

// linkAll links every person through the real flow, one after the other (the fake
// identity provider signs in whoever SetSignInUser names, so sign-ins cannot overlap).
func (e *env) linkAll(ctx context.Context) error {
	for _, p := range e.people {
		if err := e.link(ctx, p); err != nil {
			return fmt.Errorf("link %s: %w", p.slackID, err)
		}
	}
	return nil
}

// link drives /ado link → DM'd /oauth/start URL → identity provider → callback →
// confirmation DM, as a person with a browser would.
func (e *env) link(ctx context.Context, p person) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	e.ado.SetSignInUser(p.ado.ID)
	before := len(e.slack.DMs(p.slackID))
	c, err := e.slack.Slash(ctx, fakeslack.SlashCommand{Team: e.team, User: p.slackID, Channel: benchChannel, Text: "link"})
	if err != nil {
		return err
	}
	if _, err := c.WaitReply(ctx); err != nil {
		return err
	}
	dms, err := e.slack.WaitDM(ctx, p.slackID, before+1)
	if err != nil {
		return fmt.Errorf("no sign-in DM: %w", err)
	}
	u := startURL.FindString(flatten(dms[len(dms)-1]))
	if u == "" {
		return errors.New("the sign-in DM carries no /oauth/start link")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	res, err := e.web.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("callback answered HTTP %d: %.200s", res.StatusCode, body)
	}
	if _, err := e.slack.WaitDM(ctx, p.slackID, before+2); err != nil {
		return fmt.Errorf("no confirmation DM: %w", err)
	}
	return nil
}

// flatten is a message's text plus every text/url in its blocks.
func flatten(m fakeslack.Message) string { return blocktext.Flatten(m.Text, m.Blocks) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
