package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/adobot/adobot/internal/fakeslack"
)

// baseline is the floor adobot's acks are compared with: the smallest slack-go
// Socket Mode bot there is (socketmode.New + RunContext, ack every slash command
// at once with no payload, nothing else), on its own fake Slack.
type baseline struct {
	slack  *fakeslack.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func startBaseline(ctx context.Context, log *slog.Logger) (*baseline, error) {
	const app, bot = "xapp-1-baseline", "xoxb-baseline"
	sl, err := fakeslack.New(fakeslack.Options{AppToken: app, BotToken: bot, Logger: log, PingInterval: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	api := slack.New(bot, slack.OptionAppLevelToken(app), slack.OptionAPIURL(sl.APIURL()))
	sm := socketmode.New(api)
	rctx, cancel := context.WithCancel(context.Background())
	b := &baseline{slack: sl, cancel: cancel, done: make(chan struct{})}
	go func() { _ = sm.RunContext(rctx) }()
	go func() {
		defer close(b.done)
		for {
			select {
			case <-rctx.Done():
				return
			case evt := <-sm.Events:
				if evt.Type == socketmode.EventTypeSlashCommand && evt.Request != nil {
					_ = sm.Ack(*evt.Request)
				}
			}
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := sl.WaitConnections(wctx, 1); err != nil {
		b.close()
		return nil, fmt.Errorf("baseline bot did not connect: %w", err)
	}
	return b, nil
}

func (b *baseline) close() {
	b.cancel()
	<-b.done
	b.slack.Close()
}

// runBaseline drives the baseline bot at the same rate and returns its acks.
func runBaseline(ctx context.Context, log *slog.Logger, rate float64, dur time.Duration) (Dist, Counts, error) {
	b, err := startBaseline(ctx, log)
	if err != nil {
		return Dist{}, Counts{}, err
	}
	defer b.close()
	res := drive(ctx, b.slack, driveOptions{
		rate: rate, dur: dur, grace: 5 * time.Second,
		command: func(i int) (string, fakeslack.SlashCommand) {
			return "baseline", fakeslack.SlashCommand{Team: "T0BASE", User: fmt.Sprintf("U%06d", i%50), Channel: benchChannel, Text: `builds "Mobile App"`}
		},
	})
	return distOf(ackDurations(res.samples)), countsOf(res.samples, false), nil
}
