// Package bot is adobot's Slack side: the Socket Mode event loop, /ado parsing
// and routing, Block Kit replies, the App Home tab and the link notifications.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/adobot/adobot/adoauth"
	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
)

// Config wires a Bot.
type Config struct {
	API        *slack.Client // built with slack.OptionAppLevelToken + OptionAPIURL
	Store      *store.Store
	Auth       *adoauth.Service
	DevOps     *devops.Client
	DefaultOrg string // ADO_ORG ("" = per-person default from the record)
	Logger     *slog.Logger
	Workers    int // bounded worker pool size, default 128
	// HTTPClient posts replies to response_url (nil: a pooled client with a 10 s timeout).
	HTTPClient      *http.Client
	Registerer      prometheus.Registerer // may be nil
	ShutdownTimeout time.Duration         // default 20s
	DedupeTTL       time.Duration         // default 1h
}

// linker builds Azure DevOps web links; *devops.Client is one.
type linker interface {
	ProjectURL(org, project string) string
	WorkItemURL(org, project string, id int) string
	RepoURL(org, project, repo string) string
	PullRequestURL(org, project, repo string, id int) string
}

// Bot is the Slack side of adobot.
type Bot struct {
	cfg     Config
	api     *slack.Client
	sm      *socketmode.Client
	log     *slog.Logger
	links   linker
	metrics *metrics
	now     func() time.Time

	connected atomic.Bool
	running   atomic.Bool
	queue     chan job
}

const (
	jobTimeout   = 2 * time.Minute // response_url lives 30 min; a command should not
	ackTimeout   = 2 * time.Second
	replyTimeout = 10 * time.Second
)

// New checks the config and builds a Bot; nothing connects until Run.
func New(cfg Config) (*Bot, error) {
	switch {
	case cfg.API == nil:
		return nil, errors.New("bot: Config.API is required")
	case cfg.Store == nil:
		return nil, errors.New("bot: Config.Store is required")
	case cfg.Auth == nil:
		return nil, errors.New("bot: Config.Auth is required")
	case cfg.DevOps == nil:
		return nil, errors.New("bot: Config.DevOps is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		// Measured with cmd/adobench: 32 workers answer "busy" while Azure DevOps
		// makes them wait out Retry-After; 128 queue every command behind a frozen
		// Redis's 1 s timeouts and slow the recovery (1.1 s vs 0.08 s).
		cfg.Workers = 64
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: replyTimeout}
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = time.Hour
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	b := &Bot{
		cfg:     cfg,
		api:     cfg.API,
		sm:      socketmode.New(cfg.API),
		log:     cfg.Logger,
		links:   cfg.DevOps,
		metrics: m,
		now:     time.Now,
		// A queue a few times the pool absorbs bursts; beyond that people are
		// told to retry instead of the event loop (and so every ack) stalling.
		queue: make(chan job, cfg.Workers*4),
	}
	return b, nil
}

// Connected reports whether Socket Mode is currently connected (for /readyz).
func (b *Bot) Connected() bool { return b.connected.Load() }

type jobKind int

const (
	jobSlash jobKind = iota
	jobHomeOpened
	jobUnlinkAction
)

type job struct {
	kind       jobKind
	envelopeID string
	key        store.UserKey
	slash      slack.SlashCommand
	userID     string // Slack user id for views.publish / DMs
	// prefetched is the person's record read with the dedupe (nil when Redis
	// could not say: then the command reads it itself and reports the outage).
	prefetched *store.Delivery
}

// Run serves Socket Mode until ctx is done, then stops taking envelopes,
// lets in-flight work finish (at most ShutdownTimeout) and returns nil.
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bot: Run called twice")
	}
	// Work outlives ctx on purpose: a command that was acknowledged must still
	// be answered during a graceful shutdown.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Go(func() {
			for j := range b.queue {
				b.runJob(workCtx, j)
			}
		})
	}

	var conn sync.WaitGroup
	conn.Go(func() { b.runSocketMode(ctx) })

	b.eventLoop(ctx)

	// Only the event loop sends on the queue, and it has returned.
	close(b.queue)
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	timer := time.NewTimer(b.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		b.log.Warn("shutdown timeout: cancelling in-flight commands", "timeout", b.cfg.ShutdownTimeout)
		cancelWork()
		<-done
	}
	conn.Wait()
	b.connected.Store(false)
	return nil
}

// runSocketMode keeps a Socket Mode connection up. RunContext itself reconnects
// on `disconnect` and transient errors; it returns only on fatal ones (bad
// token), which may be fixed by an operator, so it is restarted with backoff.
func (b *Bot) runSocketMode(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := b.sm.RunContext(ctx)
		b.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		wait := backoff/2 + mrand.N(backoff/2+1)
		b.log.Error("socket mode stopped; restarting", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

func (b *Bot) eventLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-b.sm.Events:
			b.handleEvent(ctx, evt)
		}
	}
}

// handleEvent runs on the event loop: it acknowledges and queues, nothing more
// (no Redis, no HTTP), so acks stay well inside Slack's 3 s.
func (b *Bot) handleEvent(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError,
		socketmode.EventTypeInvalidAuth, socketmode.EventTypeDisconnect:
		b.connected.Store(false)
		if evt.Type == socketmode.EventTypeConnectionError || evt.Type == socketmode.EventTypeInvalidAuth {
			b.log.Warn("socket mode connection problem", "event", string(evt.Type), "detail", connErrText(evt.Data))
		}
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		if !b.connected.Swap(true) {
			b.log.Info("socket mode connected")
		}
	case socketmode.EventTypeSlashCommand:
		start := time.Now()
		b.ack(ctx, evt.Request, start)
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return
		}
		j := job{kind: jobSlash, envelopeID: envID(evt.Request), key: slashKey(cmd), slash: cmd, userID: cmd.UserID}
		if !b.enqueue(j) {
			b.metrics.command(commandLabel(cmd.Text), "busy")
			go b.replyBusy(cmd.ResponseURL)
		}
	case socketmode.EventTypeEventsAPI:
		b.ack(ctx, evt.Request, time.Now())
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || ev.Type != slackevents.CallbackEvent {
			return
		}
		if home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && home.User != "" && (home.Tab == "" || home.Tab == "home") {
			b.enqueueOrDrop(job{kind: jobHomeOpened, envelopeID: envID(evt.Request), key: eventKey(ev, home.User), userID: home.User})
		}
	case socketmode.EventTypeInteractive:
		b.ack(ctx, evt.Request, time.Now())
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || cb.Type != slack.InteractionTypeBlockActions || cb.User.ID == "" {
			return
		}
		for _, a := range cb.ActionCallback.BlockActions {
			if a != nil && a.ActionID == actionUnlink {
				b.enqueueOrDrop(job{kind: jobUnlinkAction, envelopeID: envID(evt.Request), key: interactionKey(cb), userID: cb.User.ID})
				break
			}
		}
	case socketmode.EventTypeErrorBadMessage:
		// slack-go could not decode the payload, but the envelope is real:
		// acknowledge it or Slack redelivers it forever.
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			var env struct {
				EnvelopeID string `json:"envelope_id"`
				Type       string `json:"type"`
			}
			if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
				b.ack(ctx, &socketmode.Request{EnvelopeID: env.EnvelopeID}, time.Now())
			}
			b.log.Warn("undecodable socket mode message", "type", env.Type, "err", bad.Cause)
		}
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		b.log.Debug("socket mode i/o error", "event", string(evt.Type))
	}
}

func connErrText(d any) string {
	if e, ok := d.(*slack.ConnectionErrorEvent); ok && e.ErrorObj != nil {
		return e.ErrorObj.Error()
	}
	return ""
}

func envID(r *socketmode.Request) string {
	if r == nil {
		return ""
	}
	return r.EnvelopeID
}

// ack acknowledges with an empty payload: answers go through response_url, so
// a slow or oversized reply can never make the ack late or dropped.
func (b *Bot) ack(ctx context.Context, r *socketmode.Request, start time.Time) {
	if r == nil || r.EnvelopeID == "" {
		return
	}
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := b.sm.AckCtx(actx, r.EnvelopeID, nil); err != nil {
		b.log.Warn("ack failed", "envelope_id", r.EnvelopeID, "err", err)
		return
	}
	b.metrics.ackLatency(time.Since(start))
}

func (b *Bot) enqueue(j job) bool {
	select {
	case b.queue <- j:
		return true
	default:
		return false
	}
}

func (b *Bot) enqueueOrDrop(j job) {
	if !b.enqueue(j) {
		b.log.Warn("worker queue full; dropping event", "team", j.key.Team, "user", j.key.User)
	}
}

func (b *Bot) replyBusy(responseURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	b.respond(ctx, responseURL, textReply("I'm busy right now — try again in a few seconds."), b.log)
}

// People are keyed by enterprise for org-wide installs, so one person has one
// link across the workspaces of the grid.
func slashKey(c slack.SlashCommand) store.UserKey {
	if c.IsEnterpriseInstall && c.EnterpriseID != "" {
		return store.UserKey{Team: c.EnterpriseID, User: c.UserID}
	}
	return store.UserKey{Team: c.TeamID, User: c.UserID}
}

func eventKey(ev slackevents.EventsAPIEvent, user string) store.UserKey {
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		for _, a := range cb.Authorizations {
			if a.IsEnterpriseInstall && a.EnterpriseID != "" {
				return store.UserKey{Team: a.EnterpriseID, User: user}
			}
		}
	}
	return store.UserKey{Team: ev.TeamID, User: user}
}

func interactionKey(cb slack.InteractionCallback) store.UserKey {
	if cb.IsEnterpriseInstall && cb.Enterprise.ID != "" {
		return store.UserKey{Team: cb.Enterprise.ID, User: cb.User.ID}
	}
	team := cb.Team.ID
	if team == "" {
		team = cb.User.TeamID
	}
	return store.UserKey{Team: team, User: cb.User.ID}
}

// runJob runs on a worker: dedupe, then the work. A panic in one command must
// not take the process (and everyone's commands) down.
func (b *Bot) runJob(ctx context.Context, j job) {
	b.metrics.inflight(1)
	defer b.metrics.inflight(-1)
	ctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()

	log := b.log.With("team", j.key.Team, "user", j.key.User)
	if j.envelopeID != "" {
		var first bool
		var err error
		if j.kind == jobSlash {
			// Dedupe and the person's record in one round trip: the record is what
			// almost every command needs first.
			var d store.Delivery
			d, err = b.cfg.Store.Deliver(ctx, j.envelopeID, b.cfg.DedupeTTL, j.key)
			if err == nil {
				first = d.First
				j.prefetched = &d
			}
		} else {
			first, err = b.cfg.Store.FirstDelivery(ctx, j.envelopeID, b.cfg.DedupeTTL)
		}
		if err != nil {
			// Fail open: running a command twice is better than never.
			log.Warn("dedupe unavailable; running anyway", "envelope_id", j.envelopeID, "err", err)
			first = true
		}
		if !first {
			log.Debug("duplicate envelope ignored", "envelope_id", j.envelopeID)
			if j.kind == jobSlash {
				b.metrics.command(commandLabel(j.slash.Text), "duplicate")
			}
			return
		}
	}
	defer func() {
		if p := recover(); p != nil {
			id := newRequestID()
			log.Error("panic in command", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if j.kind == jobSlash {
				b.metrics.command(commandLabel(j.slash.Text), "error")
				b.respond(ctx, j.slash.ResponseURL, textReply("Something went wrong. (request id: "+id+")"), log)
			}
		}
	}()
	switch j.kind {
	case jobSlash:
		b.runSlash(ctx, j)
	case jobHomeOpened:
		b.publishHome(ctx, j.key, j.userID, "", log)
	case jobUnlinkAction:
		b.homeUnlink(ctx, j, log)
	}
}

// runCtx is one command being run.
type runCtx struct {
	key   store.UserKey
	slash slack.SlashCommand
	cmd   Command
	rec   *store.Record // set by prepare
	rid   string        // request id, in every log line and in unexpected-error replies
	// prefetched: the record as read with the dedupe, used once by prepare.
	prefetched *store.Delivery
	org        string
	log        *slog.Logger
}

func (b *Bot) runSlash(ctx context.Context, j job) {
	cmd, perr := Parse(j.slash.Text)
	rc := &runCtx{key: j.key, slash: j.slash, cmd: cmd, prefetched: j.prefetched, rid: newRequestID()}
	// Every line about this command carries its request id; a reply that shows the
	// id lets support find them all.
	rc.log = b.log.With("request_id", rc.rid, "envelope_id", j.envelopeID, "team", j.key.Team, "user", j.key.User, "command", cmd.Name)
	start := time.Now()

	var (
		r       reply
		err     error
		outcome = "ok"
	)
	if perr != nil {
		err = perr
	} else {
		r, err = b.dispatch(ctx, rc)
	}
	if err != nil {
		r, outcome = b.errorReply(ctx, rc, err)
	}
	b.metrics.command(cmd.Name, outcome)
	b.respond(ctx, j.slash.ResponseURL, r, rc.log)
	rc.log.Debug("command answered", "outcome", outcome, "took", time.Since(start))
}

func (b *Bot) dispatch(ctx context.Context, rc *runCtx) (reply, error) {
	switch rc.cmd.Name {
	case "link":
		return b.cmdLink(ctx, rc)
	case "unlink":
		return b.cmdUnlink(ctx, rc)
	case "status":
		return b.cmdStatus(ctx, rc)
	case "org":
		return b.cmdOrg(ctx, rc)
	case "builds":
		return b.cmdBuilds(ctx, rc)
	case "workitems":
		return b.cmdWorkItems(ctx, rc)
	case "projects":
		return b.cmdProjects(ctx, rc)
	case "repos":
		return b.cmdRepos(ctx, rc)
	case "prs":
		return b.cmdPRs(ctx, rc)
	}
	return usageReply(""), nil
}

// errorReply answers err; unexpected errors get a request id that also lands
// in the log line, so support can find it.
func (b *Bot) errorReply(ctx context.Context, rc *runCtx, err error) (reply, string) {
	var pe *ParseError
	if errors.As(err, &pe) && pe.ShowUsage {
		return usageReply(esc(pe.Msg)), "user_error"
	}
	project := ""
	switch rc.cmd.Name {
	case "builds", "workitems", "repos", "prs":
		project = rc.cmd.Arg()
	}
	m := mapError(err, rc.org, project)
	text := m.text
	if m.unexpected {
		rc.log.Error("command failed", "err", err)
		text += " (request id: " + rc.rid + ")"
	} else {
		rc.log.Info("command refused", "outcome", m.outcome, "err", err)
	}
	r := textReply(text)
	if m.connect {
		r.Blocks = append(r.Blocks, b.connectActions(ctx, rc.key, "Connect Azure DevOps", rc.log)...)
	}
	return r, m.outcome
}

// prepare is the common start of every Azure DevOps command: one Redis read,
// org resolution and name validation before anything reaches Azure DevOps.
func (b *Bot) prepare(ctx context.Context, rc *runCtx, project string) (string, *devops.UserClient, error) {
	org := rc.cmd.Org
	if org == "" {
		org = b.cfg.DefaultOrg
	}
	// Validate what the person typed before touching Redis or Azure DevOps.
	if org != "" {
		rc.org = org
		if err := devops.ValidateOrg(org); err != nil {
			return "", nil, err
		}
	}
	if project != "" {
		if err := devops.ValidateProject(project); err != nil {
			return "", nil, err
		}
	}
	rec, err := b.record(ctx, rc)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", nil, errNotLinked
		}
		return "", nil, err
	}
	if rec.NeedsRelink {
		return "", nil, adoauth.ErrNeedsRelink
	}
	rc.rec = rec
	// A person linked before adobot asked for a scope (or who did not grant it) is told
	// so without a call: the real service answers such a token with a plain 401 that
	// names no scope, which would otherwise cost a pointless refresh.
	if need := commandScope(rc.cmd.Name); need != "" && len(rec.Scopes) > 0 && !hasScope(rec.Scopes, need) {
		return "", nil, &missingScopeError{scope: need}
	}
	if org == "" {
		org = rec.DefaultOrg
		if org == "" {
			return "", nil, errNoOrg
		}
		rc.org = org
		if err := devops.ValidateOrg(org); err != nil {
			return "", nil, err
		}
	}
	return org, b.cfg.DevOps.For(b.cfg.Auth.TokenSource(rc.key, rec)), nil
}

// withoutURL drops the URL from a transport error: a response_url is a capability
// (anyone holding it can post into the channel), so only its host is logged.
func withoutURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	host := "response_url"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		host = u.Host
	}
	return fmt.Errorf("%s %s: %w", ue.Op, host, ue.Err)
}

// record returns the person's record: the one read with the dedupe the first time,
// a fresh read after that.
func (b *Bot) record(ctx context.Context, rc *runCtx) (*store.Record, error) {
	if d := rc.prefetched; d != nil {
		rc.prefetched = nil
		return d.Record, d.RecordErr
	}
	return b.cfg.Store.Get(ctx, rc.key)
}

// respond posts an ephemeral reply to the command's response_url. It never
// replaces the original message and never goes to a DM.
func (b *Bot) respond(ctx context.Context, responseURL string, r reply, log *slog.Logger) {
	if responseURL == "" {
		log.Warn("no response_url; reply dropped")
		return
	}
	rctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := slack.PostWebhookCustomHTTPContext(rctx, responseURL, b.cfg.HTTPClient, r.webhook()); err != nil {
		log.Warn("reply via response_url failed", "err", withoutURL(err))
	}
}

func newRequestID() string {
	var p [6]byte
	_, _ = rand.Read(p[:])
	return hex.EncodeToString(p[:])
}

// commandLabel bounds the metrics label to known subcommands.
func commandLabel(text string) string {
	f := strings.Fields(htmlUnescaper.Replace(text))
	if len(f) == 0 {
		return "help"
	}
	if n, ok := aliases[strings.ToLower(f[0])]; ok {
		return n
	}
	return "unknown"
}
