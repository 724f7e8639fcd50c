package fakeslack

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// testBot is a real slack-go Socket Mode client connected to the fake.
type testBot struct {
	api       *slack.Client
	smc       *socketmode.Client
	hc        *http.Client
	cancel    context.CancelFunc
	done      chan struct{}
	runErr    chan error
	connected atomic.Int32
	once      sync.Once
}

type handler func(b *testBot, evt socketmode.Event)

func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func startBot(t testing.TB, s *Server, appToken string, h handler, opts ...socketmode.Option) *testBot {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	api := slack.New(DefaultBotToken,
		slack.OptionAppLevelToken(appToken),
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(hc))
	smc := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBot{api: api, smc: smc, hc: hc, cancel: cancel, done: make(chan struct{}), runErr: make(chan error, 1)}
	go func() { b.runErr <- smc.RunContext(ctx) }()
	go func() {
		defer close(b.done)
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-smc.Events:
				if evt.Type == socketmode.EventTypeConnected {
					b.connected.Add(1)
				}
				if h != nil {
					h(b, evt)
				}
			}
		}
	}()
	t.Cleanup(b.stop)
	return b
}

// stop ends the client and waits for its goroutines.
func (b *testBot) stop() {
	b.once.Do(func() {
		b.cancel()
		<-b.done
		select {
		case <-b.runErr:
		case <-time.After(10 * time.Second):
		}
		b.hc.CloseIdleConnections()
	})
}

// ackOnly acknowledges every envelope without payload.
func ackOnly(b *testBot, evt socketmode.Event) {
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		_ = b.smc.Ack(*evt.Request)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func assertNoViolations(t *testing.T, s *Server) {
	t.Helper()
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %q", v)
	}
}
