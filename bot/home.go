package bot

import (
	"context"
	"errors"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/store"
)

// homeView is the App Home tab: link status plus Connect / Disconnect.
// notice (mrkdwn, already escaped) is shown on top, e.g. after a disconnect.
func (b *Bot) homeView(ctx context.Context, k store.UserKey, notice string, log *slog.Logger) slack.HomeTabViewRequest {
	blocks := []slack.Block{header("Azure DevOps")}
	if notice != "" {
		blocks = append(blocks, section(notice))
	}
	rec, err := b.cfg.Store.Get(ctx, k)
	switch {
	case errors.Is(err, store.ErrNotFound):
		blocks = append(blocks, section("You're not linked to Azure DevOps. Connect your account to use `/ado`."))
		blocks = append(blocks, b.connectActions(ctx, k, "Connect Azure DevOps", log)...)
	case err != nil:
		log.Warn("home: cannot read link", "err", err)
		blocks = append(blocks, section(mapError(err, "", "").text))
	default:
		text := "Linked as " + linkedAs(rec) + "."
		if org := b.effectiveDefaultOrg(rec); org != "" {
			text += "\nDefault organization: *" + esc(org) + "*"
		}
		disconnect := slack.NewButtonBlockElement(actionUnlink, "unlink", plain("Disconnect")).WithStyle(slack.StyleDanger).
			WithConfirm(slack.NewConfirmationBlockObject(plain("Disconnect Azure DevOps?"),
				plain("adobot will delete your stored sign-in."), plain("Disconnect"), plain("Cancel")))
		if rec.NeedsRelink {
			text += "\n⚠️ Your sign-in expired or was revoked — connect again."
			blocks = append(blocks, section(text))
			acts := b.connectActions(ctx, k, "Connect Azure DevOps", log)
			if ab, ok := acts[0].(*slack.ActionBlock); ok {
				ab.Elements.ElementSet = append(ab.Elements.ElementSet, disconnect)
				blocks = append(blocks, ab)
			} else {
				blocks = append(blocks, acts...)
				blocks = append(blocks, slack.NewActionBlock("home_actions", disconnect))
			}
		} else {
			blocks = append(blocks, section(text), slack.NewActionBlock("home_actions", disconnect))
		}
	}
	blocks = append(blocks, contextBlock("Try `/ado help` in any channel."))
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

func (b *Bot) publishHome(ctx context.Context, k store.UserKey, userID, notice string, log *slog.Logger) {
	view := b.homeView(ctx, k, notice, log)
	if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: view}); err != nil {
		log.Warn("views.publish failed", "err", err)
	}
}

func (b *Bot) homeUnlink(ctx context.Context, j job, log *slog.Logger) {
	removeURL, err := b.cfg.Auth.Unlink(ctx, j.key)
	notice := "Disconnected: your Azure DevOps sign-in is deleted."
	if err != nil {
		log.Warn("home: unlink failed", "err", err)
		notice = mapError(err, "", "").text
	} else if removeURL != "" {
		notice += " To also remove adobot's access from your account, go to " + link(removeURL, "this page") + "."
	}
	b.publishHome(ctx, j.key, j.userID, notice, log)
}
