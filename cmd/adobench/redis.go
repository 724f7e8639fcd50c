package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is the Redis a run uses: REDIS_URL, or a redis-server process the
// tool started itself (which it may pause, see Pause).
type redisServer struct {
	URL  string
	Addr string
	own  bool
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis returns REDIS_URL unless own is set or REDIS_URL is empty, in which
// case it starts redis-server on a free loopback port with persistence off.
func startRedis(ctx context.Context, own bool) (*redisServer, error) {
	if u := os.Getenv("REDIS_URL"); u != "" && !own {
		opt, err := redis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: not a redis URL")
		}
		return &redisServer{URL: u, Addr: opt.Addr}, nil
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server not found: install it (apt-get install redis-server) or set REDIS_URL")
	}
	dir, err := os.MkdirTemp("", "adobench-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &redisServer{own: true, dir: dir, done: make(chan struct{})}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "redis://" + s.Addr + "/0"
	// No exec.CommandContext: the server must outlive a cancelled run context
	// until close() has stopped the bots that still talk to it.
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning")
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd = cmd
	go func() {
		sc := bufio.NewScanner(out) // drain, so the server never blocks on a full pipe
		for sc.Scan() {
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return s, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.close()
	return nil, fmt.Errorf("redis-server on %s did not start", s.Addr)
}

// Pause freezes the server process (SIGSTOP): connections stay open and nothing
// answers, like a Redis stuck in a long command, and no data is lost.
func (s *redisServer) Pause() error {
	if !s.own || s.cmd == nil {
		return errors.New("pausing Redis needs the tool's own redis-server (unset REDIS_URL)")
	}
	return s.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume continues a paused server (SIGCONT).
func (s *redisServer) Resume() error {
	if !s.own || s.cmd == nil {
		return errors.New("no own redis-server")
	}
	return s.cmd.Process.Signal(syscall.SIGCONT)
}

func (s *redisServer) close() {
	if !s.own || s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a stopped process ignores SIGKILL until continued on some kernels
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	_ = os.RemoveAll(s.dir)
	s.cmd = nil
}

func (s *redisServer) client() (*redis.Client, error) {
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		return nil, err
	}
	opt.ReadTimeout = 10 * time.Second
	return redis.NewClient(opt), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// commandStats parses INFO commandstats into calls per command.
func commandStats(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	txt, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(txt, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err == nil {
					out[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return out, nil
}

// usedMemory is INFO memory used_memory in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	txt, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(txt, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO memory has no used_memory")
}

// tripCounter is a go-redis hook counting round trips: one per command sent alone,
// one per pipeline (however many commands it carries). INFO commandstats counts
// commands, which overstates round trips once commands are pipelined.
type tripCounter struct{ n atomic.Int64 }

var _ redis.Hook = (*tripCounter)(nil)

func (t *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (t *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		t.n.Add(1)
		return next(ctx, cmd)
	}
}

func (t *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.n.Add(1)
		return next(ctx, cmds)
	}
}
