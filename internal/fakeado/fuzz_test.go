package fakeado

import (
	"strings"
	"testing"
)

func FuzzParseWIQL(f *testing.F) {
	for _, seed := range []string{
		"SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @Me AND [System.State] NOT IN ('Closed','Done','Removed') ORDER BY [System.ChangedDate] DESC",
		"SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'O''Brien' AND [System.ChangedDate] > @today - 7",
		"SELECT [System.Id] FROM WorkItems WHERE ([State] <> 'x') AND ([System.Id] >= -3)",
		"select id from workitems where id in (1,2,3) order by id asc, [Changed Date]",
		"SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'x' OR 1=1 --'",
		"SELECT [ FROM", "'", "@", "((((((((((((", "[System.Id]",
	} {
		f.Add(seed)
	}
	s := &Server{users: map[string]*User{"u": {ID: "u", DisplayName: "U", Email: "u@x"}}}
	f.Fuzz(func(t *testing.T, q string) {
		parsed, err := parseWIQL(q)
		if err != nil {
			return
		}
		if len(parsed.selects) == 0 {
			t.Fatalf("parsed without select list: %q", q)
		}
		// Evaluating a parsed query must not panic either.
		w := wiView{WorkItem: WorkItem{ID: 1, Title: "t", State: "New", AssignedTo: "u"}, project: "P"}
		_, _ = s.matchLocked(parsed, w, "u", "P")
		_, _ = s.matchLocked(parsed, w, "u", "")
	})
}

func FuzzSplitPath(f *testing.F) {
	for _, seed := range []string{
		"/contoso/Mobile%20App/_apis/build/builds", "/a/../b", "/a/%2e%2e/b", "/a/x%2F..%2Fy",
		"//", "/", "", "/a/%zz", "/a/%5C..", "/%00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, ok := splitPath(p)
		if !ok {
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
				t.Fatalf("splitPath(%q) gave segment %q", p, s)
			}
		}
	})
}
