// Package adoauth links a Slack person to their Azure DevOps identity (Entra ID or
// legacy Azure DevOps OAuth) and hands out access tokens with refresh-once semantics.
//
// CONTRACT STUB: exported names/signatures below are what bot and cmd use.
package adoauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
	"golang.org/x/sync/singleflight"
)

// ResourceID is Azure DevOps' Entra resource.
const ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"

// Scopes are the Azure DevOps scopes adobot asks for.
var Scopes = []string{"vso.build", "vso.work", "vso.project", "vso.profile", "vso.code"}

var (
	// ErrGrantGone: the identity provider rejected the refresh token for good
	// (invalid_grant, interaction_required, ...). Use errors.Is.
	ErrGrantGone = errors.New("adoauth: grant revoked or expired")
	// ErrNeedsRelink: the record is flagged; no refresh is attempted until a new link.
	ErrNeedsRelink = errors.New("adoauth: link again")
	// ErrRefreshBusy: another refresh holds the lock for too long; try again shortly.
	ErrRefreshBusy = errors.New("adoauth: token refresh in progress, try again")
)

// Token is what a provider returns.
type Token struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
	Scopes       []string
}

// Provider is one identity provider (Entra ID or legacy).
type Provider interface {
	Mode() string // "entra" or "legacy"
	AuthCodeURL(state, verifier string) string
	Exchange(ctx context.Context, code, verifier string) (*Token, error)
	Refresh(ctx context.Context, refreshToken string) (*Token, error)
}

// EntraConfig / LegacyConfig configure the providers.
type EntraConfig struct {
	AuthorityURL, Tenant, ClientID, ClientSecret, RedirectURL string
	HTTPClient                                                *http.Client
}

type LegacyConfig struct {
	VSSPSURL, ClientID, ClientSecret, RedirectURL string
	HTTPClient                                    *http.Client
}

// Directory looks up the Slack person's email (users.info) for LINK_REQUIRE_EMAIL_MATCH.
type Directory interface {
	Email(ctx context.Context, k store.UserKey) (string, error)
}

// Notifier is told when a link succeeded (the bot DMs a confirmation).
type Notifier interface {
	Linked(ctx context.Context, k store.UserKey, rec *store.Record)
}

// Config wires a Service.
type Config struct {
	Provider          Provider
	Store             *store.Store
	DevOps            *devops.Client
	PublicURL         string // no trailing slash
	DefaultOrg        string // ADO_ORG; "" = first organization of the person
	RequireEmailMatch bool
	Directory         Directory
	Notifier          Notifier
	Logger            *slog.Logger
	Now               func() time.Time // nil = time.Now
	// Metrics is optional; nil counts nothing.
	Metrics Metrics
}

// Metrics receives counters (a Prometheus CounterVec adapter fits). event is
// "link" or "refresh"; outcome a short word ("ok", "grant_gone", "busy", ...).
type Metrics interface {
	Count(event, outcome string)
}

// Service is sign-in plus token sources. Safe for concurrent use.
type Service struct {
	cfg  Config
	prov Provider
	st   *store.Store
	log  *slog.Logger
	now  func() time.Time

	flights singleflight.Group

	negMu sync.Mutex
	neg   map[store.UserKey]negEntry

	// Tuning; tests shorten these.
	lockTTL        time.Duration // refresh lock lifetime, extended every lockTTL/3
	waitMax        time.Duration // how long a waiter polls before ErrRefreshBusy
	pollEvery      time.Duration // waiter poll period (jittered)
	refreshTimeout time.Duration // one IdP refresh call, detached from the request
	proactive      time.Duration // refresh when the token expires within this
	negTTL         time.Duration // negative cache after a transient IdP failure
	notifyWait     time.Duration // how long the callback page waits for Notifier
	noExtend       bool          // test knob: never extend the refresh lock
}

type negEntry struct {
	until time.Time
	err   error
}

// NewService wires a Service. Logger nil = slog.Default().
func NewService(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{
		cfg:            cfg,
		prov:           cfg.Provider,
		st:             cfg.Store,
		log:            log.With("component", "adoauth"),
		now:            now,
		neg:            map[store.UserKey]negEntry{},
		lockTTL:        10 * time.Second,
		waitMax:        5 * time.Second,
		pollEvery:      50 * time.Millisecond,
		refreshTimeout: 20 * time.Second,
		proactive:      5 * time.Minute,
		negTTL:         2 * time.Second,
		notifyWait:     2 * time.Second,
	}
}

func (s *Service) count(event, outcome string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Count(event, outcome)
	}
}
