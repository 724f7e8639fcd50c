package fakeado

import (
	"encoding/base64"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// vssError is the error body Azure DevOps REST APIs answer with.
type vssError struct {
	ID             string `json:"$id"`
	InnerException any    `json:"innerException"`
	Message        string `json:"message"`
	TypeName       string `json:"typeName"`
	TypeKey        string `json:"typeKey"`
	ErrorCode      int    `json:"errorCode"`
	EventID        int    `json:"eventId"`
}

// typeNames gives the .NET type name Azure DevOps puts next to well-known type keys.
var typeNames = map[string]string{
	"UnauthorizedRequestException":                          "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
	"ProjectDoesNotExistWithNameException":                  "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi",
	"VssVersionOutOfRangeException":                         "Microsoft.VisualStudio.Services.WebApi.VssVersionOutOfRangeException, Microsoft.VisualStudio.Services.WebApi",
	"WorkItemUnauthorizedAccessException":                   "Microsoft.TeamFoundation.WorkItemTracking.Server.WorkItemUnauthorizedAccessException, Microsoft.TeamFoundation.WorkItemTracking.Server",
	"RequestBlockedException":                               "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server",
	"ArgumentException":                                     "System.ArgumentException, mscorlib",
	"VssPropertyValidationException":                        "Microsoft.VisualStudio.Services.Common.VssPropertyValidationException, Microsoft.VisualStudio.Services.Common",
	"WorkItemTrackingQueryResultSizeLimitExceededException": "Microsoft.TeamFoundation.WorkItemTracking.Server.WorkItemTrackingQueryResultSizeLimitExceededException, Microsoft.TeamFoundation.WorkItemTracking.Server",
}

func writeVSSError(w http.ResponseWriter, status int, msg, typeKey string) {
	tn := typeNames[typeKey]
	if tn == "" {
		tn = "Microsoft.VisualStudio.Services.WebApi." + typeKey + ", Microsoft.VisualStudio.Services.WebApi"
	}
	writeJSON(w, status, vssError{ID: "1", Message: msg, TypeName: tn, TypeKey: typeKey, EventID: 3000})
}

// caller is the authenticated person of a REST call.
type caller struct {
	user   User
	scopes []string
}

func hasScope(scopes []string, need string) bool {
	for _, sc := range scopes {
		if sc == need || strings.HasPrefix(sc, need+"_") {
			return true
		}
	}
	return false
}

var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>
<body><h1>Sign in</h1><p>You need to sign in to access {{.}}.</p>
<form action="/_signin" method="get"><button>Sign in</button></form></body></html>
`))

// unauthorized answers a missing/invalid token the way Azure DevOps does: 401 for
// API clients that ask for it (X-TFS-FedAuthRedirect: Suppress), otherwise a 203
// with a sign-in page, which naive clients mistake for success.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri=`+s.AuthorityURL()+`/organizations/oauth2/v2.0/authorize`)
	w.Header().Set("X-TFS-FedAuthRealm", "https://app.vssps.visualstudio.com/")
	w.Header().Set("X-VSS-ResourceTenant", "00000000-0000-0000-0000-000000000000")
	if strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") {
		writeVSSError(w, http.StatusUnauthorized,
			"TF400813: Resource not available for anonymous access. Client authentication required.",
			"UnauthorizedRequestException")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNonAuthoritativeInfo)
	_ = signInPage.Execute(w, r.URL.Path)
}

func missingScope(w http.ResponseWriter, userID, scope string) {
	writeVSSError(w, http.StatusUnauthorized,
		"TF400813: The user '"+userID+"' is not authorized to access this resource. The OAuth token is missing the required scope "+scope+".",
		"UnauthorizedRequestException")
}

func notMember(w http.ResponseWriter, userID string) {
	writeVSSError(w, http.StatusUnauthorized,
		"TF400813: The user '"+userID+"' is not authorized to access this resource.",
		"UnauthorizedRequestException")
}

// beginREST runs what every REST call goes through: counting, latency, injected
// faults, bearer token and api-version. ok=false means the answer was written.
func (s *Server) beginREST(w http.ResponseWriter, r *http.Request) (c caller, ok bool) {
	s.apiCalls.Add(1)
	f := s.currentFaults()
	if err := sleepCtx(r.Context(), s.opts.Latency+f.Latency); err != nil {
		return c, false
	}
	if f.RateLimitRatio > 0 && s.float64() < f.RateLimitRatio {
		ra := f.RetryAfter
		if ra <= 0 {
			ra = time.Second
		}
		secs := int(math.Ceil(ra.Seconds()))
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(secs))
		h.Set("X-RateLimit-Resource", "Core")
		h.Set("X-RateLimit-Delay", strconv.FormatFloat(ra.Seconds(), 'f', 3, 64))
		h.Set("X-RateLimit-Limit", "200")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(ra).Unix(), 10))
		writeVSSError(w, http.StatusTooManyRequests,
			"TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.",
			"RequestBlockedException")
		return c, false
	}
	if f.UnavailableRatio > 0 && s.float64() < f.UnavailableRatio {
		writeVSSError(w, http.StatusServiceUnavailable,
			"TF400898: An Internal Error Occurred. The service is temporarily unavailable.", "ServiceUnavailableException")
		return c, false
	}

	authz := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		s.unauthorized(w, r)
		return c, false
	}
	s.mu.RLock()
	at := s.tokens.access[tok]
	valid := at != nil && time.Now().Before(at.expires) && at.serial > s.tokens.rejectUpTo[at.userID]
	var u *User
	if valid {
		u = s.users[at.userID]
	}
	if u != nil {
		c = caller{user: *u, scopes: at.scopes}
	}
	s.mu.RUnlock()
	if u == nil {
		s.unauthorized(w, r)
		return c, false
	}

	if v := apiVersion(r); v != "7.1" && !strings.HasPrefix(v, "7.1-preview") {
		if v == "" {
			writeVSSError(w, http.StatusBadRequest,
				"No api-version was supplied for the \""+r.Method+"\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
				"VssVersionNotSpecifiedException")
		} else {
			writeVSSError(w, http.StatusBadRequest,
				"The requested REST API version of "+v+" is not supported by this fake; use 7.1.",
				"VssVersionOutOfRangeException")
		}
		return c, false
	}
	return c, true
}

// apiVersion reads api-version from the query or the Accept header.
func apiVersion(r *http.Request) string {
	if v := r.URL.Query().Get("api-version"); v != "" {
		return v
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, "api-version") {
			return v
		}
	}
	return ""
}

// ---- VSSPS ----------------------------------------------------------------------------

func (s *Server) serveVSSPS(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	path := strings.ToLower(strings.Join(segs, "/"))
	switch path {
	case "oauth2/authorize":
		if r.Method != http.MethodGet {
			writeHTMLError(w, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		s.legacyAuthorize(w, r)
		return
	case "oauth2/token":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, legacyError{"invalid_request", "POST required"})
			return
		}
		s.legacyToken(w, r, body)
		return
	case "_apis/profile/profiles/me", "_apis/accounts":
	default:
		writeVSSError(w, http.StatusNotFound, "The requested resource was not found.", "VssResourceNotFoundException")
		return
	}
	if r.Method != http.MethodGet {
		writeVSSError(w, http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.", "VssMethodNotAllowedException")
		return
	}
	c, ok := s.beginREST(w, r)
	if !ok {
		return
	}
	if !hasScope(c.scopes, "vso.profile") {
		missingScope(w, c.user.ID, "vso.profile")
		return
	}
	if path == "_apis/accounts" {
		s.listAccounts(w, r, c)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"displayName":  c.user.DisplayName,
		"publicAlias":  c.user.ID,
		"emailAddress": c.user.Email,
		"coreRevision": 1647,
		"timeStamp":    "2024-05-12T22:23:07.727+00:00",
		"id":           c.user.ID,
		"revision":     1647,
	})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, c caller) {
	member := r.URL.Query().Get("memberId")
	if member == "" {
		writeVSSError(w, http.StatusBadRequest, "One of memberId or ownerId must be specified.", "ArgumentException")
		return
	}
	if !strings.EqualFold(member, c.user.ID) {
		writeVSSError(w, http.StatusForbidden, "You can only list the organizations of the signed-in user.", "AccessCheckException")
		return
	}
	type account struct {
		AccountID   string         `json:"accountId"`
		AccountURI  string         `json:"accountUri"`
		AccountName string         `json:"accountName"`
		Properties  map[string]any `json:"properties"`
	}
	s.mu.RLock()
	var out []account
	if u := s.users[c.user.ID]; u != nil {
		for _, o := range s.userOrgsLocked(u) {
			out = append(out, account{AccountID: o.id, AccountURI: s.base + "/" + pathEscape(o.name) + "/", AccountName: o.name, Properties: map[string]any{}})
		}
	}
	s.mu.RUnlock()
	if out == nil {
		out = []account{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "value": out})
}

// ---- organization APIs --------------------------------------------------------------

type apiRoute struct {
	scope        string
	method       string
	orgLevel     bool // allowed without a project
	projectLevel bool // allowed with a project
	handle       func(s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx)
}

// reqCtx is what a route handler gets; s.mu is read-locked while handle runs only
// for the data lookups the handler does itself.
type reqCtx struct {
	caller
	orgName string
	project string // as in the URL, "" for organization-level calls
	body    []byte
}

var apiRoutes = map[string]apiRoute{
	"projects":           {scope: "vso.project", method: http.MethodGet, orgLevel: true, handle: (*Server).listProjects},
	"build/builds":       {scope: "vso.build", method: http.MethodGet, projectLevel: true, handle: (*Server).listBuilds},
	"wit/wiql":           {scope: "vso.work", method: http.MethodPost, orgLevel: true, projectLevel: true, handle: (*Server).queryWIQL},
	"wit/workitemsbatch": {scope: "vso.work", method: http.MethodPost, orgLevel: true, projectLevel: true, handle: (*Server).workItemsBatch},
	"git/repositories":   {scope: "vso.code", method: http.MethodGet, orgLevel: true, projectLevel: true, handle: (*Server).listRepos},
	"git/pullrequests":   {scope: "vso.code", method: http.MethodGet, orgLevel: true, projectLevel: true, handle: (*Server).listPullRequests},
}

var webPage = template.Must(template.New("web").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fake Azure DevOps</title></head>
<body><h1>fake Azure DevOps</h1><p>This would be the Azure DevOps page for <code>{{.}}</code>.</p></body></html>
`))

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, segs []string, body []byte) {
	var projectName string
	var rest []string
	switch {
	case len(segs) >= 2 && strings.EqualFold(segs[1], "_apis"):
		rest = segs[2:]
	case len(segs) >= 3 && strings.EqualFold(segs[2], "_apis"):
		projectName, rest = segs[1], segs[3:]
	default:
		// Web UI links (_build/results, _git/...): a placeholder page so sandbox links open.
		if r.Method != http.MethodGet {
			writeVSSError(w, http.StatusNotFound, "Not found.", "VssResourceNotFoundException")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = webPage.Execute(w, strings.Join(segs, "/"))
		return
	}
	c, ok := s.beginREST(w, r)
	if !ok {
		return
	}
	route, found := apiRoutes[strings.ToLower(strings.Join(rest, "/"))]
	if !found || (projectName == "" && !route.orgLevel) || (projectName != "" && !route.projectLevel) {
		writeVSSError(w, http.StatusNotFound,
			"API resource location was not found: "+strings.Join(segs, "/")+" is not registered on this server.",
			"VssResourceNotFoundException")
		return
	}
	if r.Method != route.method {
		writeVSSError(w, http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.", "VssMethodNotAllowedException")
		return
	}
	s.mu.RLock()
	o := s.orgs[strings.ToLower(segs[0])]
	member := o != nil && s.users[c.user.ID] != nil && s.isMemberLocked(s.users[c.user.ID], o)
	var pExists bool
	if o != nil && projectName != "" {
		pExists = o.project(projectName) != nil
	}
	s.mu.RUnlock()
	switch {
	case o == nil:
		writeVSSError(w, http.StatusNotFound, "VS800075: The organization '"+segs[0]+"' does not exist or you do not have access to it.", "AccountNotFoundException")
		return
	case !member:
		notMember(w, c.user.ID)
		return
	case !hasScope(c.scopes, route.scope):
		missingScope(w, c.user.ID, route.scope)
		return
	case projectName != "" && !pExists:
		writeVSSError(w, http.StatusNotFound,
			"TF200016: The following project does not exist: "+projectName+". Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.",
			"ProjectDoesNotExistWithNameException")
		return
	}
	route.handle(s, w, r, &reqCtx{caller: c, orgName: segs[0], project: projectName, body: body})
}

// ---- JSON shapes ------------------------------------------------------------------

// adoTime marshals like Azure DevOps (UTC, up to 7 fractional digits).
type adoTime struct{ time.Time }

func (t adoTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format("2006-01-02T15:04:05.9999999Z") + `"`), nil
}

type link struct {
	Href string `json:"href"`
}

type identityRef struct {
	DisplayName string          `json:"displayName"`
	URL         string          `json:"url"`
	Links       map[string]link `json:"_links"`
	ID          string          `json:"id"`
	UniqueName  string          `json:"uniqueName"`
	ImageURL    string          `json:"imageUrl"`
	Descriptor  string          `json:"descriptor"`
}

// identityLocked shapes a user id as IdentityRef; s.mu must be held.
func (s *Server) identityLocked(orgName, id string) identityRef {
	name, unique := id, id
	if u := s.users[id]; u != nil {
		name, unique = u.DisplayName, u.Email
		if unique == "" {
			unique = u.ID
		}
	}
	desc := "aad." + base64.RawStdEncoding.EncodeToString([]byte(id))
	avatar := s.base + "/" + pathEscape(orgName) + "/_apis/GraphProfile/MemberAvatars/" + desc
	return identityRef{
		DisplayName: name,
		URL:         s.VSSPSURL() + "/_apis/Identities/" + pathEscape(id),
		Links:       map[string]link{"avatar": {Href: avatar}},
		ID:          id,
		UniqueName:  unique,
		ImageURL:    avatar,
		Descriptor:  desc,
	}
}

type projectRef struct {
	ID             string  `json:"id"`
	Name           string  `json:"name"`
	Description    string  `json:"description,omitempty"`
	URL            string  `json:"url"`
	State          string  `json:"state"`
	Revision       int     `json:"revision"`
	Visibility     string  `json:"visibility"`
	LastUpdateTime adoTime `json:"lastUpdateTime"`
}

func (s *Server) projectRef(orgName string, p Project) projectRef {
	return projectRef{
		ID: p.ID, Name: p.Name, Description: p.Description,
		URL:   s.base + "/" + pathEscape(orgName) + "/_apis/projects/" + p.ID,
		State: p.State, Revision: 11, Visibility: p.Visibility,
		LastUpdateTime: adoTime{p.LastUpdateTime},
	}
}

type listResponse[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

func newList[T any](v []T) listResponse[T] {
	if v == nil {
		v = []T{}
	}
	return listResponse[T]{Count: len(v), Value: v}
}

// page applies $top / $skip / continuationToken (an offset, as Azure DevOps uses for
// projects) and sets x-ms-continuationtoken when more remain.
func page[T any](w http.ResponseWriter, r *http.Request, all []T, defTop int) ([]T, bool) {
	q := r.URL.Query()
	top, skip := defTop, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeVSSError(w, http.StatusBadRequest, "The value '"+v+"' is not valid for $top.", "ArgumentException")
			return nil, false
		}
		if n > 0 {
			top = n
		}
	}
	for _, k := range []string{"$skip", "continuationToken"} {
		if v := q.Get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeVSSError(w, http.StatusBadRequest, "The continuation token '"+v+"' is not valid.", "InvalidContinuationTokenException")
				return nil, false
			}
			skip += n
		}
	}
	if skip >= len(all) {
		return nil, true
	}
	end := min(skip+top, len(all))
	if end < len(all) {
		w.Header().Set("x-ms-continuationtoken", strconv.Itoa(end))
	}
	return all[skip:end], true
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	all := sortedProjects(o)
	s.mu.RUnlock()
	pg, ok := page(w, r, all, 100)
	if !ok {
		return
	}
	out := make([]projectRef, 0, len(pg))
	for _, p := range pg {
		out = append(out, s.projectRef(o.name, p))
	}
	writeJSON(w, http.StatusOK, newList(out))
}

// ---- builds -------------------------------------------------------------------------

type buildJSON struct {
	Links                        map[string]link     `json:"_links"`
	Properties                   map[string]any      `json:"properties"`
	Tags                         []string            `json:"tags"`
	ValidationResults            []any               `json:"validationResults"`
	Plans                        []map[string]string `json:"plans"`
	TriggerInfo                  map[string]string   `json:"triggerInfo"`
	ID                           int                 `json:"id"`
	BuildNumber                  string              `json:"buildNumber"`
	Status                       string              `json:"status"`
	Result                       string              `json:"result,omitempty"`
	QueueTime                    adoTime             `json:"queueTime"`
	StartTime                    adoTime             `json:"startTime,omitzero"`
	FinishTime                   adoTime             `json:"finishTime,omitzero"`
	URL                          string              `json:"url"`
	Definition                   definitionRef       `json:"definition"`
	BuildNumberRevision          int                 `json:"buildNumberRevision"`
	Project                      projectRef          `json:"project"`
	URI                          string              `json:"uri"`
	SourceBranch                 string              `json:"sourceBranch"`
	SourceVersion                string              `json:"sourceVersion"`
	Queue                        map[string]any      `json:"queue"`
	Priority                     string              `json:"priority"`
	Reason                       string              `json:"reason"`
	RequestedFor                 identityRef         `json:"requestedFor"`
	RequestedBy                  identityRef         `json:"requestedBy"`
	LastChangedDate              adoTime             `json:"lastChangedDate"`
	LastChangedBy                identityRef         `json:"lastChangedBy"`
	OrchestrationPlan            map[string]string   `json:"orchestrationPlan"`
	Logs                         map[string]any      `json:"logs"`
	Repository                   map[string]any      `json:"repository"`
	RetainedByRelease            bool                `json:"retainedByRelease"`
	TriggeredByBuild             any                 `json:"triggeredByBuild"`
	AppendCommitMessageToRunName bool                `json:"appendCommitMessageToRunName"`
}

type definitionRef struct {
	Drafts      []any      `json:"drafts"`
	ID          int        `json:"id"`
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	URI         string     `json:"uri"`
	Path        string     `json:"path"`
	Type        string     `json:"type"`
	QueueStatus string     `json:"queueStatus"`
	Revision    int        `json:"revision"`
	Project     projectRef `json:"project"`
}

var buildStatuses = []string{"none", "inProgress", "completed", "cancelling", "postponed", "notStarted", "all"}
var buildResults = []string{"none", "succeeded", "partiallySucceeded", "failed", "canceled"}

func containsFold(list []string, v string) (string, bool) {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return x, true
		}
	}
	return "", false
}

func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	statusFilter := q.Get("statusFilter")
	if statusFilter != "" {
		var ok bool
		if statusFilter, ok = containsFold(buildStatuses, statusFilter); !ok {
			writeVSSError(w, http.StatusBadRequest, "The value '"+q.Get("statusFilter")+"' is not valid for statusFilter.", "ArgumentException")
			return
		}
	}
	var results []string
	if v := q.Get("resultFilter"); v != "" {
		for _, part := range strings.Split(v, ",") {
			res, ok := containsFold(buildResults, strings.TrimSpace(part))
			if !ok {
				writeVSSError(w, http.StatusBadRequest, "The value '"+v+"' is not valid for resultFilter.", "ArgumentException")
				return
			}
			results = append(results, res)
		}
	}
	var defs []int
	if v := q.Get("definitions"); v != "" {
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				writeVSSError(w, http.StatusBadRequest, "The value '"+v+"' is not valid for definitions.", "ArgumentException")
				return
			}
			defs = append(defs, n)
		}
	}
	// Azure DevOps matches branchName exactly: "main" finds nothing, "refs/heads/main" does.
	branch := q.Get("branchName")
	order := q.Get("queryOrder")
	var less func(a, b Build) int
	switch strings.ToLower(order) {
	case "", "queuetimedescending":
		less = func(a, b Build) int { return b.QueueTime.Compare(a.QueueTime) }
	case "queuetimeascending":
		less = func(a, b Build) int { return a.QueueTime.Compare(b.QueueTime) }
	case "finishtimedescending":
		less = func(a, b Build) int { return b.FinishTime.Compare(a.FinishTime) }
	case "finishtimeascending":
		less = func(a, b Build) int { return a.FinishTime.Compare(b.FinishTime) }
	case "starttimedescending":
		less = func(a, b Build) int { return b.StartTime.Compare(a.StartTime) }
	case "starttimeascending":
		less = func(a, b Build) int { return a.StartTime.Compare(b.StartTime) }
	default:
		writeVSSError(w, http.StatusBadRequest, "The value '"+order+"' is not valid for queryOrder.", "ArgumentException")
		return
	}

	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	p := o.project(rc.project)
	var match []Build
	for _, b := range p.builds {
		if statusFilter != "" && statusFilter != "all" && b.Status != statusFilter {
			continue
		}
		if results != nil && (b.Status != "completed" || !slices.Contains(results, b.Result)) {
			continue
		}
		if defs != nil && !slices.Contains(defs, b.DefinitionID) {
			continue
		}
		if branch != "" && b.SourceBranch != branch {
			continue
		}
		match = append(match, b)
	}
	slices.SortStableFunc(match, func(a, b Build) int {
		if c := less(a, b); c != 0 {
			return c
		}
		return b.ID - a.ID
	})
	pg, ok := page(w, r, match, 1000)
	if !ok {
		s.mu.RUnlock()
		return
	}
	out := make([]buildJSON, 0, len(pg))
	for _, b := range pg {
		out = append(out, s.buildJSONLocked(o, p, b))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, newList(out))
}

func (s *Server) buildJSONLocked(o *org, p *project, b Build) buildJSON {
	orgURL := s.base + "/" + pathEscape(o.name)
	projURL := orgURL + "/" + pathEscape(p.Name)
	pref := s.projectRef(o.name, p.Project)
	self := orgURL + "/" + p.ID + "/_apis/build/Builds/" + strconv.Itoa(b.ID)
	reqFor := s.identityLocked(o.name, b.RequestedFor)
	result := ""
	if b.Status == "completed" {
		result = b.Result
	}
	changed := b.QueueTime
	for _, t := range []time.Time{b.StartTime, b.FinishTime} {
		if t.After(changed) {
			changed = t
		}
	}
	repo := p.Name
	if len(p.repos) > 0 {
		repo = p.repos[0].Name
	}
	return buildJSON{
		Links: map[string]link{
			"self":                    {Href: self},
			"web":                     {Href: projURL + "/_build/results?buildId=" + strconv.Itoa(b.ID)},
			"sourceVersionDisplayUri": {Href: self + "/sources"},
			"timeline":                {Href: self + "/Timeline"},
			"badge":                   {Href: orgURL + "/" + p.ID + "/_apis/build/status/" + strconv.Itoa(b.DefinitionID)},
		},
		Properties:        map[string]any{},
		Tags:              []string{},
		ValidationResults: []any{},
		Plans:             []map[string]string{{"planId": stableID("plan", p.ID, strconv.Itoa(b.ID))}},
		TriggerInfo:       map[string]string{},
		ID:                b.ID,
		BuildNumber:       b.BuildNumber,
		Status:            b.Status,
		Result:            result,
		QueueTime:         adoTime{b.QueueTime},
		StartTime:         adoTime{b.StartTime},
		FinishTime:        adoTime{b.FinishTime},
		URL:               self,
		Definition: definitionRef{
			Drafts: []any{}, ID: b.DefinitionID, Name: b.DefinitionName,
			URL:  orgURL + "/" + p.ID + "/_apis/build/Definitions/" + strconv.Itoa(b.DefinitionID) + "?revision=3",
			URI:  "vstfs:///Build/Definition/" + strconv.Itoa(b.DefinitionID),
			Path: `\`, Type: "build", QueueStatus: "enabled", Revision: 3, Project: pref,
		},
		BuildNumberRevision: 1,
		Project:             pref,
		URI:                 "vstfs:///Build/Build/" + strconv.Itoa(b.ID),
		SourceBranch:        b.SourceBranch,
		SourceVersion:       b.SourceVersion,
		Queue:               map[string]any{"id": 10, "name": "Azure Pipelines", "pool": map[string]any{"id": 9, "name": "Azure Pipelines", "isHosted": true}},
		Priority:            "normal",
		Reason:              b.Reason,
		RequestedFor:        reqFor,
		RequestedBy:         reqFor,
		LastChangedDate:     adoTime{changed},
		LastChangedBy:       reqFor,
		OrchestrationPlan:   map[string]string{"planId": stableID("plan", p.ID, strconv.Itoa(b.ID))},
		Logs:                map[string]any{"id": 0, "type": "Container", "url": self + "/logs"},
		Repository: map[string]any{
			"id": stableID("repo", o.name, p.Name, strings.ToLower(repo)), "type": "TfsGit", "name": repo,
			"url": projURL + "/_git/" + pathEscape(repo), "clean": nil, "checkoutSubmodules": false,
		},
		AppendCommitMessageToRunName: true,
	}
}

// ---- git -----------------------------------------------------------------------------

type repoJSON struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	URL             string     `json:"url"`
	Project         projectRef `json:"project"`
	DefaultBranch   string     `json:"defaultBranch,omitempty"`
	Size            int64      `json:"size"`
	RemoteURL       string     `json:"remoteUrl"`
	SSHURL          string     `json:"sshUrl"`
	WebURL          string     `json:"webUrl"`
	IsDisabled      bool       `json:"isDisabled"`
	IsInMaintenance bool       `json:"isInMaintenance"`
}

func (s *Server) repoJSON(o *org, p *project, r Repo) repoJSON {
	orgURL := s.base + "/" + pathEscape(o.name)
	web := orgURL + "/" + pathEscape(p.Name) + "/_git/" + pathEscape(r.Name)
	return repoJSON{
		ID: r.ID, Name: r.Name, URL: orgURL + "/" + p.ID + "/_apis/git/repositories/" + r.ID,
		Project: s.projectRef(o.name, p.Project), DefaultBranch: r.DefaultBranch, Size: r.Size,
		RemoteURL: web, SSHURL: "git@ssh.dev.azure.com:v3/" + o.name + "/" + pathEscape(p.Name) + "/" + pathEscape(r.Name),
		WebURL: web,
	}
}

// scopeProjects lists the projects a call covers: the one in the URL or all.
func scopeProjects(o *org, name string) []*project {
	if name != "" {
		return []*project{o.project(name)}
	}
	return o.projects
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	var out []repoJSON
	for _, p := range scopeProjects(o, rc.project) {
		for _, repo := range p.repos {
			out = append(out, s.repoJSON(o, p, repo))
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b repoJSON) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	writeJSON(w, http.StatusOK, newList(out))
}

type reviewerJSON struct {
	ReviewerURL string `json:"reviewerUrl"`
	Vote        int    `json:"vote"`
	HasDeclined bool   `json:"hasDeclined"`
	IsRequired  bool   `json:"isRequired,omitempty"`
	IsFlagged   bool   `json:"isFlagged"`
	identityRef
}

type commitRef struct {
	CommitID string `json:"commitId"`
	URL      string `json:"url"`
}

type prRepoJSON struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	URL     string     `json:"url"`
	Project projectRef `json:"project"`
}

type pullRequestJSON struct {
	Repository            prRepoJSON     `json:"repository"`
	PullRequestID         int            `json:"pullRequestId"`
	CodeReviewID          int            `json:"codeReviewId"`
	Status                string         `json:"status"`
	CreatedBy             identityRef    `json:"createdBy"`
	CreationDate          adoTime        `json:"creationDate"`
	ClosedDate            adoTime        `json:"closedDate,omitzero"`
	Title                 string         `json:"title"`
	Description           string         `json:"description,omitempty"`
	SourceRefName         string         `json:"sourceRefName"`
	TargetRefName         string         `json:"targetRefName"`
	MergeStatus           string         `json:"mergeStatus"`
	IsDraft               bool           `json:"isDraft"`
	MergeID               string         `json:"mergeId"`
	LastMergeSourceCommit commitRef      `json:"lastMergeSourceCommit"`
	LastMergeTargetCommit commitRef      `json:"lastMergeTargetCommit"`
	Reviewers             []reviewerJSON `json:"reviewers"`
	URL                   string         `json:"url"`
	SupportsIterations    bool           `json:"supportsIterations"`
}

var prStatuses = []string{"notSet", "active", "abandoned", "completed", "all"}

func (s *Server) listPullRequests(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	status := "active"
	if v := q.Get("searchCriteria.status"); v != "" {
		var ok bool
		if status, ok = containsFold(prStatuses, v); !ok {
			writeVSSError(w, http.StatusBadRequest, "The value '"+v+"' is not valid for searchCriteria.status.", "ArgumentException")
			return
		}
	}
	reviewer, creator := q.Get("searchCriteria.reviewerId"), q.Get("searchCriteria.creatorId")
	repoID := q.Get("searchCriteria.repositoryId")

	type hit struct {
		p  *project
		pr PullRequest
	}
	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	var hits []hit
	for _, p := range scopeProjects(o, rc.project) {
		for _, pr := range p.prs {
			if status != "all" && pr.Status != status {
				continue
			}
			if creator != "" && !strings.EqualFold(pr.CreatedBy, creator) {
				continue
			}
			if reviewer != "" && !slices.ContainsFunc(pr.Reviewers, func(rv Reviewer) bool { return strings.EqualFold(rv.ID, reviewer) }) {
				continue
			}
			if repoID != "" && !strings.EqualFold(s.repoByName(o, p, pr.Repo).ID, repoID) {
				continue
			}
			hits = append(hits, hit{p, pr})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return b.pr.ID - a.pr.ID })
	pg, ok := page(w, r, hits, 101)
	if !ok {
		s.mu.RUnlock()
		return
	}
	out := make([]pullRequestJSON, 0, len(pg))
	for _, h := range pg {
		out = append(out, s.pullRequestJSONLocked(o, h.p, h.pr))
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, newList(out))
}

func (s *Server) repoByName(o *org, p *project, name string) Repo {
	for _, r := range p.repos {
		if strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return Repo{ID: stableID("repo", o.name, p.Name, strings.ToLower(name)), Name: name}
}

func (s *Server) pullRequestJSONLocked(o *org, p *project, pr PullRequest) pullRequestJSON {
	orgURL := s.base + "/" + pathEscape(o.name)
	repo := s.repoByName(o, p, pr.Repo)
	repoURL := orgURL + "/" + p.ID + "/_apis/git/repositories/" + repo.ID
	prURL := repoURL + "/pullRequests/" + strconv.Itoa(pr.ID)
	commit := func(tag string) commitRef {
		id := strings.ReplaceAll(stableID(tag, repo.ID, strconv.Itoa(pr.ID)), "-", "")[:32] + "0badc0de"
		return commitRef{CommitID: id, URL: repoURL + "/commits/" + id}
	}
	reviewers := make([]reviewerJSON, 0, len(pr.Reviewers))
	for _, rv := range pr.Reviewers {
		reviewers = append(reviewers, reviewerJSON{
			ReviewerURL: prURL + "/reviewers/" + pathEscape(rv.ID),
			Vote:        rv.Vote, IsRequired: rv.IsRequired,
			identityRef: s.identityLocked(o.name, rv.ID),
		})
	}
	var closed time.Time
	if pr.Status != "active" {
		closed = pr.CreationDate.Add(26 * time.Hour)
	}
	mergeStatus := "succeeded"
	if pr.IsDraft {
		mergeStatus = "queued"
	}
	return pullRequestJSON{
		Repository:    prRepoJSON{ID: repo.ID, Name: repo.Name, URL: repoURL, Project: s.projectRef(o.name, p.Project)},
		PullRequestID: pr.ID, CodeReviewID: pr.ID, Status: pr.Status,
		CreatedBy:    s.identityLocked(o.name, pr.CreatedBy),
		CreationDate: adoTime{pr.CreationDate}, ClosedDate: adoTime{closed},
		Title: pr.Title, Description: pr.Description,
		SourceRefName: pr.SourceBranch, TargetRefName: pr.TargetBranch,
		MergeStatus: mergeStatus, IsDraft: pr.IsDraft,
		MergeID:               stableID("merge", repo.ID, strconv.Itoa(pr.ID)),
		LastMergeSourceCommit: commit("src"), LastMergeTargetCommit: commit("tgt"),
		Reviewers: reviewers, URL: prURL, SupportsIterations: true,
	}
}
