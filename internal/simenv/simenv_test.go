package simenv

import (
	"slices"
	"strings"
	"testing"

	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
)

// The configuration validates, and its environment form names every variable of
// the contract with the secret values in clear (the child process needs them).
func TestConfigAndEnv(t *testing.T) {
	ado, err := fakeado.New(fakeado.Options{ClientID: ClientID, ClientSecret: ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer ado.Close()
	sl, err := fakeslack.New(fakeslack.Options{AppToken: AppToken, BotToken: BotToken})
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	cfg := Config(sl, ado, "redis://127.0.0.1:6379/0", make([]byte, 32), "http://127.0.0.1:4000")
	cfg.Port = 4000
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := Env(cfg)
	for _, want := range []string{"SLACK_APP_TOKEN=" + AppToken, "ADO_CLIENT_SECRET=" + ClientSecret, "PORT=4000",
		"LINK_REQUIRE_EMAIL_MATCH=true", "ADO_API_URL=" + ado.APIURL(), "TOKEN_DECRYPTION_KEYS=", "ADO_ORG="} {
		if !slices.Contains(env, want) {
			t.Errorf("Env lacks %q: %v", want, env)
		}
	}
	if len(env) != 18 || slices.ContainsFunc(env, func(s string) bool { return strings.Contains(s, "[redacted]") }) {
		t.Errorf("Env has %d entries (want the 18 of the contract) or redacted values: %v", len(env), env)
	}
}
