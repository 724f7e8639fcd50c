package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

func (b *Bot) cmdWorkItems(ctx context.Context, rc *runCtx) (reply, error) {
	project := rc.cmd.Arg()
	org, uc, err := b.prepare(ctx, rc, project)
	if err != nil {
		return reply{}, err
	}
	items, total, err := uc.MyWorkItems(ctx, org, project, devops.WorkItemOptions{Top: rc.cmd.TopOr(defaultTop)})
	if err != nil {
		return reply{}, err
	}
	return renderWorkItems(b.now(), b.links, org, project, items, total), nil
}

func renderWorkItems(now time.Time, links linker, org, project string, items []devops.WorkItem, total int) reply {
	where := project
	if where == "" {
		where = "all projects"
	}
	if total < len(items) {
		total = len(items)
	}
	if len(items) == 0 {
		msg := fmt.Sprintf("No open work items assigned to you in *%s* (%s).", esc(where), esc(org))
		return reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	blocks := make([]slack.Block, 0, len(items))
	for _, wi := range items {
		p := wi.Project
		if p == "" {
			p = project
		}
		line := fmt.Sprintf("*%s* %s · %s · _%s_", link(links.WorkItemURL(org, p, wi.ID), fmt.Sprintf("#%d", wi.ID)),
			escClip(wi.Type, 60), escClip(wi.Title, 300), escClip(wi.State, 60))
		if project == "" && wi.Project != "" {
			line += " · " + escClip(wi.Project, 100)
		}
		if !wi.ChangedDate.IsZero() {
			line += " · changed " + ago(now, wi.ChangedDate)
		}
		blocks = append(blocks, section(line))
	}
	out := fitItems([]slack.Block{title("My work items", where)}, blocks, func(shown int) []slack.Block {
		return footer(org, where, shown, total)
	})
	return reply{Text: fmt.Sprintf("%d open work items", total), Blocks: out}
}
