package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's limits (api.slack.com/reference/block-kit).
const (
	maxBlocks       = 50
	maxSectionText  = 3000
	maxReplyBytes   = 20 * 1024
	replyByteBudget = maxReplyBytes - 1024 // room for text fallback and envelope framing
	maxButtonURL    = 3000
	maxHeaderText   = 150
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc makes user or Azure DevOps text inert in mrkdwn: no links, no
// <!channel>-style mentions, no entity tricks.
func esc(s string) string { return mrkdwnEscaper.Replace(s) }

// escClip truncates to n runes, then escapes (truncating after escaping could
// cut an entity in half).
func escClip(s string, n int) string { return esc(truncRunes(s, n)) }

func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n-1 {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// safeURL returns u made fit for the url half of <url|label>, or "" when it
// must not be linked at all (not http(s), or too long).
func safeURL(u string) string {
	if !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) || len(u) > maxButtonURL {
		return ""
	}
	var b strings.Builder
	for _, r := range u {
		switch {
		case r == '|':
			b.WriteString("%7C")
		case r == '>':
			b.WriteString("%3E")
		case r == '<':
			b.WriteString("%3C")
		case r == '&':
			b.WriteString("&amp;")
		case r <= ' ' || r == 0x7f:
			fmt.Fprintf(&b, "%%%02X", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// link renders <url|label> with the label escaped; without a usable URL the
// label stands alone.
func link(u, label string) string {
	label = esc(label)
	if su := safeURL(u); su != "" {
		return "<" + su + "|" + label + ">"
	}
	return label
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, capText(s), false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// capText enforces the section limit without cutting an entity or a link in
// half: it cuts at the last line break that fits, else before the last '<' or '&'.
func capText(s string) string {
	if len(s) <= maxSectionText {
		return s
	}
	cut := s[:maxSectionText-len("…")]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexByte(cut, '\n'); i > maxSectionText/2 {
		cut = cut[:i]
	} else {
		if lt, gt := strings.LastIndexByte(cut, '<'), strings.LastIndexByte(cut, '>'); lt > gt {
			cut = cut[:lt]
		}
		if amp, semi := strings.LastIndexByte(cut, '&'), strings.LastIndexByte(cut, ';'); amp > semi {
			cut = cut[:amp]
		}
	}
	return cut + "…"
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil)
}

func header(text string) slack.Block {
	return slack.NewHeaderBlock(plain(truncRunes(text, maxHeaderText)))
}

// title is a list's heading. It is a mrkdwn section rather than a header
// block so the name in it can be escaped like every other piece of text.
func title(kind, name string) slack.Block {
	return section("*" + kind + "* · " + escClip(name, 200))
}

func contextBlock(text string) slack.Block {
	return slack.NewContextBlock("", mrkdwn(text))
}

func urlButton(actionID, text, url string) *slack.ButtonBlockElement {
	btn := slack.NewButtonBlockElement(actionID, "", plain(text))
	btn.URL = url
	return btn
}

// reply is what a command answers; it becomes an ephemeral response_url message.
type reply struct {
	Text   string // notification fallback (mrkdwn)
	Blocks []slack.Block
}

func textReply(mrkdwnText string) reply {
	return reply{Text: mrkdwnText, Blocks: []slack.Block{section(mrkdwnText)}}
}

func (r reply) webhook() *slack.WebhookMessage {
	m := &slack.WebhookMessage{
		ResponseType:    slack.ResponseTypeEphemeral,
		Text:            truncRunes(r.Text, maxSectionText),
		ReplaceOriginal: false,
	}
	if len(r.Blocks) > 0 {
		m.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	return m
}

// fitItems assembles head + as many items as fit + foot(shown). It keeps the
// whole message within the block count and the byte budget; items are cut from
// the end so the newest/most relevant stay.
func fitItems(head, items []slack.Block, foot func(shown int) []slack.Block) []slack.Block {
	size := func(bs []slack.Block) int {
		n := 0
		for _, b := range bs {
			js, err := json.Marshal(b)
			if err != nil {
				return replyByteBudget
			}
			n += len(js) + 1
		}
		return n
	}
	footLen := len(foot(len(items)))
	n := len(items)
	if room := maxBlocks - len(head) - footLen; n > room {
		n = max(room, 0)
	}
	// Most replies fit whole: one marshal decides. A whole marshal is one byte
	// larger than the per-block sum below, so this accepts only what the exact
	// loop would.
	all := make([]slack.Block, 0, len(head)+n+footLen)
	all = append(append(append(all, head...), items[:n]...), foot(n)...)
	if js, err := json.Marshal(all); err == nil && len(js)+64 <= replyByteBudget {
		return all
	}
	used := size(head) + size(foot(n)) + 64
	itemSizes := 0
	shown := 0
	for shown < n {
		s := size(items[shown : shown+1])
		if used+itemSizes+s > replyByteBudget {
			break
		}
		itemSizes += s
		shown++
	}
	out := make([]slack.Block, 0, len(head)+shown+footLen)
	out = append(out, head...)
	out = append(out, items[:shown]...)
	return append(out, foot(shown)...)
}

// ago renders a past time compactly ("just now", "5m ago", "3h ago", "2d ago", "on 2 Jan 2006").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	default:
		return "on " + t.UTC().Format("2 Jan 2006")
	}
}

// dur renders a duration as "45s", "3m 20s", "2h 5m".
func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// until renders a future duration ("in 42m", "in 3h").
func until(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "in less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d/time.Minute))
	default:
		return fmt.Sprintf("in %dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// humanSize renders bytes as "812 B", "12.3 KB", "4.1 MB", "2.0 GB".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTP"[exp])
}

func shortRef(ref string) string {
	return strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/")
}

// footer is the context line under a list: "org / project · showing N of M".
func footer(org, project string, shown, total int) []slack.Block {
	where := esc(org)
	if project != "" {
		where += " / " + esc(project)
	}
	return []slack.Block{contextBlock(fmt.Sprintf("%s · showing %d of %d", where, shown, total))}
}
