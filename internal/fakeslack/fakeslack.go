// Package fakeslack is an in-process fake of Slack's Socket Mode and Web API,
// in the spirit of net/http/httptest.
//
// It is a real HTTP and WebSocket server: the unmodified slack-go client
// (slack.New with OptionAPIURL(s.APIURL()) and OptionAppLevelToken, then
// socketmode.New) connects to it over the network exactly as it would to
// Slack. Tests drive it from the Slack side (Slash, AppHomeOpened,
// BlockAction, Disconnect, Redeliver) and observe what the bot sent back
// (acks, response_url posts, chat.postEphemeral, DMs, Home views).
//
// The wire formats follow /work/shared/SLACK-SOCKET-MODE.md and what
// slack-go v0.35 sends and parses. Everything is safe for concurrent use and
// Close stops every goroutine the server started.
package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults used when the matching Options field is empty.
const (
	DefaultAppToken     = "xapp-test"
	DefaultBotToken     = "xoxb-test"
	DefaultAppID        = "A0FAKEAPP"
	DefaultBotUserID    = "U0FAKEBOT"
	DefaultPingInterval = 5 * time.Second
	DefaultRetention    = 30 * time.Minute

	// MaxAckBytes is Slack's limit for a Socket Mode response frame: frames of
	// this size or larger are silently dropped by Slack.
	MaxAckBytes = 20 * 1024

	// ResponseURLUses and ResponseURLTTL are Slack's limits for a response_url.
	ResponseURLUses = 5
	ResponseURLTTL  = 30 * time.Minute

	// maxRedeliveries mirrors Slack, which gives up after three retries.
	maxRedeliveries = 3
	ticketTTL       = time.Minute
	writeTimeout    = 10 * time.Second
	// closeGrace is how long a disconnected socket waits for the client to hang
	// up itself; closing first could reset the TCP stream before the client has
	// read the disconnect frame.
	closeGrace   = 2 * time.Second
	outQueueSize = 1024
	maxReadBytes = 1 << 20
)

// ErrClosed is returned by calls that wait when the Server is closed.
var ErrClosed = errors.New("fakeslack: server closed")

// Options configures a Server. The zero value is usable.
type Options struct {
	// AppToken is the expected app-level token (apps.connections.open);
	// BotToken the expected bot token (every other Web API method).
	// Defaults "xapp-test" and "xoxb-test". A wrong token is answered
	// {"ok":false,"error":"invalid_auth"}, a missing one "not_authed".
	AppToken, BotToken string
	// PingInterval is how often WebSocket ping frames are sent (default 5s).
	// slack-go reconnects when no ping arrives within 30s.
	PingInterval time.Duration
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Addr is the listen address, default "127.0.0.1:0".
	Addr string
	// AppID is the api_app_id sent in payloads (default "A0FAKEAPP").
	AppID string
	// RedeliverAfter, when positive, makes the server redeliver an
	// unacknowledged envelope after this long, up to three times, like Slack
	// (retry_reason "timeout"). Zero leaves redelivery to Redeliver.
	RedeliverAfter time.Duration
	// Retention is how long finished commands are kept for matching replies
	// (default 30 minutes, the life of a response_url). Older ones are
	// forgotten so that long load runs do not grow without bound.
	Retention time.Duration
}

// User is a Slack user known to users.info.
type User struct {
	Team, ID, Name, Email string
	// RealName defaults to Name.
	RealName string
}

// Message is one message the bot sent.
type Message struct {
	// Method is "response_url", "chat.postMessage", "chat.postEphemeral",
	// "chat.update" or "ack".
	Method string
	// Channel is the channel the message went to; for DMs the D… channel id.
	Channel string
	// User is the recipient: the ephemeral's user or the DM's user.
	User         string
	Text         string
	ResponseType string
	// Blocks is the blocks array as JSON, nil when the message had none.
	Blocks          json.RawMessage
	ReplaceOriginal bool
	DeleteOriginal  bool
	// TS is the timestamp the fake answered with (Web API methods only).
	TS string
	// EnvelopeID is the command this message answered, if one matched.
	EnvelopeID string
	At         time.Time
}

// Ack is one acknowledgement received for an envelope.
type Ack struct {
	At time.Time
	// Latency is At minus the time the first delivery was queued.
	Latency time.Duration
	// Payload is the ack's payload, nil when the ack had none.
	Payload json.RawMessage
}

// Server is a fake Slack. Create it with New and stop it with Close.
type Server struct {
	opts     Options
	log      *slog.Logger
	ln       net.Listener
	base     string
	httpSrv  *http.Server
	upgrader websocket.Upgrader

	ctx    context.Context // cancelled by Close; bounds internal waits
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup

	ackCount    atomic.Int64
	replyCount  atomic.Int64
	droppedAcks atomic.Int64
	seq         atomic.Uint64

	mu       sync.Mutex
	closed   bool
	changed  chan struct{} // closed and replaced on every watched change
	conns    []*wsConn     // live connections, round-robin order
	all      map[*wsConn]struct{}
	rr       int
	tickets  map[string]time.Time
	users    map[string]User
	dmOf     map[string]string // user id -> D channel
	dmUser   map[string]string // D channel -> user id
	dms      map[string][]Message
	ephem    map[string][]Message
	chanMsgs map[string][]Message
	homes    map[string][]json.RawMessage
	homeIDs  map[string]string
	cmds     map[string]*Command
	order    []*Command            // by SentAt, for retention
	pending  map[string][]*Command // channel\x00user -> slash commands, for ephemerals
	respURLs map[string]*responseURL
	calls    map[string]int
	viol     []string
	onReply  func(envelopeID string, m Message)
}

type responseURL struct {
	cmd     *Command
	uses    int
	created time.Time
}

// New starts a Server listening on opts.Addr.
func New(opts Options) (*Server, error) {
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: listen %s: %w", opts.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:   opts,
		log:    logger.With("component", "fakeslack"),
		ln:     ln,
		base:   "http://" + ln.Addr().String(),
		ctx:    ctx,
		cancel: cancel,
		upgrader: websocket.Upgrader{
			// slack-go sends Origin: https://api.slack.com, which the
			// default same-origin check would refuse.
			CheckOrigin:     func(*http.Request) bool { return true },
			ReadBufferSize:  4096,
			WriteBufferSize: 32 * 1024,
		},
		changed:  make(chan struct{}),
		all:      map[*wsConn]struct{}{},
		tickets:  map[string]time.Time{},
		users:    map[string]User{},
		dmOf:     map[string]string{},
		dmUser:   map[string]string{},
		dms:      map[string][]Message{},
		ephem:    map[string][]Message{},
		chanMsgs: map[string][]Message{},
		homes:    map[string][]json.RawMessage{},
		homeIDs:  map[string]string{},
		cmds:     map[string]*Command{},
		pending:  map[string][]*Command{},
		respURLs: map[string]*responseURL{},
		calls:    map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/response/", s.handleResponseURL)
	s.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// Close closes every connection, stops the server and waits for all of its
// goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*wsConn, 0, len(s.all))
		for c := range s.all {
			conns = append(conns, c)
		}
		s.conns = nil
		s.notifyLocked()
		s.mu.Unlock()
		s.cancel()
		_ = s.httpSrv.Close()
		for _, c := range conns {
			c.shutdown()
		}
		s.wg.Wait()
	})
}

// APIURL is the Web API base, e.g. "http://127.0.0.1:PORT/api/".
func (s *Server) APIURL() string { return s.base + "/api/" }

// BaseURL is the server root, e.g. "http://127.0.0.1:PORT".
func (s *Server) BaseURL() string { return s.base }

// AddUser makes u known to users.info (replacing any user with the same ID).
func (s *Server) AddUser(u User) {
	if u.RealName == "" {
		u.RealName = u.Name
	}
	s.mu.Lock()
	s.users[u.ID] = u
	s.mu.Unlock()
}

// OnReply sets a hook called for every reply matched to a command (response_url
// post, ack with content, chat.postEphemeral). It runs on the goroutine that
// received the reply, without locks held, so it must be fast and thread-safe.
// nil removes the hook.
func (s *Server) OnReply(f func(envelopeID string, m Message)) {
	s.mu.Lock()
	s.onReply = f
	s.mu.Unlock()
}

// AckCount is the number of ack frames received (dropped oversized ones excluded).
func (s *Server) AckCount() int64 { return s.ackCount.Load() }

// ReplyCount is the number of replies matched to commands.
func (s *Server) ReplyCount() int64 { return s.replyCount.Load() }

// DroppedAcks is the number of ack frames of MaxAckBytes or more, which Slack
// would drop: they are not recorded as acks.
func (s *Server) DroppedAcks() int64 { return s.droppedAcks.Load() }

// Violations lists every breach of Slack's limits or protocol seen so far
// (too many blocks, too long texts, oversized acks, acks for unknown
// envelopes, a used-up response_url…). Tests should assert it is empty.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.viol...)
}

// Calls is how many times the Web API method was called (any outcome).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// DMs lists the chat.postMessage calls to user's DM (channel = user id or the
// user's D… channel).
func (s *Server) DMs(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.dms[user]...)
}

// Ephemerals lists every chat.postEphemeral sent to user.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.ephem[user]...)
}

// ChannelMessages lists chat.postMessage calls to a channel that is not a DM.
func (s *Server) ChannelMessages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.chanMsgs[channel]...)
}

// WaitDM waits until user has at least n DMs and returns them all.
func (s *Server) WaitDM(ctx context.Context, user string, n int) ([]Message, error) {
	var out []Message
	err := s.waitFor(ctx, func() bool {
		if len(s.dms[user]) < n {
			return false
		}
		out = append([]Message(nil), s.dms[user]...)
		return true
	})
	return out, err
}

// HomeViews lists the views published to user with views.publish, oldest first.
func (s *Server) HomeViews(user string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.homes[user]...)
}

// WaitHomeView waits until at least n views were published to user and
// returns the n-th (1-based).
func (s *Server) WaitHomeView(ctx context.Context, user string, n int) (json.RawMessage, error) {
	if n < 1 {
		n = 1
	}
	var out json.RawMessage
	err := s.waitFor(ctx, func() bool {
		if len(s.homes[user]) < n {
			return false
		}
		out = s.homes[user][n-1]
		return true
	})
	return out, err
}

// Connections is the number of live Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until at least n Socket Mode connections are live.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.conns) >= n })
}

// waitFor polls cond (called with s.mu held) on every watched change.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes every waitFor. Callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) violationLocked(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	s.viol = append(s.viol, v)
	s.log.Warn("slack limit violated", "violation", v)
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	s.violationLocked(format, args...)
	s.mu.Unlock()
}

// track registers a goroutine with s.wg unless the server is closed; the
// check and the Add happen under s.mu so no Add can follow Close's Wait.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// ts returns a unique Slack-style message timestamp.
func (s *Server) ts() string {
	n := s.seq.Add(1)
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), n%1000000)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// newEnvelopeID looks like Slack's UUID envelope ids.
func newEnvelopeID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// dmChannelLocked returns (creating it) the D… channel of user.
func (s *Server) dmChannelLocked(user string) string {
	if d, ok := s.dmOf[user]; ok {
		return d
	}
	d := "D" + strings.ToUpper(randHex(5))
	s.dmOf[user] = d
	s.dmUser[d] = user
	return d
}

// DMChannel returns the D… channel id the fake uses for user's DM with the bot.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmChannelLocked(user)
}
