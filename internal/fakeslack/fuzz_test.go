package fakeslack

import (
	"encoding/json"
	"testing"
)

func FuzzValidateBlocks(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `[]`, `{}`, `[{"type":"section","text":{"type":"mrkdwn","text":"x"}}]`,
		`[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"b"}}]}]`,
		`[{"type":"section","fields":[1,2]}]`, `[null]`, `[{"type":"context","elements":"x"}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v := validateBlocks("fuzz", json.RawMessage(raw), 50)
		if json.Valid([]byte(raw)) {
			var arr []json.RawMessage
			if json.Unmarshal([]byte(raw), &arr) == nil && len(arr) > 50 && len(v) == 0 {
				t.Errorf("%d blocks accepted", len(arr))
			}
		}
		_ = normBlocks(json.RawMessage(raw))
	})
}

// FuzzHandleAck feeds arbitrary frames from the app to the ack parser: it must
// never panic and never count a frame that is not a known envelope's ack.
func FuzzHandleAck(f *testing.F) {
	for _, seed := range []string{
		`{"envelope_id":"e1"}`, `{"envelope_id":"e1","payload":{"text":"x"}}`,
		`{"envelope_id":"e1","payload":null}`, `{"envelope_id":"e1","payload":"str"}`,
		`{"envelope_id":"e1","payload":{"blocks":"x"}}`, `[]`, `x`, ``,
	} {
		f.Add([]byte(seed))
	}
	s, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	c := &Command{EnvelopeID: "e1", Type: TypeSlashCommands, accepts: true, s: s,
		acked: make(chan struct{}), replied: make(chan struct{})}
	s.mu.Lock()
	s.cmds["e1"] = c
	s.mu.Unlock()
	f.Fuzz(func(t *testing.T, frame []byte) {
		before := s.AckCount()
		s.handleAck(frame)
		var a struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if s.AckCount() != before && (json.Unmarshal(frame, &a) != nil || a.EnvelopeID != "e1") {
			t.Errorf("frame %q counted as ack", frame)
		}
	})
}
