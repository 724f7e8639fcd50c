package fakeado

import (
	"crypto/sha1"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// User is an Azure DevOps identity the fake knows.
type User struct {
	ID          string // Azure DevOps member id (profile id); a GUID in real life
	DisplayName string
	Email       string
	// Orgs are the organizations the user belongs to (Accounts – List answers them;
	// organization APIs refuse others with 401 TF400813). Nil means every
	// organization the server has, which keeps small tests short.
	Orgs []string
}

// Project is a seed project. Empty ID is derived from org and name; empty State is
// "wellFormed"; empty Visibility is "private"; zero LastUpdateTime is the time added.
type Project struct {
	ID             string
	Name           string
	Description    string
	State          string
	Visibility     string
	LastUpdateTime time.Time
}

// Build is a seed build. Zero ID gets the next id in the organization. Status is a
// BuildStatus ("completed", "inProgress", "notStarted", ...); Result ("succeeded",
// "failed", ...) is only sent for completed builds. SourceBranch is a full ref
// ("refs/heads/main"); a bare branch name is prefixed with refs/heads/.
// RequestedFor is a user id (an unknown id is shown as its own display name).
type Build struct {
	ID             int
	BuildNumber    string // default yyyyMMdd.N
	Status         string // default "completed"
	Result         string // default "succeeded" when completed
	DefinitionID   int    // default 1
	DefinitionName string // default "<project>-CI"
	SourceBranch   string // default refs/heads/main
	SourceVersion  string // commit; default derived
	Reason         string // default "individualCI"
	RequestedFor   string
	QueueTime      time.Time // default now
	StartTime      time.Time
	FinishTime     time.Time
}

// WorkItem is a seed work item. Zero ID gets the next id in the organization (ids are
// organization-wide, as in Azure DevOps). AssignedTo is a user id ("" = unassigned).
type WorkItem struct {
	ID          int
	Title       string
	Type        string // default "Task"
	State       string // default "New"
	AssignedTo  string
	CreatedBy   string // user id; default AssignedTo
	Priority    int    // default 2
	Rev         int    // default 1
	CreatedDate time.Time
	ChangedDate time.Time // default now
	AreaPath    string    // default project name
	Tags        string    // "; "-separated, as Azure DevOps stores them
}

// Repo is a seed Git repository. Empty ID is derived; empty DefaultBranch is
// refs/heads/main (set Empty to leave it out, as for a repository without commits).
type Repo struct {
	ID            string
	Name          string
	DefaultBranch string
	Size          int64
	Empty         bool
}

// PullRequest is a seed pull request. Zero ID gets the next id in the organization.
// Repo is the repository name in the same project (added with AddRepo first, or
// created on the fly). CreatedBy and reviewer ids are user ids.
type PullRequest struct {
	ID           int
	Repo         string
	Title        string
	Description  string
	Status       string // "active" (default), "completed", "abandoned"
	CreatedBy    string
	CreationDate time.Time // default now
	SourceBranch string    // full ref or bare name
	TargetBranch string    // default refs/heads/main
	IsDraft      bool
	Reviewers    []Reviewer
}

// Reviewer votes: 10 approved, 5 approved with suggestions, 0 no vote, -5 waiting
// for author, -10 rejected.
type Reviewer struct {
	ID         string
	Vote       int
	IsRequired bool
}

type org struct {
	id        string
	name      string
	projects  []*project // in insertion order
	nextBuild int
}

type project struct {
	Project
	builds []Build
	items  []WorkItem
	repos  []Repo
	prs    []PullRequest
}

// stableID derives a GUID-shaped id from parts so seeded data is repeatable.
func stableID(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func fullRef(branch string) string {
	if branch == "" || strings.HasPrefix(branch, "refs/") {
		return branch
	}
	return "refs/heads/" + branch
}

// AddUser adds or replaces a user. The first user added is who the authorize
// endpoints sign in as until SetSignInUser says otherwise.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := u
	cp.Orgs = slices.Clone(u.Orgs)
	if _, ok := s.users[u.ID]; !ok {
		s.userOrder = append(s.userOrder, u.ID)
	}
	s.users[u.ID] = &cp
	if s.signInUser == "" {
		s.signInUser = u.ID
	}
}

// SetSignInUser sets the identity the authorize endpoints sign in as.
func (s *Server) SetSignInUser(id string) {
	s.mu.Lock()
	s.signInUser = id
	s.mu.Unlock()
}

// SetDenyConsent makes the authorize endpoints redirect with error=access_denied.
func (s *Server) SetDenyConsent(deny bool) {
	s.mu.Lock()
	s.denyConsent = deny
	s.mu.Unlock()
}

// SetGrantScopes sets the scopes put in tokens issued from now on (code exchange and
// refresh), e.g. []string{"vso.build"} to test a missing scope. Short ("vso.code")
// and resource-prefixed forms are both accepted. Nil restores the default: what the
// authorize request asked for.
func (s *Server) SetGrantScopes(scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if scopes == nil {
		s.grantScopes = nil
		return
	}
	s.grantScopes = []string{}
	for _, sc := range scopes {
		if short := shortScope(sc); short != "" {
			s.grantScopes = append(s.grantScopes, short)
		}
	}
}

// orgLocked finds or creates an organization; s.mu must be held for writing.
func (s *Server) orgLocked(name string) *org {
	key := strings.ToLower(name)
	o := s.orgs[key]
	if o == nil {
		o = &org{id: stableID("org", key), name: name, nextBuild: 1}
		s.orgs[key] = o
		s.orgOrder = append(s.orgOrder, key)
	}
	return o
}

func (o *org) project(name string) *project {
	for _, p := range o.projects {
		if strings.EqualFold(p.Name, name) || strings.EqualFold(p.ID, name) {
			return p
		}
	}
	return nil
}

// projectLocked finds the project or creates it with defaults.
func (s *Server) projectLocked(orgName, name string) (*org, *project) {
	o := s.orgLocked(orgName)
	if p := o.project(name); p != nil {
		return o, p
	}
	p := &project{Project: Project{Name: name}}
	fillProject(o, &p.Project)
	o.projects = append(o.projects, p)
	return o, p
}

func fillProject(o *org, p *Project) {
	if p.ID == "" {
		p.ID = stableID("project", o.name, strings.ToLower(p.Name))
	}
	if p.State == "" {
		p.State = "wellFormed"
	}
	if p.Visibility == "" {
		p.Visibility = "private"
	}
	if p.LastUpdateTime.IsZero() {
		p.LastUpdateTime = time.Now().UTC()
	}
}

// AddProject adds (or replaces, by name) a project, creating the organization.
func (s *Server) AddProject(orgName string, p Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgLocked(orgName)
	fillProject(o, &p)
	if old := o.project(p.Name); old != nil {
		old.Project = p
		return
	}
	o.projects = append(o.projects, &project{Project: p})
}

// AddBuild adds a build to a project (created if missing). See Build for defaults.
func (s *Server) AddBuild(orgName, projectName string, b Build) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, p := s.projectLocked(orgName, projectName)
	if b.ID == 0 {
		b.ID = o.nextBuild
	}
	if b.ID >= o.nextBuild {
		o.nextBuild = b.ID + 1
	}
	if b.Status == "" {
		b.Status = "completed"
	}
	if b.Status == "completed" && b.Result == "" {
		b.Result = "succeeded"
	}
	if b.DefinitionID == 0 {
		b.DefinitionID = 1
	}
	if b.DefinitionName == "" {
		b.DefinitionName = p.Name + "-CI"
	}
	if b.SourceBranch == "" {
		b.SourceBranch = "refs/heads/main"
	}
	b.SourceBranch = fullRef(b.SourceBranch)
	if b.Reason == "" {
		b.Reason = "individualCI"
	}
	if b.QueueTime.IsZero() {
		b.QueueTime = time.Now().UTC()
	}
	if b.BuildNumber == "" {
		b.BuildNumber = fmt.Sprintf("%s.%d", b.QueueTime.UTC().Format("20060102"), b.ID%100+1)
	}
	if b.SourceVersion == "" {
		b.SourceVersion = strings.ReplaceAll(stableID("commit", p.Name, fmt.Sprint(b.ID)), "-", "")[:32] + "abcdef01"
	}
	p.builds = append(p.builds, b)
}

// AddWorkItem adds a work item to a project (created if missing). See WorkItem.
func (s *Server) AddWorkItem(orgName, projectName string, w WorkItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p := s.projectLocked(orgName, projectName)
	if w.ID == 0 {
		w.ID = s.nextWIID
	}
	if w.ID >= s.nextWIID {
		s.nextWIID = w.ID + 1
	}
	if w.Type == "" {
		w.Type = "Task"
	}
	if w.State == "" {
		w.State = "New"
	}
	if w.CreatedBy == "" {
		w.CreatedBy = w.AssignedTo
	}
	if w.Priority == 0 {
		w.Priority = 2
	}
	if w.Rev == 0 {
		w.Rev = 1
	}
	if w.ChangedDate.IsZero() {
		w.ChangedDate = time.Now().UTC()
	}
	if w.CreatedDate.IsZero() {
		w.CreatedDate = w.ChangedDate
	}
	if w.AreaPath == "" {
		w.AreaPath = p.Name
	}
	p.items = append(p.items, w)
}

// AddRepo adds (or replaces, by name) a Git repository in a project.
func (s *Server) AddRepo(orgName, projectName string, r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, p := s.projectLocked(orgName, projectName)
	addRepoLocked(o, p, r)
}

func addRepoLocked(o *org, p *project, r Repo) Repo {
	if r.ID == "" {
		r.ID = stableID("repo", o.name, p.Name, strings.ToLower(r.Name))
	}
	if r.DefaultBranch == "" && !r.Empty {
		r.DefaultBranch = "refs/heads/main"
	}
	r.DefaultBranch = fullRef(r.DefaultBranch)
	for i := range p.repos {
		if strings.EqualFold(p.repos[i].Name, r.Name) {
			p.repos[i] = r
			return r
		}
	}
	p.repos = append(p.repos, r)
	return r
}

// AddPullRequest adds a pull request to a project; its repository is created if missing.
func (s *Server) AddPullRequest(orgName, projectName string, pr PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, p := s.projectLocked(orgName, projectName)
	found := false
	for _, r := range p.repos {
		if strings.EqualFold(r.Name, pr.Repo) {
			pr.Repo = r.Name
			found = true
		}
	}
	if !found {
		addRepoLocked(o, p, Repo{Name: pr.Repo})
	}
	if pr.ID == 0 {
		pr.ID = s.nextPRID
	}
	if pr.ID >= s.nextPRID {
		s.nextPRID = pr.ID + 1
	}
	if pr.Status == "" {
		pr.Status = "active"
	}
	if pr.CreationDate.IsZero() {
		pr.CreationDate = time.Now().UTC()
	}
	if pr.TargetBranch == "" {
		pr.TargetBranch = "main"
	}
	pr.SourceBranch = fullRef(pr.SourceBranch)
	pr.TargetBranch = fullRef(pr.TargetBranch)
	pr.Reviewers = slices.Clone(pr.Reviewers)
	p.prs = append(p.prs, pr)
}

// userOrgsLocked lists the organizations a user belongs to, in insertion order.
func (s *Server) userOrgsLocked(u *User) []*org {
	var out []*org
	if u.Orgs == nil {
		for _, k := range s.orgOrder {
			out = append(out, s.orgs[k])
		}
		return out
	}
	for _, name := range u.Orgs {
		if o := s.orgs[strings.ToLower(name)]; o != nil {
			out = append(out, o)
		}
	}
	return out
}

func (s *Server) isMemberLocked(u *User, o *org) bool {
	if u.Orgs == nil {
		return true
	}
	for _, name := range u.Orgs {
		if strings.EqualFold(name, o.name) {
			return true
		}
	}
	return false
}

func sortedProjects(o *org) []Project {
	out := make([]Project, 0, len(o.projects))
	for _, p := range o.projects {
		out = append(out, p.Project)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}
