package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/adobot/adobot/adoauth"
	"github.com/adobot/adobot/bot"
	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
)

// Version is reported in the User-Agent sent to Azure DevOps.
const Version = "0.1.0"

// Options are the non-environment dependencies of an App.
type Options struct {
	Logger *slog.Logger
	// HTTPClient talks to Azure DevOps and the identity provider (nil: 30 s timeout client).
	HTTPClient *http.Client
	// Listener serves HTTP (nil: listen on all interfaces at Config.Port).
	Listener net.Listener
	// Workers bounds concurrent commands per instance (0: the bot's default).
	Workers int
	// ShutdownTimeout bounds how long in-flight work may take after SIGTERM (0: 20 s).
	ShutdownTimeout time.Duration
	// RedisHooks observe the Redis client (the load tool counts round trips with one).
	RedisHooks []redis.Hook
}

// App is one running adobot instance.
type App struct {
	cfg      Config
	log      *slog.Logger
	rdb      redis.UniversalClient
	Store    *store.Store
	DevOps   *devops.Client
	Auth     *adoauth.Service
	Bot      *bot.Bot
	Registry *prometheus.Registry
	ln       net.Listener
	srv      *http.Server
	closeRDB sync.Once
}

// New builds every part from cfg (which must have passed Validate). It does not
// contact Slack or Redis: a process whose Redis is down still starts and reports
// not-ready until Redis answers.
func New(cfg Config, opts Options) (*App, error) {
	if cfg.encKey == nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, Transport: pooledTransport()}
	}
	// Replies to response_url and Web API calls go to Slack: their own pool, so a
	// slow Azure DevOps never starves the connections replies need.
	slackHTTP := &http.Client{Timeout: 10 * time.Second, Transport: pooledTransport()}
	sealer, err := store.NewSealer(cfg.encKey, cfg.decKeys...)
	if err != nil {
		return nil, &ConfigError{Var: "TOKEN_ENCRYPTION_KEY", Reason: err.Error()}
	}
	rdb, err := store.Connect(cfg.RedisURL.Reveal())
	if err != nil {
		return nil, &ConfigError{Var: "REDIS_URL", Reason: err.Error()}
	}
	for _, h := range opts.RedisHooks {
		rdb.AddHook(h)
	}
	a := &App{cfg: cfg, log: log, rdb: rdb, Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Store = store.New(rdb, sealer, store.Options{})
	a.DevOps = devops.NewClient(devops.Config{
		APIURL:     cfg.ADOAPIURL,
		VSSPSURL:   cfg.ADOVSSPSURL,
		HTTPClient: hc,
		UserAgent:  "adobot/" + Version,
	})

	redirect := cfg.PublicURL + "/oauth/callback"
	var provider adoauth.Provider
	switch cfg.ADOAuth {
	case "legacy":
		provider = adoauth.NewLegacy(adoauth.LegacyConfig{
			VSSPSURL: cfg.ADOVSSPSURL, ClientID: cfg.ADOClientID,
			ClientSecret: cfg.ADOClientSecret.Reveal(), RedirectURL: redirect, HTTPClient: hc,
		})
	default:
		provider = adoauth.NewEntra(adoauth.EntraConfig{
			AuthorityURL: cfg.ADOAuthorityURL, Tenant: cfg.ADOTenant, ClientID: cfg.ADOClientID,
			ClientSecret: cfg.ADOClientSecret.Reveal(), RedirectURL: redirect, HTTPClient: hc,
		})
	}

	api := slack.New(cfg.SlackBotToken.Reveal(),
		slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL),
		slack.OptionHTTPClient(slackHTTP),
	)
	notifier := bot.NewNotifier(api, log)
	a.Auth = adoauth.NewService(adoauth.Config{
		Provider:          provider,
		Store:             a.Store,
		DevOps:            a.DevOps,
		PublicURL:         cfg.PublicURL,
		DefaultOrg:        cfg.ADOOrg,
		RequireEmailMatch: cfg.LinkRequireEmail,
		Directory:         notifier,
		Notifier:          notifier,
		Logger:            log,
	})
	a.Bot, err = bot.New(bot.Config{
		API:             api,
		Store:           a.Store,
		Auth:            a.Auth,
		DevOps:          a.DevOps,
		DefaultOrg:      cfg.ADOOrg,
		Logger:          log,
		Workers:         opts.Workers,
		Registerer:      a.Registry,
		ShutdownTimeout: opts.ShutdownTimeout,
		HTTPClient:      slackHTTP,
	})
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("app: bot: %w", err)
	}

	a.ln = opts.Listener
	if a.ln == nil {
		a.ln, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			_ = rdb.Close()
			return nil, &ConfigError{Var: "PORT", Reason: err.Error()}
		}
	}
	a.srv = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return a, nil
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	oauth := a.Auth.Handler()
	mux.Handle("/oauth/", oauth)
	return mux
}

// readyz asks Redis live (bounded by 1 s) so readiness follows Redis in both
// directions within a request, and requires a Socket Mode connection.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.Store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("redis unavailable\n"))
		return
	}
	if !a.Bot.Connected() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("slack socket mode not connected\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Run serves HTTP and Socket Mode until ctx is done, then stops taking envelopes,
// lets in-flight work finish (bounded by the bot's shutdown timeout), stops the HTTP
// server and returns nil. It returns an error only when the HTTP server cannot serve.
func (a *App) Run(ctx context.Context) error {
	httpErr := make(chan error, 1)
	go func() {
		err := a.srv.Serve(a.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpErr <- err
	}()
	a.log.Info("adobot started", "addr", a.Addr(), "auth", a.cfg.ADOAuth, "public_url", a.cfg.PublicURL)

	botDone := make(chan error, 1)
	go func() { botDone <- a.Bot.Run(ctx) }()

	var err error
	select {
	case err = <-httpErr:
		// The HTTP server died: stop the bot too.
		a.log.Error("http server stopped", "err", err)
	case <-ctx.Done():
	}
	if berr := <-botDone; berr != nil {
		a.log.Error("socket mode stopped with error", "err", berr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := a.srv.Shutdown(sctx); serr != nil && err == nil {
		a.log.Warn("http shutdown", "err", serr)
	}
	a.Close()
	a.log.Info("adobot stopped")
	return err
}

// Close releases Redis connections (Run calls it; safe to call twice).
func (a *App) Close() {
	a.closeRDB.Do(func() { _ = a.rdb.Close() })
}

// pooledTransport keeps enough idle connections per host for a busy instance: the
// default of 2 makes most concurrent calls to one host dial (and TLS-handshake) anew.
func pooledTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
