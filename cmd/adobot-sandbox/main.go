// Command adobot-sandbox runs the whole bot on this machine with no accounts: an
// embedded Redis (or $REDIS_URL), the built-in Azure DevOps + identity provider and
// Slack simulators from internal/, and the real bot wired by internal/app exactly as
// cmd/adobot wires it. Type /ado commands at the prompt, or pass --script.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/adobot/adobot/internal/app"
	"github.com/adobot/adobot/internal/blocktext"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/simenv"
)

const (
	demoTeam  = "T0DEMO"
	demoUser  = "U0DEMO"
	demoEmail = "dana@contoso.example"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	script        string
	embeddedRedis bool
	verbose       bool
	latency       time.Duration
	timeout       time.Duration
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("adobot-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.script, "script", "", `run these commands, separated by ";", then exit (e.g. 'link; builds "Mobile App"; workitems; unlink')`)
	fs.BoolVar(&o.embeddedRedis, "embedded-redis", false, "use the embedded Redis even when REDIS_URL is set")
	fs.BoolVar(&o.verbose, "v", false, "show the bot's logs")
	fs.DurationVar(&o.latency, "ado-latency", 20*time.Millisecond, "simulated Azure DevOps latency")
	fs.DurationVar(&o.timeout, "reply-timeout", 20*time.Second, "how long to wait for each reply")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sb, err := start(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	defer sb.close()

	if o.script != "" {
		failed := 0
		for _, step := range splitScript(o.script) {
			if err := sb.step(ctx, step, stdout, nil); err != nil {
				fmt.Fprintf(stdout, "!! %s: %v\n\n", step, err)
				failed++
			}
		}
		fmt.Fprintf(stdout, "sandbox: %d passed, %d failed\n", len(splitScript(o.script))-failed, failed)
		if failed > 0 {
			return 1
		}
		return 0
	}

	fmt.Fprintf(stdout, "adobot sandbox: you are %s (%s) in workspace %s.\n", demoUser, demoEmail, demoTeam)
	fmt.Fprintf(stdout, "Demo organization \"contoso\" with projects \"Mobile App\" and \"Platform\".\n")
	fmt.Fprintf(stdout, "Type /ado commands (try: /ado link, /ado builds \"Mobile App\", /ado workitems, /ado prs, /ado unlink), \"home\" for the App Home tab, \"quit\" to leave.\n\n")
	in := bufio.NewScanner(stdin)
	for {
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(stdout)
			return 0
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "":
			continue
		case "quit", "exit":
			return 0
		}
		if err := sb.step(ctx, line, stdout, in); err != nil {
			fmt.Fprintf(stdout, "!! %v\n\n", err)
		}
		if ctx.Err() != nil {
			return 0
		}
	}
}

type sandbox struct {
	o      options
	mr     *miniredis.Miniredis
	ado    *fakeado.Server
	slack  *fakeslack.Server
	app    *app.App
	cancel context.CancelFunc
	done   chan struct{}
	web    *http.Client
}

func start(ctx context.Context, o options, stderr io.Writer) (*sandbox, error) {
	sb := &sandbox{o: o, done: make(chan struct{}), web: &http.Client{Timeout: 15 * time.Second}}
	level := slog.LevelError + 4 // silent unless -v
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" || o.embeddedRedis {
		mr, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		sb.mr = mr
		redisURL = "redis://" + mr.Addr() + "/0"
	}

	ado, err := fakeado.New(fakeado.Options{ClientID: simenv.ClientID, ClientSecret: simenv.ClientSecret, Latency: o.latency, Logger: logger})
	if err != nil {
		sb.close()
		return nil, fmt.Errorf("azure devops simulator: %w", err)
	}
	sb.ado = ado
	demo := fakeado.User{ID: "d6245f20-2af8-44f4-9451-8107cb2767db", DisplayName: "Dana Demo", Email: demoEmail, Orgs: []string{"contoso"}}
	fakeado.SeedDemo(ado, demo)

	sl, err := fakeslack.New(fakeslack.Options{AppToken: simenv.AppToken, BotToken: simenv.BotToken, Logger: logger})
	if err != nil {
		sb.close()
		return nil, fmt.Errorf("slack simulator: %w", err)
	}
	sb.slack = sl
	sl.AddUser(fakeslack.User{Team: demoTeam, ID: demoUser, Name: "dana", Email: demoEmail})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sb.close()
		return nil, err
	}
	cfg := simenv.Config(sl, ado, redisURL, randomKey(), "http://"+ln.Addr().String())
	if err := cfg.Validate(); err != nil {
		_ = ln.Close()
		sb.close()
		return nil, err
	}
	a, err := app.New(cfg, app.Options{Logger: logger, Listener: ln})
	if err != nil {
		_ = ln.Close()
		sb.close()
		return nil, err
	}
	sb.app = a
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sb.cancel = cancel
	go func() {
		defer close(sb.done)
		_ = a.Run(runCtx)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := sl.WaitConnections(wctx, 1); err != nil {
		sb.close()
		return nil, fmt.Errorf("the bot did not connect to the Slack simulator: %w", err)
	}
	return sb, nil
}

func (sb *sandbox) close() {
	if sb.cancel != nil {
		sb.cancel()
		select {
		case <-sb.done:
		case <-time.After(25 * time.Second):
		}
	}
	if sb.slack != nil {
		sb.slack.Close()
	}
	if sb.ado != nil {
		sb.ado.Close()
	}
	if sb.mr != nil {
		sb.mr.Close()
	}
}

var startURL = regexp.MustCompile(`https?://[^\s"<>|]+/oauth/start\?[^\s"<>|]+`)

// step runs one command and prints the reply. In interactive mode (in != nil) the
// sign-in link waits for Enter (or a browser); in script mode it is followed at once.
func (sb *sandbox) step(ctx context.Context, line string, out io.Writer, in *bufio.Scanner) error {
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "/ado"))
	ctx, cancel := context.WithTimeout(ctx, sb.o.timeout)
	defer cancel()
	if text == "home" {
		return sb.home(ctx, out)
	}
	fmt.Fprintf(out, "› /ado %s\n", text)
	dmsBefore := len(sb.slack.DMs(demoUser))
	cmd, err := sb.slack.Slash(ctx, fakeslack.SlashCommand{Team: demoTeam, User: demoUser, Channel: "C0DEMO", Text: text})
	if err != nil {
		return err
	}
	ack, err := cmd.WaitAck(ctx)
	if err != nil {
		return fmt.Errorf("no acknowledgement: %w", err)
	}
	reply, err := cmd.WaitReply(ctx)
	if err != nil {
		return fmt.Errorf("no reply: %w", err)
	}
	fmt.Fprintln(out, indent(blocktext.Render(reply.Text, reply.Blocks)))
	fmt.Fprintf(out, "  (acknowledged in %s, answered in %s)\n\n", ack.Latency.Round(time.Microsecond), reply.At.Sub(cmd.SentAt).Round(time.Millisecond))

	if first := strings.Fields(text); len(first) == 0 || !strings.EqualFold(first[0], "link") {
		return nil
	}
	dms, err := sb.slack.WaitDM(ctx, demoUser, dmsBefore+1)
	if err != nil {
		return nil // already linked: the reply said so, no DM
	}
	dm := dms[len(dms)-1]
	rendered := blocktext.Render(dm.Text, dm.Blocks)
	fmt.Fprintf(out, "✉ DM from adobot:\n%s\n", indent(rendered))
	u := startURL.FindString(string(dm.Blocks) + " " + dm.Text)
	if u == "" {
		return errors.New("the DM carries no sign-in link")
	}
	if in != nil {
		fmt.Fprintf(out, "\nOpen the link in a browser on this machine, or press Enter to let the sandbox follow it: ")
		if !in.Scan() {
			return nil
		}
		if len(sb.slack.DMs(demoUser)) > dmsBefore+1 { // the browser finished the sign-in
			return sb.printConfirmation(ctx, out, dmsBefore+2)
		}
	}
	res, err := sb.web.Get(u)
	if err != nil {
		return fmt.Errorf("following the sign-in link: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	fmt.Fprintf(out, "🌐 sign-in page: HTTP %d — %s\n", res.StatusCode, pageText(string(body)))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sign-in failed with HTTP %d", res.StatusCode)
	}
	return sb.printConfirmation(ctx, out, dmsBefore+2)
}

func (sb *sandbox) printConfirmation(ctx context.Context, out io.Writer, n int) error {
	dms, err := sb.slack.WaitDM(ctx, demoUser, n)
	if err != nil {
		return fmt.Errorf("no confirmation DM: %w", err)
	}
	dm := dms[len(dms)-1]
	fmt.Fprintf(out, "✉ DM from adobot:\n%s\n\n", indent(blocktext.Render(dm.Text, dm.Blocks)))
	return nil
}

func (sb *sandbox) home(ctx context.Context, out io.Writer) error {
	n := len(sb.slack.HomeViews(demoUser))
	if err := sb.slack.AppHomeOpened(ctx, demoTeam, demoUser); err != nil {
		return err
	}
	view, err := sb.slack.WaitHomeView(ctx, demoUser, n+1)
	if err != nil {
		return fmt.Errorf("no Home tab: %w", err)
	}
	fmt.Fprintf(out, "🏠 App Home:\n%s\n\n", indent(blocktext.Render("", homeBlocks(view))))
	return nil
}

var tags = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]+>`)

// pageText reduces an HTML page to its words for the transcript.
func pageText(html string) string {
	t := strings.Join(strings.Fields(tags.ReplaceAllString(html, " ")), " ")
	t = strings.NewReplacer("&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(t)
	if len(t) > 200 {
		t = t[:200] + "…"
	}
	return t
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// splitScript splits on ";" outside double quotes.
func splitScript(s string) []string {
	var steps []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ';' && !quoted:
			if t := strings.TrimSpace(cur.String()); t != "" {
				steps = append(steps, t)
			}
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		steps = append(steps, t)
	}
	return steps
}
