package fakeado

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// DemoOrg is the organization SeedDemo fills.
const DemoOrg = "contoso"

// demoUsers are who SeedDemo adds when it is given no users.
var demoUsers = []User{
	{ID: "6f1c2a5e-3b7d-4c1e-9a2f-0d8e4b6c1a01", DisplayName: "Alex Chen", Email: "alex.chen@contoso.example"},
	{ID: "6f1c2a5e-3b7d-4c1e-9a2f-0d8e4b6c1a02", DisplayName: "Sam Rivera", Email: "sam.rivera@contoso.example"},
}

// colleagues own work and review pull requests but are never signed in.
var colleagues = []User{
	{ID: "9b0a7c3d-1e2f-4a5b-8c6d-7e8f9a0b1c01", DisplayName: "Priya Patel", Email: "priya.patel@contoso.example"},
	{ID: "9b0a7c3d-1e2f-4a5b-8c6d-7e8f9a0b1c02", DisplayName: "Jonas Müller", Email: "jonas.mueller@contoso.example"},
	{ID: "9b0a7c3d-1e2f-4a5b-8c6d-7e8f9a0b1c03", DisplayName: "Chloé O'Brien", Email: "chloe.obrien@contoso.example"},
}

// SeedDemo fills organization "contoso" with realistic data: projects "Mobile App",
// "Platform", "Data & Analytics" and "Website"; about 30 builds per project (mixed
// statuses, results and branches, times relative to now); about 25 work items per
// given user (mixed types and states, closed ones included) plus some for
// colleagues; 3 repositories and a handful of pull requests with reviewers and
// votes. The same users give the same data (seeded random source), apart from
// timestamps, which follow the clock. Without users it adds two demo users.
// Users whose Orgs is non-nil get "contoso" added.
func SeedDemo(s *Server, users ...User) {
	if len(users) == 0 {
		users = demoUsers
	}
	rng := rand.New(rand.NewPCG(20240601, 7))
	now := time.Now().UTC().Truncate(time.Second)

	for _, u := range users {
		if u.Orgs != nil && !slices.Contains(u.Orgs, DemoOrg) {
			u.Orgs = append(slices.Clone(u.Orgs), DemoOrg)
		}
		s.AddUser(u)
	}
	for _, c := range colleagues {
		c.Orgs = []string{DemoOrg}
		s.AddUser(c)
	}
	people := append(slices.Clone(users), colleagues...)
	pick := func() User { return people[rng.IntN(len(people))] }

	projects := []Project{
		{Name: "Mobile App", Description: "iOS and Android apps for Contoso customers."},
		{Name: "Platform", Description: "Shared services, APIs and infrastructure."},
		{Name: "Data & Analytics", Description: "Pipelines, warehouse and dashboards."},
		{Name: "Website", Description: "contoso.example marketing site <beta>."},
	}
	for i, p := range projects {
		p.LastUpdateTime = now.Add(-time.Duration(i+1) * 72 * time.Hour)
		s.AddProject(DemoOrg, p)
	}

	defs := map[string][]string{
		"Mobile App":       {"mobile-app-ci", "mobile-app-release", "mobile-app-nightly"},
		"Platform":         {"platform-api-ci", "platform-infra-deploy", "platform-integration-tests"},
		"Data & Analytics": {"etl-ci", "warehouse-deploy"},
		"Website":          {"website-ci", "website-deploy"},
	}
	branches := []string{"refs/heads/main", "refs/heads/main", "refs/heads/main", "refs/heads/release/2.4",
		"refs/heads/feature/login-redesign", "refs/heads/feature/o'brien-fix", "refs/pull/142/merge"}
	reasons := []string{"individualCI", "individualCI", "pullRequest", "manual", "schedule"}
	for _, p := range projects {
		t := now
		for i := 0; i < 30; i++ {
			t = t.Add(-time.Duration(20+rng.IntN(160)) * time.Minute)
			defIdx := rng.IntN(len(defs[p.Name]))
			b := Build{
				DefinitionID:   defIdx + 1,
				DefinitionName: defs[p.Name][defIdx],
				SourceBranch:   branches[rng.IntN(len(branches))],
				Reason:         reasons[rng.IntN(len(reasons))],
				RequestedFor:   pick().ID,
				QueueTime:      t,
				BuildNumber:    fmt.Sprintf("%s.%d", t.Format("20060102"), i%4+1),
			}
			switch {
			case i == 0 || i == 2:
				b.Status = "inProgress"
				b.StartTime = t.Add(20 * time.Second)
			case i == 1:
				b.Status = "notStarted"
			default:
				b.Status = "completed"
				b.StartTime = t.Add(time.Duration(5+rng.IntN(60)) * time.Second)
				b.FinishTime = b.StartTime.Add(time.Duration(2+rng.IntN(25)) * time.Minute)
				switch x := rng.IntN(10); {
				case x < 6:
					b.Result = "succeeded"
				case x < 8:
					b.Result = "failed"
				case x < 9:
					b.Result = "partiallySucceeded"
				default:
					b.Result = "canceled"
				}
			}
			s.AddBuild(DemoOrg, p.Name, b)
		}
	}

	type wiTemplate struct{ typ, title string }
	templates := []wiTemplate{
		{"Bug", "Crash when rotating the device on the checkout screen"},
		{"Bug", "Login fails for accounts with an apostrophe (O'Neil)"},
		{"Task", "Write unit tests for the token refresh path"},
		{"User Story", "As a customer I can reset my password from the app"},
		{"Task", "Upgrade Go to the latest release"},
		{"Bug", "Dashboard shows <script> tags in project names"},
		{"Feature", "Offline mode for order history"},
		{"Task", "Rotate the storage account keys"},
		{"User Story", "Export reports as CSV & PDF"},
		{"Bug", "Timeouts on /api/orders under load"},
		{"Task", "Document the release process"},
		{"Epic", "Payments v2"},
		{"Bug", "Dark mode contrast too low on settings page"},
	}
	openStates := map[string][]string{
		"Bug": {"New", "Active", "Resolved"}, "Task": {"New", "Active"},
		"User Story": {"New", "Active", "Resolved"}, "Feature": {"New", "Active"}, "Epic": {"New", "Active"},
	}
	closedStates := []string{"Closed", "Done", "Removed"}
	addItems := func(owner User, n int) {
		for i := 0; i < n; i++ {
			tpl := templates[rng.IntN(len(templates))]
			changed := now.Add(-time.Duration(rng.IntN(30*24)) * time.Hour).Add(-time.Duration(rng.IntN(3600)) * time.Second)
			state := openStates[tpl.typ][rng.IntN(len(openStates[tpl.typ]))]
			if i%3 == 2 {
				state = closedStates[rng.IntN(len(closedStates))]
			}
			s.AddWorkItem(DemoOrg, projects[rng.IntN(len(projects))].Name, WorkItem{
				Title: tpl.title, Type: tpl.typ, State: state, AssignedTo: owner.ID,
				CreatedBy: pick().ID, Priority: 1 + rng.IntN(4), Rev: 1 + rng.IntN(12),
				CreatedDate: changed.Add(-time.Duration(rng.IntN(20*24)) * time.Hour), ChangedDate: changed,
			})
		}
	}
	for _, u := range users {
		addItems(u, 25)
	}
	for _, c := range colleagues {
		addItems(c, 6)
	}
	for i := 0; i < 3; i++ {
		s.AddWorkItem(DemoOrg, projects[i].Name, WorkItem{
			Title: "Unassigned: triage incoming feedback", Type: "Task", State: "New",
			ChangedDate: now.Add(-time.Duration(i+1) * 5 * time.Hour),
		})
	}

	s.AddRepo(DemoOrg, "Mobile App", Repo{Name: "mobile-app", Size: 48_213_504})
	s.AddRepo(DemoOrg, "Platform", Repo{Name: "platform-api", Size: 12_582_912})
	s.AddRepo(DemoOrg, "Platform", Repo{Name: "platform-infra", DefaultBranch: "refs/heads/master", Size: 1_048_576})

	me := users[0]
	other := users[len(users)-1]
	prs := []struct {
		project string
		pr      PullRequest
	}{
		{"Mobile App", PullRequest{Repo: "mobile-app", Title: "Redesign the login screen", CreatedBy: colleagues[0].ID,
			SourceBranch: "feature/login-redesign", Reviewers: []Reviewer{{ID: me.ID, Vote: 0, IsRequired: true}, {ID: colleagues[1].ID, Vote: 10}}}},
		{"Mobile App", PullRequest{Repo: "mobile-app", Title: "Fix crash on rotate <checkout>", CreatedBy: me.ID,
			SourceBranch: "bugfix/rotate-crash", Reviewers: []Reviewer{{ID: colleagues[2].ID, Vote: -5}, {ID: other.ID, Vote: 5}}}},
		{"Platform", PullRequest{Repo: "platform-api", Title: "Add rate limiting to /orders", CreatedBy: colleagues[1].ID,
			SourceBranch: "feature/rate-limit", Reviewers: []Reviewer{{ID: me.ID, Vote: -10}, {ID: other.ID, Vote: 0}}}},
		{"Platform", PullRequest{Repo: "platform-infra", Title: "WIP: move to managed identity", CreatedBy: me.ID, IsDraft: true,
			SourceBranch: "chore/managed-identity", TargetBranch: "master", Reviewers: []Reviewer{{ID: colleagues[0].ID, Vote: 0}}}},
		{"Platform", PullRequest{Repo: "platform-api", Title: "Bump dependencies", CreatedBy: colleagues[2].ID, Status: "completed",
			SourceBranch: "deps/bump", Reviewers: []Reviewer{{ID: me.ID, Vote: 10}}}},
		{"Mobile App", PullRequest{Repo: "mobile-app", Title: "Experiment: new onboarding", CreatedBy: me.ID, Status: "abandoned",
			SourceBranch: "exp/onboarding", Reviewers: []Reviewer{{ID: colleagues[0].ID, Vote: 0}}}},
		{"Platform", PullRequest{Repo: "platform-api", Title: "Document the API & error codes", CreatedBy: other.ID,
			SourceBranch: "docs/api", Reviewers: []Reviewer{{ID: me.ID, Vote: 5}, {ID: colleagues[1].ID, Vote: 0, IsRequired: true}}}},
	}
	for i, x := range prs {
		x.pr.CreationDate = now.Add(-time.Duration(i*11+3) * time.Hour)
		x.pr.Description = "Seeded by fakeado.SeedDemo."
		s.AddPullRequest(DemoOrg, x.project, x.pr)
	}
}
