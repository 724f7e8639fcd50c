package devops

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

const maxPRTop = 1000

// Repositories lists the Git repositories of a project:
// GET {api}/{org}/{project}/_apis/git/repositories. Needs vso.code.
func (u *UserClient) Repositories(ctx context.Context, org, project string) ([]Repository, error) {
	if err := validateOrgProject(org, project); err != nil {
		return nil, err
	}
	var r listResponse[Repository]
	if _, err := u.do(ctx, getCall(endpoint(u.c.api, org, project, "_apis", "git", "repositories"), nil), &r); err != nil {
		return nil, fmt.Errorf("devops: list repositories of %s/%s: %w", org, project, err)
	}
	return r.Value, nil
}

// PullRequests lists active pull requests with crit.ReviewerID as a reviewer (any
// vote) or crit.CreatorID as author: GET {api}/{org}[/{project}]/_apis/git/pullrequests.
// project "" = whole org. Needs vso.code.
func (u *UserClient) PullRequests(ctx context.Context, org, project string, crit PullRequestCriteria) ([]PullRequest, error) {
	if err := ValidateOrg(org); err != nil {
		return nil, err
	}
	segs := []string{org}
	if project != "" {
		if err := ValidateProject(project); err != nil {
			return nil, err
		}
		segs = append(segs, project)
	}
	q := url.Values{"searchCriteria.status": {"active"}}
	switch {
	case crit.ReviewerID != "" && crit.CreatorID != "":
		return nil, &ValidationError{Field: "pull request criteria", Reason: "set reviewer or creator, not both"}
	case crit.ReviewerID != "":
		if !isGUID(crit.ReviewerID) {
			return nil, &ValidationError{Field: "reviewer id", Reason: "not an identity id"}
		}
		q.Set("searchCriteria.reviewerId", crit.ReviewerID)
	case crit.CreatorID != "":
		if !isGUID(crit.CreatorID) {
			return nil, &ValidationError{Field: "creator id", Reason: "not an identity id"}
		}
		q.Set("searchCriteria.creatorId", crit.CreatorID)
	default:
		return nil, &ValidationError{Field: "pull request criteria", Reason: "reviewer or creator id needed"}
	}
	top := crit.Top
	switch {
	case top <= 0:
		top = defaultTop
	case top > maxPRTop:
		top = maxPRTop
	}
	q.Set("$top", strconv.Itoa(top))
	segs = append(segs, "_apis", "git", "pullrequests")
	var r listResponse[PullRequest]
	if _, err := u.do(ctx, getCall(endpoint(u.c.api, segs...), q), &r); err != nil {
		return nil, fmt.Errorf("devops: list pull requests in %s: %w", org, err)
	}
	return r.Value, nil
}

// isGUID accepts the 8-4-4-4-12 hex form identity ids come in.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
