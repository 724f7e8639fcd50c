package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/blocktext"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/redistest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The real binary, configured only through the environment contract, against the
// Slack and Azure DevOps simulators and a real Redis: health and readiness, a whole
// link, a command, and SIGTERM while that command is in flight — the command is
// still answered and the process exits 0.
func TestBinaryServesAndShutsDownGracefully(t *testing.T) {
	bin := buildBinary(t)
	rs := redistest.Start(t)
	ado, err := fakeado.New(fakeado.Options{ClientID: "bin-client", ClientSecret: "bin-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ado.Close)
	user := fakeado.User{ID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", DisplayName: "Bin Person", Email: "bin@contoso.example", Orgs: []string{"contoso"}}
	fakeado.SeedDemo(ado, user)
	sl, err := fakeslack.New(fakeslack.Options{AppToken: "xapp-1-bin", BotToken: "xoxb-bin", PingInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sl.Close)
	team, slackUser := redistest.UniqueID("T"), redistest.UniqueID("U")
	sl.AddUser(fakeslack.User{Team: team, ID: slackUser, Name: "bin", Email: user.Email})

	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"SLACK_APP_TOKEN=xapp-1-bin", "SLACK_BOT_TOKEN=xoxb-bin", "SLACK_API_URL=" + strings.TrimSuffix(sl.APIURL(), "/"),
		"REDIS_URL=" + rs.URL, "TOKEN_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32)),
		"PUBLIC_URL=" + base + "/", "PORT=" + strconv.Itoa(port),
		"ADO_CLIENT_ID=bin-client", "ADO_CLIENT_SECRET=bin-secret",
		"ADO_AUTHORITY_URL=" + ado.AuthorityURL(), "ADO_VSSPS_URL=" + ado.VSSPSURL(), "ADO_API_URL=" + ado.APIURL(),
		"LOG_LEVEL=debug",
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{}) // closed once Wait returned: stderr is fully copied
	go func() { err := cmd.Wait(); exited <- err; close(waited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
		if t.Failed() {
			t.Logf("adobot stderr:\n%s", logs.String())
		}
	})

	web := &http.Client{Timeout: 5 * time.Second}
	status := func(path string) int {
		res, err := web.Get(base + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for status("/readyz") != 200 {
		if ctx.Err() != nil {
			t.Fatalf("/readyz never 200 (healthz %d)", status("/healthz"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status("/healthz") != 200 || status("/metrics") != 200 {
		t.Fatalf("healthz %d metrics %d", status("/healthz"), status("/metrics"))
	}

	send := func(text string) (*fakeslack.Command, fakeslack.Ack) {
		c, err := sl.Slash(ctx, fakeslack.SlashCommand{Team: team, User: slackUser, Channel: "C0BIN", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := c.WaitAck(ctx)
		if err != nil {
			t.Fatalf("no ack for %q: %v", text, err)
		}
		return c, ack
	}
	// Link through the binary's own callback.
	c, _ := send("link")
	if _, err := c.WaitReply(ctx); err != nil {
		t.Fatal(err)
	}
	dms, err := sl.WaitDM(ctx, slackUser, 1)
	if err != nil {
		t.Fatal(err)
	}
	u := regexp.MustCompile(`http://[^\s"<>|]+/oauth/start\?[^\s"<>|]+`).FindString(blocktext.Flatten(dms[0].Text, dms[0].Blocks))
	res, err := web.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "Bin Person") {
		t.Fatalf("callback: %d %s", res.StatusCode, page)
	}

	// A slow Azure DevOps keeps the next command in flight while SIGTERM arrives.
	ado.SetFaults(fakeado.Faults{Latency: 1500 * time.Millisecond})
	c, ack := send(`builds "Mobile App" --top 2`)
	if ack.Latency > 3*time.Second {
		t.Errorf("ack took %v", ack.Latency)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	m, err := c.WaitReply(ctx)
	if err != nil {
		t.Fatalf("in-flight command not answered after SIGTERM: %v", err)
	}
	if got := blocktext.Flatten(m.Text, m.Blocks); !strings.Contains(got, "Mobile App") {
		t.Errorf("reply is not a builds list: %s", got)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("no exit within 25 s of SIGTERM")
	}
	<-waited
	for _, secret := range append(ado.IssuedTokens(), "bin-secret") {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a secret (%d chars) is in the binary's logs", len(secret))
		}
	}
}
