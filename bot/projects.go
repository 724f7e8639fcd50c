package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

func (b *Bot) cmdProjects(ctx context.Context, rc *runCtx) (reply, error) {
	org, uc, err := b.prepare(ctx, rc, "")
	if err != nil {
		return reply{}, err
	}
	ps, err := uc.Projects(ctx, org)
	if err != nil {
		return reply{}, err
	}
	return renderProjects(b.now(), b.links, org, rc.cmd.TopOr(maxTop), ps), nil
}

func renderProjects(now time.Time, links linker, org string, top int, ps []devops.Project) reply {
	if len(ps) == 0 {
		msg := fmt.Sprintf("No projects visible to you in *%s*.", esc(org))
		return reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	ps = append([]devops.Project(nil), ps...)
	sort.SliceStable(ps, func(i, j int) bool { return strings.ToLower(ps[i].Name) < strings.ToLower(ps[j].Name) })
	total := len(ps)
	if top < len(ps) {
		ps = ps[:top]
	}
	blocks := make([]slack.Block, 0, len(ps))
	for _, p := range ps {
		line := "*" + link(links.ProjectURL(org, p.Name), truncRunes(p.Name, 200)) + "*"
		if d := strings.Join(strings.Fields(p.Description), " "); d != "" {
			line += " — " + escClip(d, 200)
		}
		if !p.LastUpdateTime.IsZero() {
			line += "\nupdated " + ago(now, p.LastUpdateTime)
		}
		blocks = append(blocks, section(line))
	}
	out := fitItems([]slack.Block{title("Projects", org)}, blocks, func(shown int) []slack.Block {
		return footer(org, "", shown, total)
	})
	return reply{Text: fmt.Sprintf("%d projects in %s", total, esc(org)), Blocks: out}
}
