package fakeslack

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// BenchmarkSlashRoundTrip measures Slash -> ack -> response_url reply through
// a real slack-go client, with many commands in flight.
func BenchmarkSlashRoundTrip(b *testing.B) {
	s := newServer(b, Options{})
	startBot(b, s, DefaultAppToken, func(tb *testBot, evt socketmode.Event) {
		if evt.Type != socketmode.EventTypeSlashCommand {
			return
		}
		cmd, req := evt.Data.(slack.SlashCommand), *evt.Request
		go func() {
			_ = tb.smc.Ack(req)
			_ = slack.PostWebhookCustomHTTPContext(context.Background(), cmd.ResponseURL, tb.hc, &slack.WebhookMessage{Text: "ok"})
		}()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.WaitConnections(ctx, 1); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C", Text: "x"})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.WaitReply(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
