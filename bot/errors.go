package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/adobot/adobot/adoauth"
	"github.com/adobot/adobot/devops"
	"github.com/adobot/adobot/store"
)

// Internal conditions that map to a friendly reply.
var (
	errNotLinked = errors.New("bot: not linked")
)

// mapped is how an error is answered.
type mapped struct {
	text       string // mrkdwn
	connect    bool   // add the Connect Azure DevOps button
	unexpected bool   // log as an error and show a request id
	outcome    string // metrics label
}

// mapError turns any error from a command into what the person reads. org and
// project are the ones the command used (for not-found wording). It is pure so
// the mapping can be tested as a table.
func mapError(err error, org, project string) mapped {
	var (
		rl  *devops.RateLimitError
		ae  *devops.AuthError
		pe  *devops.PermissionError
		nf  *devops.NotFoundError
		ve  *devops.ValidationError
		per *ParseError
		mse *missingScopeError
		er  *devops.ErrorResponse
	)
	switch {
	case errors.Is(err, errNotLinked), errors.Is(err, store.ErrNotFound):
		return mapped{text: "You haven't linked your Azure DevOps account yet. Connect it to use this command.", connect: true, outcome: "not_linked"}
	case errors.Is(err, store.ErrUnavailable):
		return mapped{text: "Storage is unavailable right now — try again in a minute.", outcome: "unavailable"}
	case errors.Is(err, adoauth.ErrNeedsRelink), errors.Is(err, adoauth.ErrGrantGone):
		return mapped{text: "Your Azure DevOps sign-in has expired or was revoked. Link again to continue.", connect: true, outcome: "relink"}
	case errors.Is(err, adoauth.ErrRefreshBusy):
		return mapped{text: "Your Azure DevOps sign-in is being renewed — try again in a few seconds.", outcome: "busy"}
	case errors.Is(err, errNoOrg):
		return mapped{text: "I don't know which Azure DevOps organization to use. Set your default with `/ado org NAME`, or add `--org NAME`.", outcome: "user_error"}
	case errors.As(err, &rl):
		secs := int(math.Ceil(rl.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		return mapped{text: fmt.Sprintf("Azure DevOps is rate limiting; try again in %d s.", secs), outcome: "rate_limited"}
	case errors.As(err, &mse):
		return missingScope(mse.scope)
	case errors.As(err, &ae) && ae.MissingScope != "":
		return missingScope(ae.MissingScope)
	case errors.As(err, &pe) && pe.MissingScope != "":
		return missingScope(pe.MissingScope)
	case errors.As(err, &ae):
		return mapped{text: "Azure DevOps did not accept your sign-in. Link again to continue.", connect: true, outcome: "relink"}
	case errors.As(err, &pe):
		msg := pe.Message
		if msg == "" {
			msg = "you don't have permission for this"
		}
		return mapped{text: "Azure DevOps refused: " + escClip(msg, 500), outcome: "forbidden"}
	case errors.As(err, &nf):
		if project != "" {
			return mapped{text: fmt.Sprintf("Project *%s* was not found in organization *%s*.", esc(project), esc(org)), outcome: "not_found"}
		}
		return mapped{text: fmt.Sprintf("Organization *%s* was not found, or you have no access to it.", esc(org)), outcome: "not_found"}
	case errors.As(err, &ve):
		field := ve.Field
		if field == "" {
			field = "name"
		}
		return mapped{text: fmt.Sprintf("That %s name isn't valid: %s", esc(field), escClip(ve.Reason, 300)), outcome: "user_error"}
	case errors.As(err, &per):
		return mapped{text: esc(per.Msg), outcome: "user_error"}
	case errors.As(err, &er) && er.StatusCode >= 500:
		return mapped{text: fmt.Sprintf("Azure DevOps is having trouble right now (HTTP %d) — try again in a minute.", er.StatusCode), outcome: "upstream_error"}
	case errors.Is(err, context.DeadlineExceeded):
		return mapped{text: "That took too long — Azure DevOps did not answer in time.", unexpected: true, outcome: "error"}
	}
	return mapped{text: "Something went wrong.", unexpected: true, outcome: "error"}
}

func missingScope(scope string) mapped {
	return mapped{
		text:    fmt.Sprintf("Your sign-in lacks the *%s* permission needed for this. Link again to grant it.", esc(scope)),
		connect: true, outcome: "missing_scope",
	}
}

// missingScopeError: the stored grant lacks the Azure DevOps scope a command needs.
type missingScopeError struct{ scope string }

func (e *missingScopeError) Error() string { return "bot: sign-in lacks scope " + e.scope }

// commandScope is the Azure DevOps scope a command's calls need ("" for none).
func commandScope(name string) string {
	switch name {
	case "builds":
		return "vso.build"
	case "workitems":
		return "vso.work"
	case "projects":
		return "vso.project"
	case "repos", "prs":
		return "vso.code"
	}
	return ""
}

// hasScope matches short ("vso.code") and resource-prefixed scope names.
func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want || strings.HasSuffix(s, "/"+want) {
			return true
		}
	}
	return false
}
