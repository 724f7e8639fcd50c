package blocktext

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	blocks := `[
	 {"type":"header","text":{"type":"plain_text","text":"Builds"}},
	 {"type":"section","text":{"type":"mrkdwn","text":"✅ <https://x/b?id=1|20240101.1> &lt;script&gt; &amp; co"}},
	 {"type":"context","elements":[{"type":"mrkdwn","text":"contoso / Mobile App · showing 1 of 3"}]},
	 {"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Connect Azure DevOps"},"url":"http://127.0.0.1/oauth/start?state=abc"}]},
	 {"type":"divider"}]`
	got := Render("fallback", []byte(blocks))
	for _, want := range []string{
		"Builds\n======",
		"✅ 20240101.1 (https://x/b?id=1) <script> & co",
		"contoso / Mobile App · showing 1 of 3",
		"[Connect Azure DevOps] http://127.0.0.1/oauth/start?state=abc",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if Render("plain &amp; <https://a|b>", nil) != "plain & b (https://a)" {
		t.Errorf("text fallback: %q", Render("plain &amp; <https://a|b>", nil))
	}
}

func FuzzRender(f *testing.F) {
	f.Add("t", `[{"type":"section","text":{"type":"mrkdwn","text":"<a|b>"}}]`)
	f.Add("<<|>>", `[{"type":"actions","elements":[1,"x",{"type":"button"}]}]`)
	f.Fuzz(func(t *testing.T, text, blocks string) {
		_ = Render(text, []byte(blocks))
	})
}

func TestFlatten(t *testing.T) {
	got := Flatten("top", []byte(`[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Go"},"url":"https://u","action_id":"unlink","value":"v"}]}]`))
	for _, want := range []string{"top", "\nGo", "\nhttps://u", "\nunlink", "\nv"} {
		if !strings.Contains(got, want) {
			t.Errorf("Flatten lacks %q: %q", want, got)
		}
	}
	if Flatten("only", []byte("not json")) != "only" {
		t.Error("bad blocks must leave the text alone")
	}
}
