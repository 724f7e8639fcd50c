package e2e

import (
	"strings"
	"testing"

	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/internal/redistest"
)

// People are keyed by (team, user): the same user id in another workspace is someone
// else. With an org-wide install they are keyed by (enterprise, user): one link serves
// every workspace of the grid.
func TestWorkspacesAndEnterpriseInstalls(t *testing.T) {
	e := newEnv(t, envOptions{})
	other := redistest.UniqueID("T")

	e.link()
	r := e.sendAs(other, e.slackU, "status")
	if strings.Contains(r.All, "Normal Paulk") {
		t.Fatalf("a link in one workspace answered for the same user id in another: %s", r.All)
	}
	mustContain(t, "status in the other workspace", r.All, "Connect Azure DevOps")

	grid := redistest.UniqueID("E")
	wsA, wsB := redistest.UniqueID("T"), redistest.UniqueID("T")
	e.linkSC(fakeslack.SlashCommand{Team: wsA, Enterprise: grid, IsEnterpriseInstall: true, User: e.slackU})
	r = e.sendSC(fakeslack.SlashCommand{Team: wsB, Enterprise: grid, IsEnterpriseInstall: true, User: e.slackU, Text: "status"})
	mustContain(t, "status in another workspace of the grid", r.All, "Normal Paulk")

	// Unlinking through the grid leaves the per-workspace link alone.
	e.sendSC(fakeslack.SlashCommand{Team: wsB, Enterprise: grid, IsEnterpriseInstall: true, User: e.slackU, Text: "unlink"})
	r = e.sendSC(fakeslack.SlashCommand{Team: wsA, Enterprise: grid, IsEnterpriseInstall: true, User: e.slackU, Text: "status"})
	mustContain(t, "grid after unlink", r.All, "Connect Azure DevOps")
	r = e.send("status")
	mustContain(t, "workspace link after the grid's unlink", r.All, "Normal Paulk")
}
