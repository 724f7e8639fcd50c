package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope types, as in the "type" field of a Socket Mode envelope.
const (
	TypeSlashCommands = "slash_commands"
	TypeEventsAPI     = "events_api"
	TypeInteractive   = "interactive"
)

// SlashCommand describes a slash command typed by a person.
type SlashCommand struct {
	Team, Enterprise, User, Channel string
	// Text is what the person typed after the command; it is HTML-escaped
	// (& < >) on the way, as Slack does.
	Text                string
	IsEnterpriseInstall bool
	// ResponseURL overrides the response_url; by default it is a unique URL
	// served by this server (5 uses, 30 minutes).
	ResponseURL string
	// Command defaults to "/ado".
	Command string
	// ChannelName and UserName default to "general" (or "directmessage" for
	// a D… channel) and the AddUser name (or the lower-cased user id).
	ChannelName, UserName string
}

// Command is one envelope sent to the bot (despite the name, also events_api
// and interactive envelopes) and what came back for it.
type Command struct {
	EnvelopeID string
	// Type is the envelope type (TypeSlashCommands, …).
	Type string
	// SentAt is when the first delivery was queued.
	SentAt time.Time
	// Team, User and Channel are the command's; ResponseURL and TriggerID
	// are what the payload carried (slash commands only).
	Team, User, Channel    string
	ResponseURL, TriggerID string
	// Payload is the envelope payload as sent.
	Payload json.RawMessage

	s       *Server
	acked   chan struct{} // closed on first ack
	replied chan struct{} // closed on first reply
	accepts bool
	pendKey string // key in s.pending, "" for non-slash envelopes
	respID  string // id in s.respURLs, "" when not served here
	// mu guards the fields below. Lock order: s.mu before c.mu.
	mu        sync.Mutex
	attempts  int // deliveries so far
	acks      []Ack
	replies   []Message
	ackClosed bool
	repClosed bool
}

// WaitAck waits for the first ack of the envelope.
func (c *Command) WaitAck(ctx context.Context) (Ack, error) {
	select {
	case <-c.acked:
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("fakeslack: waiting for ack of %s: %w", c.EnvelopeID, ctx.Err())
	case <-c.s.ctx.Done():
		return Ack{}, ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acks[0], nil
}

// WaitReply waits for the first reply to the command: a response_url post,
// an ack payload with text or blocks, or a chat.postEphemeral to the command's
// user in its channel after SentAt.
func (c *Command) WaitReply(ctx context.Context) (Message, error) {
	select {
	case <-c.replied:
	case <-ctx.Done():
		return Message{}, fmt.Errorf("fakeslack: waiting for reply to %s: %w", c.EnvelopeID, ctx.Err())
	case <-c.s.ctx.Done():
		return Message{}, ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replies[0], nil
}

// Replies lists every reply matched to the command so far.
func (c *Command) Replies() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.replies...)
}

// Acks lists every ack received for the envelope (one per delivery the bot
// acknowledged).
func (c *Command) Acks() []Ack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Ack(nil), c.acks...)
}

// Deliveries is how many times the envelope was sent.
func (c *Command) Deliveries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts
}

func (c *Command) addAck(a Ack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acks = append(c.acks, a)
	if !c.ackClosed {
		c.ackClosed = true
		close(c.acked)
	}
}

func (c *Command) addReply(m Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replies = append(c.replies, m)
	if !c.repClosed {
		c.repClosed = true
		close(c.replied)
	}
}

func (c *Command) hasReply() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.replies) > 0
}

// envelope is a Socket Mode frame from Slack to the app.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           *int            `json:"retry_attempt,omitempty"`
	RetryReason            *string         `json:"retry_reason,omitempty"`
}

// wsConn is one Socket Mode WebSocket connection. Only writeLoop writes to ws
// (gorilla allows one writer); Close and WriteControl may be called anywhere.
type wsConn struct {
	id   uint64
	ws   *websocket.Conn
	out  chan frame
	done chan struct{}
	once sync.Once
}

type frame struct {
	data []byte
	// last makes the writer send a close frame after data and hang up.
	last bool
}

func (c *wsConn) shutdown() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// errConnGone means the chosen connection closed before the frame was queued.
var errConnGone = errors.New("fakeslack: connection gone")

// enqueue queues f on c without blocking past ctx.
func (c *wsConn) enqueue(ctx context.Context, f frame) error {
	select {
	case <-c.done:
		return errConnGone
	default:
	}
	select {
	case c.out <- f:
		return nil
	case <-c.done:
		return errConnGone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleLink upgrades a ticketed request to a Socket Mode WebSocket.
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	exp, ok := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !ok || time.Now().After(exp) {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("upgrade failed", "err", err)
		return
	}
	ws.SetReadLimit(maxReadBytes)
	c := &wsConn{id: s.seq.Add(1), ws: ws, out: make(chan frame, outQueueSize), done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	// hello goes into the fresh queue before the connection is visible, so
	// it is always the first frame, as slack-go expects.
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": len(s.conns) + 1,
		"debug_info": map[string]any{
			"host":                        "fakeslack",
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	})
	c.out <- frame{data: hello}
	s.conns = append(s.conns, c)
	s.all[c] = struct{}{}
	s.wg.Add(2)
	s.notifyLocked()
	n := len(s.conns)
	s.mu.Unlock()
	s.log.Debug("socket connected", "conn", c.id, "connections", n)

	go s.writeLoop(c)
	s.readLoop(c)
}

func (s *Server) writeLoop(c *wsConn) {
	defer s.wg.Done()
	ticker := time.NewTicker(s.opts.PingInterval)
	defer ticker.Stop()
	for {
		select {
		case f := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				s.log.Debug("socket write failed", "conn", c.id, "err", err)
				c.shutdown()
				return
			}
			if f.last {
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				t := time.NewTimer(closeGrace)
				select {
				case <-c.done:
				case <-t.C:
				}
				t.Stop()
				c.shutdown()
				return
			}
		case <-ticker.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout)); err != nil {
				c.shutdown()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (s *Server) readLoop(c *wsConn) {
	defer s.wg.Done()
	defer func() {
		c.shutdown()
		s.mu.Lock()
		s.removeConnLocked(c)
		delete(s.all, c)
		s.mu.Unlock()
		s.log.Debug("socket closed", "conn", c.id)
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s.handleAck(data)
	}
}

// removeConnLocked takes c out of the round robin.
func (s *Server) removeConnLocked(c *wsConn) {
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			s.notifyLocked()
			return
		}
	}
}

// handleAck records one frame from the app.
func (s *Server) handleAck(data []byte) {
	now := time.Now()
	var a struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	err := json.Unmarshal(data, &a)
	if len(data) >= MaxAckBytes {
		s.droppedAcks.Add(1)
		s.violation("ack for envelope %q is %d bytes, Slack drops frames of %d bytes or more", a.EnvelopeID, len(data), MaxAckBytes)
		return
	}
	if err != nil || a.EnvelopeID == "" {
		s.violation("unparsable frame from app: %.200q", data)
		return
	}
	if p := strings.TrimSpace(string(a.Payload)); p == "null" || p == "" {
		a.Payload = nil
	}
	s.mu.Lock()
	c := s.cmds[a.EnvelopeID]
	if c == nil {
		s.violationLocked("ack for unknown envelope %q", a.EnvelopeID)
		s.mu.Unlock()
		return
	}
	hook := s.onReply
	s.mu.Unlock()
	s.ackCount.Add(1)
	c.addAck(Ack{At: now, Latency: now.Sub(c.SentAt), Payload: a.Payload})

	if a.Payload == nil {
		return
	}
	if !c.accepts {
		return // Slack ignores payloads on envelopes that do not accept one
	}
	var m struct {
		Text         string          `json:"text"`
		ResponseType string          `json:"response_type"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(a.Payload, &m); err != nil {
		s.violation("ack payload for %q is not a message object: %v", c.EnvelopeID, err)
		return
	}
	blocks := normBlocks(m.Blocks)
	if m.Text == "" && blocks == nil {
		return
	}
	if v := validateMessage("ack payload", m.Text, blocks, maxMessageBlocks); len(v) > 0 {
		s.mu.Lock()
		for _, x := range v {
			s.violationLocked("%s (envelope %s)", x, c.EnvelopeID)
		}
		s.mu.Unlock()
	}
	s.reply(c, hook, Message{
		Method: "ack", Channel: c.Channel, User: c.User, Text: m.Text,
		ResponseType: m.ResponseType, Blocks: blocks, At: now,
	})
}

// reply records m as a reply to c.
func (s *Server) reply(c *Command, hook func(string, Message), m Message) {
	m.EnvelopeID = c.EnvelopeID
	c.addReply(m)
	s.replyCount.Add(1)
	if hook != nil {
		hook(c.EnvelopeID, m)
	}
}

// pickConn returns the next connection in round-robin order, waiting for one.
func (s *Server) pickConn(ctx context.Context) (*wsConn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if len(s.conns) > 0 {
			c := s.conns[s.rr%len(s.conns)]
			s.rr++
			s.mu.Unlock()
			return c, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("fakeslack: no Socket Mode connection: %w", ctx.Err())
		}
	}
}

// deliver sends one delivery of c over some connection.
func (s *Server) deliver(ctx context.Context, c *Command, reason string) error {
	c.mu.Lock()
	attempt := c.attempts
	c.attempts++
	c.mu.Unlock()
	env := envelope{
		EnvelopeID:             c.EnvelopeID,
		Type:                   c.Type,
		Payload:                c.Payload,
		AcceptsResponsePayload: c.accepts,
	}
	// events_api envelopes always carry the retry fields; others only on retry.
	if attempt > 0 || c.Type == TypeEventsAPI {
		env.RetryAttempt, env.RetryReason = &attempt, &reason
	}
	data, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("fakeslack: marshal envelope: %w", err)
	}
	for {
		conn, err := s.pickConn(ctx)
		if err != nil {
			return err
		}
		err = conn.enqueue(ctx, frame{data: data})
		if errors.Is(err, errConnGone) {
			continue
		}
		return err
	}
}

// send registers c and sends its first delivery.
func (s *Server) send(ctx context.Context, c *Command) error {
	c.s = s
	c.acked = make(chan struct{})
	c.replied = make(chan struct{})
	c.SentAt = time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.pruneLocked(c.SentAt)
	s.cmds[c.EnvelopeID] = c
	s.order = append(s.order, c)
	if c.pendKey != "" {
		s.pending[c.pendKey] = append(s.pending[c.pendKey], c)
	}
	if c.respID != "" {
		s.respURLs[c.respID] = &responseURL{cmd: c, created: c.SentAt}
	}
	s.mu.Unlock()
	if err := s.deliver(ctx, c, ""); err != nil {
		return err
	}
	s.scheduleRedelivery(c)
	return nil
}

// pruneLocked forgets commands older than the retention period.
func (s *Server) pruneLocked(now time.Time) {
	cut := now.Add(-s.opts.Retention)
	i := 0
	for ; i < len(s.order) && s.order[i].SentAt.Before(cut); i++ {
		c := s.order[i]
		delete(s.cmds, c.EnvelopeID)
		delete(s.respURLs, c.respID)
		if c.pendKey != "" {
			p := s.pending[c.pendKey]
			for j, x := range p {
				if x == c {
					p = append(p[:j:j], p[j+1:]...)
					break
				}
			}
			if len(p) == 0 {
				delete(s.pending, c.pendKey)
			} else {
				s.pending[c.pendKey] = p
			}
		}
		s.order[i] = nil
	}
	if i > 0 {
		s.order = s.order[i:]
	}
}

// scheduleRedelivery arms Options.RedeliverAfter for c.
func (s *Server) scheduleRedelivery(c *Command) {
	d := s.opts.RedeliverAfter
	if d <= 0 {
		return
	}
	time.AfterFunc(d, func() {
		select {
		case <-c.acked:
			return
		default:
		}
		if c.Deliveries() > maxRedeliveries || !s.track() {
			return
		}
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, d)
		defer cancel()
		if err := s.deliver(ctx, c, "timeout"); err != nil {
			s.log.Debug("redelivery failed", "envelope", c.EnvelopeID, "err", err)
		}
		s.scheduleRedelivery(c)
	})
}

// Slash sends a slash_commands envelope over one connected socket (round
// robin; waits up to ctx for a connection) and returns without waiting for
// the ack.
func (s *Server) Slash(ctx context.Context, sc SlashCommand) (*Command, error) {
	if sc.Command == "" {
		sc.Command = "/ado"
	}
	s.mu.Lock()
	u, known := s.users[sc.User]
	s.mu.Unlock()
	if sc.UserName == "" {
		sc.UserName = strings.ToLower(sc.User)
		if known && u.Name != "" {
			sc.UserName = u.Name
		}
	}
	if sc.ChannelName == "" {
		sc.ChannelName = "general"
		if strings.HasPrefix(sc.Channel, "D") {
			sc.ChannelName = "directmessage"
		}
	}
	c := &Command{
		EnvelopeID: newEnvelopeID(),
		Type:       TypeSlashCommands,
		Team:       sc.Team,
		User:       sc.User,
		Channel:    sc.Channel,
		TriggerID:  fmt.Sprintf("%d.%d.%s", time.Now().Unix(), s.seq.Add(1), randHex(16)),
		accepts:    true,
		pendKey:    sc.Channel + "\x00" + sc.User,
	}
	if sc.ResponseURL != "" {
		c.ResponseURL = sc.ResponseURL
	} else {
		c.respID = randHex(16)
		c.ResponseURL = s.base + "/response/" + c.respID
	}
	p := slashPayload{
		Token:               "fake-verification-token",
		TeamID:              sc.Team,
		TeamDomain:          strings.ToLower(sc.Team),
		EnterpriseID:        sc.Enterprise,
		ChannelID:           sc.Channel,
		ChannelName:         sc.ChannelName,
		UserID:              sc.User,
		UserName:            sc.UserName,
		Command:             sc.Command,
		Text:                EscapeText(sc.Text),
		APIAppID:            s.opts.AppID,
		IsEnterpriseInstall: fmt.Sprint(sc.IsEnterpriseInstall),
		ResponseURL:         c.ResponseURL,
		TriggerID:           c.TriggerID,
	}
	if sc.Enterprise != "" {
		p.EnterpriseName = strings.ToLower(sc.Enterprise)
	}
	var err error
	if c.Payload, err = json.Marshal(p); err != nil {
		return nil, fmt.Errorf("fakeslack: marshal slash payload: %w", err)
	}
	if err := s.send(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// slashPayload is the slash_commands payload as Slack sends it (string
// is_enterprise_install, which slack-go's SlashCommand accepts).
type slashPayload struct {
	Token               string `json:"token"`
	TeamID              string `json:"team_id"`
	TeamDomain          string `json:"team_domain"`
	EnterpriseID        string `json:"enterprise_id,omitempty"`
	EnterpriseName      string `json:"enterprise_name,omitempty"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
	Command             string `json:"command"`
	Text                string `json:"text"`
	APIAppID            string `json:"api_app_id"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

// EscapeText escapes & < > the way Slack does in slash command text.
func EscapeText(t string) string {
	return textEscaper.Replace(t)
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Redeliver sends c's envelope again (same envelope_id, retry_attempt+1,
// retry_reason "timeout"), possibly over another connection, as Slack does
// when an ack is late.
func (s *Server) Redeliver(ctx context.Context, c *Command) error {
	if c == nil || c.s != s {
		return errors.New("fakeslack: Redeliver of a command this server did not send")
	}
	return s.deliver(ctx, c, "timeout")
}

// SendEnvelope sends an arbitrary envelope of type typ with payload and
// returns it for waiting on its ack. accepts_response_payload is true for
// slash_commands only.
func (s *Server) SendEnvelope(ctx context.Context, typ string, payload json.RawMessage) (*Command, error) {
	c := &Command{EnvelopeID: newEnvelopeID(), Type: typ, Payload: payload, accepts: typ == TypeSlashCommands}
	if err := s.send(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// AppHomeOpened sends an events_api envelope with an app_home_opened event
// (tab "home") for user. See AppHomeOpenedEnvelope to wait for its ack.
func (s *Server) AppHomeOpened(ctx context.Context, team, user string) error {
	_, err := s.AppHomeOpenedEnvelope(ctx, team, user)
	return err
}

// AppHomeOpenedEnvelope is AppHomeOpened returning the envelope.
func (s *Server) AppHomeOpenedEnvelope(ctx context.Context, team, user string) (*Command, error) {
	now := time.Now()
	s.mu.Lock()
	ch := s.dmChannelLocked(user)
	views := s.homes[user]
	var view json.RawMessage
	if len(views) > 0 {
		view = s.viewObjectLocked(team, user, views[len(views)-1])
	}
	s.mu.Unlock()
	ev := map[string]any{
		"type":     "app_home_opened",
		"user":     user,
		"channel":  ch,
		"tab":      "home",
		"event_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
	}
	if view != nil {
		ev["view"] = view
	}
	payload, err := json.Marshal(map[string]any{
		"token":      "fake-verification-token",
		"team_id":    team,
		"api_app_id": s.opts.AppID,
		"event":      ev,
		"type":       "event_callback",
		"event_id":   "Ev" + strings.ToUpper(randHex(5)),
		"event_time": now.Unix(),
		"authorizations": []map[string]any{{
			"team_id": team, "user_id": DefaultBotUserID, "is_bot": true, "is_enterprise_install": false,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("fakeslack: marshal event: %w", err)
	}
	c := &Command{EnvelopeID: newEnvelopeID(), Type: TypeEventsAPI, Team: team, User: user, Channel: ch, Payload: payload}
	if err := s.send(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// BlockAction sends an interactive block_actions envelope: user clicked the
// button actionID (with value) on their Home tab.
func (s *Server) BlockAction(ctx context.Context, team, user, actionID, value string) error {
	_, err := s.BlockActionEnvelope(ctx, team, user, actionID, value)
	return err
}

// BlockActionEnvelope is BlockAction returning the envelope.
func (s *Server) BlockActionEnvelope(ctx context.Context, team, user, actionID, value string) (*Command, error) {
	now := time.Now()
	s.mu.Lock()
	u := s.users[user]
	views := s.homes[user]
	var view json.RawMessage
	if len(views) > 0 {
		view = s.viewObjectLocked(team, user, views[len(views)-1])
	} else {
		view, _ = json.Marshal(map[string]any{"id": s.homeIDLocked(user), "team_id": team, "type": "home", "blocks": []any{}})
	}
	viewID := s.homeIDLocked(user)
	s.mu.Unlock()
	name := u.Name
	if name == "" {
		name = strings.ToLower(user)
	}
	actionTS := fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	payload, err := json.Marshal(map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": user, "username": name, "name": name, "team_id": team},
		"api_app_id":            s.opts.AppID,
		"token":                 "fake-verification-token",
		"container":             map[string]any{"type": "view", "view_id": viewID},
		"trigger_id":            fmt.Sprintf("%d.%d.%s", now.Unix(), s.seq.Add(1), randHex(16)),
		"team":                  map[string]any{"id": team, "domain": strings.ToLower(team)},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"view":                  view,
		"actions": []map[string]any{{
			"action_id": actionID,
			"block_id":  "fake_block",
			"text":      map[string]any{"type": "plain_text", "text": actionID, "emoji": true},
			"value":     value,
			"type":      "button",
			"action_ts": actionTS,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("fakeslack: marshal block_actions: %w", err)
	}
	c := &Command{EnvelopeID: newEnvelopeID(), Type: TypeInteractive, Team: team, User: user, Payload: payload}
	if err := s.send(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// homeIDLocked is the stable view id of user's Home tab.
func (s *Server) homeIDLocked(user string) string {
	id, ok := s.homeIDs[user]
	if !ok {
		id = "V" + strings.ToUpper(randHex(5))
		s.homeIDs[user] = id
	}
	return id
}

// viewObjectLocked turns a published view into the view object Slack sends
// back in events and interactions (with id and team_id).
func (s *Server) viewObjectLocked(team, user string, published json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(published, &m); err != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	id, _ := json.Marshal(s.homeIDLocked(user))
	tm, _ := json.Marshal(team)
	m["id"], m["team_id"] = id, tm
	if _, ok := m["type"]; !ok {
		m["type"] = json.RawMessage(`"home"`)
	}
	out, _ := json.Marshal(m)
	return out
}

// Disconnect sends {"type":"disconnect","reason":reason} on every connection
// and then closes them; slack-go reconnects.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		s.hangUp(c, reason)
	}
}

// DisconnectOne does what Disconnect does on one connection (round robin) and
// returns how many connections remain.
func (s *Server) DisconnectOne(reason string) int {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return 0
	}
	i := s.rr % len(s.conns)
	s.rr++
	c := s.conns[i]
	s.removeConnLocked(c)
	n := len(s.conns)
	s.mu.Unlock()
	s.hangUp(c, reason)
	return n
}

func (s *Server) hangUp(c *wsConn, reason string) {
	data, _ := json.Marshal(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "fakeslack"},
	})
	// Queue behind frames already sent so they are not lost; a connection
	// whose queue is stuck is closed at once.
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	if err := c.enqueue(ctx, frame{data: data, last: true}); err != nil {
		c.shutdown()
	}
}
