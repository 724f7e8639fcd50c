package devops

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// FuzzDecodeAnswer feeds arbitrary bytes to the decoder used for successful answers,
// for every answer type: a malformed or hostile body must be an error, never a panic.
func FuzzDecodeAnswer(f *testing.F) {
	// The 281 KB builds page stalls Go's fuzzing engine; TestDecodeAnswerNeverHangs
	// mutates it instead.
	for _, s := range []string{`{"count":1,"value":[{"id":1,"queueTime":"2024-01-01T00:00:00Z","_links":{"web":{"href":"x"}}}]}`,
		`{"workItems":[{"id":1}],"value":[{"id":2,"fields":{"System.Title":"t","System.AssignedTo":{"displayName":"d"}}}]}`,
		`{"value":[{"reviewers":[{"vote":-10}],"repository":{"project":{"name":"p"}}}]}`,
		`{"value":[{"queueTime":"not a time","id":"x"}]}`, `[`, `{"value":[1,2,{"id":1e999}]}`, "\xff\xfe{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			&listResponse[Build]{}, &listResponse[Project]{}, &listResponse[Account]{},
			&listResponse[Repository]{}, &listResponse[PullRequest]{}, &listResponse[batchItem]{},
			&wiqlResult{}, &Profile{},
		}
		for _, v := range targets {
			_ = decodeAnswer(body, v)
		}
	})
}

// TestDecodeAnswerNeverHangs mutates a real-sized builds page and requires every
// decode to finish: a decoder stuck in a loop would hold a worker forever.
func TestDecodeAnswerNeverHangs(t *testing.T) {
	big, err := os.ReadFile("testdata/builds.json")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	for range 150 {
		b := append([]byte(nil), big...)
		for range 1 + r.IntN(4) {
			switch r.IntN(3) {
			case 0:
				b = b[:r.IntN(len(b)+1)]
			case 1:
				if len(b) > 0 {
					b[r.IntN(len(b))] = byte(r.IntN(256))
				}
			case 2:
				p := r.IntN(len(b) + 1)
				b = append(b[:p:p], append([]byte{"{}[]\",:0e-"[r.IntN(10)]}, b[p:]...)...)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			var page listResponse[Build]
			_ = decodeAnswer(b, &page)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("decoding a %d-byte mutated page did not finish in 5 s", len(b))
		}
	}
}
