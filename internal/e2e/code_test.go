package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/fakeado"
)

// Issue 8: projects, repositories and pull requests, and the missing-scope path.
func TestProjectsReposPullRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := time.Now()
	e.ado.AddRepo("contoso", "Mobile App", fakeado.Repo{Name: "mobile <ios>", DefaultBranch: "refs/heads/develop", Size: 3 << 20})
	e.ado.AddPullRequest("contoso", "Mobile App", fakeado.PullRequest{ID: 4242, Repo: "mobile <ios>", Title: "Review me & <now>",
		CreatedBy: "someone-else", CreationDate: now.Add(-2 * time.Hour), SourceBranch: "refs/heads/feature/x",
		Reviewers: []fakeado.Reviewer{{ID: e.user.ID, Vote: -5}}})
	e.ado.AddPullRequest("contoso", "Mobile App", fakeado.PullRequest{ID: 4243, Repo: "mobile <ios>", Title: "My own change",
		CreatedBy: e.user.ID, CreationDate: now.Add(-time.Hour), SourceBranch: "refs/heads/feature/mine"})
	e.link()

	r := e.send("projects")
	mustContain(t, "projects", r.All, "Mobile App", "Platform", "/contoso/Mobile%20App")

	r = e.send(`repos "Mobile App"`)
	mustContain(t, "repos", r.All, "mobile &lt;ios&gt;", "develop", "/contoso/Mobile%20App/_git/mobile%20%3Cios%3E")

	e.ado.ResetCounters()
	r = e.send(`prs "Mobile App"`)
	mustContain(t, "prs", r.All, "Review me &amp; &lt;now&gt;", "feature/x", "waiting for author",
		"/contoso/Mobile%20App/_git/mobile%20%3Cios%3E/pullrequest/4242")
	if strings.Contains(r.All, "My own change") {
		t.Errorf("prs (reviewer) listed the person's own PR")
	}
	if n := e.ado.APICalls(); n > 2 {
		t.Errorf("/ado prs made %d Azure DevOps calls, want at most 2", n)
	}

	r = e.send(`prs "Mobile App" --mine`)
	mustContain(t, "prs --mine", r.All, "My own change")
	if strings.Contains(r.All, "Review me") {
		t.Errorf("prs --mine listed someone else's PR")
	}

	r = e.send("prs")
	mustContain(t, "prs across the org", r.All, "Review me")

	r = e.send(`repos "No Such Project"`)
	mustContain(t, "unknown project", r.All, "No Such Project", "contoso")
}

func TestMissingScopeAsksToLinkAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ado.SetGrantScopes([]string{"vso.build", "vso.work", "vso.project", "vso.profile"}) // no vso.code
	e.link()
	before := e.ado.Refreshes()

	r := e.send("prs")
	mustContain(t, "prs without vso.code", r.All, "vso.code", "Connect Azure DevOps")
	if n := e.ado.Refreshes() - before; n != 0 {
		t.Errorf("a missing scope caused %d refreshes", n)
	}
	r = e.send(`builds "Mobile App"`)
	mustContain(t, "builds still work", r.All, "Mobile App")
	if strings.Contains(r.All, "Connect Azure DevOps") {
		t.Errorf("builds asked to relink: %s", r.All)
	}
	r = e.send("status")
	mustContain(t, "status unchanged", r.All, "Normal Paulk")
}

// The record says vso.code was granted, but the token Azure DevOps sees lacks it (a
// refresh came back narrower): the 401 that names the scope becomes the relink prompt
// after a single refresh, and builds keep working.
func TestScopeRejectedByAzureDevOps(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.link()
	e.ado.SetGrantScopes([]string{"vso.build", "vso.work", "vso.project", "vso.profile"})
	e.ado.RejectAccessTokens(e.user.ID) // the next call refreshes and gets the narrower token
	before := e.ado.Refreshes()

	r := e.send(`prs "Mobile App"`)
	mustContain(t, "prs with a narrowed token", r.All, "vso.code", "Connect Azure DevOps")
	if n := e.ado.Refreshes() - before; n != 1 {
		t.Errorf("%d refreshes, want 1 (the rejected token), none for the missing scope", n)
	}
	r = e.send(`builds "Mobile App"`)
	mustContain(t, "builds still work", r.All, "Mobile App")
	if strings.Contains(r.All, "Connect Azure DevOps") {
		t.Errorf("builds asked to relink: %s", r.All)
	}
}
