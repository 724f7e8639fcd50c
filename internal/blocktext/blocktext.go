// Package blocktext renders Slack Block Kit JSON as readable plain text for a terminal:
// mrkdwn links become "label (url)", entities are unescaped, buttons show their URL.
package blocktext

import (
	"encoding/json"
	"regexp"
	"strings"
)

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string   `json:"type"`
	Text     *textObj `json:"text"`
	URL      string   `json:"url"`
	ActionID string   `json:"action_id"`
	// context elements are text objects themselves
	TextStr string `json:"-"`
}

type block struct {
	Type      string            `json:"type"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Accessory *element          `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
}

var link = regexp.MustCompile(`<([^<>|]+)\|([^<>]*)>|<([^<>|]+)>`)

// Mrkdwn turns Slack mrkdwn into plain text.
func Mrkdwn(s string) string {
	s = link.ReplaceAllStringFunc(s, func(m string) string {
		sub := link.FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[2] + " (" + sub[1] + ")"
		}
		return sub[3]
	})
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	return r.Replace(s)
}

// Render returns text for a message: its blocks when present, else its text.
func Render(text string, blocks json.RawMessage) string {
	var bs []block
	if len(blocks) == 0 || json.Unmarshal(blocks, &bs) != nil || len(bs) == 0 {
		return Mrkdwn(text)
	}
	var b strings.Builder
	for _, bl := range bs {
		switch bl.Type {
		case "header":
			if bl.Text != nil {
				t := Mrkdwn(bl.Text.Text)
				b.WriteString(t + "\n" + strings.Repeat("=", min(len([]rune(t)), 60)) + "\n")
			}
		case "divider":
			b.WriteString(strings.Repeat("-", 40) + "\n")
		case "section":
			if bl.Text != nil {
				b.WriteString(Mrkdwn(bl.Text.Text) + "\n")
			}
			for _, f := range bl.Fields {
				b.WriteString("  " + Mrkdwn(f.Text) + "\n")
			}
			if bl.Accessory != nil {
				writeElement(&b, *bl.Accessory)
			}
		case "context":
			var parts []string
			for _, raw := range bl.Elements {
				var t textObj
				if json.Unmarshal(raw, &t) == nil && t.Text != "" {
					parts = append(parts, Mrkdwn(t.Text))
				}
			}
			if len(parts) > 0 {
				b.WriteString("  " + strings.Join(parts, "  ") + "\n")
			}
		case "actions":
			for _, raw := range bl.Elements {
				var e element
				if json.Unmarshal(raw, &e) == nil {
					writeElement(&b, e)
				}
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeElement(b *strings.Builder, e element) {
	if e.Type != "button" || e.Text == nil {
		return
	}
	b.WriteString("  [" + Mrkdwn(e.Text.Text) + "]")
	if e.URL != "" {
		b.WriteString(" " + e.URL)
	}
	b.WriteString("\n")
}

// Flatten returns a message's text followed by every text, url, value and action_id
// in its blocks, one per line, unrendered: what tests and the load tool search in.
func Flatten(text string, blocks json.RawMessage) string {
	var sb strings.Builder
	sb.WriteString(text)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range []string{"text", "url", "value", "action_id"} {
				if s, ok := x[k].(string); ok {
					sb.WriteString("\n" + s)
				}
			}
			for _, vv := range x {
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	var v any
	if len(blocks) > 0 && json.Unmarshal(blocks, &v) == nil {
		walk(v)
	}
	return sb.String()
}
