// Package simenv points adobot at the in-repo simulators (internal/fakeslack,
// internal/fakeado). It is the one place that knows which credentials the fakes
// expect and how app.Config names them, so the sandbox, the load tool and the
// end-to-end tests configure instances the same way.
package simenv

import (
	"encoding/base64"
	"fmt"
	"reflect"

	"github.com/adobot/adobot/internal/app"
	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
)

// Credentials the simulators are started with and the bot is configured with.
const (
	ClientID     = "adobot-sim-client"
	ClientSecret = "adobot-sim-client-secret"
	AppToken     = "xapp-1-adobot-sim"
	BotToken     = "xoxb-adobot-sim"
)

// Config is the configuration of one bot instance against sl and ado: Entra
// sign-in, Redis at redisURL, records sealed with key, and its HTTP server reachable
// at publicURL. Callers adjust fields (ADOAuth, LogLevel, …) before Validate.
func Config(sl *fakeslack.Server, ado *fakeado.Server, redisURL string, key []byte, publicURL string) app.Config {
	return app.Config{
		SlackAppToken:      AppToken,
		SlackBotToken:      BotToken,
		SlackAPIURL:        sl.APIURL(),
		RedisURL:           app.Secret(redisURL),
		TokenEncryptionKey: app.Secret(base64.StdEncoding.EncodeToString(key)),
		PublicURL:          publicURL,
		Port:               3000,
		ADOAuth:            "entra",
		ADOClientID:        ClientID,
		ADOClientSecret:    ClientSecret,
		ADOTenant:          "organizations",
		ADOAuthorityURL:    ado.AuthorityURL(),
		ADOVSSPSURL:        ado.VSSPSURL(),
		ADOAPIURL:          ado.APIURL(),
		LinkRequireEmail:   true,
		LogLevel:           "info",
	}
}

// Env renders cfg as the environment cmd/adobot reads (one VAR=value per
// envconfig tag), for instances run as child processes.
func Env(cfg app.Config) []string {
	v := reflect.ValueOf(cfg)
	t := v.Type()
	var env []string
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("envconfig")
		if name == "" {
			continue
		}
		f := v.Field(i)
		var s string
		switch x := f.Interface().(type) {
		case app.Secret:
			s = x.Reveal()
		default:
			s = fmt.Sprint(x)
		}
		env = append(env, name+"="+s)
	}
	return env
}
