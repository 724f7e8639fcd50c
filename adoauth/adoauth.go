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
	"time"

	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
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
	HTTPClient                                                 *http.Client
}

type LegacyConfig struct {
	VSSPSURL, ClientID, ClientSecret, RedirectURL string
	HTTPClient                                    *http.Client
}

func NewEntra(cfg EntraConfig) Provider   { panic("stub") }
func NewLegacy(cfg LegacyConfig) Provider { panic("stub") }

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
}

// Service is sign-in plus token sources.
type Service struct{}

func NewService(cfg Config) *Service { panic("stub") }

// StartLink creates single-use state + PKCE verifier for k and returns the URL to DM
// (PublicURL + "/oauth/start?state=..."; following it redirects to the provider; a
// link previewer fetching it consumes nothing).
func (s *Service) StartLink(ctx context.Context, k store.UserKey) (string, error) { panic("stub") }

// Handler serves GET /oauth/start and GET /oauth/callback.
func (s *Service) Handler() http.Handler { panic("stub") }

// TokenSource for k; rec is the record the caller already loaded (saves a Redis round
// trip; nil means load it). It implements devops.TokenSource.
func (s *Service) TokenSource(k store.UserKey, rec *store.Record) devops.TokenSource { panic("stub") }

// Unlink deletes everything stored for k and returns where the person removes the
// app's access in their account (Entra: My Apps; legacy: Azure DevOps Authorizations).
func (s *Service) Unlink(ctx context.Context, k store.UserKey) (removeAccessURL string, err error) {
	panic("stub")
}
