package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Command is one parsed `/ado` invocation.
type Command struct {
	Name   string   // canonical subcommand: help, link, unlink, status, org, builds, workitems, projects, repos, prs
	Args   []string // positional arguments after the subcommand
	Org    string   // --org
	Top    int      // --top; 0 = not given
	Branch string   // --branch
	Failed bool     // --failed
	Mine   bool     // --mine
}

// Arg is the positional arguments joined by one space, so an unquoted project
// name with spaces (`builds Mobile App`) still works.
func (c Command) Arg() string { return strings.Join(c.Args, " ") }

// TopOr returns --top, or def when it was not given.
func (c Command) TopOr(def int) int {
	if c.Top > 0 {
		return c.Top
	}
	return def
}

// ParseError is input the person should fix; Msg is safe to show (plain text,
// not yet mrkdwn-escaped).
type ParseError struct {
	Msg       string
	ShowUsage bool
}

func (e *ParseError) Error() string { return e.Msg }

const (
	defaultTop = 10
	maxTop     = 50
)

var aliases = map[string]string{
	"help": "help", "-h": "help", "--help": "help", "?": "help",
	"link": "link", "login": "link", "connect": "link",
	"unlink": "unlink", "logout": "unlink", "disconnect": "unlink",
	"status": "status", "whoami": "status",
	"org": "org", "orgs": "org", "organization": "org", "organizations": "org",
	"builds": "builds", "build": "builds",
	"workitems": "workitems", "workitem": "workitems", "wi": "workitems",
	"projects": "projects", "project": "projects",
	"repos": "repos", "repo": "repos", "repositories": "repos",
	"prs": "prs", "pr": "prs", "pullrequests": "prs",
}

// options each subcommand accepts; a flag not listed is reported, not ignored,
// so a typo never silently widens a query.
var allowedOptions = map[string]map[string]bool{
	"builds":    {"org": true, "top": true, "branch": true, "failed": true},
	"workitems": {"org": true, "top": true},
	"projects":  {"org": true, "top": true},
	"repos":     {"org": true, "top": true},
	"prs":       {"org": true, "top": true, "mine": true},
}

// maxArgs is how many positional arguments a subcommand takes at most
// (-1: any number, joined into one name).
var argRules = map[string]struct{ min, max int }{
	"help": {0, -1}, "link": {0, 0}, "unlink": {0, 0}, "status": {0, 0},
	"org": {0, -1}, "builds": {1, -1}, "workitems": {0, -1}, "projects": {0, 0},
	"repos": {1, -1}, "prs": {0, -1},
}

var htmlUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// Parse turns slash-command text (as Slack sends it, HTML-escaped) into a Command.
// Empty text is help. An unknown subcommand is help with a note.
func Parse(text string) (Command, error) {
	toks := tokenize(htmlUnescaper.Replace(text))
	if len(toks) == 0 {
		return Command{Name: "help"}, nil
	}
	first := strings.ToLower(toks[0].s)
	name, ok := aliases[first]
	if !ok || toks[0].quoted {
		return Command{Name: "help"}, &ParseError{Msg: fmt.Sprintf("I don't know the command %q.", clip(toks[0].s, 40)), ShowUsage: true}
	}
	cmd := Command{Name: name}
	if name == "help" {
		return cmd, nil
	}
	allowed := allowedOptions[name]
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		opt, val, hasVal, isOpt := splitOption(t)
		if !isOpt {
			cmd.Args = append(cmd.Args, t.s)
			continue
		}
		if !allowed[opt] {
			if _, known := optionKinds[opt]; known {
				return cmd, &ParseError{Msg: fmt.Sprintf("`%s` doesn't take --%s.", name, opt), ShowUsage: true}
			}
			return cmd, &ParseError{Msg: fmt.Sprintf("Unknown option --%s.", clip(opt, 40)), ShowUsage: true}
		}
		if optionKinds[opt] {
			if !hasVal {
				if i+1 >= len(toks) {
					return cmd, &ParseError{Msg: fmt.Sprintf("--%s needs a value.", opt)}
				}
				i++
				val = toks[i].s
			}
		} else if hasVal {
			return cmd, &ParseError{Msg: fmt.Sprintf("--%s takes no value.", opt)}
		}
		switch opt {
		case "org":
			if strings.TrimSpace(val) == "" {
				return cmd, &ParseError{Msg: "--org needs an organization name."}
			}
			cmd.Org = val
		case "branch":
			if strings.TrimSpace(val) == "" {
				return cmd, &ParseError{Msg: "--branch needs a branch name."}
			}
			cmd.Branch = val
		case "top":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 1 || n > maxTop {
				return cmd, &ParseError{Msg: fmt.Sprintf("--top must be a whole number from 1 to %d (got %q).", maxTop, clip(val, 20))}
			}
			cmd.Top = n
		case "failed":
			cmd.Failed = true
		case "mine":
			cmd.Mine = true
		}
	}
	r := argRules[name]
	switch {
	case len(cmd.Args) < r.min:
		what := "a project"
		return cmd, &ParseError{Msg: fmt.Sprintf("`%s` needs %s, e.g. `/ado %s \"My Project\"`.", name, what, name)}
	case r.max >= 0 && len(cmd.Args) > r.max:
		return cmd, &ParseError{Msg: fmt.Sprintf("`%s` takes no arguments.", name)}
	}
	return cmd, nil
}

// optionKinds: true = takes a value.
var optionKinds = map[string]bool{"org": true, "top": true, "branch": true, "failed": false, "mine": false}

// splitOption recognises --name, --name=value and the em/en dash that Slack
// clients' smart punctuation makes of "--".
func splitOption(t token) (name, val string, hasVal, ok bool) {
	if t.quoted {
		return "", "", false, false
	}
	s := t.s
	switch {
	case strings.HasPrefix(s, "--"):
		s = s[2:]
	case strings.HasPrefix(s, "—"), strings.HasPrefix(s, "–"):
		s = s[len("—"):]
	default:
		return "", "", false, false
	}
	if s == "" {
		return "", "", false, false
	}
	if i := strings.IndexByte(s, '='); i >= 0 {
		return strings.ToLower(s[:i]), s[i+1:], true, true
	}
	return strings.ToLower(s), "", false, true
}

type token struct {
	s      string
	quoted bool // any part was quoted: never an option or a command name
}

func isOpenQuote(r rune) bool  { return r == '"' || r == '“' || r == '”' || r == '„' }
func isCloseQuote(r rune) bool { return r == '"' || r == '”' || r == '“' }

// tokenize splits on white space (including the no-break spaces some clients
// insert); double quotes, straight or smart, group words. An unterminated quote
// runs to the end of the text rather than being an error: the text came from a
// person typing in Slack.
func tokenize(s string) []token {
	var (
		toks   []token
		cur    strings.Builder
		inTok  bool
		quoted bool
		inQ    bool
	)
	flush := func() {
		if inTok {
			toks = append(toks, token{s: cur.String(), quoted: quoted})
		}
		cur.Reset()
		inTok, quoted = false, false
	}
	for _, r := range s {
		switch {
		case inQ:
			if isCloseQuote(r) {
				inQ = false
			} else {
				cur.WriteRune(r)
			}
		case isOpenQuote(r):
			inQ, inTok, quoted = true, true, true
		case unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff':
			flush()
		default:
			inTok = true
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

// clip shortens s to n runes for echoing input back.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

var errNoOrg = errors.New("bot: no organization")
