package devops

import (
	"context"
	"fmt"
)

// Profile is Profiles – Get for the signed-in person:
// GET {vssps}/_apis/profile/profiles/me.
func (u *UserClient) Profile(ctx context.Context) (*Profile, error) {
	var p Profile
	if _, err := u.do(ctx, getCall(endpoint(u.c.vssps, "_apis", "profile", "profiles", "me"), nil), &p); err != nil {
		return nil, fmt.Errorf("devops: get profile: %w", err)
	}
	return &p, nil
}
