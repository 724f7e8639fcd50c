package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/adobot/adobot/devops"
)

var testNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func testLinks() linker { return devops.NewClient(devops.Config{APIURL: "https://dev.azure.com"}) }

// flattenBlocks returns every text and url in blocks, one per line.
func flattenBlocks(t testing.TB, blocks []slack.Block) string {
	t.Helper()
	js, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range []string{"text", "url"} {
				if s, ok := x[k].(string); ok {
					sb.WriteString(s + "\n")
				}
			}
			for _, vv := range x {
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(v)
	return sb.String()
}

// checkLimits asserts Slack's message limits on a reply.
func checkLimits(t *testing.T, r reply) {
	t.Helper()
	if n := len(r.Blocks); n > maxBlocks {
		t.Errorf("%d blocks, limit %d", n, maxBlocks)
	}
	for i, b := range r.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			if n := utf8.RuneCountInString(s.Text.Text); n > maxSectionText || n == 0 {
				t.Errorf("block %d: section text %d chars", i, n)
			}
		}
		if h, ok := b.(*slack.HeaderBlock); ok && utf8.RuneCountInString(h.Text.Text) > maxHeaderText {
			t.Errorf("block %d: header too long", i)
		}
	}
	js, err := json.Marshal(r.webhook())
	if err != nil {
		t.Fatal(err)
	}
	if len(js) >= maxReplyBytes {
		t.Errorf("reply JSON is %d bytes, limit %d", len(js), maxReplyBytes)
	}
}

// checkInert asserts no raw markup from hostile text survived: every '<' must
// open one of our own links and there is no special mention.
func checkInert(t *testing.T, r reply) {
	t.Helper()
	all := flattenBlocks(t, r.Blocks) + r.Text
	for _, bad := range []string{"<script>", "<!channel>", "<!here>", "<@U", "<javascript:"} {
		if strings.Contains(all, bad) {
			t.Errorf("reply contains %q:\n%s", bad, all)
		}
	}
	for i := 0; i < len(all); i++ {
		if all[i] == '<' && !strings.HasPrefix(all[i:], "<https://") && !strings.HasPrefix(all[i:], "<http://") {
			t.Errorf("stray '<' at %d: %q", i, all[i:min(len(all), i+40)])
		}
	}
}

const hostile = `<script>alert(1)</script> & <!channel> <@U123|x> *bold* <https://evil.example|click>`

func manyBuilds(n int, text string) []devops.Build {
	bs := make([]devops.Build, n)
	for i := range bs {
		b := &bs[i]
		b.ID = 1000 + i
		b.BuildNumber = fmt.Sprintf("20250310.%d %s", i, text)
		b.Status = "completed"
		b.Result = []string{"succeeded", "failed", "partiallySucceeded", "canceled"}[i%4]
		b.QueueTime = testNow.Add(-time.Duration(i+1) * time.Hour)
		b.StartTime = b.QueueTime.Add(time.Minute)
		b.FinishTime = b.StartTime.Add(3*time.Minute + 20*time.Second)
		b.SourceBranch = "refs/heads/feature/" + text
		b.Definition.Name = "CI " + text
		b.RequestedFor.DisplayName = "Person " + text
		b.Links.Web.Href = fmt.Sprintf("https://dev.azure.com/contoso/Web/_build/results?buildId=%d", b.ID)
	}
	return bs
}

func TestRenderBuilds50WithinLimits(t *testing.T) {
	for _, text := range []string{"x", hostile, strings.Repeat("&<>", 400)} {
		r := renderBuilds(testNow, "contoso", "Web", Command{Name: "builds", Top: 50}, manyBuilds(50, text))
		checkLimits(t, r)
		checkInert(t, r)
		all := flattenBlocks(t, r.Blocks)
		if !strings.Contains(all, "contoso / Web · showing ") || !strings.Contains(all, " of 50") {
			t.Errorf("footer missing:\n%s", all)
		}
	}
}

func TestRenderBuildsTruncatesBigItems(t *testing.T) {
	// Each line near the per-field clips: the 20 KB budget must cut items and say so.
	text := strings.Repeat("é&", 150)
	r := renderBuilds(testNow, "contoso", "Web", Command{Name: "builds", Top: 50}, manyBuilds(50, text))
	checkLimits(t, r)
	all := flattenBlocks(t, r.Blocks)
	if strings.Contains(all, "showing 50 of 50") || !strings.Contains(all, " of 50") {
		t.Errorf("expected a truncated list saying showing N of 50:\n%s", all[len(all)-200:])
	}
}

func TestRenderBuildLine(t *testing.T) {
	bs := manyBuilds(1, "x")
	bs[0].BuildNumber = ""
	bs[0].Links.Web.Href = ""
	line := buildLine(testNow, &bs[0])
	for _, want := range []string{"✅", "*1000*", "CI x", "feature/x", "requested for Person x", "59m ago", "took 3m 20s"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "refs/heads") {
		t.Errorf("branch keeps refs/heads: %q", line)
	}
	for status, emoji := range map[[2]string]string{
		{"completed", "failed"}: "❌", {"completed", "partiallySucceeded"}: "⚠️", {"completed", "canceled"}: "🚫",
		{"inProgress", ""}: "⏳", {"notStarted", ""}: "🕒",
	} {
		b := devops.Build{Status: status[0], Result: status[1]}
		if got := buildEmoji(&b); got != emoji {
			t.Errorf("emoji(%v) = %s, want %s", status, got, emoji)
		}
	}
}

func TestRenderHostileEverywhere(t *testing.T) {
	links := testLinks()
	wi := []devops.WorkItem{{ID: 7, Title: hostile, Type: hostile, State: hostile, Project: "Web <1>", ChangedDate: testNow.Add(-time.Hour)}}
	ps := []devops.Project{{Name: hostile, Description: hostile, LastUpdateTime: testNow.Add(-72 * time.Hour)}}
	rs := []devops.Repository{{Name: hostile, DefaultBranch: "refs/heads/" + hostile, Size: 3 << 20}}
	pr := devops.PullRequest{PullRequestID: 9, Title: hostile, SourceRefName: "refs/heads/a>b", TargetRefName: "refs/heads/main",
		CreationDate: testNow.Add(-2 * time.Hour), Reviewers: []devops.Reviewer{{IdentityRef: devops.IdentityRef{ID: "ME"}, Vote: -5}}}
	pr.CreatedBy.DisplayName = hostile
	pr.Repository.Name = hostile
	pr.Repository.Project.Name = "Web"
	replies := map[string]reply{
		"workitems": renderWorkItems(testNow, links, "contoso", "", wi, 3),
		"projects":  renderProjects(testNow, links, "contoso", 50, ps),
		"repos":     renderRepos(links, "contoso", "Web", 50, rs),
		"prs":       renderPRs(testNow, links, "contoso", "Web", false, "me", 50, []devops.PullRequest{pr}),
		"prs mine":  renderPRs(testNow, links, "contoso", "", true, "me", 50, []devops.PullRequest{pr}),
		"builds":    renderBuilds(testNow, hostile, hostile, Command{Name: "builds"}, manyBuilds(3, hostile)),
	}
	for name, r := range replies {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, r)
			checkInert(t, r)
			if all := flattenBlocks(t, r.Blocks); !strings.Contains(all, "&lt;script&gt;") {
				t.Errorf("hostile text not shown escaped:\n%s", all)
			}
		})
	}
	prText := flattenBlocks(t, replies["prs"].Blocks)
	for _, want := range []string{"your vote: waiting for author", "a&gt;b → main", "/contoso/Web/_git/", "/pullrequest/9", "showing 1 of 1"} {
		if !strings.Contains(prText, want) {
			t.Errorf("prs lacks %q:\n%s", want, prText)
		}
	}
	if !strings.Contains(flattenBlocks(t, replies["prs mine"].Blocks), "1 waiting for author") {
		t.Errorf("prs --mine lacks the vote summary")
	}
	if wiText := flattenBlocks(t, replies["workitems"].Blocks); !strings.Contains(wiText, "showing 1 of 3") || !strings.Contains(wiText, "/_workitems/edit/7") {
		t.Errorf("workitems footer/link wrong:\n%s", wiText)
	}
	if rText := flattenBlocks(t, replies["repos"].Blocks); !strings.Contains(rText, "3.0 MB") {
		t.Errorf("repos lacks human size:\n%s", rText)
	}
}

func TestLinkEscaping(t *testing.T) {
	tests := []struct{ url, label, want string }{
		{"https://x.example/a|b>c<d&e f", "A <b> & c", "<https://x.example/a%7Cb%3Ec%3Cd&amp;e%20f|A &lt;b&gt; &amp; c>"},
		{"javascript:alert(1)", "<x>", "&lt;x&gt;"},
		{"", "plain & simple", "plain &amp; simple"},
	}
	for _, tc := range tests {
		if got := link(tc.url, tc.label); got != tc.want {
			t.Errorf("link(%q, %q) = %q, want %q", tc.url, tc.label, got, tc.want)
		}
	}
}

func TestCapText(t *testing.T) {
	long := strings.Repeat("a&amp;", 1000) + strings.Repeat("é", 2000)
	got := capText(long)
	if n := len(got); n > maxSectionText {
		t.Fatalf("capText left %d bytes", n)
	}
	if !utf8.ValidString(got) {
		t.Fatal("capText cut a rune")
	}
	if i := strings.LastIndexByte(got, '&'); i >= 0 && !strings.HasPrefix(got[i:], "&amp;") {
		t.Fatalf("capText cut an entity: %q", got[i:])
	}
}

func TestHumanHelpers(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 812: "812 B", 12_595: "12.3 KB", 3 << 20: "3.0 MB", 5 << 30: "5.0 GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 200 * time.Second: "3m 20s", 125 * time.Minute: "2h 5m"} {
		if got := dur(d); got != want {
			t.Errorf("dur(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", 5 * time.Minute: "5m ago", 3 * time.Hour: "3h ago", 72 * time.Hour: "3d ago"} {
		if got := ago(testNow, testNow.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

func BenchmarkRenderBuilds50(b *testing.B) {
	builds := manyBuilds(50, "feature & <stuff>")
	cmd := Command{Name: "builds", Top: 50}
	b.ReportAllocs()
	for b.Loop() {
		r := renderBuilds(testNow, "contoso", "Web", cmd, builds)
		if len(r.Blocks) == 0 {
			b.Fatal("no blocks")
		}
	}
}

// The default reply: 10 builds, well inside every limit.
func BenchmarkRenderBuilds10(b *testing.B) {
	builds := manyBuilds(10, "feature & <stuff>")
	cmd := Command{Name: "builds", Top: 10}
	b.ReportAllocs()
	for b.Loop() {
		r := renderBuilds(testNow, "contoso", "Web", cmd, builds)
		if len(r.Blocks) == 0 {
			b.Fatal("no blocks")
		}
	}
}
