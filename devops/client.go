// Package devops is a small Azure DevOps REST client (API version 7.1) that acts for
// one person through a TokenSource. It knows nothing of Slack, Redis or sign-in.
//
// CONTRACT STUB: exported names/signatures below are what other packages use.
package devops

import (
	"context"
	"net/http"
	"time"
)

// APIVersion is sent on every call.
const APIVersion = "7.1"

// TokenSource gives the current access token for one person and can be told a token
// was rejected (401 / 203 sign-in page); Refresh returns a token different from
// rejected (refreshing if nobody else did already).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Refresh(ctx context.Context, rejected string) (string, error)
}

// Config holds the client's dependencies.
type Config struct {
	APIURL      string       // ADO_API_URL, e.g. https://dev.azure.com (no trailing /)
	VSSPSURL    string       // ADO_VSSPS_URL, e.g. https://app.vssps.visualstudio.com
	HTTPClient  *http.Client // nil: a client with sane timeouts
	UserAgent   string       // e.g. "adobot/1.0"
	MaxAttempts int          // for idempotent calls; 0 means 3
	BaseBackoff time.Duration
	MaxBackoff  time.Duration // cap on backoff and Retry-After honoured; 0 means 10s
}

// Client is shared by all people; For binds it to one person's TokenSource.
type Client struct{}

// NewClient builds a Client.
func NewClient(cfg Config) *Client { panic("stub") }

// For returns a cheap per-person view of the client.
func (c *Client) For(ts TokenSource) *UserClient { panic("stub") }

// UserClient makes calls as one person.
type UserClient struct{}

// WebURL helpers (the bot builds links with these; every segment escaped).
func (c *Client) ProjectURL(org, project string) string            { panic("stub") }
func (c *Client) WorkItemURL(org, project string, id int) string   { panic("stub") }
func (c *Client) RepoURL(org, project, repo string) string         { panic("stub") }
func (c *Client) PullRequestURL(org, project, repo string, id int) string { panic("stub") }

// ValidateOrg / ValidateProject check Azure DevOps naming rules; *ValidationError otherwise.
func ValidateOrg(org string) error         { panic("stub") }
func ValidateProject(project string) error { panic("stub") }
