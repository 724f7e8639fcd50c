package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

func (b *Bot) cmdBuilds(ctx context.Context, rc *runCtx) (reply, error) {
	project := rc.cmd.Arg()
	org, uc, err := b.prepare(ctx, rc, project)
	if err != nil {
		return reply{}, err
	}
	opt := devops.BuildListOptions{Top: rc.cmd.TopOr(defaultTop), Branch: rc.cmd.Branch}
	if rc.cmd.Failed {
		opt.ResultFilter = "failed"
	}
	builds, err := uc.Builds(ctx, org, project, opt)
	if err != nil {
		return reply{}, err
	}
	return renderBuilds(b.now(), org, project, rc.cmd, builds), nil
}

func buildEmoji(bd *devops.Build) string {
	switch strings.ToLower(bd.Status) {
	case "completed":
		switch strings.ToLower(bd.Result) {
		case "succeeded":
			return "✅"
		case "failed":
			return "❌"
		case "partiallysucceeded":
			return "⚠️"
		case "canceled":
			return "🚫"
		}
		return "❔"
	case "inprogress", "cancelling":
		return "⏳"
	case "notstarted", "postponed":
		return "🕒"
	}
	return "❔"
}

func renderBuilds(now time.Time, org, project string, cmd Command, builds []devops.Build) reply {
	kind := "Builds"
	if cmd.Failed {
		kind = "Failed builds"
	}
	fallback := fmt.Sprintf("%d builds in %s", len(builds), esc(project))
	if len(builds) == 0 {
		msg := fmt.Sprintf("No builds found in *%s* (%s)", esc(project), esc(org))
		if cmd.Branch != "" {
			msg += " on branch *" + esc(shortRef(cmd.Branch)) + "*"
		}
		return reply{Text: msg, Blocks: []slack.Block{section(msg + ".")}}
	}
	items := make([]slack.Block, 0, len(builds))
	for i := range builds {
		items = append(items, section(buildLine(now, &builds[i])))
	}
	blocks := fitItems([]slack.Block{title(kind, project)}, items, func(shown int) []slack.Block {
		return footer(org, project, shown, len(builds))
	})
	return reply{Text: fallback, Blocks: blocks}
}

func buildLine(now time.Time, bd *devops.Build) string {
	label := bd.BuildNumber
	if label == "" {
		label = strconv.Itoa(bd.ID)
	}
	var sb strings.Builder
	sb.WriteString(buildEmoji(bd))
	sb.WriteString(" *")
	sb.WriteString(link(bd.Links.Web.Href, truncRunes(label, 100)))
	sb.WriteString("* · ")
	sb.WriteString(escClip(bd.Definition.Name, 200))
	if br := shortRef(bd.SourceBranch); br != "" {
		sb.WriteString(" · ")
		sb.WriteString(escClip(br, 200))
	}
	if who := bd.RequestedFor.DisplayName; who != "" {
		sb.WriteString("\nrequested for ")
		sb.WriteString(escClip(who, 100))
		sb.WriteString(" · ")
	} else {
		sb.WriteString("\n")
	}
	when := bd.QueueTime
	if !bd.StartTime.IsZero() {
		when = bd.StartTime
	}
	sb.WriteString(ago(now, when))
	switch {
	case !bd.StartTime.IsZero() && !bd.FinishTime.IsZero():
		sb.WriteString(" · took ")
		sb.WriteString(dur(bd.FinishTime.Sub(bd.StartTime)))
	case !bd.StartTime.IsZero():
		sb.WriteString(" · running for ")
		sb.WriteString(dur(now.Sub(bd.StartTime)))
	}
	return sb.String()
}
