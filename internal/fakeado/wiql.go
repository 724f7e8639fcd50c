package fakeado

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

func pathEscape(s string) string { return url.PathEscape(s) }

// wiField describes a work item field the fake understands.
type wiField struct {
	ref, name string
	kind      byte // 's' string, 'i' int, 'd' date, 'p' person
}

var wiFields = []wiField{
	{"System.Id", "ID", 'i'},
	{"System.Title", "Title", 's'},
	{"System.State", "State", 's'},
	{"System.Reason", "Reason", 's'},
	{"System.WorkItemType", "Work Item Type", 's'},
	{"System.AssignedTo", "Assigned To", 'p'},
	{"System.CreatedBy", "Created By", 'p'},
	{"System.ChangedBy", "Changed By", 'p'},
	{"System.TeamProject", "Team Project", 's'},
	{"System.AreaPath", "Area Path", 's'},
	{"System.IterationPath", "Iteration Path", 's'},
	{"System.ChangedDate", "Changed Date", 'd'},
	{"System.CreatedDate", "Created Date", 'd'},
	{"System.Rev", "Rev", 'i'},
	{"System.Tags", "Tags", 's'},
	{"System.CommentCount", "Comment Count", 'i'},
	{"Microsoft.VSTS.Common.Priority", "Priority", 'i'},
}

// lookupField accepts a reference name or a friendly name, case-insensitively.
func lookupField(name string) (wiField, bool) {
	for _, f := range wiFields {
		if strings.EqualFold(f.ref, name) || strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return wiField{}, false
}

// ---- tokenizer --------------------------------------------------------------------

type wqTok struct {
	kind byte // 'w' word, 'f' [field], 's' 'string', 'm' @macro, 'n' number, 'o' operator/punct, 0 EOF
	text string
	pos  int
}

// wiqlError is a query the fake refuses (answered with 400).
type wiqlError struct {
	Pos int
	Msg string
}

func (e *wiqlError) Error() string { return fmt.Sprintf("WIQL: %s (at offset %d)", e.Msg, e.Pos) }

func tokenizeWIQL(q string) ([]wqTok, error) {
	var toks []wqTok
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '[':
			end := strings.IndexByte(q[i+1:], ']')
			if end < 0 {
				return nil, &wiqlError{i, "unterminated field name"}
			}
			name := q[i+1 : i+1+end]
			if strings.ContainsAny(name, "[]'") {
				return nil, &wiqlError{i, "bad field name"}
			}
			toks = append(toks, wqTok{'f', name, i})
			i += end + 2
		case c == '\'':
			var sb strings.Builder
			j := i + 1
			for {
				if j >= len(q) {
					return nil, &wiqlError{i, "unterminated string literal"}
				}
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(q[j])
				j++
			}
			toks = append(toks, wqTok{'s', sb.String(), i})
			i = j + 1
		case c == '@':
			j := i + 1
			for j < len(q) && (isWordByte(q[j])) {
				j++
			}
			if j == i+1 {
				return nil, &wiqlError{i, "empty macro"}
			}
			toks = append(toks, wqTok{'m', q[i+1 : j], i})
			i = j
		case c >= '0' && c <= '9' || (c == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' && lastIsOp(toks)):
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			toks = append(toks, wqTok{'n', q[i:j], i})
			i = j
		case strings.HasPrefix(q[i:], "<>") || strings.HasPrefix(q[i:], "<=") || strings.HasPrefix(q[i:], ">="):
			toks = append(toks, wqTok{'o', q[i : i+2], i})
			i += 2
		case strings.ContainsRune("=<>(),-+", rune(c)):
			toks = append(toks, wqTok{'o', string(c), i})
			i++
		case isWordByte(c):
			j := i
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			toks = append(toks, wqTok{'w', q[i:j], i})
			i = j
		default:
			return nil, &wiqlError{i, fmt.Sprintf("unexpected character %q", rune(c))}
		}
	}
	return append(toks, wqTok{0, "", len(q)}), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}

func lastIsOp(toks []wqTok) bool {
	return len(toks) > 0 && toks[len(toks)-1].kind == 'o' && toks[len(toks)-1].text != ")"
}

// ---- parser -----------------------------------------------------------------------

type wqValue struct {
	kind byte // 's' string, 'n' number, 'm' macro
	text string
	num  int // number, or the day offset of @today
}

type wqCond struct {
	field wiField
	op    string // =, <>, <, >, <=, >=, in, notin
	vals  []wqValue
}

type wqOrder struct {
	field wiField
	desc  bool
}

type wiqlQuery struct {
	selects []wiField
	conds   []wqCond // all ANDed
	order   []wqOrder
}

type wqParser struct {
	toks []wqTok
	i    int
}

func (p *wqParser) peek() wqTok { return p.toks[p.i] }
func (p *wqParser) next() wqTok {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}
func (p *wqParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == 'w' && strings.EqualFold(t.text, w)
}
func (p *wqParser) isOp(o string) bool { t := p.peek(); return t.kind == 'o' && t.text == o }
func (p *wqParser) fail(msg string) error {
	return &wiqlError{p.peek().pos, msg}
}
func (p *wqParser) expectWord(w string) error {
	if !p.isWord(w) {
		return p.fail("expected " + strings.ToUpper(w))
	}
	p.next()
	return nil
}

func (p *wqParser) field() (wiField, error) {
	t := p.peek()
	if t.kind != 'f' && t.kind != 'w' {
		return wiField{}, p.fail("expected a field")
	}
	f, ok := lookupField(t.text)
	if !ok {
		return wiField{}, p.fail("TF51005: The query references a field that does not exist. The error is caused by «" + t.text + "».")
	}
	p.next()
	return f, nil
}

// parseWIQL parses the flat subset adobot needs: SELECT fields FROM WorkItems
// [WHERE c AND c ...] [ORDER BY f [ASC|DESC], ...]. Conditions are comparisons or
// [NOT] IN lists, optionally in parentheses; OR and anything else is refused so a
// query built by pasting text shows up as a 400 instead of silently matching.
func parseWIQL(q string) (*wiqlQuery, error) {
	toks, err := tokenizeWIQL(q)
	if err != nil {
		return nil, err
	}
	p := &wqParser{toks: toks}
	out := &wiqlQuery{}
	if err := p.expectWord("select"); err != nil {
		return nil, err
	}
	for {
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		out.selects = append(out.selects, f)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if err := p.expectWord("from"); err != nil {
		return nil, err
	}
	if !p.isWord("workitems") {
		return nil, p.fail("only FROM WorkItems is supported")
	}
	p.next()
	if p.isWord("where") {
		p.next()
		if err := p.andList(out, 0); err != nil {
			return nil, err
		}
	}
	if p.isWord("order") {
		p.next()
		if err := p.expectWord("by"); err != nil {
			return nil, err
		}
		for {
			f, err := p.field()
			if err != nil {
				return nil, err
			}
			o := wqOrder{field: f}
			if p.isWord("desc") {
				o.desc = true
				p.next()
			} else if p.isWord("asc") {
				p.next()
			}
			out.order = append(out.order, o)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	if p.peek().kind != 0 {
		return nil, p.fail("unexpected " + strconv.Quote(p.peek().text))
	}
	return out, nil
}

func (p *wqParser) andList(out *wiqlQuery, depth int) error {
	if depth > 8 {
		return p.fail("too deeply nested")
	}
	for {
		if p.isOp("(") {
			p.next()
			if err := p.andList(out, depth+1); err != nil {
				return err
			}
			if !p.isOp(")") {
				return p.fail("expected )")
			}
			p.next()
		} else {
			c, err := p.cond()
			if err != nil {
				return err
			}
			out.conds = append(out.conds, c)
		}
		if p.isWord("or") {
			return p.fail("OR is not supported by this fake")
		}
		if !p.isWord("and") {
			return nil
		}
		p.next()
	}
}

func (p *wqParser) cond() (wqCond, error) {
	f, err := p.field()
	if err != nil {
		return wqCond{}, err
	}
	c := wqCond{field: f}
	switch t := p.peek(); {
	case t.kind == 'o' && slices.Contains([]string{"=", "<>", "<", ">", "<=", ">="}, t.text):
		p.next()
		c.op = t.text
		v, err := p.value()
		if err != nil {
			return c, err
		}
		c.vals = []wqValue{v}
	case p.isWord("not") || p.isWord("in"):
		c.op = "in"
		if p.isWord("not") {
			p.next()
			c.op = "notin"
		}
		if err := p.expectWord("in"); err != nil {
			return c, err
		}
		if !p.isOp("(") {
			return c, p.fail("expected (")
		}
		p.next()
		for {
			v, err := p.value()
			if err != nil {
				return c, err
			}
			c.vals = append(c.vals, v)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		if !p.isOp(")") {
			return c, p.fail("expected )")
		}
		p.next()
	default:
		return c, p.fail("unsupported operator " + strconv.Quote(t.text))
	}
	if c.op != "=" && c.op != "<>" && c.op != "in" && c.op != "notin" && f.kind != 'i' && f.kind != 'd' {
		return c, p.fail("operator " + c.op + " needs a number or date field")
	}
	return c, nil
}

func (p *wqParser) value() (wqValue, error) {
	t := p.next()
	switch t.kind {
	case 's':
		return wqValue{kind: 's', text: t.text}, nil
	case 'n':
		n, err := strconv.Atoi(t.text)
		if err != nil {
			return wqValue{}, &wiqlError{t.pos, "bad number"}
		}
		return wqValue{kind: 'n', num: n}, nil
	case 'm':
		m := strings.ToLower(t.text)
		switch m {
		case "me", "project":
			return wqValue{kind: 'm', text: m}, nil
		case "today":
			v := wqValue{kind: 'm', text: m}
			if p.isOp("-") || p.isOp("+") {
				sign := 1
				if p.next().text == "-" {
					sign = -1
				}
				nt := p.next()
				n, err := strconv.Atoi(nt.text)
				if nt.kind != 'n' || err != nil {
					return v, &wiqlError{nt.pos, "expected a number of days"}
				}
				v.num = sign * n
			}
			return v, nil
		}
		return wqValue{}, &wiqlError{t.pos, "unsupported macro @" + t.text}
	}
	return wqValue{}, &wiqlError{t.pos, "expected a value"}
}

// ---- evaluation -------------------------------------------------------------------

type wiView struct {
	WorkItem
	project string
}

// matchLocked reports whether w satisfies every condition; s.mu must be held.
func (s *Server) matchLocked(q *wiqlQuery, w wiView, callerID, ctxProject string) (bool, error) {
	for _, c := range q.conds {
		matched := c.op == "notin"
		for _, v := range c.vals {
			eq, cmp, err := s.compareLocked(c.field, w, v, callerID, ctxProject)
			if err != nil {
				return false, err
			}
			switch c.op {
			case "=", "in":
				matched = matched || eq
			case "notin":
				matched = matched && !eq
			case "<>":
				matched = !eq
			case "<":
				matched = cmp < 0
			case ">":
				matched = cmp > 0
			case "<=":
				matched = cmp <= 0
			case ">=":
				matched = cmp >= 0
			}
		}
		if !matched {
			return false, nil
		}
	}
	return true, nil
}

var errNoProjectContext = &wiqlError{0, "The @project macro needs a project: run the query at /{org}/{project}/_apis/wit/wiql"}

func (s *Server) compareLocked(f wiField, w wiView, v wqValue, callerID, ctxProject string) (eq bool, cmp int, err error) {
	switch f.kind {
	case 'p':
		id := w.AssignedTo
		switch f.ref {
		case "System.CreatedBy":
			id = w.CreatedBy
		case "System.ChangedBy":
			id = w.AssignedTo
		}
		switch {
		case v.kind == 'm' && v.text == "me":
			return id != "" && id == callerID, 0, nil
		case v.kind == 's':
			if v.text == "" {
				return id == "", 0, nil
			}
			if id == "" {
				return false, 0, nil
			}
			u := s.users[id]
			if u == nil {
				return strings.EqualFold(id, v.text), 0, nil
			}
			full := u.DisplayName + " <" + u.Email + ">"
			return strings.EqualFold(v.text, u.DisplayName) || strings.EqualFold(v.text, u.Email) ||
				strings.EqualFold(v.text, full) || strings.EqualFold(v.text, u.ID), 0, nil
		}
	case 's':
		got := stringField(f, w)
		want := v.text
		switch {
		case v.kind == 'm' && v.text == "project":
			if ctxProject == "" {
				return false, 0, errNoProjectContext
			}
			want = ctxProject
		case v.kind != 's':
			return false, 0, &wiqlError{0, "field " + f.ref + " needs a string value"}
		}
		return strings.EqualFold(got, want), strings.Compare(strings.ToLower(got), strings.ToLower(want)), nil
	case 'i':
		if v.kind != 'n' {
			return false, 0, &wiqlError{0, "field " + f.ref + " needs a number"}
		}
		got := intField(f, w)
		return got == v.num, cmpInt(got, v.num), nil
	case 'd':
		got := w.ChangedDate
		if f.ref == "System.CreatedDate" {
			got = w.CreatedDate
		}
		var want time.Time
		switch {
		case v.kind == 'm' && v.text == "today":
			y, m, d := time.Now().UTC().Date()
			want = time.Date(y, m, d+v.num, 0, 0, 0, 0, time.UTC)
		case v.kind == 's':
			var perr error
			if want, perr = parseWIQLDate(v.text); perr != nil {
				return false, 0, &wiqlError{0, "bad date " + strconv.Quote(v.text)}
			}
		default:
			return false, 0, &wiqlError{0, "field " + f.ref + " needs a date"}
		}
		// WIQL compares dates by day unless asked for time precision.
		gd := got.UTC().Truncate(24 * time.Hour)
		return gd.Equal(want), gd.Compare(want), nil
	}
	return false, 0, &wiqlError{0, "unsupported comparison on " + f.ref}
}

func parseWIQLDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02", "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(24 * time.Hour), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date")
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func stringField(f wiField, w wiView) string {
	switch f.ref {
	case "System.Title":
		return w.Title
	case "System.State":
		return w.State
	case "System.Reason":
		return reasonFor(w.State)
	case "System.WorkItemType":
		return w.Type
	case "System.TeamProject", "System.IterationPath":
		return w.project
	case "System.AreaPath":
		return w.AreaPath
	case "System.Tags":
		return w.Tags
	}
	return ""
}

func intField(f wiField, w wiView) int {
	switch f.ref {
	case "System.Id":
		return w.ID
	case "System.Rev":
		return w.Rev
	case "Microsoft.VSTS.Common.Priority":
		return w.Priority
	}
	return 0
}

func reasonFor(state string) string {
	switch strings.ToLower(state) {
	case "new", "to do", "proposed":
		return "New"
	case "closed", "done":
		return "Work finished"
	case "removed":
		return "Removed from the backlog"
	}
	return "Moved to state " + state
}

func (s *Server) compareForOrderLocked(o wqOrder, a, b wiView) int {
	var c int
	switch o.field.kind {
	case 'i':
		c = cmpInt(intField(o.field, a), intField(o.field, b))
	case 'd':
		if o.field.ref == "System.CreatedDate" {
			c = a.CreatedDate.Compare(b.CreatedDate)
		} else {
			c = a.ChangedDate.Compare(b.ChangedDate)
		}
	case 'p':
		c = strings.Compare(s.displayNameLocked(a.AssignedTo), s.displayNameLocked(b.AssignedTo))
	default:
		c = strings.Compare(strings.ToLower(stringField(o.field, a)), strings.ToLower(stringField(o.field, b)))
	}
	if o.desc {
		c = -c
	}
	return c
}

func (s *Server) displayNameLocked(id string) string {
	if u := s.users[id]; u != nil {
		return u.DisplayName
	}
	return id
}

// ---- handlers -----------------------------------------------------------------------

type fieldRefJSON struct {
	ReferenceName string `json:"referenceName"`
	Name          string `json:"name"`
	URL           string `json:"url"`
}

type wiRefJSON struct {
	ID  int    `json:"id"`
	URL string `json:"url"`
}

func (s *Server) queryWIQL(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(rc.body, &body); err != nil || strings.TrimSpace(body.Query) == "" {
		writeVSSError(w, http.StatusBadRequest, "VS402345: The query body must be JSON of the form {\"query\": \"SELECT ...\"}.", "ArgumentException")
		return
	}
	if len(body.Query) > 32768 {
		writeVSSError(w, http.StatusBadRequest, "VS402336: The WIQL query is too long (limit 32K characters).", "ArgumentException")
		return
	}
	top := 20000
	if v := r.URL.Query().Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeVSSError(w, http.StatusBadRequest, "The value '"+v+"' is not valid for $top.", "ArgumentException")
			return
		}
		top = min(n, 20000)
	}
	q, err := parseWIQL(body.Query)
	if err != nil {
		writeVSSError(w, http.StatusBadRequest, "TF51006: The query statement is not valid. "+err.Error(), "QuerySyntaxException")
		return
	}

	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	ctxProject := ""
	if rc.project != "" {
		ctxProject = o.project(rc.project).Name
	}
	var hits []wiView
	for _, p := range o.projects {
		for _, it := range p.items {
			v := wiView{WorkItem: it, project: p.Name}
			ok, err := s.matchLocked(q, v, rc.user.ID, ctxProject)
			if err != nil {
				s.mu.RUnlock()
				writeVSSError(w, http.StatusBadRequest, "TF51006: The query statement is not valid. "+err.Error(), "QuerySyntaxException")
				return
			}
			if ok {
				hits = append(hits, v)
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b wiView) int {
		for _, o := range q.order {
			if c := s.compareForOrderLocked(o, a, b); c != 0 {
				return c
			}
		}
		return cmpInt(a.ID, b.ID)
	})
	s.mu.RUnlock()

	orgURL := s.base + "/" + pathEscape(o.name)
	fieldURL := func(f wiField) fieldRefJSON {
		return fieldRefJSON{ReferenceName: f.ref, Name: f.name, URL: orgURL + "/_apis/wit/fields/" + f.ref}
	}
	cols := make([]fieldRefJSON, 0, len(q.selects))
	for _, f := range q.selects {
		cols = append(cols, fieldURL(f))
	}
	type sortCol struct {
		Field      fieldRefJSON `json:"field"`
		Descending bool         `json:"descending"`
	}
	sorts := make([]sortCol, 0, len(q.order))
	for _, o := range q.order {
		sorts = append(sorts, sortCol{fieldURL(o.field), o.desc})
	}
	if len(hits) > top {
		hits = hits[:top]
	}
	items := make([]wiRefJSON, 0, len(hits))
	for _, h := range hits {
		items = append(items, wiRefJSON{ID: h.ID, URL: orgURL + "/_apis/wit/workItems/" + strconv.Itoa(h.ID)})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"queryType":       "flat",
		"queryResultType": "workItem",
		"asOf":            adoTime{time.Now()},
		"columns":         cols,
		"sortColumns":     sorts,
		"workItems":       items,
	})
}

// maxBatchIDs is the real service's limit for Work Items – Get Work Items Batch.
const maxBatchIDs = 200

func (s *Server) workItemsBatch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body struct {
		IDs         []int    `json:"ids"`
		Fields      []string `json:"fields"`
		Expand      string   `json:"$expand"`
		ErrorPolicy string   `json:"errorPolicy"`
	}
	if err := json.Unmarshal(rc.body, &body); err != nil {
		writeVSSError(w, http.StatusBadRequest, "VS402345: The request body is not valid JSON for WorkItemBatchGetRequest.", "ArgumentException")
		return
	}
	switch {
	case len(body.IDs) == 0:
		writeVSSError(w, http.StatusBadRequest, "Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
		return
	case len(body.IDs) > maxBatchIDs:
		writeVSSError(w, http.StatusBadRequest, fmt.Sprintf("VS402331: The number of work items requested (%d) exceeds the limit of %d.", len(body.IDs), maxBatchIDs), "ArgumentException")
		return
	case len(body.Fields) > 0 && body.Expand != "" && !strings.EqualFold(body.Expand, "none"):
		writeVSSError(w, http.StatusBadRequest, "The expand parameter can not be used with the fields parameter.", "ArgumentException")
		return
	}
	omit := strings.EqualFold(body.ErrorPolicy, "omit")
	if body.ErrorPolicy != "" && !omit && !strings.EqualFold(body.ErrorPolicy, "fail") {
		writeVSSError(w, http.StatusBadRequest, "The value '"+body.ErrorPolicy+"' is not valid for errorPolicy.", "ArgumentException")
		return
	}
	var fields []wiField
	for _, name := range body.Fields {
		f, ok := lookupField(name)
		if !ok {
			writeVSSError(w, http.StatusBadRequest, "TF51535: Cannot find field "+name+".", "WorkItemTrackingFieldDefinitionNotFoundException")
			return
		}
		fields = append(fields, f)
	}
	if fields == nil {
		fields = wiFields
	}

	type wiJSON struct {
		ID     int            `json:"id"`
		Rev    int            `json:"rev"`
		Fields map[string]any `json:"fields"`
		URL    string         `json:"url"`
	}
	s.mu.RLock()
	o := s.orgs[strings.ToLower(rc.orgName)]
	byID := map[int]wiView{}
	for _, p := range o.projects {
		for _, it := range p.items {
			byID[it.ID] = wiView{WorkItem: it, project: p.Name}
		}
	}
	orgURL := s.base + "/" + pathEscape(o.name)
	out := make([]*wiJSON, 0, len(body.IDs))
	for _, id := range body.IDs {
		v, ok := byID[id]
		if !ok {
			if omit {
				out = append(out, nil)
				continue
			}
			s.mu.RUnlock()
			writeVSSError(w, http.StatusNotFound, fmt.Sprintf("TF401232: Work item %d does not exist, or you do not have permissions to read it.", id), "WorkItemUnauthorizedAccessException")
			return
		}
		fm := map[string]any{}
		for _, f := range fields {
			if val, ok := s.fieldValueLocked(o, f, v); ok {
				fm[f.ref] = val
			}
		}
		out = append(out, &wiJSON{ID: v.ID, Rev: v.Rev, Fields: fm, URL: orgURL + "/_apis/wit/workItems/" + strconv.Itoa(v.ID)})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "value": out})
}

// fieldValueLocked gives a field as the REST API shows it; ok=false for an empty field
// (Azure DevOps leaves those out).
func (s *Server) fieldValueLocked(o *org, f wiField, v wiView) (any, bool) {
	switch f.kind {
	case 'i':
		return intField(f, v), true
	case 'd':
		if f.ref == "System.CreatedDate" {
			return adoTime{v.CreatedDate}, true
		}
		return adoTime{v.ChangedDate}, true
	case 'p':
		id := v.AssignedTo
		if f.ref == "System.CreatedBy" {
			id = v.CreatedBy
		}
		if id == "" {
			return nil, false
		}
		return s.identityLocked(o.name, id), true
	}
	str := stringField(f, v)
	return str, str != ""
}
