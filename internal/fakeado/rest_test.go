package fakeado

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAPIVersionAndRoutes(t *testing.T) {
	s := seeded(t)
	at, _ := entraLogin(t, s)
	base := s.APIURL()
	tests := []struct {
		name, method, url string
		want              int
		wantTypeKey       string
	}{
		{"no version", "GET", base + "/contoso/_apis/projects?api-version=", 400, "VssVersionNotSpecifiedException"},
		{"old version", "GET", base + "/contoso/_apis/projects?api-version=6.0", 400, "VssVersionOutOfRangeException"},
		{"preview ok", "GET", base + "/contoso/_apis/projects?api-version=7.1-preview.4", 200, ""},
		{"unknown org", "GET", base + "/nosuchorg/_apis/projects", 404, "AccountNotFoundException"},
		{"unknown project", "GET", base + "/contoso/Nope%20Project/_apis/build/builds", 404, "ProjectDoesNotExistWithNameException"},
		{"unknown api", "GET", base + "/contoso/_apis/nothing", 404, "VssResourceNotFoundException"},
		{"builds need project", "GET", base + "/contoso/_apis/build/builds", 404, "VssResourceNotFoundException"},
		{"wrong method", "GET", base + "/contoso/_apis/wit/wiql", 405, "VssMethodNotAllowedException"},
		{"case-insensitive route", "GET", base + "/Contoso/mobile%20app/_APIS/Build/Builds?$top=1", 200, ""},
		{"project by id", "GET", base + "/contoso/" + stableID("project", "contoso", "platform") + "/_apis/build/builds?$top=1", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, tc.url, at, "")
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.wantTypeKey != "" {
				if got := r.json(t)["typeKey"]; got != tc.wantTypeKey {
					t.Errorf("typeKey = %v, want %s", got, tc.wantTypeKey)
				}
			}
		})
	}
	r := call(t, "GET", base+"/contoso/Nope%20Project/_apis/build/builds", at, "")
	want := "TF200016: The following project does not exist: Nope Project. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
	if m := r.json(t); m["message"] != want {
		t.Errorf("TF200016 message = %q", m["message"])
	}
}

func TestNotMemberOfOrg(t *testing.T) {
	s := seeded(t)
	s.AddProject("fabrikam", Project{Name: "Secret"})
	at, _ := entraLogin(t, s)
	r := call(t, "GET", s.APIURL()+"/fabrikam/_apis/projects", at, "")
	if r.status != 401 || strings.Contains(r.json(t)["message"].(string), "scope") {
		t.Errorf("non-member: %d %s", r.status, r.body)
	}
}

func TestProjectsPaging(t *testing.T) {
	s := newServer(t, Options{})
	s.AddUser(User{ID: "u1", DisplayName: "U", Email: "u@x"})
	for i := 0; i < 7; i++ {
		s.AddProject("org1", Project{Name: fmt.Sprintf("P%d", i)})
	}
	at, _ := entraLogin(t, s)
	var names []string
	next := ""
	pages := 0
	for {
		u := s.APIURL() + "/org1/_apis/projects?$top=3"
		if next != "" {
			u += "&continuationToken=" + url.QueryEscape(next)
		}
		r := call(t, "GET", u, at, "")
		if r.status != 200 {
			t.Fatalf("page: %d %s", r.status, r.body)
		}
		m := r.json(t)
		for _, v := range values(t, m) {
			names = append(names, v["name"].(string))
			if v["state"] != "wellFormed" || v["id"] == "" || v["url"] == "" {
				t.Errorf("project shape: %v", v)
			}
		}
		if int(m["count"].(float64)) != len(values(t, m)) {
			t.Errorf("count mismatch")
		}
		pages++
		next = r.header.Get("X-Ms-Continuationtoken")
		if next == "" || pages > 5 {
			break
		}
	}
	if pages != 3 || strings.Join(names, ",") != "P0,P1,P2,P3,P4,P5,P6" {
		t.Errorf("pages=%d names=%v", pages, names)
	}
	r := call(t, "GET", s.APIURL()+"/org1/_apis/projects", at, "")
	if len(values(t, r.json(t))) != 7 || r.header.Get("X-Ms-Continuationtoken") != "" {
		t.Errorf("default page")
	}
	if r := call(t, "GET", s.APIURL()+"/org1/_apis/projects?continuationToken=abc", at, ""); r.status != 400 {
		t.Errorf("bad token: %d", r.status)
	}
}

func TestBuilds(t *testing.T) {
	s := newServer(t, Options{})
	s.AddUser(alice)
	now := time.Now().UTC()
	s.AddProject("contoso", Project{Name: "Mobile App"})
	add := func(id int, status, result, branch string, def int, ago time.Duration) {
		b := Build{ID: id, Status: status, Result: result, SourceBranch: branch, DefinitionID: def, RequestedFor: alice.ID, QueueTime: now.Add(-ago)}
		if status != "notStarted" {
			b.StartTime = b.QueueTime.Add(time.Second)
		}
		if status == "completed" {
			b.FinishTime = b.QueueTime.Add(time.Minute)
		}
		s.AddBuild("contoso", "Mobile App", b)
	}
	add(1, "completed", "succeeded", "main", 1, 5*time.Hour)
	add(2, "completed", "failed", "refs/heads/feature/x", 2, 4*time.Hour)
	add(3, "inProgress", "", "main", 1, 1*time.Hour)
	add(4, "completed", "canceled", "main", 2, 3*time.Hour)
	add(5, "notStarted", "", "main", 1, 10*time.Minute)
	at, _ := entraLogin(t, s)
	list := func(q string) []map[string]any {
		t.Helper()
		r := call(t, "GET", s.APIURL()+"/contoso/Mobile%20App/_apis/build/builds?"+q, at, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		return values(t, r.json(t))
	}
	ids := func(bs []map[string]any) string {
		var out []string
		for _, b := range bs {
			out = append(out, strconv.Itoa(int(b["id"].(float64))))
		}
		return strings.Join(out, ",")
	}
	tests := []struct{ q, want string }{
		{"queryOrder=queueTimeDescending", "5,3,4,2,1"},
		{"queryOrder=queueTimeDescending&$top=2", "5,3"},
		{"queryOrder=finishTimeDescending&statusFilter=completed", "4,2,1"},
		{"statusFilter=inProgress", "3"},
		{"resultFilter=failed", "2"},
		{"resultFilter=failed,canceled", "4,2"},
		{"branchName=refs/heads/main", "5,3,4,1"},
		{"branchName=main", ""}, // exact match, like the real service
		{"definitions=2", "4,2"},
		{"definitions=1&statusFilter=completed", "1"},
	}
	for _, tc := range tests {
		if got := ids(list(tc.q)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.q, got, tc.want)
		}
	}
	for _, bad := range []string{"statusFilter=bogus", "resultFilter=bogus", "queryOrder=bogus", "definitions=x", "$top=-1"} {
		if r := call(t, "GET", s.APIURL()+"/contoso/Mobile%20App/_apis/build/builds?"+bad, at, ""); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}

	// Shape of one build as the devops client reads it.
	b := list("queryOrder=queueTimeDescending")
	inProgress, completed := b[1], b[2]
	if _, ok := inProgress["result"]; ok {
		t.Errorf("in-progress build has a result: %v", inProgress["result"])
	}
	if _, ok := inProgress["finishTime"]; ok {
		t.Errorf("in-progress build has a finishTime")
	}
	if _, ok := b[0]["startTime"]; ok {
		t.Errorf("notStarted build has a startTime")
	}
	web := completed["_links"].(map[string]any)["web"].(map[string]any)["href"]
	if web != s.APIURL()+"/contoso/Mobile%20App/_build/results?buildId=4" {
		t.Errorf("web link = %v", web)
	}
	if completed["sourceBranch"] != "refs/heads/main" || completed["project"].(map[string]any)["name"] != "Mobile App" ||
		completed["requestedFor"].(map[string]any)["displayName"] != alice.DisplayName ||
		completed["definition"].(map[string]any)["id"] != float64(2) {
		t.Errorf("build shape: %v", completed)
	}
	for _, k := range []string{"queueTime", "startTime", "finishTime"} {
		if _, err := time.Parse(time.RFC3339Nano, completed[k].(string)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

func wiql(t *testing.T, s *Server, at, path, query string) apiResult {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	return call(t, "POST", s.APIURL()+path, at, string(body))
}

func TestWIQLAndBatch(t *testing.T) {
	s := newServer(t, Options{})
	s.AddUser(alice)
	s.AddUser(bob)
	now := time.Now().UTC()
	add := func(id int, proj, state, who string, ago time.Duration) {
		s.AddWorkItem("contoso", proj, WorkItem{ID: id, Title: fmt.Sprintf("item %d", id), Type: "Bug", State: state, AssignedTo: who, ChangedDate: now.Add(-ago)})
	}
	add(1, "Mobile App", "Active", alice.ID, 3*time.Hour)
	add(2, "Mobile App", "Closed", alice.ID, 1*time.Hour)
	add(3, "Platform", "New", alice.ID, 1*time.Hour)
	add(4, "Platform", "Done", alice.ID, 2*time.Hour)
	add(5, "Platform", "Removed", alice.ID, 2*time.Hour)
	add(6, "Mobile App", "Active", bob.ID, 1*time.Minute)
	add(7, "Mobile App", "Resolved", alice.ID, 10*time.Minute)
	add(8, "Platform", "Active", "", 10*time.Minute)
	at, _ := entraLogin(t, s)

	const open = "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @Me AND [System.State] NOT IN ('Closed', 'Done', 'Removed')"
	tests := []struct {
		name, path, query string
		want              string
	}{
		{"org, newest first", "/contoso/_apis/wit/wiql", open + " ORDER BY [System.ChangedDate] DESC", "7,3,1"},
		{"project via @project", "/contoso/Mobile%20App/_apis/wit/wiql", open + " AND [System.TeamProject] = @project ORDER BY [System.ChangedDate] DESC", "7,1"},
		{"project literal", "/contoso/_apis/wit/wiql", open + " AND [System.TeamProject] = 'platform' ORDER BY [System.ChangedDate] DESC", "3"},
		{"<> form", "/contoso/_apis/wit/wiql", "Select [System.Id], [System.Title] From WorkItems Where [Assigned To] = @me AND [State] <> 'Closed' AND [State] <> 'Removed' AND [State] <> 'Done' order by [Changed Date] desc", "7,3,1"},
		{"parenthesised", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItems WHERE ([System.AssignedTo] = @Me) AND ([System.State] IN ('Closed','Done')) ORDER BY [System.Id]", "2,4"},
		{"by name", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = 'Bob Example <bob@example.com>'", "6"},
		{"unassigned", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = ''", "8"},
		{"quote doubling", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'O''Brien'", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := wiql(t, s, at, tc.path, tc.query)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			m := r.json(t)
			if m["queryType"] != "flat" {
				t.Errorf("queryType = %v", m["queryType"])
			}
			var got []string
			for _, w := range m["workItems"].([]any) {
				wi := w.(map[string]any)
				got = append(got, strconv.Itoa(int(wi["id"].(float64))))
				if !strings.HasSuffix(wi["url"].(string), "/_apis/wit/workItems/"+got[len(got)-1]) {
					t.Errorf("url = %v", wi["url"])
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
	r := call(t, "POST", s.APIURL()+"/contoso/_apis/wit/wiql?$top=1", at, `{"query":"`+open+` ORDER BY [System.ChangedDate] DESC"}`)
	if n := len(r.json(t)["workItems"].([]any)); n != 1 {
		t.Errorf("$top=1 gave %d", n)
	}

	rejects := []struct{ name, path, query string }{
		{"injected OR", "/contoso/_apis/wit/wiql", open + " AND [System.TeamProject] = 'x' OR 1=1"},
		{"injected quote", "/contoso/_apis/wit/wiql", open + " AND [System.TeamProject] = 'x' OR [System.Id] > 0 --'"},
		{"unbalanced quote", "/contoso/_apis/wit/wiql", open + " AND [System.TeamProject] = 'it's'"},
		{"unknown field", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItems WHERE [Custom.Secret] = 'x'"},
		{"links query", "/contoso/_apis/wit/wiql", "SELECT [System.Id] FROM WorkItemLinks"},
		{"@project without project", "/contoso/_apis/wit/wiql", open + " AND [System.TeamProject] = @project"},
		{"trailing junk", "/contoso/_apis/wit/wiql", open + " ORDER BY [System.Id] DESC; DROP"},
		{"not a query", "/contoso/_apis/wit/wiql", "DELETE FROM WorkItems"},
		{"empty", "/contoso/_apis/wit/wiql", ""},
	}
	for _, tc := range rejects {
		if r := wiql(t, s, at, tc.path, tc.query); r.status != 400 {
			t.Errorf("%s: status %d, want 400: %s", tc.name, r.status, r.body)
		}
	}

	// Batch.
	r = call(t, "POST", s.APIURL()+"/contoso/_apis/wit/workitemsbatch", at,
		`{"ids":[7,1],"fields":["System.Id","System.Title","System.State","System.WorkItemType","System.TeamProject","System.AssignedTo","System.ChangedDate"]}`)
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	items := values(t, r.json(t))
	if len(items) != 2 || items[0]["id"] != float64(7) || items[1]["id"] != float64(1) {
		t.Fatalf("batch order: %v", items)
	}
	f := items[0]["fields"].(map[string]any)
	if f["System.Title"] != "item 7" || f["System.State"] != "Resolved" || f["System.TeamProject"] != "Mobile App" ||
		f["System.AssignedTo"].(map[string]any)["displayName"] != alice.DisplayName || f["System.Reason"] != nil {
		t.Errorf("fields = %v", f)
	}
	if _, err := time.Parse(time.RFC3339Nano, f["System.ChangedDate"].(string)); err != nil {
		t.Error(err)
	}
	ids := make([]int, 201)
	for i := range ids {
		ids[i] = i + 1
	}
	big, _ := json.Marshal(map[string]any{"ids": ids})
	if r := call(t, "POST", s.APIURL()+"/contoso/_apis/wit/workitemsbatch", at, string(big)); r.status != 400 {
		t.Errorf("201 ids: %d", r.status)
	}
	if r := call(t, "POST", s.APIURL()+"/contoso/_apis/wit/workitemsbatch", at, `{"ids":[1,999]}`); r.status != 404 {
		t.Errorf("unknown id: %d", r.status)
	}
	r = call(t, "POST", s.APIURL()+"/contoso/_apis/wit/workitemsbatch", at, `{"ids":[1,999],"errorPolicy":"omit"}`)
	if v := r.json(t)["value"].([]any); r.status != 200 || len(v) != 2 || v[1] != nil {
		t.Errorf("omit: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", s.APIURL()+"/contoso/_apis/wit/workitemsbatch", at, `{"ids":[1],"fields":["Custom.X"]}`); r.status != 400 {
		t.Errorf("unknown field: %d", r.status)
	}
}

func TestGit(t *testing.T) {
	s := seeded(t)
	at, _ := entraLogin(t, s)
	r := call(t, "GET", s.APIURL()+"/contoso/Platform/_apis/git/repositories", at, "")
	repos := values(t, r.json(t))
	if len(repos) != 2 || repos[0]["name"] != "platform-api" || repos[0]["project"].(map[string]any)["name"] != "Platform" ||
		repos[0]["webUrl"] != s.APIURL()+"/contoso/Platform/_git/platform-api" || repos[0]["defaultBranch"] != "refs/heads/main" {
		t.Errorf("repos = %v", repos)
	}
	if r := call(t, "GET", s.APIURL()+"/contoso/_apis/git/repositories", at, ""); len(values(t, r.json(t))) != 3 {
		t.Errorf("org repos: %s", r.body)
	}

	prs := func(path, q string) []map[string]any {
		t.Helper()
		r := call(t, "GET", s.APIURL()+path+"?searchCriteria.status=active&"+q, at, "")
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return values(t, r.json(t))
	}
	titles := func(ps []map[string]any) string {
		var out []string
		for _, p := range ps {
			out = append(out, p["title"].(string))
		}
		return strings.Join(out, "|")
	}
	if got := titles(prs("/contoso/_apis/git/pullrequests", "searchCriteria.reviewerId="+alice.ID)); got !=
		"Document the API & error codes|Add rate limiting to /orders|Redesign the login screen" {
		t.Errorf("reviewer PRs = %q", got)
	}
	if got := titles(prs("/contoso/_apis/git/pullrequests", "searchCriteria.creatorId="+alice.ID)); got !=
		"WIP: move to managed identity|Fix crash on rotate <checkout>" {
		t.Errorf("creator PRs = %q", got)
	}
	if got := titles(prs("/contoso/Mobile%20App/_apis/git/pullrequests", "searchCriteria.reviewerId="+alice.ID)); got != "Redesign the login screen" {
		t.Errorf("project reviewer PRs = %q", got)
	}
	p := prs("/contoso/_apis/git/pullrequests", "searchCriteria.reviewerId="+alice.ID)[2]
	repo := p["repository"].(map[string]any)
	if repo["name"] != "mobile-app" || repo["project"].(map[string]any)["name"] != "Mobile App" ||
		p["sourceRefName"] != "refs/heads/feature/login-redesign" || p["targetRefName"] != "refs/heads/main" ||
		p["status"] != "active" || p["createdBy"].(map[string]any)["displayName"] != "Priya Patel" {
		t.Errorf("pr shape = %v", p)
	}
	revs := p["reviewers"].([]any)
	r0 := revs[0].(map[string]any)
	if len(revs) != 2 || r0["id"] != alice.ID || r0["vote"] != float64(0) || r0["isRequired"] != true || revs[1].(map[string]any)["vote"] != float64(10) {
		t.Errorf("reviewers = %v", revs)
	}
	if _, err := time.Parse(time.RFC3339Nano, p["creationDate"].(string)); err != nil {
		t.Error(err)
	}
}

func TestSeedDemo(t *testing.T) {
	s := seeded(t)
	at, _ := entraLogin(t, s)
	r := call(t, "GET", s.APIURL()+"/contoso/_apis/projects", at, "")
	if n := len(values(t, r.json(t))); n != 4 {
		t.Errorf("projects = %d", n)
	}
	for _, p := range []string{"Mobile%20App", "Platform", "Data%20%26%20Analytics", "Website"} {
		r := call(t, "GET", s.APIURL()+"/contoso/"+p+"/_apis/build/builds?queryOrder=queueTimeDescending", at, "")
		bs := values(t, r.json(t))
		statuses, results := map[string]int{}, map[string]int{}
		for _, b := range bs {
			statuses[b["status"].(string)]++
			if res, ok := b["result"].(string); ok {
				results[res]++
			}
		}
		if len(bs) != 30 || statuses["inProgress"] == 0 || results["failed"] == 0 || results["succeeded"] == 0 {
			t.Errorf("%s builds: %d %v %v", p, len(bs), statuses, results)
		}
	}
	open := "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @Me AND [System.State] NOT IN ('Closed','Done','Removed') ORDER BY [System.ChangedDate] DESC"
	all := "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @Me"
	nOpen := len(wiql(t, s, at, "/contoso/_apis/wit/wiql", open).json(t)["workItems"].([]any))
	nAll := len(wiql(t, s, at, "/contoso/_apis/wit/wiql", all).json(t)["workItems"].([]any))
	if nAll != 25 || nOpen < 10 || nOpen >= nAll {
		t.Errorf("work items: open %d of %d", nOpen, nAll)
	}
	// Deterministic: a second server with the same users has the same titles and states.
	s2 := newServer(t, Options{})
	SeedDemo(s2, alice, bob)
	s2.mu.RLock()
	s.mu.RLock()
	for i, p := range s.orgs["contoso"].projects {
		p2 := s2.orgs["contoso"].projects[i]
		for j := range p.items {
			if p.items[j].Title != p2.items[j].Title || p.items[j].State != p2.items[j].State {
				t.Errorf("not deterministic at %s/%d", p.Name, j)
			}
		}
	}
	s.mu.RUnlock()
	s2.mu.RUnlock()
}

func TestFaults(t *testing.T) {
	s := seeded(t)
	at, _ := entraLogin(t, s)
	u := s.VSSPSURL() + "/_apis/profile/profiles/me"
	const n = 400
	s.SetFaults(Faults{RateLimitRatio: 0.3, RetryAfter: 1500 * time.Millisecond})
	limited := 0
	for i := 0; i < n; i++ {
		r := call(t, "GET", u, at, "")
		if r.status == 429 {
			limited++
			if r.header.Get("Retry-After") != "2" || r.header.Get("X-RateLimit-Resource") == "" || r.header.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("429 headers: %v", r.header)
			}
		} else if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	if limited < n*20/100 || limited > n*40/100 {
		t.Errorf("429s: %d of %d, want about 30%%", limited, n)
	}
	s.SetFaults(Faults{UnavailableRatio: 0.5})
	down := 0
	for i := 0; i < n; i++ {
		if r := call(t, "GET", u, at, ""); r.status == 503 {
			down++
		}
	}
	if down < n*40/100 || down > n*60/100 {
		t.Errorf("503s: %d of %d, want about 50%%", down, n)
	}
	// Faults hit REST only: the token endpoint is untouched.
	s.SetFaults(Faults{UnavailableRatio: 1})
	entraLogin(t, s)
	s.SetFaults(Faults{Latency: 150 * time.Millisecond})
	start := time.Now()
	call(t, "GET", u, at, "")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	s.SetFaults(Faults{})
	if r := call(t, "GET", u, at, ""); r.status != 200 {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

// rawGet sends a request line byte for byte, so nothing cleans the path first.
func rawGet(t *testing.T, s *Server, target, token string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.APIURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-TFS-FedAuthRedirect: Suppress\r\nConnection: close\r\n\r\n", target, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPathTraversal(t *testing.T) {
	s := seeded(t)
	at, _ := entraLogin(t, s)
	targets := []string{
		"/contoso/../_vssps/_apis/profile/profiles/me?api-version=7.1",
		"/contoso/Mobile%20App/../../_vssps/_apis/profile/profiles/me?api-version=7.1",
		"/contoso/%2e%2e/_vssps/_apis/profile/profiles/me?api-version=7.1",
		"/contoso/%2E%2E/%2E%2E/_vssps/_apis/profile/profiles/me?api-version=7.1",
		"/contoso/x%2F..%2F..%2F_vssps/_apis/projects?api-version=7.1",
		"/_login/../_vssps/_apis/accounts?memberId=x&api-version=7.1",
		"/contoso/./_apis/projects?api-version=7.1",
		"/contoso//_apis/projects?api-version=7.1",
		"/contoso/Platform/%2e/_apis/build/builds?api-version=7.1",
		"/contoso/Platform%5C..%5C/_apis/build/builds?api-version=7.1",
		"/contoso/Platform%00/_apis/build/builds?api-version=7.1",
		"/contoso/%zz/_apis/build/builds?api-version=7.1",
	}
	before := s.APICalls()
	for _, target := range targets {
		if code := rawGet(t, s, target, at); code != 400 && code != 404 {
			t.Errorf("%s: status %d, want 400/404", target, code)
		}
	}
	if s.APICalls() != before {
		t.Errorf("a traversal attempt reached a REST route (APICalls %d -> %d)", before, s.APICalls())
	}
	// Sanity: the same connection path works for a proper request.
	if code := rawGet(t, s, "/contoso/Mobile%20App/_apis/build/builds?api-version=7.1", at); code != 200 {
		t.Errorf("proper request: %d", code)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.RawPath != "/contoso/Mobile%20App/_apis/build/builds" || last.Path != "/contoso/Mobile App/_apis/build/builds" || last.Query.Get("api-version") != "7.1" {
		t.Errorf("request log: %+v", last)
	}
}

func TestRequestLogBounded(t *testing.T) {
	s := newServer(t, Options{MaxRequestLog: 5})
	for i := 0; i < 12; i++ {
		resp, err := client.Get(fmt.Sprintf("%s/contoso/p/_build/x%d", s.APIURL(), i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	reqs := s.Requests()
	if len(reqs) != 5 || !strings.HasSuffix(reqs[0].Path, "x7") || !strings.HasSuffix(reqs[4].Path, "x11") {
		var paths []string
		for _, r := range reqs {
			paths = append(paths, r.Path)
		}
		t.Errorf("log = %v", paths)
	}
}

// TestConcurrent hammers every route while tokens are refreshed, rejected and
// faults change, for the race detector.
func TestConcurrent(t *testing.T) {
	s := seeded(t)
	s.SetFaults(Faults{RateLimitRatio: 0.05})
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for g := 0; g < 24; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			at, rt := entraLogin(t, s)
			paths := []string{
				"/contoso/_apis/projects", "/contoso/Platform/_apis/build/builds?$top=5",
				"/contoso/_apis/git/pullrequests?searchCriteria.reviewerId=" + alice.ID,
				"/contoso/Mobile%20App/_apis/git/repositories",
			}
			for i := 0; i < 25; i++ {
				r := call(t, "GET", s.APIURL()+paths[i%len(paths)], at, "")
				switch r.status {
				case 200, 429:
				case 401:
					res := entraRefresh(t, s, rt)
					if res.status != 200 {
						errs <- fmt.Sprintf("refresh: %d", res.status)
						return
					}
					at, rt = res.body["access_token"].(string), res.body["refresh_token"].(string)
				default:
					errs <- fmt.Sprintf("%s: %d", paths[i%len(paths)], r.status)
				}
				if g == 0 && i%5 == 0 {
					s.RejectAccessTokens(alice.ID)
					s.SetFaults(Faults{RateLimitRatio: 0.05})
					_ = s.Requests()
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkBuildsParallel(b *testing.B) {
	s := seeded(b)
	at, _ := entraLogin(b, s)
	u := s.APIURL() + "/contoso/Mobile%20App/_apis/build/builds?$top=10&api-version=7.1"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = drain(resp)
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

func BenchmarkProfileParallel(b *testing.B) {
	s := seeded(b)
	at, _ := entraLogin(b, s)
	u := s.VSSPSURL() + "/_apis/profile/profiles/me?api-version=7.1"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = drain(resp)
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
