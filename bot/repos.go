package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

func (b *Bot) cmdRepos(ctx context.Context, rc *runCtx) (reply, error) {
	project := rc.cmd.Arg()
	org, uc, err := b.prepare(ctx, rc, project)
	if err != nil {
		return reply{}, err
	}
	rs, err := uc.Repositories(ctx, org, project)
	if err != nil {
		return reply{}, err
	}
	return renderRepos(b.links, org, project, rc.cmd.TopOr(maxTop), rs), nil
}

func renderRepos(links linker, org, project string, top int, rs []devops.Repository) reply {
	if len(rs) == 0 {
		msg := fmt.Sprintf("No repositories in *%s* (%s).", esc(project), esc(org))
		return reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	rs = append([]devops.Repository(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return strings.ToLower(rs[i].Name) < strings.ToLower(rs[j].Name) })
	total := len(rs)
	if top < len(rs) {
		rs = rs[:top]
	}
	blocks := make([]slack.Block, 0, len(rs))
	for _, r := range rs {
		u := links.RepoURL(org, project, r.Name)
		if u == "" {
			u = r.WebURL
		}
		line := "*" + link(u, truncRunes(r.Name, 200)) + "*"
		if br := shortRef(r.DefaultBranch); br != "" {
			line += " · default branch " + escClip(br, 200)
		} else {
			line += " · empty"
		}
		line += " · " + humanSize(r.Size)
		blocks = append(blocks, section(line))
	}
	out := fitItems([]slack.Block{title("Repositories", project)}, blocks, func(shown int) []slack.Block {
		return footer(org, project, shown, total)
	})
	return reply{Text: fmt.Sprintf("%d repositories in %s", total, esc(project)), Blocks: out}
}
