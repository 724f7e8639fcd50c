// Package app wires adobot's parts together. cmd/adobot reads the environment into
// a Config and calls Run; the sandbox and the load tool build a Config themselves and
// use the very same constructors, so what they exercise is what ships.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/adobot/adobot/store"
)

// Secret holds a credential. It never prints: fmt, %v, slog and JSON all see "[redacted]".
type Secret string

// String redacts.
func (Secret) String() string { return "[redacted]" }

// GoString redacts %#v too.
func (Secret) GoString() string { return "[redacted]" }

// LogValue redacts in slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText redacts in JSON and text encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is the environment contract of DESIGN.md (envconfig, no prefix).
type Config struct {
	SlackAppToken       Secret `envconfig:"SLACK_APP_TOKEN" required:"true"`
	SlackBotToken       Secret `envconfig:"SLACK_BOT_TOKEN" required:"true"`
	SlackAPIURL         string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/"`
	RedisURL            Secret `envconfig:"REDIS_URL" default:"redis://localhost:6379/0"`
	TokenEncryptionKey  Secret `envconfig:"TOKEN_ENCRYPTION_KEY" required:"true"`
	TokenDecryptionKeys Secret `envconfig:"TOKEN_DECRYPTION_KEYS"`
	PublicURL           string `envconfig:"PUBLIC_URL" required:"true"`
	Port                int    `envconfig:"PORT" default:"3000"`
	ADOAuth             string `envconfig:"ADO_AUTH" default:"entra"`
	ADOClientID         string `envconfig:"ADO_CLIENT_ID" required:"true"`
	ADOClientSecret     Secret `envconfig:"ADO_CLIENT_SECRET" required:"true"`
	ADOTenant           string `envconfig:"ADO_TENANT" default:"organizations"`
	ADOAuthorityURL     string `envconfig:"ADO_AUTHORITY_URL" default:"https://login.microsoftonline.com"`
	ADOVSSPSURL         string `envconfig:"ADO_VSSPS_URL" default:"https://app.vssps.visualstudio.com"`
	ADOAPIURL           string `envconfig:"ADO_API_URL" default:"https://dev.azure.com"`
	ADOOrg              string `envconfig:"ADO_ORG"`
	LinkRequireEmail    bool   `envconfig:"LINK_REQUIRE_EMAIL_MATCH" default:"true"`
	LogLevel            string `envconfig:"LOG_LEVEL" default:"info"`

	// Parsed by Validate.
	encKey  []byte
	decKeys [][]byte
	level   slog.Level
}

// ConfigError names the variable that is wrong and why; main prints it as one line.
type ConfigError struct {
	Var    string
	Reason string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Reason }

// Validate normalises and checks every value; the first problem is returned as a
// *ConfigError. Secrets are never echoed.
func (c *Config) Validate() error {
	bad := func(v, format string, a ...any) error {
		return &ConfigError{Var: v, Reason: fmt.Sprintf(format, a...)}
	}
	if !strings.HasPrefix(c.SlackAppToken.Reveal(), "xapp-") {
		return bad("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
	}
	if !strings.HasPrefix(c.SlackBotToken.Reveal(), "xoxb-") {
		return bad("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	if err := checkURL(c.SlackAPIURL); err != nil {
		return bad("SLACK_API_URL", "%v", err)
	}
	ru, err := url.Parse(c.RedisURL.Reveal())
	if err != nil || (ru.Scheme != "redis" && ru.Scheme != "rediss") || ru.Host == "" {
		return bad("REDIS_URL", "must be a redis:// or rediss:// URL with a host")
	}
	if c.encKey, err = store.ParseKey(c.TokenEncryptionKey.Reveal()); err != nil {
		return bad("TOKEN_ENCRYPTION_KEY", "%v", err)
	}
	c.decKeys = nil
	if s := strings.TrimSpace(c.TokenDecryptionKeys.Reveal()); s != "" {
		for i, part := range strings.Split(s, ",") {
			k, err := store.ParseKey(strings.TrimSpace(part))
			if err != nil {
				return bad("TOKEN_DECRYPTION_KEYS", "entry %d: %v", i+1, err)
			}
			c.decKeys = append(c.decKeys, k)
		}
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if err := checkURL(c.PublicURL); err != nil {
		return bad("PUBLIC_URL", "%v", err)
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("PORT", "must be 0-65535, got %d", c.Port)
	}
	switch c.ADOAuth {
	case "entra", "legacy":
	default:
		return bad("ADO_AUTH", "must be entra or legacy, got %q", c.ADOAuth)
	}
	if strings.TrimSpace(c.ADOClientID) == "" {
		return bad("ADO_CLIENT_ID", "must not be empty")
	}
	if c.ADOClientSecret.Reveal() == "" {
		return bad("ADO_CLIENT_SECRET", "must not be empty")
	}
	if c.ADOTenant == "" || strings.ContainsAny(c.ADOTenant, "/?#% ") {
		return bad("ADO_TENANT", "must be a tenant id, domain, organizations or common")
	}
	for _, u := range []struct{ name, val string }{
		{"ADO_AUTHORITY_URL", c.ADOAuthorityURL}, {"ADO_VSSPS_URL", c.ADOVSSPSURL}, {"ADO_API_URL", c.ADOAPIURL},
	} {
		if err := checkURL(u.val); err != nil {
			return bad(u.name, "%v", err)
		}
	}
	c.ADOAuthorityURL = strings.TrimRight(c.ADOAuthorityURL, "/")
	c.ADOVSSPSURL = strings.TrimRight(c.ADOVSSPSURL, "/")
	c.ADOAPIURL = strings.TrimRight(c.ADOAPIURL, "/")
	if c.level, err = ParseLevel(c.LogLevel); err != nil {
		return bad("LOG_LEVEL", "%v", err)
	}
	return nil
}

// Level is the parsed LOG_LEVEL (valid after Validate).
func (c *Config) Level() slog.Level { return c.level }

// ParseLevel accepts debug, info, warn, error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("must be debug, info, warn or error, got %q", s)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http(s) URL, got %q", s)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host: %q", s)
	}
	return nil
}
