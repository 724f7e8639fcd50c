package devops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// maxWorkItemTop bounds how many items one MyWorkItems call fetches.
	maxWorkItemTop = 1000
	// wiqlCountCap: the WIQL query asks for at least this many ids so the total
	// reported is exact up to here (a total equal to it means "at least").
	wiqlCountCap = 1000
	// batchSize is the workitemsbatch limit of ids per request.
	batchSize = 200
	// batchConcurrency bounds batch requests in flight for one person's command.
	batchConcurrency = 4
)

// batchFields are the fields fetched for each work item.
func batchFields() []string {
	return []string{
		"System.Id", "System.Title", "System.WorkItemType", "System.State",
		"System.TeamProject", "System.AssignedTo", "System.ChangedDate",
	}
}

// MyWorkItems: WIQL (@Me, open states, newest change first) then workitemsbatch.
// total is how many the WIQL matched (before Top, exact up to 1000). project "" = all
// projects of org.
func (u *UserClient) MyWorkItems(ctx context.Context, org, project string, opt WorkItemOptions) (items []WorkItem, total int, err error) {
	if err := ValidateOrg(org); err != nil {
		return nil, 0, err
	}
	segs := []string{org}
	if project != "" {
		if err := ValidateProject(project); err != nil {
			return nil, 0, err
		}
		segs = append(segs, project)
	}
	top := opt.Top
	switch {
	case top <= 0:
		top = defaultTop
	case top > maxWorkItemTop:
		top = maxWorkItemTop
	}
	query, err := myOpenWorkItemsWIQL(project != "")
	if err != nil {
		return nil, 0, err
	}
	ids, err := u.wiqlIDs(ctx, endpoint(u.c.api, append(segs, "_apis", "wit", "wiql")...), query, max(top, wiqlCountCap))
	if err != nil {
		return nil, 0, fmt.Errorf("devops: query work items in %s: %w", org, err)
	}
	total = len(ids)
	if len(ids) > top {
		ids = ids[:top]
	}
	items, err = u.workItemsBatch(ctx, org, ids)
	if err != nil {
		return nil, 0, fmt.Errorf("devops: get work items in %s: %w", org, err)
	}
	return items, total, nil
}

// myOpenWorkItemsWIQL builds the query from allow-listed fields and quoted
// literals only; the project is named through @project (the project-scoped URL),
// never pasted in.
func myOpenWorkItemsWIQL(inProject bool) (string, error) {
	var w wiql
	w.raw("SELECT ").field("System.Id").raw(" FROM WorkItems WHERE ").
		field("System.AssignedTo").raw(" = @Me AND ").
		field("System.State").raw(" NOT IN (").str("Closed").raw(", ").str("Done").raw(", ").str("Removed").raw(")")
	if inProject {
		w.raw(" AND ").field("System.TeamProject").raw(" = @project")
	}
	w.raw(" ORDER BY ").field("System.ChangedDate").raw(" DESC")
	return w.String()
}

// wiql writes a WIQL query. Field names must be on the allow-list; string literals
// are quoted with ' doubled, so text cannot leave its literal.
type wiql struct {
	b   strings.Builder
	err error
}

func (w *wiql) raw(s string) *wiql { w.b.WriteString(s); return w }

func (w *wiql) field(name string) *wiql {
	switch name {
	case "System.Id", "System.Title", "System.WorkItemType", "System.State", "System.TeamProject",
		"System.AssignedTo", "System.ChangedDate", "System.CreatedDate", "System.AreaPath",
		"System.IterationPath", "Microsoft.VSTS.Common.Priority":
		w.b.WriteString("[" + name + "]")
	default:
		if w.err == nil {
			w.err = &ValidationError{Field: "WIQL field", Reason: "not allowed: " + strconv.Quote(name)}
		}
	}
	return w
}

func (w *wiql) str(s string) *wiql {
	w.b.WriteString("'" + strings.ReplaceAll(s, "'", "''") + "'")
	return w
}

func (w *wiql) String() (string, error) { return w.b.String(), w.err }

type wiqlResult struct {
	WorkItems []struct {
		ID int `json:"id"`
	} `json:"workItems"`
}

func (u *UserClient) wiqlIDs(ctx context.Context, ep *url.URL, query string, top int) ([]int, error) {
	cl, err := readPOST(ep, url.Values{"$top": {strconv.Itoa(top)}}, struct {
		Query string `json:"query"`
	}{query})
	if err != nil {
		return nil, err
	}
	var r wiqlResult
	if _, err := u.do(ctx, cl, &r); err != nil {
		return nil, err
	}
	ids := make([]int, len(r.WorkItems))
	for i, w := range r.WorkItems {
		ids[i] = w.ID
	}
	return ids, nil
}

// batchItem is one element of a workitemsbatch answer.
type batchItem struct {
	ID     int `json:"id"`
	Fields struct {
		Title       string        `json:"System.Title"`
		Type        string        `json:"System.WorkItemType"`
		State       string        `json:"System.State"`
		Project     string        `json:"System.TeamProject"`
		AssignedTo  identityField `json:"System.AssignedTo"`
		ChangedDate time.Time     `json:"System.ChangedDate"`
	} `json:"fields"`
}

// identityField is an identity-valued work item field: an IdentityRef object in
// API 5.0+, a "Display Name <email>" string before. It keeps the display name.
type identityField string

func (f *identityField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if i := strings.LastIndex(s, " <"); i > 0 && strings.HasSuffix(s, ">") {
			s = s[:i]
		}
		*f = identityField(s)
	default:
		var id struct {
			DisplayName string `json:"displayName"`
		}
		if err := json.Unmarshal(b, &id); err != nil {
			return err
		}
		*f = identityField(id.DisplayName)
	}
	return nil
}

type batchRequest struct {
	IDs         []int    `json:"ids"`
	Fields      []string `json:"fields"`
	ErrorPolicy string   `json:"errorPolicy"`
}

// workItemsBatch fetches ids in chunks of batchSize, batchConcurrency at a time,
// and returns them in the order of ids. Items the person may not see (or that were
// deleted since the query) are left out ("omit" error policy) instead of failing all.
func (u *UserClient) workItemsBatch(ctx context.Context, org string, ids []int) ([]WorkItem, error) {
	if len(ids) == 0 {
		return []WorkItem{}, nil
	}
	ep := endpoint(u.c.api, org, "_apis", "wit", "workitemsbatch")
	fields := batchFields()
	chunks := make([][]*batchItem, (len(ids)+batchSize-1)/batchSize)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchConcurrency)
	for i := range chunks {
		part := ids[i*batchSize : min((i+1)*batchSize, len(ids))]
		g.Go(func() error {
			cl, err := readPOST(ep, nil, batchRequest{IDs: part, Fields: fields, ErrorPolicy: "omit"})
			if err != nil {
				return err
			}
			var r listResponse[*batchItem]
			if _, err := u.do(gctx, cl, &r); err != nil {
				return err
			}
			chunks[i] = r.Value
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	byID := make(map[int]*batchItem, len(ids))
	for _, c := range chunks {
		for _, it := range c {
			if it != nil {
				byID[it.ID] = it
			}
		}
	}
	out := make([]WorkItem, 0, len(ids))
	for _, id := range ids {
		it, ok := byID[id]
		if !ok {
			continue
		}
		f := &it.Fields
		out = append(out, WorkItem{
			ID: it.ID, Title: f.Title, Type: f.Type, State: f.State, Project: f.Project,
			AssignedTo: string(f.AssignedTo), ChangedDate: f.ChangedDate,
		})
	}
	return out, nil
}
