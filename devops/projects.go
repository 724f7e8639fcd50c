package devops

import (
	"context"
	"fmt"
	"net/url"
)

// maxProjectPages bounds paging: a misbehaving server that keeps sending
// continuation tokens must not keep a command busy forever.
const maxProjectPages = 100

// Projects lists all projects of org (Projects – List), following the
// x-ms-continuationtoken response header into the continuationToken parameter.
func (u *UserClient) Projects(ctx context.Context, org string) ([]Project, error) {
	if err := ValidateOrg(org); err != nil {
		return nil, err
	}
	ep := endpoint(u.c.api, org, "_apis", "projects")
	var all []Project
	seen := map[string]bool{}
	token := ""
	for page := 0; page < maxProjectPages; page++ {
		q := url.Values{}
		if token != "" {
			q.Set("continuationToken", token)
		}
		var r listResponse[Project]
		h, err := u.do(ctx, getCall(ep, q), &r)
		if err != nil {
			return nil, fmt.Errorf("devops: list projects of %s: %w", org, err)
		}
		all = append(all, r.Value...)
		token = h.Get("x-ms-continuationtoken")
		if token == "" || seen[token] {
			return all, nil
		}
		seen[token] = true
	}
	return all, nil
}
