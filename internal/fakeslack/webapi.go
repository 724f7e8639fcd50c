package fakeslack

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// params reads Web API arguments from a form (query or body) or a JSON body.
type params struct {
	form url.Values
	js   map[string]json.RawMessage
}

func readParams(r *http.Request) (params, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var p params
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReadBytes))
		if err != nil {
			return p, err
		}
		p.form = r.URL.Query()
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &p.js); err != nil {
				return p, err
			}
		}
		return p, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxReadBytes)
	if err := r.ParseForm(); err != nil {
		return params{}, err
	}
	return params{form: r.Form}, nil
}

// str returns argument k as a string (JSON strings unquoted, other JSON
// values as their text).
func (p params) str(k string) string {
	if v, ok := p.js[k]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		if string(v) == "null" {
			return ""
		}
		return string(v)
	}
	return p.form.Get(k)
}

// raw returns argument k as JSON: form values hold JSON text (blocks=[…]).
func (p params) raw(k string) json.RawMessage {
	if v, ok := p.js[k]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return json.RawMessage(s)
		}
		return v
	}
	if v := p.form.Get(k); v != "" {
		return json.RawMessage(v)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}

// handleAPI serves {base}/api/<method>.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
	p, err := readParams(r)
	if err != nil {
		apiError(w, "invalid_form_data")
		return
	}
	token := p.str("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	want := s.opts.BotToken
	if method == "apps.connections.open" {
		want = s.opts.AppToken
	}
	switch {
	case token == "":
		apiError(w, "not_authed")
		return
	case token != want:
		apiError(w, "invalid_auth")
		return
	}
	switch method {
	case "apps.connections.open":
		s.connectionsOpen(w)
	case "auth.test":
		writeJSON(w, http.StatusOK, map[string]any{
			"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "adobot",
			"team_id": "T0FAKE", "user_id": DefaultBotUserID, "bot_id": "B0FAKEBOT",
		})
	case "chat.postMessage":
		s.postMessage(w, p)
	case "chat.postEphemeral":
		s.postEphemeral(w, p)
	case "chat.update":
		s.chatUpdate(w, p)
	case "conversations.open":
		s.conversationsOpen(w, p)
	case "users.info":
		s.usersInfo(w, p)
	case "views.publish":
		s.viewsPublish(w, p)
	default:
		apiError(w, "unknown_method")
	}
}

func (s *Server) connectionsOpen(w http.ResponseWriter) {
	ticket := randHex(16)
	s.mu.Lock()
	now := time.Now()
	for t, exp := range s.tickets {
		if now.After(exp) {
			delete(s.tickets, t)
		}
	}
	s.tickets[ticket] = now.Add(ticketTTL)
	s.mu.Unlock()
	wsURL := "ws" + strings.TrimPrefix(s.base, "http") + "/link/?ticket=" + ticket + "&app_id=" + url.QueryEscape(s.opts.AppID)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": wsURL})
}

// msgArgs reads text and blocks and checks them against Slack's limits.
func (s *Server) msgArgs(where string, p params, maxBlocks int) (text string, blocks json.RawMessage, ok bool) {
	text = p.str("text")
	blocks = normBlocks(p.raw("blocks"))
	if text == "" && blocks == nil && p.str("attachments") == "" {
		s.violation("%s without text or blocks", where)
		return "", nil, false
	}
	if v := validateMessage(where, text, blocks, maxBlocks); len(v) > 0 {
		s.mu.Lock()
		for _, x := range v {
			s.violationLocked("%s", x)
		}
		s.mu.Unlock()
	}
	return text, blocks, true
}

func (s *Server) postMessage(w http.ResponseWriter, p params) {
	channel := p.str("channel")
	if channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	text, blocks, ok := s.msgArgs("chat.postMessage", p, maxMessageBlocks)
	if !ok {
		apiError(w, "no_text")
		return
	}
	ts := s.ts()
	m := Message{Method: "chat.postMessage", Text: text, Blocks: blocks, TS: ts, At: time.Now()}
	s.mu.Lock()
	user := ""
	if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
		user = channel
		channel = s.dmChannelLocked(user)
	} else if u, ok := s.dmUser[channel]; ok {
		user = u
	}
	m.Channel, m.User = channel, user
	if user != "" {
		s.dms[user] = append(s.dms[user], m)
	} else {
		s.chanMsgs[channel] = append(s.chanMsgs[channel], m)
	}
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "channel": channel, "ts": ts,
		"message": map[string]any{"type": "message", "text": text, "user": DefaultBotUserID, "bot_id": "B0FAKEBOT", "ts": ts},
	})
}

func (s *Server) postEphemeral(w http.ResponseWriter, p params) {
	channel, user := p.str("channel"), p.str("user")
	if channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	if user == "" {
		apiError(w, "user_not_found")
		return
	}
	text, blocks, ok := s.msgArgs("chat.postEphemeral", p, maxMessageBlocks)
	if !ok {
		apiError(w, "no_text")
		return
	}
	ts := s.ts()
	now := time.Now()
	m := Message{Method: "chat.postEphemeral", Channel: channel, User: user, Text: text, Blocks: blocks, TS: ts, At: now}
	s.mu.Lock()
	if u, ok := s.dmUser[channel]; ok && u != user {
		s.violationLocked("chat.postEphemeral to %s in %s, the DM of %s", user, channel, u)
	}
	// An ephemeral cannot name the command it answers: give it to the
	// oldest unanswered command of that user in that channel, else the newest.
	var target *Command
	for _, c := range s.pending[channel+"\x00"+user] {
		if c.SentAt.After(now) {
			continue
		}
		if !c.hasReply() {
			target = c
			break
		}
		target = c
	}
	if target != nil {
		m.EnvelopeID = target.EnvelopeID
	}
	s.ephem[user] = append(s.ephem[user], m)
	hook := s.onReply
	s.notifyLocked()
	s.mu.Unlock()
	if target != nil {
		s.reply(target, hook, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message_ts": ts})
}

func (s *Server) chatUpdate(w http.ResponseWriter, p params) {
	channel, ts := p.str("channel"), p.str("ts")
	if channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	if ts == "" {
		apiError(w, "message_not_found")
		return
	}
	text, _, _ := s.msgArgs("chat.update", p, maxMessageBlocks)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts, "text": text})
}

func (s *Server) conversationsOpen(w http.ResponseWriter, p params) {
	users := strings.Split(p.str("users"), ",")
	user := strings.TrimSpace(users[0])
	if ch := p.str("channel"); user == "" && ch != "" {
		s.mu.Lock()
		user = s.dmUser[ch]
		s.mu.Unlock()
		if user == "" {
			apiError(w, "channel_not_found")
			return
		}
	}
	if user == "" {
		apiError(w, "users_list_not_supplied")
		return
	}
	s.mu.Lock()
	_, already := s.dmOf[user]
	ch := s.dmChannelLocked(user)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "no_op": already, "already_open": already,
		"channel": map[string]any{"id": ch, "is_im": true, "user": user},
	})
}

func (s *Server) usersInfo(w http.ResponseWriter, p params) {
	id := p.str("user")
	s.mu.Lock()
	u, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		apiError(w, "user_not_found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": map[string]any{
		"id": u.ID, "team_id": u.Team, "name": u.Name, "real_name": u.RealName, "deleted": false, "is_bot": false,
		"profile": map[string]any{
			"email": u.Email, "real_name": u.RealName, "display_name": u.Name,
			"real_name_normalized": u.RealName, "display_name_normalized": u.Name, "team": u.Team,
		},
	}})
}

func (s *Server) viewsPublish(w http.ResponseWriter, p params) {
	user := p.str("user_id")
	if user == "" {
		apiError(w, "invalid_arguments")
		return
	}
	raw := p.raw("view")
	var view struct {
		Type   string          `json:"type"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &view) != nil {
		s.violation("views.publish for %s: view is not a JSON object", user)
		apiError(w, "invalid_arguments")
		return
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	s.mu.Lock()
	if view.Type != "home" {
		s.violationLocked("views.publish for %s: view type %q, want \"home\"", user, view.Type)
	}
	for _, v := range validateBlocks("views.publish", view.Blocks, maxViewBlocks) {
		s.violationLocked("%s", v)
	}
	s.homes[user] = append(s.homes[user], json.RawMessage(compact.Bytes()))
	team := s.users[user].Team
	if team == "" {
		team = "T0FAKE"
	}
	obj := s.viewObjectLocked(team, user, compact.Bytes())
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "view": obj})
}

// handleResponseURL serves POST {base}/response/<id>.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	now := time.Now()
	var body struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxReadBytes))
	if err == nil {
		err = json.Unmarshal(data, &body)
	}
	if err != nil {
		s.violation("response_url post is not JSON: %v", err)
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	e, ok := s.respURLs[id]
	switch {
	case !ok:
		s.violationLocked("response_url %s unknown", id)
	case now.Sub(e.created) > ResponseURLTTL:
		s.violationLocked("response_url of %s used after %v", e.cmd.EnvelopeID, ResponseURLTTL)
		ok = false
	case e.uses >= ResponseURLUses:
		s.violationLocked("response_url of %s used more than %d times", e.cmd.EnvelopeID, ResponseURLUses)
		s.mu.Unlock()
		http.Error(w, "used_up", http.StatusNotFound)
		return
	default:
		e.uses++
	}
	hook := s.onReply
	s.mu.Unlock()
	if !ok {
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	}
	blocks := normBlocks(body.Blocks)
	if body.Text == "" && blocks == nil && !body.DeleteOriginal {
		s.violation("response_url post for %s without text or blocks", e.cmd.EnvelopeID)
	}
	if v := validateMessage("response_url", body.Text, blocks, maxMessageBlocks); len(v) > 0 {
		s.mu.Lock()
		for _, x := range v {
			s.violationLocked("%s (envelope %s)", x, e.cmd.EnvelopeID)
		}
		s.mu.Unlock()
	}
	s.reply(e.cmd, hook, Message{
		Method: "response_url", Channel: e.cmd.Channel, User: e.cmd.User, Text: body.Text,
		ResponseType: body.ResponseType, Blocks: blocks,
		ReplaceOriginal: body.ReplaceOriginal, DeleteOriginal: body.DeleteOriginal, At: now,
	})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
