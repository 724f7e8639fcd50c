package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestSlashCommandRoundTrip(t *testing.T) {
	type seen struct {
		cmd slack.SlashCommand
		req socketmode.Request
	}
	tests := []struct {
		name       string
		in         SlashCommand
		reply      func(b *testBot, cmd slack.SlashCommand, req socketmode.Request) error
		wantMethod string
		wantText   string
	}{
		{
			name: "ack then response_url",
			in:   SlashCommand{Team: "T1", User: "U1", Channel: "C1", Text: `builds "Mobile & <App>"`},
			reply: func(b *testBot, cmd slack.SlashCommand, req socketmode.Request) error {
				if err := b.smc.Ack(req); err != nil {
					return err
				}
				return slack.PostWebhookCustomHTTPContext(context.Background(), cmd.ResponseURL, b.hc,
					&slack.WebhookMessage{ResponseType: "ephemeral", Text: "later"})
			},
			wantMethod: "response_url", wantText: "later",
		},
		{
			name: "ack with payload",
			in:   SlashCommand{Team: "T2", Enterprise: "E2", IsEnterpriseInstall: true, User: "U2", Channel: "C2", Text: "help"},
			reply: func(b *testBot, _ slack.SlashCommand, req socketmode.Request) error {
				return b.smc.Ack(req, map[string]any{"response_type": "ephemeral", "text": "at once",
					"blocks": []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "at once"}}}})
			},
			wantMethod: "ack", wantText: "at once",
		},
		{
			name: "ack then chat.postEphemeral",
			in:   SlashCommand{Team: "T3", User: "U3", Channel: "C3", Text: "status"},
			reply: func(b *testBot, cmd slack.SlashCommand, req socketmode.Request) error {
				if err := b.smc.Ack(req); err != nil {
					return err
				}
				_, err := b.api.PostEphemeralContext(context.Background(), cmd.ChannelID, cmd.UserID, slack.MsgOptionText("ephemeral", false))
				return err
			},
			wantMethod: "chat.postEphemeral", wantText: "ephemeral",
		},
		{
			name: "chat response_url via MsgOptionResponseURL",
			in:   SlashCommand{Team: "T4", User: "U4", Channel: "C4", Text: "projects"},
			reply: func(b *testBot, cmd slack.SlashCommand, req socketmode.Request) error {
				if err := b.smc.Ack(req); err != nil {
					return err
				}
				_, _, err := b.api.PostMessageContext(context.Background(), cmd.ChannelID,
					slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("via option", false))
				return err
			},
			wantMethod: "response_url", wantText: "via option",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, Options{})
			got := make(chan seen, 1)
			errc := make(chan error, 1)
			startBot(t, s, DefaultAppToken, func(b *testBot, evt socketmode.Event) {
				if evt.Type != socketmode.EventTypeSlashCommand {
					return
				}
				cmd := evt.Data.(slack.SlashCommand)
				got <- seen{cmd, *evt.Request}
				errc <- tt.reply(b, cmd, *evt.Request)
			})
			ctx := ctxT(t, 10*time.Second)
			c, err := s.Slash(ctx, tt.in)
			if err != nil {
				t.Fatalf("Slash: %v", err)
			}
			ack, err := c.WaitAck(ctx)
			if err != nil {
				t.Fatalf("WaitAck: %v", err)
			}
			if ack.Latency <= 0 || ack.At.Before(c.SentAt) {
				t.Errorf("ack latency %v at %v, sent %v", ack.Latency, ack.At, c.SentAt)
			}
			m, err := c.WaitReply(ctx)
			if err != nil {
				t.Fatalf("WaitReply: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("bot reply: %v", err)
			}
			if m.Method != tt.wantMethod || m.Text != tt.wantText || m.EnvelopeID != c.EnvelopeID {
				t.Errorf("reply = %+v, want %s %q", m, tt.wantMethod, tt.wantText)
			}
			sn := <-got
			cmd := sn.cmd
			wantText := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(tt.in.Text)
			if cmd.Text != wantText || cmd.TeamID != tt.in.Team || cmd.UserID != tt.in.User ||
				cmd.ChannelID != tt.in.Channel || cmd.Command != "/ado" || cmd.EnterpriseID != tt.in.Enterprise ||
				cmd.IsEnterpriseInstall != tt.in.IsEnterpriseInstall || cmd.ResponseURL != c.ResponseURL ||
				cmd.TriggerID == "" || cmd.APIAppID != DefaultAppID {
				t.Errorf("bot decoded %+v", cmd)
			}
			if sn.req.EnvelopeID != c.EnvelopeID || !sn.req.AcceptsResponsePayload || sn.req.RetryAttempt != 0 {
				t.Errorf("request = %+v", sn.req)
			}
			if s.AckCount() != 1 || s.ReplyCount() != 1 {
				t.Errorf("AckCount %d ReplyCount %d, want 1 1", s.AckCount(), s.ReplyCount())
			}
			assertNoViolations(t, s)
		})
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"plain":             "plain",
		"a & b":             "a &amp; b",
		"<script>":          "&lt;script&gt;",
		"&amp;":             "&amp;amp;",
		`"quotes" 'stay'`:   `"quotes" 'stay'`,
		"--branch feat/<x>": "--branch feat/&lt;x&gt;",
	} {
		if got := EscapeText(in); got != want {
			t.Errorf("EscapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedeliverSameEnvelope(t *testing.T) {
	s := newServer(t, Options{})
	reqs := make(chan socketmode.Request, 4)
	startBot(t, s, DefaultAppToken, func(b *testBot, evt socketmode.Event) {
		if evt.Type == socketmode.EventTypeSlashCommand {
			reqs <- *evt.Request
			_ = b.smc.Ack(*evt.Request)
		}
	})
	ctx := ctxT(t, 10*time.Second)
	c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C", Text: "builds x"})
	if err != nil {
		t.Fatal(err)
	}
	first := <-reqs
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Redeliver(ctx, c); err != nil {
		t.Fatal(err)
	}
	second := <-reqs
	if second.EnvelopeID != first.EnvelopeID || second.RetryAttempt != 1 || second.RetryReason != "timeout" {
		t.Errorf("redelivery = %+v, first %+v", second, first)
	}
	if !jsonEqual(first.Payload, second.Payload) {
		t.Errorf("payload changed: %s vs %s", first.Payload, second.Payload)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Acks()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(c.Acks()); n != 2 || c.Deliveries() != 2 {
		t.Errorf("acks %d deliveries %d, want 2 2", n, c.Deliveries())
	}
	if err := s.Redeliver(ctx, &Command{}); err == nil {
		t.Error("Redeliver of a foreign command succeeded")
	}
	assertNoViolations(t, s)
}

func TestAutoRedeliver(t *testing.T) {
	s := newServer(t, Options{RedeliverAfter: 100 * time.Millisecond})
	var n atomic.Int32
	startBot(t, s, DefaultAppToken, func(b *testBot, evt socketmode.Event) {
		// Ignoring the first delivery makes Slack (and the fake) retry.
		if evt.Type == socketmode.EventTypeSlashCommand && n.Add(1) == 2 {
			_ = b.smc.Ack(*evt.Request)
		}
	})
	ctx := ctxT(t, 10*time.Second)
	c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // no redelivery after the ack
	if d := c.Deliveries(); d != 2 {
		t.Errorf("deliveries %d, want 2", d)
	}
}

func TestDisconnectReconnects(t *testing.T) {
	s := newServer(t, Options{})
	bot := startBot(t, s, DefaultAppToken, ackOnly)
	ctx := ctxT(t, 20*time.Second)
	if err := s.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for i, reason := range []string{"refresh_requested", "warning", "link_disabled"} {
		prev := bot.connected.Load()
		s.Disconnect(reason)
		// The client may be back before Connections is even read, so wait
		// for its new connection rather than checking for zero.
		for bot.connected.Load() == prev && ctx.Err() == nil {
			time.Sleep(2 * time.Millisecond)
		}
		if err := s.WaitConnections(ctx, 1); err != nil {
			t.Fatalf("no reconnect after %s: %v", reason, err)
		}
		if n := s.Connections(); n != 1 {
			t.Fatalf("%d connections after reconnect, want 1 (old one not closed)", n)
		}
		c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitAck(ctx); err != nil {
			t.Fatalf("ack after reconnect %d: %v", i, err)
		}
	}
	if got := bot.connected.Load(); got != 4 {
		t.Errorf("bot connected %d times, want 4", got)
	}
	assertNoViolations(t, s)
}

func TestDisconnectOneRoundRobin(t *testing.T) {
	s := newServer(t, Options{})
	for range 3 {
		startBot(t, s, DefaultAppToken, ackOnly)
	}
	ctx := ctxT(t, 20*time.Second)
	if err := s.WaitConnections(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if n := s.DisconnectOne("refresh_requested"); n != 2 {
		t.Errorf("DisconnectOne left %d, want 2", n)
	}
	if err := s.WaitConnections(ctx, 3); err != nil {
		t.Fatal(err)
	}
}

func TestPingsKeepConnectionAlive(t *testing.T) {
	s := newServer(t, Options{PingInterval: 50 * time.Millisecond})
	bot := startBot(t, s, DefaultAppToken, ackOnly, socketmode.OptionPingInterval(300*time.Millisecond))
	ctx := ctxT(t, 10*time.Second)
	if err := s.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if got := bot.connected.Load(); got != 1 {
		t.Errorf("client connected %d times in 1.2s with 300ms ping timeout; pings not arriving", got)
	}
}

func TestSlashWaitsForConnection(t *testing.T) {
	s := newServer(t, Options{})
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Slash(short, SlashCommand{Team: "T", User: "U", Channel: "C"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Slash with no connection: %v, want deadline exceeded", err)
	}
	ctx := ctxT(t, 10*time.Second)
	type res struct {
		c   *Command
		err error
	}
	got := make(chan res, 1)
	go func() {
		c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
		got <- res{c, err}
	}()
	time.Sleep(50 * time.Millisecond)
	startBot(t, s, DefaultAppToken, ackOnly)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := r.c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEventsAndInteractive(t *testing.T) {
	s := newServer(t, Options{})
	events := make(chan socketmode.Event, 4)
	startBot(t, s, DefaultAppToken, func(b *testBot, evt socketmode.Event) {
		switch evt.Type {
		case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeErrorBadMessage:
			if evt.Request != nil {
				_ = b.smc.Ack(*evt.Request)
			}
			events <- evt
		}
	})
	ctx := ctxT(t, 10*time.Second)
	c, err := s.AppHomeOpenedEnvelope(ctx, "T9", "U9")
	if err != nil {
		t.Fatal(err)
	}
	evt := <-events
	if evt.Type != socketmode.EventTypeEventsAPI {
		t.Fatalf("event %s: %+v", evt.Type, evt.Data)
	}
	outer := evt.Data.(slackevents.EventsAPIEvent)
	home, ok := outer.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || outer.TeamID != "T9" || home.User != "U9" || home.Tab != "home" || home.Channel != s.DMChannel("U9") {
		t.Fatalf("events_api decoded to %+v / %#v", outer, outer.InnerEvent.Data)
	}
	if evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != c.EnvelopeID {
		t.Errorf("events_api request %+v", evt.Request)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}

	// The bot publishes a Home tab; the fake stores it and echoes it in
	// later events and interactions.
	bot := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Not linked", false, false), nil, nil),
		slack.NewActionBlock("acts", slack.NewButtonBlockElement("connect", "go", slack.NewTextBlockObject(slack.PlainTextType, "Connect", false, false))),
	}}}
	resp, err := bot.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U9", View: view})
	if err != nil {
		t.Fatalf("PublishView: %v", err)
	}
	raw, err := s.WaitHomeView(ctx, "U9", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"Not linked"`) || len(s.HomeViews("U9")) != 1 || resp.View.ID == "" {
		t.Errorf("home view %s, response view id %q", raw, resp.View.ID)
	}

	if err := s.BlockAction(ctx, "T9", "U9", "connect", "go"); err != nil {
		t.Fatal(err)
	}
	evt = <-events
	if evt.Type != socketmode.EventTypeInteractive {
		t.Fatalf("event %s: %+v", evt.Type, evt.Data)
	}
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U9" || cb.Team.ID != "T9" ||
		len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].ActionID != "connect" ||
		cb.ActionCallback.BlockActions[0].Value != "go" || cb.View.ID != resp.View.ID || cb.View.Type != slack.VTHomeTab ||
		len(cb.View.Blocks.BlockSet) != 2 {
		t.Errorf("block_actions decoded to %+v", cb)
	}

	// app_home_opened now carries the published view.
	if err := s.AppHomeOpened(ctx, "T9", "U9"); err != nil {
		t.Fatal(err)
	}
	evt = <-events
	home = evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if home.View == nil || home.View.ID != resp.View.ID {
		t.Errorf("app_home_opened view = %+v", home.View)
	}
	assertNoViolations(t, s)
}

func TestWebAPI(t *testing.T) {
	s := newServer(t, Options{})
	s.AddUser(User{Team: "T1", ID: "U1", Name: "ada", Email: "ada@example.com"})
	api := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := ctxT(t, 10*time.Second)

	at, err := api.AuthTestContext(ctx)
	if err != nil || at.UserID == "" {
		t.Fatalf("auth.test: %+v %v", at, err)
	}
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil {
		t.Fatalf("users.info: %v", err)
	}
	if u.ID != "U1" || u.TeamID != "T1" || u.Name != "ada" || u.Profile.Email != "ada@example.com" || u.Profile.RealName != "ada" {
		t.Errorf("users.info = %+v", u)
	}
	if _, err := api.GetUserInfoContext(ctx, "U404"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}

	ch, _, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("sign in", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "<https://x|Connect>", false, false), nil, nil)))
	if err != nil {
		t.Fatalf("chat.postMessage: %v", err)
	}
	if !strings.HasPrefix(ch, "D") || ch != s.DMChannel("U1") {
		t.Errorf("DM answered channel %q, want %q", ch, s.DMChannel("U1"))
	}
	im, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || im.ID != ch {
		t.Fatalf("conversations.open = %+v %v, want %s", im, err, ch)
	}
	if _, _, err := api.PostMessageContext(ctx, im.ID, slack.MsgOptionText("linked", false)); err != nil {
		t.Fatal(err)
	}
	dms, err := s.WaitDM(ctx, "U1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if dms[0].Text != "sign in" || dms[1].Text != "linked" || dms[0].Channel != ch || dms[0].User != "U1" ||
		!strings.Contains(string(dms[0].Blocks), "Connect") {
		t.Errorf("DMs = %+v", dms)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("public", false)); err != nil {
		t.Fatal(err)
	}
	if m := s.ChannelMessages("C1"); len(m) != 1 || len(s.DMs("U1")) != 2 {
		t.Errorf("channel messages %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, dms[0].TS, slack.MsgOptionText("updated", false)); err != nil {
		t.Errorf("chat.update: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U1"); err == nil || err.Error() != "no_text" {
		t.Errorf("empty message: %v", err)
	}
	if got := s.Calls("chat.postMessage"); got != 4 {
		t.Errorf("Calls(chat.postMessage) = %d, want 4", got)
	}

	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, err := bad.AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong bot token: %v", err)
	}
	// The app token is for apps.connections.open only.
	appAsBot := slack.New(DefaultAppToken, slack.OptionAPIURL(s.APIURL()))
	if _, err := appAsBot.AuthTestContext(ctx); err == nil {
		t.Error("app token accepted as bot token")
	}
}

func TestInvalidAppToken(t *testing.T) {
	s := newServer(t, Options{AppToken: "xapp-right"})
	api := slack.New(DefaultBotToken, slack.OptionAppLevelToken("xapp-wrong"), slack.OptionAPIURL(s.APIURL()))
	if _, _, err := api.StartSocketModeContext(ctxT(t, 5*time.Second)); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("apps.connections.open with wrong token: %v", err)
	}
	smc := socketmode.New(api)
	ctx := ctxT(t, 5*time.Second)
	go func() {
		for { // slack-go blocks on a full Events channel
			select {
			case <-smc.Events:
			case <-ctx.Done():
				return
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(ctx) }()
	if err := <-errc; err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("RunContext = %v, want invalid_auth", err)
	}
	if s.Connections() != 0 {
		t.Error("connected with a wrong token")
	}
	// An unknown or missing app token, too.
	noTok := slack.New(DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
	if _, _, err := noTok.StartSocketModeContext(ctxT(t, 5*time.Second)); err == nil || err.Error() != "not_authed" {
		t.Errorf("no app token: %v", err)
	}
}

func TestTicketSingleUseAndRawProtocol(t *testing.T) {
	s := newServer(t, Options{})
	api := slack.New(DefaultBotToken, slack.OptionAppLevelToken(DefaultAppToken), slack.OptionAPIURL(s.APIURL()))
	ctx := ctxT(t, 10*time.Second)
	_, wsURL, err := api.StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wsURL, "ws://127.0.0.1:") || !strings.Contains(wsURL, "/link/?ticket=") {
		t.Errorf("url %q", wsURL)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial with the same ticket: %v", err)
	}
	var hello socketmode.Request
	if err := conn.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	if hello.Type != "hello" || hello.NumConnections != 1 || hello.ConnectionInfo.AppID != DefaultAppID || hello.DebugInfo.Host == "" {
		t.Errorf("hello = %+v", hello)
	}

	c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]json.RawMessage
	if err := conn.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"envelope_id", "type", "payload", "accepts_response_payload"} {
		if _, ok := env[k]; !ok {
			t.Errorf("envelope lacks %s: %v", k, env)
		}
	}
	if _, ok := env["retry_attempt"]; ok {
		t.Errorf("first slash delivery carries retry_attempt")
	}
	var p map[string]any
	_ = json.Unmarshal(env["payload"], &p)
	for _, k := range []string{"team_id", "team_domain", "channel_id", "user_id", "user_name", "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id"} {
		if _, ok := p[k]; !ok {
			t.Errorf("slash payload lacks %s", k)
		}
	}
	if p["is_enterprise_install"] != "false" {
		t.Errorf("is_enterprise_install = %#v, want \"false\"", p["is_enterprise_install"])
	}

	// An oversized ack is dropped like Slack does; the ack never arrives.
	big := fmt.Sprintf(`{"envelope_id":%q,"payload":{"text":%q}}`, c.EnvelopeID, strings.Repeat("x", MaxAckBytes))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"nope"}`)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := c.WaitAck(short); err == nil {
		t.Error("oversized ack was accepted")
	}
	if s.DroppedAcks() != 1 || s.AckCount() != 0 {
		t.Errorf("DroppedAcks %d AckCount %d", s.DroppedAcks(), s.AckCount())
	}
	v := strings.Join(s.Violations(), "\n")
	if !strings.Contains(v, "Slack drops") || !strings.Contains(v, `unknown envelope "nope"`) {
		t.Errorf("violations: %s", v)
	}
	// A good ack still works on the same connection.
	if err := conn.WriteJSON(map[string]string{"envelope_id": c.EnvelopeID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestResponseURLLimits(t *testing.T) {
	s := newServer(t, Options{})
	startBot(t, s, DefaultAppToken, ackOnly)
	ctx := ctxT(t, 10*time.Second)
	c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ResponseURLUses; i++ {
		if err := slack.PostWebhookContext(ctx, c.ResponseURL, &slack.WebhookMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	err = slack.PostWebhookContext(ctx, c.ResponseURL, &slack.WebhookMessage{Text: "6"})
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Errorf("6th use: %v, want 404", err)
	}
	if r := c.Replies(); len(r) != ResponseURLUses || r[4].Text != "5" {
		t.Errorf("replies %+v", r)
	}
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "more than 5 times") {
		t.Errorf("violations %q", v)
	}
	if err := slack.PostWebhookContext(ctx, s.BaseURL()+"/response/unknown", &slack.WebhookMessage{Text: "x"}); err == nil {
		t.Error("unknown response_url accepted")
	}
}

func TestViolationsRecorded(t *testing.T) {
	s := newServer(t, Options{})
	startBot(t, s, DefaultAppToken, ackOnly)
	ctx := ctxT(t, 10*time.Second)
	c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
	if err != nil {
		t.Fatal(err)
	}
	section := func(text string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
	}
	var many []slack.Block
	for range 51 {
		many = append(many, section("x"))
	}
	msg := &slack.WebhookMessage{Text: "t", Blocks: &slack.Blocks{BlockSet: many}}
	if err := slack.PostWebhookContext(ctx, c.ResponseURL, msg); err != nil {
		t.Fatal(err)
	}
	msg = &slack.WebhookMessage{Text: "t", Blocks: &slack.Blocks{BlockSet: []slack.Block{section(strings.Repeat("é", 3001))}}}
	if err := slack.PostWebhookContext(ctx, c.ResponseURL, msg); err != nil {
		t.Fatal(err)
	}
	v := strings.Join(s.Violations(), "\n")
	if !strings.Contains(v, "51 blocks, limit 50") || !strings.Contains(v, "3001 characters, limit 3000") {
		t.Errorf("violations: %s", v)
	}
}

func TestValidateBlocks(t *testing.T) {
	btn := func(text, url string) string {
		return fmt.Sprintf(`{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":%q},"url":%q}]}`, text, url)
	}
	tests := []struct {
		name   string
		blocks string
		max    int
		want   string // substring of the first violation; "" = none
	}{
		{"empty", ``, 50, ""},
		{"null", `null`, 50, ""},
		{"ok section", `[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, 50, ""},
		{"not array", `{"type":"section"}`, 50, "not an array"},
		{"no type", `[{"text":{"type":"mrkdwn","text":"hi"}}]`, 50, "no type"},
		{"section without text", `[{"type":"section"}]`, 50, "without text or fields"},
		{"too many fields", `[{"type":"section","fields":[` + strings.Repeat(`{"type":"mrkdwn","text":"f"},`, 10) + `{"type":"mrkdwn","text":"f"}]}]`, 50, "11 fields"},
		{"long field", `[{"type":"section","fields":[{"type":"mrkdwn","text":"` + strings.Repeat("f", 2001) + `"}]}]`, 50, "2001 characters"},
		{"header mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]`, 50, "plain_text"},
		{"long button", `[` + btn(strings.Repeat("b", 76), "") + `]`, 50, "button text has 76"},
		{"long url", `[` + btn("ok", strings.Repeat("u", 3001)) + `]`, 50, "url has 3001"},
		{"ok button", `[` + btn("Connect", "https://x") + `]`, 50, ""},
		{"home 100 ok", `[` + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 100), ",") + `]`, 100, ""},
		{"home 101", `[` + strings.TrimSuffix(strings.Repeat(`{"type":"divider"},`, 101), ",") + `]`, 100, "101 blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validateBlocks("x", json.RawMessage(tt.blocks), tt.max)
			switch {
			case tt.want == "" && len(v) > 0:
				t.Errorf("unexpected violations %q", v)
			case tt.want != "" && (len(v) == 0 || !strings.Contains(v[0], tt.want)):
				t.Errorf("violations %q, want %q", v, tt.want)
			}
		})
	}
}

// TestLoadThreeBots drives many concurrent commands through three real
// clients, like the load tool.
func TestLoadThreeBots(t *testing.T) {
	s := newServer(t, Options{})
	var perBot [3]atomic.Int64
	var hooked atomic.Int64
	s.OnReply(func(string, Message) { hooked.Add(1) })
	for i := range 3 {
		startBot(t, s, DefaultAppToken, func(b *testBot, evt socketmode.Event) {
			if evt.Type != socketmode.EventTypeSlashCommand {
				return
			}
			perBot[i].Add(1)
			cmd := evt.Data.(slack.SlashCommand)
			req := *evt.Request
			go func() {
				_ = b.smc.Ack(req)
				switch cmd.Text {
				case "eph":
					_, _ = b.api.PostEphemeralContext(context.Background(), cmd.ChannelID, cmd.UserID, slack.MsgOptionText("e", false))
				default:
					_ = slack.PostWebhookCustomHTTPContext(context.Background(), cmd.ResponseURL, b.hc, &slack.WebhookMessage{Text: cmd.Text})
				}
			}()
		})
	}
	ctx := ctxT(t, 30*time.Second)
	if err := s.WaitConnections(ctx, 3); err != nil {
		t.Fatal(err)
	}
	const workers, each = 20, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				text := fmt.Sprintf("r%d-%d", w, i)
				if i%5 == 0 {
					text = "eph"
				}
				// One user per worker and channel, so ephemerals match unambiguously
				// even though they run concurrently.
				c, err := s.Slash(ctx, SlashCommand{Team: "T", User: fmt.Sprintf("U%d", w), Channel: fmt.Sprintf("C%d-%d", w, i), Text: text})
				if err != nil {
					errs <- err
					return
				}
				m, err := c.WaitReply(ctx)
				if err != nil {
					errs <- err
					return
				}
				if text != "eph" && m.Text != text || text == "eph" && m.Method != "chat.postEphemeral" {
					errs <- fmt.Errorf("reply to %q = %+v", text, m)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := int64(workers * each)
	deadline := time.Now().Add(5 * time.Second)
	for s.AckCount() < total && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.AckCount() != total || s.ReplyCount() != total || hooked.Load() != total {
		t.Errorf("acks %d replies %d hook %d, want %d", s.AckCount(), s.ReplyCount(), hooked.Load(), total)
	}
	for i := range perBot {
		if n := perBot[i].Load(); n < total/3-1 || n > total/3+1 {
			t.Errorf("bot %d got %d of %d commands; round robin broken", i, n, total)
		}
	}
	t.Logf("%d commands round trip over 3 bots in %v", total, time.Since(start))
	assertNoViolations(t, s)
}

// TestNoGoroutineLeak runs a full session and checks that everything stops.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		s, err := New(Options{PingInterval: 20 * time.Millisecond, RedeliverAfter: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		bot := startBot(t, s, DefaultAppToken, ackOnly)
		defer bot.stop()
		ctx := ctxT(t, 10*time.Second)
		for range 5 {
			c, err := s.Slash(ctx, SlashCommand{Team: "T", User: "U", Channel: "C"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s.Disconnect("refresh_requested")
		if err := s.WaitConnections(ctx, 1); err != nil {
			t.Fatal(err)
		}
		s.DisconnectOne("warning") // left mid-goodbye on purpose when Close runs
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after Close\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestCloseUnblocksWaiters(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.WaitConnections(context.Background(), 1) }()
	go func() {
		_, err := s.Slash(context.Background(), SlashCommand{Team: "T", User: "U", Channel: "C"})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	s.Close() // idempotent
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("waiter returned %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("waiter not released by Close")
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestWebAPIEncodings(t *testing.T) {
	s := newServer(t, Options{})
	s.AddUser(User{Team: "T1", ID: "U1", Name: "ada", Email: "ada@example.com"})
	hc := &http.Client{Timeout: 5 * time.Second}
	tests := []struct {
		name, method, ctype, auth, body, query string
		want                                   string // substring of the JSON answer
	}{
		{"form token", "users.info", "application/x-www-form-urlencoded", "", "token=" + DefaultBotToken + "&user=U1", "", `"email":"ada@example.com"`},
		{"json bearer", "chat.postMessage", "application/json", DefaultBotToken, `{"channel":"U1","text":"hi","blocks":[{"type":"divider"}]}`, "", `"ok":true`},
		{"json view object", "views.publish", "application/json", DefaultBotToken, `{"user_id":"U1","view":{"type":"home","blocks":[]}}`, "", `"team_id":"T1"`},
		{"form view string", "views.publish", "application/x-www-form-urlencoded", "", "token=" + DefaultBotToken + `&user_id=U1&view={"type":"home","blocks":[]}`, "", `"ok":true`},
		{"query get", "users.info", "", DefaultBotToken, "", "user=U1", `"name":"ada"`},
		{"missing token", "auth.test", "application/x-www-form-urlencoded", "", "", "", `"error":"not_authed"`},
		{"wrong bearer", "auth.test", "application/json", "xoxb-nope", `{}`, "", `"error":"invalid_auth"`},
		{"bad json", "auth.test", "application/json", DefaultBotToken, `{`, "", `"error":"invalid_form_data"`},
		{"unknown method", "nope.nope", "application/json", DefaultBotToken, `{}`, "", `"error":"unknown_method"`},
		{"ephemeral without user", "chat.postEphemeral", "application/json", DefaultBotToken, `{"channel":"C1","text":"x"}`, "", `"error":"user_not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verb := http.MethodPost
			if tt.body == "" && tt.query != "" {
				verb = http.MethodGet
			}
			req, _ := http.NewRequest(verb, s.APIURL()+tt.method+"?"+tt.query, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf strings.Builder
			_, _ = io.Copy(&buf, resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(buf.String(), tt.want) {
				t.Errorf("%d %s, want %s", resp.StatusCode, buf.String(), tt.want)
			}
		})
	}
	if n := len(s.DMs("U1")); n != 1 {
		t.Errorf("DMs %d, want 1", n)
	}
	if n := len(s.HomeViews("U1")); n != 2 {
		t.Errorf("home views %d, want 2", n)
	}
	assertNoViolations(t, s)
}
