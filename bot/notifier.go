package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/store"
)

// Notifier implements adoauth.Directory and adoauth.Notifier with the Slack
// Web API only, so it can be built before the adoauth.Service it serves.
type Notifier struct {
	api *slack.Client
	log *slog.Logger
}

// NewNotifier builds a Notifier.
func NewNotifier(api *slack.Client, logger *slog.Logger) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{api: api, log: logger}
}

// ErrNoEmail: Slack returned no email for the person (missing users:read.email
// scope, or a bot/guest without one).
var ErrNoEmail = errors.New("bot: slack user has no email")

// Email is the person's Slack profile email (users.info).
func (n *Notifier) Email(ctx context.Context, k store.UserKey) (string, error) {
	u, err := n.api.GetUserInfoContext(ctx, k.User)
	if err != nil {
		return "", fmt.Errorf("bot: users.info: %w", err)
	}
	if u.Profile.Email == "" {
		return "", ErrNoEmail
	}
	return u.Profile.Email, nil
}

// Linked DMs the link confirmation. Failures are logged only: the link itself
// already succeeded.
func (n *Notifier) Linked(ctx context.Context, k store.UserKey, rec *store.Record) {
	text := linkedMessage(rec)
	if _, _, err := n.api.PostMessageContext(ctx, k.User, slack.MsgOptionText(text, false)); err != nil {
		n.log.Warn("link confirmation DM failed", "team", k.Team, "user", k.User, "err", err)
	}
}

func linkedMessage(rec *store.Record) string {
	text := "Linked as *" + escClip(rec.DisplayName, 100) + "*"
	if rec.Email != "" {
		text += " (" + escClip(rec.Email, 200) + ")"
	}
	text += "."
	if rec.DefaultOrg != "" {
		text += " Default organization *" + esc(rec.DefaultOrg) + "*."
	} else {
		text += " Set a default organization with `/ado org NAME`."
	}
	return text + " Try `/ado builds &lt;project&gt;`."
}
