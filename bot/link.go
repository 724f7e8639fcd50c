package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/store"
)

const (
	actionConnect = "connect"
	actionUnlink  = "unlink"
)

// usage lists every subcommand; note (already mrkdwn-escaped) goes first.
func usageReply(note string) reply {
	var sb strings.Builder
	if note != "" {
		sb.WriteString(note)
		sb.WriteString("\n\n")
	}
	sb.WriteString("*Usage*\n" +
		"• `/ado link` — connect your Azure DevOps account (I'll DM you a sign-in link)\n" +
		"• `/ado unlink` — disconnect it and delete your stored sign-in\n" +
		"• `/ado status` — who you're linked as, default organization, sign-in health\n" +
		"• `/ado org [NAME]` — list your organizations, or set your default\n" +
		"• `/ado builds &lt;project&gt; [--branch B] [--failed] [--top N] [--org O]` — recent builds, newest first\n" +
		"• `/ado workitems [project] [--top N] [--org O]` — open work items assigned to you\n" +
		"• `/ado projects [--org O]` — projects in the organization\n" +
		"• `/ado repos &lt;project&gt; [--org O]` — Git repositories of a project\n" +
		"• `/ado prs [project] [--mine] [--org O]` — active pull requests you review (`--mine`: ones you created)\n" +
		"• `/ado help` — this message\n" +
		"Quote names with spaces: `/ado builds \"Mobile App\"`. `--top` is 1–50 (default 10).")
	text := sb.String()
	return reply{Text: "adobot help", Blocks: []slack.Block{section(text)}}
}

// connectActions is an actions block with a Connect URL button pointing at a
// fresh sign-in link; if the link cannot be made it says how to get one.
func (b *Bot) connectActions(ctx context.Context, k store.UserKey, label string, log *slog.Logger) []slack.Block {
	u, err := b.cfg.Auth.StartLink(ctx, k)
	if err != nil || u == "" || len(u) > maxButtonURL {
		log.Warn("could not start a link for the connect button", "err", err)
		return []slack.Block{contextBlock("Run `/ado link` to get a sign-in link.")}
	}
	btn := urlButton(actionConnect, label, u).WithStyle(slack.StylePrimary)
	return []slack.Block{slack.NewActionBlock("connect", btn)}
}

func linkedAs(rec *store.Record) string {
	s := "*" + escClip(rec.DisplayName, 100) + "*"
	if rec.Email != "" {
		s += " (" + escClip(rec.Email, 200) + ")"
	}
	return s
}

func (b *Bot) cmdLink(ctx context.Context, rc *runCtx) (reply, error) {
	rec, err := b.record(ctx, rc)
	switch {
	case err == nil && !rec.NeedsRelink:
		text := "You're linked as " + linkedAs(rec) + ". Relink?"
		u, err := b.cfg.Auth.StartLink(ctx, rc.key)
		if err != nil {
			return reply{}, err
		}
		r := textReply(text)
		r.Blocks = append(r.Blocks, slack.NewActionBlock("relink", urlButton(actionConnect, "Relink Azure DevOps", u)))
		return r, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return reply{}, err
	}
	u, err := b.cfg.Auth.StartLink(ctx, rc.key)
	if err != nil {
		return reply{}, err
	}
	dmText := "Connect your Azure DevOps account to use `/ado`. The link works once and expires in 10 minutes; don't share it."
	btn := urlButton(actionConnect, "Connect Azure DevOps", u).WithStyle(slack.StylePrimary)
	_, _, err = b.api.PostMessageContext(ctx, rc.slash.UserID,
		slack.MsgOptionText(dmText, false),
		slack.MsgOptionBlocks(section(dmText), slack.NewActionBlock("connect", btn)))
	if err != nil {
		return reply{}, fmt.Errorf("bot: DM sign-in link: %w", err)
	}
	return textReply("I've sent you a DM with a sign-in link."), nil
}

func (b *Bot) cmdUnlink(ctx context.Context, rc *runCtx) (reply, error) {
	removeURL, err := b.cfg.Auth.Unlink(ctx, rc.key)
	if err != nil {
		return reply{}, err
	}
	text := "Unlinked: your Azure DevOps sign-in is deleted from adobot."
	if removeURL != "" {
		text += " To also remove adobot's access from your Microsoft account, go to " + link(removeURL, "this page") + "."
	}
	return textReply(text), nil
}

func (b *Bot) cmdStatus(ctx context.Context, rc *runCtx) (reply, error) {
	rec, err := b.record(ctx, rc)
	if errors.Is(err, store.ErrNotFound) {
		r := textReply("You're not linked to Azure DevOps.")
		r.Blocks = append(r.Blocks, b.connectActions(ctx, rc.key, "Connect Azure DevOps", rc.log)...)
		return r, nil
	}
	if err != nil {
		return reply{}, err
	}
	lines := []string{"You're linked as " + linkedAs(rec) + "."}
	if org := b.effectiveDefaultOrg(rec); org != "" {
		lines = append(lines, "Default organization: *"+esc(org)+"*")
	} else {
		lines = append(lines, "No default organization — set one with `/ado org NAME`.")
	}
	now := b.now()
	switch {
	case rec.NeedsRelink:
		lines = append(lines, "⚠️ Sign-in: expired or revoked — link again.")
	case rec.Expiry.IsZero():
		lines = append(lines, "Sign-in: OK")
	case rec.Expiry.After(now):
		lines = append(lines, "Sign-in: OK, access token expires "+until(rec.Expiry.Sub(now))+" (renewed automatically)")
	default:
		lines = append(lines, "Sign-in: OK, access token expired "+ago(now, rec.Expiry)+"; it is renewed on your next command")
	}
	if len(rec.Scopes) > 0 && !slices.ContainsFunc(rec.Scopes, func(s string) bool { return strings.HasSuffix(s, "vso.code") }) {
		lines = append(lines, "Your sign-in lacks *vso.code*: `repos` and `prs` need you to link again.")
	}
	if !rec.LinkedAt.IsZero() {
		lines = append(lines, "Linked "+ago(now, rec.LinkedAt))
	}
	r := textReply(strings.Join(lines, "\n"))
	if rec.NeedsRelink {
		r.Blocks = append(r.Blocks, b.connectActions(ctx, rc.key, "Connect Azure DevOps", rc.log)...)
	}
	return r, nil
}

func (b *Bot) effectiveDefaultOrg(rec *store.Record) string {
	if b.cfg.DefaultOrg != "" {
		return b.cfg.DefaultOrg
	}
	return rec.DefaultOrg
}

func (b *Bot) cmdOrg(ctx context.Context, rc *runCtx) (reply, error) {
	rec, err := b.record(ctx, rc)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reply{}, errNotLinked
		}
		return reply{}, err
	}
	want := rc.cmd.Arg()
	if want == "" {
		return textReply(orgList(rec, b.effectiveDefaultOrg(rec))), nil
	}
	if b.cfg.DefaultOrg != "" {
		return textReply(fmt.Sprintf("The organization is fixed to *%s* for this workspace; add `--org %s` to a command to use another one.",
			esc(b.cfg.DefaultOrg), escClip(want, 100))), nil
	}
	var match string
	for _, o := range rec.Orgs {
		if strings.EqualFold(o, want) {
			match = o
			break
		}
	}
	if match == "" {
		if len(rec.Orgs) == 0 {
			return textReply(fmt.Sprintf("*%s* is not one of your organizations (I know of none; try `/ado link` again).", escClip(want, 100))), nil
		}
		return textReply(fmt.Sprintf("*%s* is not one of your organizations. %s", escClip(want, 100), orgList(rec, b.effectiveDefaultOrg(rec)))), nil
	}
	if _, err := b.cfg.Store.Update(ctx, rc.key, func(r *store.Record) error {
		r.DefaultOrg = match
		return nil
	}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reply{}, errNotLinked
		}
		return reply{}, err
	}
	return textReply("Your default organization is now *" + esc(match) + "*."), nil
}

func orgList(rec *store.Record, def string) string {
	if len(rec.Orgs) == 0 {
		if def != "" {
			return "Default organization: *" + esc(def) + "*."
		}
		return "I don't know any of your organizations. Add `--org NAME` to a command."
	}
	var sb strings.Builder
	sb.WriteString("Your organizations:")
	for i, o := range rec.Orgs {
		if i == 40 {
			fmt.Fprintf(&sb, "\n… and %d more", len(rec.Orgs)-i)
			break
		}
		sb.WriteString("\n• ")
		sb.WriteString(escClip(o, 100))
		if strings.EqualFold(o, def) {
			sb.WriteString(" _(default)_")
		}
	}
	if def == "" {
		sb.WriteString("\nNo default yet — set one with `/ado org NAME`.")
	}
	return sb.String()
}
