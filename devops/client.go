// Package devops is a small Azure DevOps REST client (API version 7.1) that acts for
// one person through a TokenSource. It knows nothing of Slack, Redis or sign-in.
package devops

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

const (
	defaultAPIURL      = "https://dev.azure.com"
	defaultVSSPSURL    = "https://app.vssps.visualstudio.com"
	defaultUserAgent   = "adobot/dev"
	defaultMaxAttempts = 3
	defaultBaseBackoff = 200 * time.Millisecond
	defaultMaxBackoff  = 10 * time.Second
)

// Client is shared by all people; For binds it to one person's TokenSource.
type Client struct {
	api         *url.URL
	vssps       *url.URL
	hc          *http.Client
	userAgent   string
	maxAttempts int
	baseBackoff time.Duration
	maxBackoff  time.Duration
}

// NewClient builds a Client. Unparsable base URLs fall back to the public Azure DevOps
// endpoints; configuration is validated by the caller (cmd/adobot) at start.
func NewClient(cfg Config) *Client {
	c := &Client{
		api:         parseBase(cfg.APIURL, defaultAPIURL),
		vssps:       parseBase(cfg.VSSPSURL, defaultVSSPSURL),
		userAgent:   cfg.UserAgent,
		maxAttempts: cfg.MaxAttempts,
		baseBackoff: cfg.BaseBackoff,
		maxBackoff:  cfg.MaxBackoff,
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = defaultMaxAttempts
	}
	if c.baseBackoff <= 0 {
		c.baseBackoff = defaultBaseBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = defaultMaxBackoff
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient // shallow copy: shares the Transport, owns CheckRedirect
	} else {
		hc = http.Client{Timeout: 30 * time.Second, Transport: defaultTransport()}
	}
	// The REST API never redirects a good request; a redirect is a sign-in page.
	// Following it would at best hand back HTML and at worst carry the bearer token
	// to another host, so the 3xx itself is mapped to *AuthError.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	return c
}

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

func parseBase(raw, def string) *url.URL {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		u, _ = url.Parse(def)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u
}

// For returns a cheap per-person view of the client.
func (c *Client) For(ts TokenSource) *UserClient { return &UserClient{c: c, ts: ts} }

// UserClient makes calls as one person.
type UserClient struct {
	c  *Client
	ts TokenSource
}

// endpoint joins base with segments, each escaped as exactly one path segment. Path
// and RawPath are both set so net/http sends the escaped form: a project "Mobile App"
// goes out as /org/Mobile%20App/... and "a/b" as a%2Fb, never as two segments.
func endpoint(base *url.URL, segments ...string) *url.URL {
	var p, raw strings.Builder
	p.WriteString(base.Path)
	raw.WriteString(base.EscapedPath())
	for _, s := range segments {
		p.WriteByte('/')
		p.WriteString(s)
		raw.WriteByte('/')
		raw.WriteString(url.PathEscape(s))
	}
	u := *base
	u.Path = p.String()
	u.RawPath = raw.String()
	return &u
}

// webURL is endpoint's string form for links shown to people.
func webURL(base *url.URL, segments ...string) string { return endpoint(base, segments...).String() }

// ProjectURL is {api}/{org}/{project}; every segment escaped.
func (c *Client) ProjectURL(org, project string) string { return webURL(c.api, org, project) }

// WorkItemURL is {api}/{org}/{project}/_workitems/edit/{id}.
func (c *Client) WorkItemURL(org, project string, id int) string {
	return webURL(c.api, org, project, "_workitems", "edit", strconv.Itoa(id))
}

// RepoURL is {api}/{org}/{project}/_git/{repo}.
func (c *Client) RepoURL(org, project, repo string) string {
	return webURL(c.api, org, project, "_git", repo)
}

// PullRequestURL is {api}/{org}/{project}/_git/{repo}/pullrequest/{id}.
func (c *Client) PullRequestURL(org, project, repo string, id int) string {
	return webURL(c.api, org, project, "_git", repo, "pullrequest", strconv.Itoa(id))
}
