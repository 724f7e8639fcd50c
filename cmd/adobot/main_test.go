package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adobot/adobot/internal/app"
)

// The README's configuration table and the Config struct list the same variables.
func TestREADMEConfigTableMatchesConfig(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\|\\s*`([A-Z][A-Z0-9_]+)`\\s*\\|")
	var inREADME []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		inREADME = append(inREADME, m[1])
	}
	var inStruct []string
	typ := reflect.TypeOf(app.Config{})
	for i := range typ.NumField() {
		if tag := typ.Field(i).Tag.Get("envconfig"); tag != "" {
			inStruct = append(inStruct, tag)
		}
	}
	slices.Sort(inREADME)
	inREADME = slices.Compact(inREADME)
	slices.Sort(inStruct)
	if !slices.Equal(inREADME, inStruct) {
		t.Fatalf("README config table and app.Config differ:\nREADME: %v\nstruct: %v", inREADME, inStruct)
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "adobot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func validEnv() map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN":      "xapp-1-test",
		"SLACK_BOT_TOKEN":      "xoxb-test",
		"TOKEN_ENCRYPTION_KEY": strings.Repeat("ab", 32),
		"PUBLIC_URL":           "https://adobot.example.com/",
		"ADO_CLIENT_ID":        "client",
		"ADO_CLIENT_SECRET":    "very-secret-value",
		"REDIS_URL":            "redis://127.0.0.1:1/0",
		"PORT":                 "0",
	}
}

// A bad or missing value stops the process within a second with one line naming it.
func TestBadConfigExitsNamingTheVariable(t *testing.T) {
	bin := buildBinary(t)
	cases := []struct {
		name   string
		change map[string]string // "" value = unset
		want   string
	}{
		{"encryption key unset", map[string]string{"TOKEN_ENCRYPTION_KEY": ""}, "TOKEN_ENCRYPTION_KEY"},
		{"16-byte key", map[string]string{"TOKEN_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "TOKEN_ENCRYPTION_KEY"},
		{"public url unset", map[string]string{"PUBLIC_URL": ""}, "PUBLIC_URL"},
		{"public url not a url", map[string]string{"PUBLIC_URL": "adobot.example.com"}, "PUBLIC_URL"},
		{"app token unset", map[string]string{"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN"},
		{"bot token wrong kind", map[string]string{"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"},
		{"auth mode", map[string]string{"ADO_AUTH": "github"}, "ADO_AUTH"},
		{"port", map[string]string{"PORT": "eighty"}, "PORT"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"old key broken", map[string]string{"TOKEN_DECRYPTION_KEYS": strings.Repeat("cd", 32) + ",nope"}, "TOKEN_DECRYPTION_KEYS"},
		{"redis url", map[string]string{"REDIS_URL": "http://localhost"}, "REDIS_URL"},
		{"email match flag", map[string]string{"LINK_REQUIRE_EMAIL_MATCH": "perhaps"}, "LINK_REQUIRE_EMAIL_MATCH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tc.change {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("exit 0, want non-zero; stderr: %s", stderr.String())
			}
			if took > time.Second {
				t.Errorf("took %v to exit, want < 1s", took)
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("want one line naming %s, got %q", tc.want, out)
			}
			if strings.Contains(out, "very-secret-value") || strings.Contains(out, strings.Repeat("ab", 32)) {
				t.Errorf("a secret was printed: %q", out)
			}
		})
	}
}
