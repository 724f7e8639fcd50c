package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The README's run command in script mode: link, builds of a project with a space in
// its name, work items, unlink — each step gets a real reply through the real bot.
func TestScriptedSandboxTranscript(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	code := run(ctx, []string{"--embedded-redis", "--ado-latency=1ms",
		"--script", `help; builds "Mobile App"; link; builds "Mobile App"; workitems; status; unlink; status`},
		strings.NewReader(""), &out, &errs)
	transcript := out.String()
	t.Logf("transcript:\n%s", transcript)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errs.String())
	}
	for _, want := range []string{
		"› /ado help",
		"› /ado builds \"Mobile App\"",
		"Connect Azure DevOps",   // unlinked prompt and the DM button
		"/oauth/start?state=",    // the DM'd sign-in URL
		"sign-in page: HTTP 200", // the real callback handler
		"Dana Demo",              // confirmation DM names the person
		"Mobile App",             // builds reply footer
		"› /ado workitems",
		"› /ado unlink",
		"8 passed, 0 failed",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if strings.Contains(transcript, "!!") {
		t.Errorf("a step failed")
	}
}

func TestSplitScript(t *testing.T) {
	got := splitScript(` link; builds "a;b" --top 3 ;; unlink `)
	want := []string{"link", `builds "a;b" --top 3`, "unlink"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q", got)
	}
}

// Interactive mode as a person types it: /ado link, Enter to let the sandbox follow
// the sign-in link, a command, quit.
func TestInteractiveSandbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	in := strings.NewReader("/ado link\n\n/ado status\nhome\nquit\n")
	if code := run(ctx, []string{"--embedded-redis", "--ado-latency=1ms"}, in, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	screen := out.String()
	for _, want := range []string{"press Enter", "sign-in page: HTTP 200", "Linked as *Dana Demo*", "You're linked as", "App Home", "Disconnect"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}
