package devops

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const (
	defaultTop  = 10
	maxBuildTop = 5000
)

// Builds lists builds of a project, newest first:
// GET {api}/{org}/{project}/_apis/build/builds. Order is by queue time (running and
// queued builds have no finish time); with a ResultFilter only completed builds can
// match, so they are ordered by finish time.
func (u *UserClient) Builds(ctx context.Context, org, project string, opt BuildListOptions) ([]Build, error) {
	if err := validateOrgProject(org, project); err != nil {
		return nil, err
	}
	q, err := buildQuery(opt)
	if err != nil {
		return nil, err
	}
	var r listResponse[Build]
	if _, err := u.do(ctx, getCall(endpoint(u.c.api, org, project, "_apis", "build", "builds"), q), &r); err != nil {
		return nil, fmt.Errorf("devops: list builds of %s/%s: %w", org, project, err)
	}
	return r.Value, nil
}

func buildQuery(opt BuildListOptions) (url.Values, error) {
	q := url.Values{}
	top := opt.Top
	switch {
	case top <= 0:
		top = defaultTop
	case top > maxBuildTop:
		top = maxBuildTop
	}
	q.Set("$top", strconv.Itoa(top))
	if opt.ResultFilter != "" {
		q.Set("queryOrder", "finishTimeDescending")
	} else {
		q.Set("queryOrder", "queueTimeDescending")
	}
	if b := strings.TrimSpace(opt.Branch); b != "" {
		if !strings.HasPrefix(b, "refs/") {
			b = "refs/heads/" + b
		}
		q.Set("branchName", b)
	}
	if len(opt.DefinitionIDs) > 0 {
		ids := make([]string, 0, len(opt.DefinitionIDs))
		for _, id := range opt.DefinitionIDs {
			if id <= 0 {
				return nil, &ValidationError{Field: "definition", Reason: "ids are positive numbers"}
			}
			ids = append(ids, strconv.Itoa(id))
		}
		q.Set("definitions", strings.Join(ids, ","))
	}
	if opt.StatusFilter != "" {
		if !oneOf(opt.StatusFilter, "inProgress", "completed", "cancelling", "postponed", "notStarted", "none", "all") {
			return nil, &ValidationError{Field: "status filter", Reason: "unknown build status"}
		}
		q.Set("statusFilter", opt.StatusFilter)
	}
	if opt.ResultFilter != "" {
		if !oneOf(opt.ResultFilter, "succeeded", "partiallySucceeded", "failed", "canceled", "none") {
			return nil, &ValidationError{Field: "result filter", Reason: "unknown build result"}
		}
		q.Set("resultFilter", opt.ResultFilter)
	}
	return q, nil
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}
