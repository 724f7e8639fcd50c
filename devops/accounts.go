package devops

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// listResponse is the {"count": n, "value": [...]} envelope of list answers.
type listResponse[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

// Organizations lists the organizations memberID belongs to (Accounts – List):
// GET {vssps}/_apis/accounts?memberId=.
func (u *UserClient) Organizations(ctx context.Context, memberID string) ([]Account, error) {
	memberID = strings.TrimSpace(memberID)
	if memberID == "" {
		return nil, &ValidationError{Field: "memberId", Reason: "empty"}
	}
	var r listResponse[Account]
	q := url.Values{"memberId": {memberID}}
	if _, err := u.do(ctx, getCall(endpoint(u.c.vssps, "_apis", "accounts"), q), &r); err != nil {
		return nil, fmt.Errorf("devops: list organizations: %w", err)
	}
	return r.Value, nil
}
