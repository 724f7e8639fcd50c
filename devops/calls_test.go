package devops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProfile(t *testing.T) {
	rec := newRecorder(t, jsonAnswer(fixture(t, "GET__profile_profiles_me.json")))
	p, err := newTestClient(rec.URL).For(newTS()).Profile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Profile{ID: "d6245f20-2af8-44f4-9451-8107cb2767db", DisplayName: "Normal Paulk",
		EmailAddress: "fabrikamfiber16@hotmail.com", PublicAlias: "d6245f20-2af8-44f4-9451-8107cb2767db"}
	if *p != want {
		t.Errorf("profile = %+v", *p)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/vssps/_apis/profile/profiles/me" {
		t.Fatalf("requests = %+v", reqs)
	}
	checkCommon(t, reqs[0], testToken)
}

func TestOrganizations(t *testing.T) {
	rec := newRecorder(t, jsonAnswer(fixture(t, "GET__Accounts_memberId-_userId_.json")))
	uc := newTestClient(rec.URL).For(newTS())
	accts, err := uc.Organizations(context.Background(), "d6245f20-2af8-44f4-9451-8107cb2767db")
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 2 || accts[0].AccountName != "Fabrikam-Fiber-Inc" || accts[1].AccountID != "bf83696f-383b-4980-95b5-1f1127640a8a" ||
		accts[1].AccountURI != "https://vssps.dev.azure.com/NormalPaulk/" {
		t.Errorf("accounts = %+v", accts)
	}
	s := rec.requests()[0]
	if s.Path != "/vssps/_apis/accounts" || s.Query["memberId"][0] != "d6245f20-2af8-44f4-9451-8107cb2767db" {
		t.Errorf("request = %s %v", s.Path, s.Query)
	}
	checkCommon(t, s, testToken)
	if _, err := uc.Organizations(context.Background(), " "); !isValidation(err) {
		t.Errorf("empty member id: %v", err)
	}
}

func isValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

func TestProjectsFixture(t *testing.T) {
	rec := newRecorder(t, jsonAnswer(fixture(t, "GET__projects.json")))
	ps, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0].Name != "Fabrikam-Fiber-TFVC" || ps[0].Description != "Team Foundation Version Control projects." ||
		ps[2].Name != "TestGit" || ps[2].State != "wellFormed" || ps[1].ID != "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c" {
		t.Errorf("projects = %+v", ps)
	}
	s := rec.requests()[0]
	if s.Method != "GET" || s.Path != "/fabrikam/_apis/projects" || len(s.Query) != 1 {
		t.Errorf("request = %s %s %v", s.Method, s.Path, s.Query)
	}
	checkCommon(t, s, testToken)
}

func TestProjectsPaging(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("continuationToken")
		page := map[string]int{"": 0, "ct-1": 1, "ct-2": 2}[tok]
		if page < 2 {
			w.Header().Set("x-ms-continuationtoken", fmt.Sprintf("ct-%d", page+1))
		}
		fmt.Fprintf(w, `{"count":2,"value":[{"name":"p%d-a"},{"name":"p%d-b"}]}`, page, page)
	})
	ps, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "org")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if want := []string{"p0-a", "p0-b", "p1-a", "p1-b", "p2-a", "p2-b"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v", names)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, want := range []string{"", "ct-1", "ct-2"} {
		if got := reqs[i].Query["continuationToken"]; (want == "" && got != nil) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("page %d continuationToken = %v", i, got)
		}
	}
}

func TestProjectsPagingStopsOnRepeatedToken(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ms-continuationtoken", "same")
		fmt.Fprint(w, `{"value":[{"name":"x"}]}`)
	})
	ps, err := newTestClient(rec.URL).For(newTS()).Projects(context.Background(), "org")
	if err != nil || len(ps) != 2 || len(rec.requests()) != 2 {
		t.Fatalf("ps=%d err=%v requests=%d", len(ps), err, len(rec.requests()))
	}
}

func TestBuilds(t *testing.T) {
	rec := newRecorder(t, jsonAnswer(testdata(t, "builds.json")))
	uc := newTestClient(rec.URL).For(newTS())
	bs, err := uc.Builds(context.Background(), "fabrikam", "Mobile App", BuildListOptions{Top: 50, Branch: "main", DefinitionIDs: []int{1, 7}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 50 {
		t.Fatalf("%d builds", len(bs))
	}
	b := bs[0]
	if b.ID != 2450 || b.Status != "inProgress" || b.Result != "" || !b.FinishTime.IsZero() || b.QueueTime.IsZero() ||
		b.Definition.ID != 1 || b.Definition.Name != "Fabrikam-Fiber-CI" || b.RequestedFor.DisplayName != "Normal Paulk" ||
		b.Project.Name != "Fabrikam-Fiber-Git" || b.SourceBranch != "refs/heads/main" ||
		!strings.HasSuffix(b.Links.Web.Href, "/_build/results?buildId=2450") {
		t.Errorf("build[0] = %+v", b)
	}
	if b := bs[4]; b.Status != "completed" || b.Result != "canceled" || b.FinishTime.Before(b.StartTime) || b.RequestedBy.UniqueName == "" {
		t.Errorf("build[4] = %+v", b)
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].QueueTime.After(bs[i-1].QueueTime) {
			t.Fatalf("fixture not newest first at %d", i)
		}
	}
	s := rec.requests()[0]
	if s.Method != "GET" || s.Path != "/fabrikam/Mobile%20App/_apis/build/builds" {
		t.Errorf("path = %s", s.Path)
	}
	wantQ := map[string][]string{"api-version": {"7.1"}, "$top": {"50"}, "queryOrder": {"queueTimeDescending"},
		"branchName": {"refs/heads/main"}, "definitions": {"1,7"}}
	if !reflect.DeepEqual(s.Query, wantQ) {
		t.Errorf("query = %v", s.Query)
	}
	checkCommon(t, s, testToken)

	if _, err := uc.Builds(context.Background(), "fabrikam", "P", BuildListOptions{ResultFilter: "failed", StatusFilter: "completed", Branch: "refs/pull/1/merge"}); err != nil {
		t.Fatal(err)
	}
	s = rec.requests()[1]
	wantQ = map[string][]string{"api-version": {"7.1"}, "$top": {"10"}, "queryOrder": {"finishTimeDescending"},
		"branchName": {"refs/pull/1/merge"}, "resultFilter": {"failed"}, "statusFilter": {"completed"}}
	if !reflect.DeepEqual(s.Query, wantQ) {
		t.Errorf("query = %v", s.Query)
	}
	for _, opt := range []BuildListOptions{{ResultFilter: "failed' OR 1=1"}, {StatusFilter: "x"}, {DefinitionIDs: []int{0}}} {
		if _, err := uc.Builds(context.Background(), "fabrikam", "P", opt); !isValidation(err) {
			t.Errorf("%+v: err = %v", opt, err)
		}
	}
	if n := len(rec.requests()); n != 2 {
		t.Errorf("invalid options reached the server: %d requests", n)
	}
}

func TestRepositoriesAndPullRequests(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/repositories") {
			fmt.Fprint(w, `{"count":1,"value":[{"id":"278d5cd2-584d-4b63-824a-2ba458937249","name":"Fabrikam Web","defaultBranch":"refs/heads/main","size":1024,"webUrl":"https://x/_git/Fabrikam%20Web","project":{"name":"Mobile App"}}]}`)
			return
		}
		fmt.Fprint(w, `{"count":1,"value":[{"pullRequestId":118,"title":"Login page","status":"active","isDraft":true,
		 "createdBy":{"id":"a","displayName":"Chuck"},"creationDate":"2024-05-20T10:00:00Z","sourceRefName":"refs/heads/login",
		 "targetRefName":"refs/heads/main","reviewers":[{"id":"d6245f20-2af8-44f4-9451-8107cb2767db","displayName":"Normal Paulk","vote":-5,"isRequired":true}],
		 "repository":{"id":"r","name":"Fabrikam Web","project":{"name":"Mobile App"}}}]}`)
	})
	uc := newTestClient(rec.URL).For(newTS())
	repos, err := uc.Repositories(context.Background(), "fabrikam", "Mobile App")
	if err != nil || len(repos) != 1 || repos[0].Name != "Fabrikam Web" || repos[0].Size != 1024 || repos[0].Project.Name != "Mobile App" {
		t.Fatalf("repos = %+v, %v", repos, err)
	}
	const me = "d6245f20-2af8-44f4-9451-8107cb2767db"
	prs, err := uc.PullRequests(context.Background(), "fabrikam", "Mobile App", PullRequestCriteria{ReviewerID: me, Top: 20})
	if err != nil || len(prs) != 1 {
		t.Fatalf("prs = %+v, %v", prs, err)
	}
	pr := prs[0]
	if pr.PullRequestID != 118 || !pr.IsDraft || pr.Reviewers[0].Vote != -5 || !pr.Reviewers[0].IsRequired ||
		pr.Reviewers[0].DisplayName != "Normal Paulk" || pr.Repository.Project.Name != "Mobile App" || pr.CreationDate.IsZero() {
		t.Errorf("pr = %+v", pr)
	}
	if _, err := uc.PullRequests(context.Background(), "fabrikam", "", PullRequestCriteria{CreatorID: me}); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if reqs[0].Path != "/fabrikam/Mobile%20App/_apis/git/repositories" {
		t.Errorf("repos path = %s", reqs[0].Path)
	}
	if reqs[1].Path != "/fabrikam/Mobile%20App/_apis/git/pullrequests" || !reflect.DeepEqual(reqs[1].Query, map[string][]string{
		"api-version": {"7.1"}, "searchCriteria.status": {"active"}, "searchCriteria.reviewerId": {me}, "$top": {"20"}}) {
		t.Errorf("prs request = %s %v", reqs[1].Path, reqs[1].Query)
	}
	if reqs[2].Path != "/fabrikam/_apis/git/pullrequests" || !reflect.DeepEqual(reqs[2].Query, map[string][]string{
		"api-version": {"7.1"}, "searchCriteria.status": {"active"}, "searchCriteria.creatorId": {me}, "$top": {"10"}}) {
		t.Errorf("org prs request = %s %v", reqs[2].Path, reqs[2].Query)
	}
	for _, r := range reqs {
		checkCommon(t, r, testToken)
	}
	for _, c := range []PullRequestCriteria{{}, {ReviewerID: me, CreatorID: me}, {ReviewerID: "x&y=1"}} {
		if _, err := uc.PullRequests(context.Background(), "fabrikam", "", c); !isValidation(err) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestMyWorkItemsFixtures(t *testing.T) {
	wiql, batch := fixture(t, "GET__wit_get_id_workitems.json"), fixture(t, "POST__wit_WorkItemsBatch_ids-_ids__fields-_columns_.json")
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/wiql") {
			_, _ = w.Write(wiql)
			return
		}
		_, _ = w.Write(batch)
	})
	uc := newTestClient(rec.URL).For(newTS())
	items, total, err := uc.MyWorkItems(context.Background(), "fabrikam", "Mobile App", WorkItemOptions{Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	if total != 9 {
		t.Errorf("total = %d", total)
	}
	// WIQL order is 300, 299, ...; the batch answers 297, 299, 300.
	if len(items) != 2 || items[0].ID != 300 || items[0].Title != "Unit Testing for MSA login" || items[0].Type != "Task" ||
		items[1].ID != 299 || items[1].Title != "JavaScript implementation for Microsoft Account" {
		t.Errorf("items = %+v", items)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	q := reqs[0]
	if q.Method != "POST" || q.Path != "/fabrikam/Mobile%20App/_apis/wit/wiql" || q.Query["$top"][0] != "1000" ||
		q.Header.Get("Content-Type") != "application/json" {
		t.Errorf("wiql request = %s %s %v", q.Method, q.Path, q.Query)
	}
	var body struct{ Query string }
	if err := json.Unmarshal(q.Body, &body); err != nil {
		t.Fatal(err)
	}
	const wantWIQL = "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @Me AND [System.State] NOT IN ('Closed', 'Done', 'Removed') AND [System.TeamProject] = @project ORDER BY [System.ChangedDate] DESC"
	if body.Query != wantWIQL {
		t.Errorf("wiql = %q", body.Query)
	}
	b := reqs[1]
	if b.Method != "POST" || b.Path != "/fabrikam/_apis/wit/workitemsbatch" {
		t.Errorf("batch request = %s %s", b.Method, b.Path)
	}
	var br batchRequest
	if err := json.Unmarshal(b.Body, &br); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(br.IDs, []int{300, 299}) || !reflect.DeepEqual(br.Fields, batchFields()) || br.ErrorPolicy != "omit" {
		t.Errorf("batch body = %s", b.Body)
	}
	for _, r := range reqs {
		checkCommon(t, r, testToken)
	}

	// Without a project: organization-wide URL, no @project clause.
	if _, _, err := uc.MyWorkItems(context.Background(), "fabrikam", "", WorkItemOptions{}); err != nil {
		t.Fatal(err)
	}
	q = rec.requests()[2]
	_ = json.Unmarshal(q.Body, &body)
	if q.Path != "/fabrikam/_apis/wit/wiql" || strings.Contains(body.Query, "TeamProject") {
		t.Errorf("org-wide wiql = %s %q", q.Path, body.Query)
	}
}

func TestWIQLBuilder(t *testing.T) {
	var w wiql
	w.raw("x = ").str("it's ''quoted'")
	if s, err := w.String(); err != nil || s != "x = 'it''s ''''quoted'''" {
		t.Errorf("%q %v", s, err)
	}
	var bad wiql
	bad.field("System.Title] = '' OR [System.Id")
	if _, err := bad.String(); !isValidation(err) {
		t.Errorf("field outside the allow-list accepted: %v", err)
	}
}

func TestIdentityFieldShapes(t *testing.T) {
	for in, want := range map[string]string{
		`{"displayName":"Normal Paulk","uniqueName":"x@y"}`: "Normal Paulk",
		`"Normal Paulk <fabrikamfiber16@hotmail.com>"`:      "Normal Paulk",
		`"Just Name"`: "Just Name",
		`null`:        "",
	} {
		var f identityField
		if err := json.Unmarshal([]byte(in), &f); err != nil || string(f) != want {
			t.Errorf("%s -> %q %v", in, f, err)
		}
	}
}

// 450 ids: three batch requests (200, 200, 50), answered out of order and late,
// results still in WIQL order; never more than batchConcurrency in flight.
func TestMyWorkItems450(t *testing.T) {
	ids := rand.Perm(450)
	for i := range ids {
		ids[i] += 1000
	}
	var inFlight, maxInFlight atomic.Int32
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/wiql") {
			var sb strings.Builder
			sb.WriteString(`{"queryType":"flat","workItems":[`)
			for i, id := range ids {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"id":%d,"url":"https://x/%d"}`, id, id)
			}
			sb.WriteString("]}")
			_, _ = w.Write([]byte(sb.String()))
			return
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		var br batchRequest
		_ = json.Unmarshal(readBody(r), &br)
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		rand.Shuffle(len(br.IDs), func(i, j int) { br.IDs[i], br.IDs[j] = br.IDs[j], br.IDs[i] })
		var sb strings.Builder
		fmt.Fprintf(&sb, `{"count":%d,"value":[`, len(br.IDs))
		for i, id := range br.IDs {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"id":%d,"rev":1,"fields":{"System.Id":%d,"System.Title":"item %d","System.State":"Active","System.ChangedDate":"2024-05-20T10:00:00.1Z","System.AssignedTo":{"displayName":"Me"}}}`, id, id, id)
		}
		sb.WriteString("]}")
		_, _ = w.Write([]byte(sb.String()))
	})
	items, total, err := newTestClient(rec.URL).For(newTS()).MyWorkItems(context.Background(), "org", "", WorkItemOptions{Top: 450})
	if err != nil {
		t.Fatal(err)
	}
	if total != 450 || len(items) != 450 {
		t.Fatalf("total=%d items=%d", total, len(items))
	}
	for i, it := range items {
		if it.ID != ids[i] || it.Title != "item "+strconv.Itoa(ids[i]) || it.AssignedTo != "Me" || it.ChangedDate.IsZero() {
			t.Fatalf("item %d = %+v, want id %d", i, it, ids[i])
		}
	}
	var sizes []int
	var got []int
	for _, r := range rec.requests()[1:] {
		var br batchRequest
		_ = json.Unmarshal(r.Body, &br)
		sizes = append(sizes, len(br.IDs))
		got = append(got, br.IDs...)
	}
	if len(sizes) != 3 || sizes[0]+sizes[1]+sizes[2] != 450 || max(sizes[0], sizes[1], sizes[2]) != 200 {
		t.Errorf("batch sizes = %v", sizes)
	}
	if len(got) != 450 {
		t.Errorf("batched %d ids", len(got))
	}
	if m := maxInFlight.Load(); m > batchConcurrency {
		t.Errorf("%d batches in flight", m)
	}
}

func readBody(r *http.Request) []byte {
	b := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			return b
		}
	}
}

func TestWebURLs(t *testing.T) {
	c := NewClient(Config{APIURL: "https://dev.azure.com/"})
	for got, want := range map[string]string{
		c.ProjectURL("fabrikam", "Mobile App"):                   "https://dev.azure.com/fabrikam/Mobile%20App",
		c.WorkItemURL("fabrikam", "Mobile App", 42):              "https://dev.azure.com/fabrikam/Mobile%20App/_workitems/edit/42",
		c.RepoURL("fabrikam", "P", "web/app?x#y"):                "https://dev.azure.com/fabrikam/P/_git/web%2Fapp%3Fx%23y",
		c.PullRequestURL("fabrikam", "Mobile App", "Web App", 7): "https://dev.azure.com/fabrikam/Mobile%20App/_git/Web%20App/pullrequest/7",
		c.RepoURL("fabrikam", "../..", ".."):                     "https://dev.azure.com/fabrikam/..%2F../_git/..",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	// A base with a path prefix (Azure DevOps Server collection URL) keeps it.
	s := NewClient(Config{APIURL: "https://tfs.example.com/tfs/"})
	if got := s.ProjectURL("Default", "A B"); got != "https://tfs.example.com/tfs/Default/A%20B" {
		t.Errorf("prefix base: %s", got)
	}
}

func TestValidateNames(t *testing.T) {
	orgs := map[string]bool{
		"fabrikam": true, "Fabrikam-Fiber-Inc": true, "a": true, "a1-b2": true, strings.Repeat("a", 50): true,
		"": false, "-a": false, "a-": false, "a b": false, "a_b": false, "a.b": false, "ä": false,
		strings.Repeat("a", 51): false, "../x": false, "a/b": false, "a%2Fb": false,
	}
	for in, ok := range orgs {
		if err := ValidateOrg(in); (err == nil) != ok {
			t.Errorf("ValidateOrg(%q) = %v", in, err)
		} else if err != nil && !isValidation(err) {
			t.Errorf("ValidateOrg(%q) type %T", in, err)
		}
	}
	projects := map[string]bool{
		"Mobile App": true, "Fabrikam-Fiber-Git": true, "Ünïcode 项目": true, "a.b": true, "a_b": true, "web.app": true,
		strings.Repeat("x", 64): true, strings.Repeat("项", 64): true,
		strings.Repeat("x", 65): false, strings.Repeat("😀", 33): false, // 66 UTF-16 units
		"": false, " ": false, "_x": false, ".x": false, "x.": false, "..": false, ".": false, "_": false,
		"../../x": false, "a/b": false, `a\b`: false, "a:b": false, "a*b": false, "a?b": false, `a"b`: false,
		"a'b": false, "a<b": false, "a>b": false, "a;b": false, "a#b": false, "a$b": false, "a{b": false, "a}b": false,
		"a,b": false, "a+b": false, "a=b": false, "a[b": false, "a]b": false, "a|b": false, "a%b": false, "a&b": false,
		"a~b": false, "a@b": false, "a\x00b": false, "a\nb": false, "a\x7fb": false, "a\u0085b": false, "\xff": false,
		"CON": false, "prn": false, "Com1": false, "LPT9": false, "App_Browsers": false, "app_data": false,
		"bin": false, "Web": false, "web.config": false, "DefaultCollection": false, "SignalR": false, "COM10": false,
	}
	for in, ok := range projects {
		if err := ValidateProject(in); (err == nil) != ok {
			t.Errorf("ValidateProject(%q) = %v", in, err)
		}
	}
}

// Invalid names never reach the server.
func TestValidationBeforeAnyCall(t *testing.T) {
	rec := newRecorder(t, jsonAnswer([]byte(`{"value":[]}`)))
	uc := newTestClient(rec.URL).For(newTS())
	ctx := context.Background()
	calls := []func() error{
		func() error { _, err := uc.Builds(ctx, "org", "../../x", BuildListOptions{}); return err },
		func() error { _, err := uc.Builds(ctx, "../x", "p", BuildListOptions{}); return err },
		func() error { _, err := uc.Repositories(ctx, "org", "a/b"); return err },
		func() error { _, err := uc.Projects(ctx, "org/x"); return err },
		func() error { _, _, err := uc.MyWorkItems(ctx, "org", "p?x=1", WorkItemOptions{}); return err },
		func() error {
			_, err := uc.PullRequests(ctx, "org", "_p", PullRequestCriteria{ReviewerID: "x"})
			return err
		},
	}
	for i, f := range calls {
		if err := f(); !isValidation(err) {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}
