// Package redistest gives tests a real Redis: REDIS_URL when set, otherwise a
// throwaway redis-server on a free loopback port, stopped when the test ends.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a Redis a test can use.
type Server struct {
	URL  string
	Addr string
	own  bool
	port int
	dir  string
	cmd  *exec.Cmd
	tb   testing.TB
}

// Start returns REDIS_URL when set, else a throwaway redis-server.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			tb.Fatalf("redistest: REDIS_URL: %v", err)
		}
		return &Server{URL: u, Addr: opt.Addr, tb: tb}
	}
	return StartOwn(tb)
}

// StartOwn always starts a private redis-server (for tests that stop and restart it).
func StartOwn(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redistest: redis-server not found (install it, or set REDIS_URL): %v", err)
	}
	s := &Server{own: true, dir: tb.TempDir(), tb: tb}
	s.port = freePort(tb)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.URL = "redis://" + s.Addr + "/0"
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--protected-mode", "no", "--daemonize", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	s.cmd = cmd
	go func() { // drain so the server never blocks on a full pipe
		sc := bufio.NewScanner(out)
		for sc.Scan() {
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: redis-server on %s did not start", s.Addr)
}

// Stop kills a private server (no-op for REDIS_URL). Safe to call twice.
func (s *Server) Stop() {
	if !s.own || s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts a stopped private server again on the same port (empty data).
func (s *Server) Restart() {
	s.tb.Helper()
	if !s.own {
		s.tb.Fatalf("redistest: Restart needs StartOwn")
	}
	s.Stop()
	s.start()
}

// Client returns a go-redis client for the server, closed at cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redistest: ping %s: %v", s.Addr, err)
	}
	return c
}

// UniqueID returns a random id like "T1A2B3C4D" so tests sharing one Redis never collide.
func UniqueID(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%X", prefix, b)
}

// Hex is a helper for random hex strings.
func Hex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
