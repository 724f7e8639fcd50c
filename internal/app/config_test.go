package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("xoxb-super-secret")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "tok", s)
	log = slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("x", "tok", s)
	j, _ := json.Marshal(struct{ T Secret }{s})
	out := buf.String() + fmt.Sprintf("%v %s %+v %#v", s, s, struct{ T Secret }{s}, s) + string(j)
	if strings.Contains(out, "super-secret") {
		t.Fatalf("secret leaked: %s", out)
	}
	if s.Reveal() != "xoxb-super-secret" {
		t.Fatal("Reveal lost the value")
	}
}

func TestValidateNormalises(t *testing.T) {
	c := Config{
		SlackAppToken: "xapp-1", SlackBotToken: "xoxb-1", SlackAPIURL: "http://127.0.0.1:9/api",
		RedisURL: "redis://localhost:6379/0", TokenEncryptionKey: Secret(strings.Repeat("0f", 32)),
		TokenDecryptionKeys: Secret(" " + strings.Repeat("1e", 32) + " , " + strings.Repeat("2d", 32)),
		PublicURL:           "https://bot.example.com//", ADOAuth: "legacy", ADOClientID: "c", ADOClientSecret: "s",
		ADOTenant: "organizations", ADOAuthorityURL: "https://login.microsoftonline.com/",
		ADOVSSPSURL: "https://app.vssps.visualstudio.com", ADOAPIURL: "https://dev.azure.com/", LogLevel: "DEBUG",
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.SlackAPIURL != "http://127.0.0.1:9/api/" || c.PublicURL != "https://bot.example.com" ||
		c.ADOAPIURL != "https://dev.azure.com" || c.ADOAuthorityURL != "https://login.microsoftonline.com" {
		t.Errorf("not normalised: %+v", c)
	}
	if len(c.decKeys) != 2 || c.Level() != slog.LevelDebug {
		t.Errorf("decryption keys %d, level %v", len(c.decKeys), c.Level())
	}
}
