package bot

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Command
		err  string // substring of the ParseError; "" = no error
	}{
		{"empty", "", Command{Name: "help"}, ""},
		{"spaces only", "  \t ", Command{Name: "help"}, ""},
		{"help", "help", Command{Name: "help"}, ""},
		{"case-insensitive name", "BUILDS web", Command{Name: "builds", Args: []string{"web"}}, ""},
		{"alias", "pr --mine", Command{Name: "prs", Mine: true}, ""},
		{"quoted project", `builds "Mobile App"`, Command{Name: "builds", Args: []string{"Mobile App"}}, ""},
		{"smart quotes", "builds “Mobile App” --top 3", Command{Name: "builds", Args: []string{"Mobile App"}, Top: 3}, ""},
		{"unquoted spaces joined", "builds Mobile App", Command{Name: "builds", Args: []string{"Mobile", "App"}}, ""},
		{"html escaped", "builds &quot;x&quot; --branch a&amp;b&lt;c&gt;", Command{Name: "builds", Args: []string{"&quot;x&quot;"}, Branch: "a&b<c>"}, ""},
		{"double escaped stays once-unescaped", "builds a&amp;lt;b", Command{Name: "builds", Args: []string{"a&lt;b"}}, ""},
		{"all build options", `builds P --org "my org" --branch refs/heads/main --top 50 --failed`,
			Command{Name: "builds", Args: []string{"P"}, Org: "my org", Branch: "refs/heads/main", Top: 50, Failed: true}, ""},
		{"option=value", "builds P --top=5 --org=contoso", Command{Name: "builds", Args: []string{"P"}, Top: 5, Org: "contoso"}, ""},
		{"em dash from smart punctuation", "builds P —top 2 —failed", Command{Name: "builds", Args: []string{"P"}, Top: 2, Failed: true}, ""},
		{"options before project", "builds --top 2 P", Command{Name: "builds", Args: []string{"P"}, Top: 2}, ""},
		{"quoted option is a value", `builds "--top"`, Command{Name: "builds", Args: []string{"--top"}}, ""},
		{"unterminated quote runs to end", `builds "Mobile App`, Command{Name: "builds", Args: []string{"Mobile App"}}, ""},
		{"nbsp separates", "builds\u00a0web", Command{Name: "builds", Args: []string{"web"}}, ""},
		{"workitems no project", "workitems --top 3", Command{Name: "workitems", Top: 3}, ""},
		{"org set", "org Contoso", Command{Name: "org", Args: []string{"Contoso"}}, ""},
		{"prs project mine", `prs "Mobile App" --mine --org contoso`, Command{Name: "prs", Args: []string{"Mobile App"}, Mine: true, Org: "contoso"}, ""},

		{"top zero", "builds P --top 0", Command{}, "--top must be a whole number from 1 to 50"},
		{"top 51", "builds P --top 51", Command{}, "--top must be a whole number from 1 to 50"},
		{"top word", "builds P --top ten", Command{}, "--top must be"},
		{"top negative", "builds P --top -3", Command{}, "--top must be"},
		{"top missing", "builds P --top", Command{}, "--top needs a value"},
		{"top missing no project", "builds --top", Command{}, "--top"},
		{"unknown option", "builds P --frobnicate", Command{}, "Unknown option --frobnicate"},
		{"option of another command", "workitems --failed", Command{}, "doesn't take --failed"},
		{"flag with value", "builds P --failed=yes", Command{}, "takes no value"},
		{"builds needs project", "builds", Command{}, "needs a project"},
		{"repos needs project", "repos --org x", Command{}, "needs a project"},
		{"link takes no args", "link now", Command{}, "takes no arguments"},
		{"unknown command", "frobnicate --now", Command{}, "don't know the command"},
		{"empty org", `builds P --org ""`, Command{}, "--org needs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != "" {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%q) error = %v, want ParseError containing %q", tc.in, err, tc.err)
				}
				if !strings.Contains(pe.Msg, tc.err) {
					t.Fatalf("Parse(%q) error = %q, want it to contain %q", tc.in, pe.Msg, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) unexpected error %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestUnknownCommandShowsUsage(t *testing.T) {
	_, err := Parse("frobnicate")
	var pe *ParseError
	if !errors.As(err, &pe) || !pe.ShowUsage {
		t.Fatalf("unknown command: err = %v, want ParseError with usage", err)
	}
	u := flattenBlocks(t, usageReply(esc(pe.Msg)).Blocks)
	for _, sub := range []string{"/ado link", "/ado unlink", "/ado status", "/ado org", "/ado builds", "/ado workitems", "/ado projects", "/ado repos", "/ado prs", "/ado help"} {
		if !strings.Contains(u, sub) {
			t.Errorf("usage lacks %q", sub)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "help", `builds "Mobile App" --top 5`, "builds “x” —top 3", "builds --top",
		"prs --mine --org", "org &amp;&lt;&gt;", `"`, "“", "--", "—", "builds \xff\xfe", "workitems --top=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cmd, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) returned a non-ParseError %T", in, err)
			}
			return
		}
		if _, ok := argRules[cmd.Name]; !ok {
			t.Fatalf("Parse(%q) gave unknown command %q", in, cmd.Name)
		}
		if cmd.Top < 0 || cmd.Top > maxTop {
			t.Fatalf("Parse(%q) top %d out of range", in, cmd.Top)
		}
		if utf8.ValidString(in) {
			for _, a := range cmd.Args {
				if !utf8.ValidString(a) {
					t.Fatalf("Parse(%q) produced invalid UTF-8 arg %q", in, a)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(`builds “Mobile App” --org contoso --branch refs/heads/main --top 25 --failed`); err != nil {
			b.Fatal(err)
		}
	}
}
