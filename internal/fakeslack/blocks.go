package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits (api.slack.com/reference/block-kit).
const (
	maxMessageBlocks  = 50
	maxViewBlocks     = 100
	maxSectionText    = 3000
	maxSectionFields  = 10
	maxFieldText      = 2000
	maxHeaderText     = 150
	maxButtonText     = 75
	maxButtonURL      = 3000
	maxButtonValue    = 2000
	maxActionID       = 255
	maxBlockID        = 255
	maxActionElements = 25
	maxContextElems   = 10
	maxMessageText    = 40000
)

// normBlocks returns blocks compacted, or nil when absent or empty.
func normBlocks(b json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || string(t) == "null" || string(t) == "[]" {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, t) != nil {
		return append(json.RawMessage(nil), t...)
	}
	return buf.Bytes()
}

// validateMessage checks a message's text and blocks against Slack's limits.
func validateMessage(where, text string, blocks json.RawMessage, maxBlocks int) []string {
	var v []string
	if n := utf8.RuneCountInString(text); n > maxMessageText {
		v = append(v, fmt.Sprintf("%s: text has %d characters, limit %d", where, n, maxMessageText))
	}
	return append(v, validateBlocks(where, blocks, maxBlocks)...)
}

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string   `json:"type"`
	Text     *textObj `json:"text"`
	ActionID string   `json:"action_id"`
	URL      string   `json:"url"`
	Value    string   `json:"value"`
}

type block struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      *textObj          `json:"text"`
	Fields    []textObj         `json:"fields"`
	Accessory *element          `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
}

// validateBlocks checks a blocks array; nil or empty is valid.
func validateBlocks(where string, raw json.RawMessage, maxBlocks int) []string {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{fmt.Sprintf("%s: blocks are not an array of block objects: %v", where, err)}
	}
	var v []string
	add := func(i int, format string, args ...any) {
		v = append(v, fmt.Sprintf("%s: block %d: ", where, i)+fmt.Sprintf(format, args...))
	}
	if len(blocks) > maxBlocks {
		v = append(v, fmt.Sprintf("%s: %d blocks, limit %d", where, len(blocks), maxBlocks))
	}
	for i, b := range blocks {
		if b.Type == "" {
			add(i, "no type")
		}
		if n := len(b.BlockID); n > maxBlockID {
			add(i, "block_id has %d characters, limit %d", n, maxBlockID)
		}
		switch b.Type {
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				add(i, "section without text or fields")
			}
			if b.Text != nil {
				if n := utf8.RuneCountInString(b.Text.Text); n > maxSectionText {
					add(i, "section text has %d characters, limit %d", n, maxSectionText)
				} else if n == 0 {
					add(i, "section text is empty")
				}
			}
			if len(b.Fields) > maxSectionFields {
				add(i, "section has %d fields, limit %d", len(b.Fields), maxSectionFields)
			}
			for j, f := range b.Fields {
				if n := utf8.RuneCountInString(f.Text); n > maxFieldText {
					add(i, "field %d has %d characters, limit %d", j, n, maxFieldText)
				}
			}
			if b.Accessory != nil {
				v = append(v, validateElement(fmt.Sprintf("%s: block %d accessory", where, i), *b.Accessory)...)
			}
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				add(i, "header text must be plain_text")
			} else if n := utf8.RuneCountInString(b.Text.Text); n > maxHeaderText {
				add(i, "header text has %d characters, limit %d", n, maxHeaderText)
			}
		case "actions", "context":
			limit := maxActionElements
			if b.Type == "context" {
				limit = maxContextElems
			}
			if len(b.Elements) == 0 {
				add(i, "%s without elements", b.Type)
			}
			if len(b.Elements) > limit {
				add(i, "%s has %d elements, limit %d", b.Type, len(b.Elements), limit)
			}
			if b.Type == "actions" {
				for j, raw := range b.Elements {
					var e element
					if err := json.Unmarshal(raw, &e); err != nil {
						add(i, "element %d: %v", j, err)
						continue
					}
					v = append(v, validateElement(fmt.Sprintf("%s: block %d element %d", where, i, j), e)...)
				}
			}
		}
	}
	return v
}

func validateElement(where string, e element) []string {
	var v []string
	if n := len(e.ActionID); n > maxActionID {
		v = append(v, fmt.Sprintf("%s: action_id has %d characters, limit %d", where, n, maxActionID))
	}
	if e.Type != "button" {
		return v
	}
	if e.Text == nil || e.Text.Type != "plain_text" {
		v = append(v, where+": button text must be plain_text")
	} else if n := utf8.RuneCountInString(e.Text.Text); n > maxButtonText || n == 0 {
		v = append(v, fmt.Sprintf("%s: button text has %d characters, want 1..%d", where, n, maxButtonText))
	}
	if n := utf8.RuneCountInString(e.URL); n > maxButtonURL {
		v = append(v, fmt.Sprintf("%s: button url has %d characters, limit %d", where, n, maxButtonURL))
	}
	if n := utf8.RuneCountInString(e.Value); n > maxButtonValue {
		v = append(v, fmt.Sprintf("%s: button value has %d characters, limit %d", where, n, maxButtonValue))
	}
	return v
}
