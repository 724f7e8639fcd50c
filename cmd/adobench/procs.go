package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/adobot/adobot/internal/app"
	"github.com/adobot/adobot/internal/simenv"
)

// childFlag makes the binary run one adobot instance configured from the
// environment, like cmd/adobot but bound to loopback; -instance-procs uses it to
// measure one instance's resident memory in a process of its own.
const childFlag = "-adobench-child-instance"

func runChild() int {
	var cfg app.Config
	if err := envconfig.Process("", &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "adobench child:", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "adobench child:", err)
		return 2
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "adobench child:", err)
		return 1
	}
	a, err := app.New(cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Listener: ln, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "adobench child:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		return 1
	}
	return 0
}

// instanceProcRSS stops the in-process instances, starts the same number as child
// processes against the same fakes and Redis, drives the load again and reads each
// child's peak RSS (VmHWM) from /proc.
func (e *env) instanceProcRSS(ctx context.Context, c *config) ([]float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	k := len(e.insts)
	for _, in := range e.insts {
		in.cancel()
		<-in.done
	}
	gone, cancelGone := context.WithTimeout(ctx, 10*time.Second)
	defer cancelGone()
	for e.slack.Connections() > 0 && gone.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
	}()
	for i := 0; i < k; i++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, childFlag)
		cfg := simenv.Config(e.slack, e.ado, e.redis.URL, e.key, "http://127.0.0.1:"+strconv.Itoa(port))
		cfg.Port, cfg.LogLevel = port, "error"
		cmd.Env = append(os.Environ(), simenv.Env(cfg)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := e.slack.WaitConnections(wctx, k); err != nil {
		return nil, fmt.Errorf("child instances did not connect: %w", err)
	}
	e.warm(ctx, c, time.Second)
	res := drive(ctx, e.slack, driveOptions{rate: c.rate, dur: c.duration, grace: c.grace, wantReply: true, command: e.commandFor(c.project)})
	if cn := countsOf(res.samples, true); cn.Answered == 0 {
		return nil, errors.New("child instances answered nothing")
	}
	var out []float64
	for _, cmd := range cmds {
		_, peak := procStatusMiB(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		out = append(out, peak)
	}
	return out, nil
}
