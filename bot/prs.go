package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

func (b *Bot) cmdPRs(ctx context.Context, rc *runCtx) (reply, error) {
	project := rc.cmd.Arg()
	org, uc, err := b.prepare(ctx, rc, project)
	if err != nil {
		return reply{}, err
	}
	crit := devops.PullRequestCriteria{ReviewerID: rc.rec.ProfileID, Top: rc.cmd.Top}
	if rc.cmd.Mine {
		crit = devops.PullRequestCriteria{CreatorID: rc.rec.ProfileID, Top: rc.cmd.Top}
	}
	prs, err := uc.PullRequests(ctx, org, project, crit)
	if err != nil {
		return reply{}, err
	}
	return renderPRs(b.now(), b.links, org, project, rc.cmd.Mine, rc.rec.ProfileID, rc.cmd.TopOr(maxTop), prs), nil
}

func voteText(v int) string {
	switch {
	case v >= 10:
		return "approved"
	case v >= 5:
		return "approved with suggestions"
	case v <= -10:
		return "rejected"
	case v < 0:
		return "waiting for author"
	}
	return "no vote"
}

// voteSummary counts the reviewers' votes for the author's view ("2 approved, 1 waiting for author").
func voteSummary(rs []devops.Reviewer) string {
	order := []int{10, 5, -5, -10, 0}
	counts := map[int]int{}
	for _, r := range rs {
		switch {
		case r.Vote >= 10:
			counts[10]++
		case r.Vote >= 5:
			counts[5]++
		case r.Vote <= -10:
			counts[-10]++
		case r.Vote < 0:
			counts[-5]++
		default:
			counts[0]++
		}
	}
	var parts []string
	for _, v := range order {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], voteText(v)))
		}
	}
	if len(parts) == 0 {
		return "no reviewers"
	}
	return strings.Join(parts, ", ")
}

func renderPRs(now time.Time, links linker, org, project string, mine bool, me string, top int, prs []devops.PullRequest) reply {
	where := project
	if where == "" {
		where = "all projects"
	}
	if len(prs) == 0 {
		msg := fmt.Sprintf("No active pull requests waiting for your review in *%s* (%s).", esc(where), esc(org))
		if mine {
			msg = fmt.Sprintf("You have no active pull requests in *%s* (%s).", esc(where), esc(org))
		}
		return reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	total := len(prs)
	if top < len(prs) {
		prs = prs[:top]
	}
	blocks := make([]slack.Block, 0, len(prs))
	for i := range prs {
		pr := &prs[i]
		p := pr.Repository.Project.Name
		if p == "" {
			p = project
		}
		u := links.PullRequestURL(org, p, pr.Repository.Name, pr.PullRequestID)
		var sb strings.Builder
		sb.WriteString("*")
		sb.WriteString(link(u, truncRunes(pr.Title, 250)))
		sb.WriteString("*")
		if pr.IsDraft {
			sb.WriteString(" _(draft)_")
		}
		fmt.Fprintf(&sb, " !%d\n%s · %s → %s · by %s · %s", pr.PullRequestID,
			escClip(pr.Repository.Name, 100), escClip(shortRef(pr.SourceRefName), 100),
			escClip(shortRef(pr.TargetRefName), 100), escClip(pr.CreatedBy.DisplayName, 100), ago(now, pr.CreationDate))
		if mine {
			sb.WriteString(" · ")
			sb.WriteString(voteSummary(pr.Reviewers))
		} else {
			vote := 0
			for _, r := range pr.Reviewers {
				if me != "" && strings.EqualFold(r.ID, me) {
					vote = r.Vote
					break
				}
			}
			sb.WriteString(" · your vote: ")
			sb.WriteString(voteText(vote))
		}
		blocks = append(blocks, section(sb.String()))
	}
	kind := "Pull requests to review"
	if mine {
		kind = "My pull requests"
	}
	out := fitItems([]slack.Block{title(kind, where)}, blocks, func(shown int) []slack.Block {
		return footer(org, where, shown, total)
	})
	return reply{Text: fmt.Sprintf("%d pull requests", total), Blocks: out}
}
