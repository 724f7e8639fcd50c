package adoauth

import (
	"context"
	"fmt"

	"github.com/adobot/adobot/store"
)

const (
	// Entra ID: the person removes the app under My Apps (myapplications).
	entraRemoveAccessURL = "https://myapps.microsoft.com"
	// Legacy Azure DevOps OAuth: Profile > Authorizations, per the Azure DevOps docs
	// ("Manage authorizations": https://app.vssps.visualstudio.com/Profile/View).
	legacyRemoveAccessURL = "https://app.vssps.visualstudio.com/Profile/View"
)

// Unlink deletes everything stored for k and returns where the person removes the
// app's access in their account (Entra: My Apps; legacy: Azure DevOps Authorizations).
// There is no API through which the app revokes its own grant.
func (s *Service) Unlink(ctx context.Context, k store.UserKey) (removeAccessURL string, err error) {
	if err := s.st.Delete(ctx, k); err != nil {
		return "", fmt.Errorf("adoauth: unlink: %w", err)
	}
	s.forgetNegative(k)
	s.log.InfoContext(ctx, "unlinked", "team", k.Team, "user", k.User)
	if s.prov.Mode() == "legacy" {
		return legacyRemoveAccessURL, nil
	}
	return entraRemoveAccessURL, nil
}
