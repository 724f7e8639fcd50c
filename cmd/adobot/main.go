// Command adobot is the Slack bot: it reads its configuration from the environment
// (see the README's table), connects to Slack over Socket Mode and serves the OAuth
// callback, health, readiness and metrics endpoints on $PORT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kelseyhightower/envconfig"

	"github.com/adobot/adobot/internal/app"
)

func main() {
	os.Exit(run(context.Background(), os.Stderr))
}

// run returns the process exit code: 0 after a clean shutdown, 2 for bad
// configuration (one line naming the variable), 1 for anything else.
func run(ctx context.Context, stderr io.Writer) int {
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(stderr, "adobot: configuration:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.Level()}))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	a, err := app.New(*cfg, app.Options{Logger: log})
	if err != nil {
		var ce *app.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "adobot: configuration:", ce)
			return 2
		}
		log.Error("start failed", "err", err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}

// loadConfig reads the environment (the only place that does) and validates it.
func loadConfig() (*app.Config, error) {
	var cfg app.Config
	if err := envconfig.Process("", &cfg); err != nil {
		return nil, describeEnvError(err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// describeEnvError turns envconfig's errors into "VAR: reason" without echoing the
// value (it may be a secret).
func describeEnvError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return &app.ConfigError{Var: pe.KeyName, Reason: "cannot be read as " + pe.TypeName}
	}
	// envconfig's missing-value error is "required key NAME missing value".
	var name string
	if _, scanErr := fmt.Sscanf(err.Error(), "required key %s missing value", &name); scanErr == nil {
		return &app.ConfigError{Var: name, Reason: "required, not set"}
	}
	return err
}
