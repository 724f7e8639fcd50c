package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// ecmaRegexp lets the compiler use Slack's ECMAScript patterns (look-ahead),
// which Go's regexp cannot compile.
type ecmaRegexp regexp2.Regexp

func (re *ecmaRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}
func (re *ecmaRegexp) String() string { return (*regexp2.Regexp)(re).String() }

func compileECMA(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaRegexp)(re), nil
}

func slackSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "fixtures", "slack")
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(compileECMA)
	load := func(name, id string) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("schema fixture: %v", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	const base = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
	load("manifest.schema.1.0.0.json", base+"manifest.schema.1.0.0.json")
	load("manifest.schema.2.0.0.json", base+"manifest.schema.2.0.0.json")
	load("manifest.schema.json", "https://github.com/slackapi/manifest-schema/blob/main/manifest.schema.json")
	s, err := c.Compile("https://github.com/slackapi/manifest-schema/blob/main/manifest.schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return s
}

func manifestJSON(t *testing.T, y []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("manifest yaml: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("manifest json: %v", err)
	}
	return doc
}

func TestManifestMatchesSlackSchema(t *testing.T) {
	schema := slackSchema(t)
	y, err := os.ReadFile(filepath.Join("..", "..", "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(manifestJSON(t, y)); err != nil {
		t.Fatalf("manifest.yml does not pass Slack's schema:\n%v", err)
	}

	// The schema allows much; these are what the bot needs to work at all.
	var m struct {
		Features struct {
			AppHome struct {
				HomeTab bool `json:"home_tab_enabled"`
			} `json:"app_home"`
			Slash []struct {
				Command   string `json:"command"`
				UsageHint string `json:"usage_hint"`
			} `json:"slash_commands"`
		} `json:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
		Settings struct {
			Events struct {
				Bot []string `json:"bot_events"`
			} `json:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `json:"is_enabled"`
			} `json:"interactivity"`
			SocketMode bool `json:"socket_mode_enabled"`
		} `json:"settings"`
	}
	j, _ := yaml.YAMLToJSON(y)
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactivity.Enabled || !m.Features.AppHome.HomeTab {
		t.Errorf("socket mode, interactivity and the Home tab must be on: %+v", m.Settings)
	}
	if len(m.Features.Slash) != 1 || m.Features.Slash[0].Command != "/ado" || m.Features.Slash[0].UsageHint == "" {
		t.Errorf("want exactly /ado with a usage hint, got %+v", m.Features.Slash)
	}
	for _, s := range []string{"commands", "chat:write", "im:write", "users:read", "users:read.email"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("bot scope %s missing", s)
		}
	}
	if !slices.Contains(m.Settings.Events.Bot, "app_home_opened") {
		t.Errorf("app_home_opened event missing")
	}
}

// The schema test must be able to fail: a manifest with a bad slash command is refused.
func TestSlackSchemaRejectsBrokenManifest(t *testing.T) {
	schema := slackSchema(t)
	bad := []byte(`
_metadata: {major_version: 1}
display_information: {name: adobot}
features:
  slash_commands:
    - command: ado-without-slash
      description: x
settings: {socket_mode_enabled: "yes"}
`)
	if err := schema.Validate(manifestJSON(t, bad)); err == nil {
		t.Fatal("a broken manifest passed the schema")
	}
}
