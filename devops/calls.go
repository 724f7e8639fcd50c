package devops

import "context"

// (CONTRACT STUB; implementations go to profile.go, builds.go, workitems.go, projects.go, git.go)

func (u *UserClient) Profile(ctx context.Context) (*Profile, error) { panic("stub") }

// Organizations: GET {vssps}/_apis/accounts?memberId=
func (u *UserClient) Organizations(ctx context.Context, memberID string) ([]Account, error) {
	panic("stub")
}

// Projects: all pages (x-ms-continuationtoken).
func (u *UserClient) Projects(ctx context.Context, org string) ([]Project, error) { panic("stub") }

// Builds newest first.
func (u *UserClient) Builds(ctx context.Context, org, project string, opt BuildListOptions) ([]Build, error) {
	panic("stub")
}

// MyWorkItems: WIQL (@Me, open states, newest change first) then workitemsbatch.
// total is how many the WIQL matched (before Top). project "" = all projects of org.
func (u *UserClient) MyWorkItems(ctx context.Context, org, project string, opt WorkItemOptions) (items []WorkItem, total int, err error) {
	panic("stub")
}

func (u *UserClient) Repositories(ctx context.Context, org, project string) ([]Repository, error) {
	panic("stub")
}

// PullRequests: active PRs; project "" = whole org.
func (u *UserClient) PullRequests(ctx context.Context, org, project string, crit PullRequestCriteria) ([]PullRequest, error) {
	panic("stub")
}
