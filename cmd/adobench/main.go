// Command adobench measures adobot under load on this machine: it starts the
// in-repo fake Slack and fake Azure DevOps, a real Redis (REDIS_URL, or a
// throwaway redis-server it starts itself) and 1–3 adobot instances in this
// process, wired by internal/app exactly as cmd/adobot, links people through the
// real sign-in flow and drives /ado builds and /ado workitems open-loop at a fixed
// rate. It reports ack and end-to-end latency, bot overhead, throughput, errors,
// lost commands, Redis round trips and bytes per person and memory, next to the
// targets in docs/benchmarks.md, as a table and optionally as JSON. Everything is
// loopback only and every run is bounded in count and time.
//
//	go run ./cmd/adobench                      # load, 200/s for 10 s, with the slack-go baseline
//	go run ./cmd/adobench -mode all -json out.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(runChild())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	mode           string
	rate           float64
	duration       time.Duration
	adoLatency     time.Duration
	instances      int
	people         int
	project        string
	baseline       bool
	jsonPath       string
	grace          time.Duration
	memRecords     int
	rtCommands     int
	redeliverAfter time.Duration
	instanceProcs  bool
	verbose        bool
	cpuProfile     string
	logger         *slog.Logger
}

var modes = []string{"load", "stampede", "redis-outage", "ado-429", "ado-503", "slack-disconnect", "all"}

// run is the whole tool; exit codes: 0 every target met, 3 a target missed,
// 1 the run could not be done, 2 bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("adobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.mode, "mode", "load", "load, stampede, redis-outage, ado-429, ado-503, slack-disconnect or all")
	fs.Float64Var(&c.rate, "rate", 200, "commands per second (open loop)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send commands")
	fs.DurationVar(&c.adoLatency, "ado-latency", 20*time.Millisecond, "latency the fake Azure DevOps adds to every REST call")
	fs.IntVar(&c.instances, "instances", 2, "adobot instances (1-3; stampede always uses 3)")
	fs.IntVar(&c.people, "people", 20, "linked people the commands are spread over")
	fs.StringVar(&c.project, "project", "Mobile App", "project for /ado builds")
	fs.BoolVar(&c.baseline, "baseline", true, "measure a bare slack-go Socket Mode bot first (load mode)")
	fs.StringVar(&c.jsonPath, "json", "", "also write the report as JSON to this file")
	fs.DurationVar(&c.grace, "grace", 15*time.Second, "how long after the last send a reply may still arrive before the command counts as lost")
	fs.IntVar(&c.memRecords, "mem-records", 10000, "link records written for the Redis bytes-per-person figure")
	fs.IntVar(&c.rtCommands, "rt-commands", 200, "commands per kind in the quiet Redis round-trip phase")
	fs.DurationVar(&c.redeliverAfter, "redeliver-after", 3*time.Second, "fake Slack redelivers an unacknowledged envelope after this long, like Slack (0: never)")
	fs.BoolVar(&c.instanceProcs, "instance-procs", false, "load mode: also run each instance in its own process to measure its RSS")
	fs.BoolVar(&c.verbose, "v", false, "show the bots' and fakes' logs (warnings and up)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (bots, fakes and driver) to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(stderr, "adobench:", err)
		return 2
	}
	c.logger = slog.New(slog.DiscardHandler)
	if c.verbose {
		c.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "adobench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "adobench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	rep := &Report{Tool: "adobench", Started: time.Now().UTC(), Args: args, Machine: machine(), Pass: true}
	m := rep.Machine
	fmt.Fprintf(stdout, "adobench: %d CPUs (%s), GOMAXPROCS %d, %s %s\n", m.NProc, m.CPU, m.GOMAXPROCS, m.GoVersion, m.OSArch)

	type step struct {
		mode string
		dur  time.Duration
	}
	steps := []step{{c.mode, c.duration}}
	if c.mode == "all" {
		// Shorter runs, so the whole tour stays around two minutes.
		short := min(c.duration, 5*time.Second)
		steps = []step{{"load", short}, {"stampede", 0}, {"redis-outage", max(short, 11*time.Second)},
			{"ado-429", short}, {"ado-503", short}, {"slack-disconnect", max(short, 11*time.Second)}}
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "adobench: running %s…\n", s.mode)
		var rr *RunReport
		var err error
		switch s.mode {
		case "load":
			rr, err = runLoad(ctx, &c, s.dur, c.memRecords)
		case "stampede":
			rr, err = runStampede(ctx, &c)
		default:
			rr, err = runFault(ctx, &c, s.mode, s.dur)
		}
		if err != nil {
			fmt.Fprintf(stderr, "adobench: %s: %v\n", s.mode, err)
			return 1
		}
		rr.finish()
		rep.Runs = append(rep.Runs, rr)
		rep.Pass = rep.Pass && rr.Pass
		printRun(stdout, rr)
	}
	if c.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(c.jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "adobench: writing JSON:", err)
			return 1
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "adobench: interrupted")
		return 1
	}
	if !rep.Pass {
		fmt.Fprintln(stdout, "\nadobench: some targets were missed (FAIL rows above)")
		return 3
	}
	fmt.Fprintln(stdout, "\nadobench: every target met")
	return 0
}

func (c *config) validate() error {
	switch {
	case !contains(modes, c.mode):
		return fmt.Errorf("-mode must be one of %v", modes)
	case c.rate <= 0 || c.rate > 5000:
		return errors.New("-rate must be in (0, 5000]")
	case c.duration <= 0 || c.duration > 5*time.Minute:
		return errors.New("-duration must be in (0, 5m]")
	case c.instances < 1 || c.instances > 3:
		return errors.New("-instances must be 1, 2 or 3")
	case c.people < 1 || c.people > 500:
		return errors.New("-people must be 1-500")
	case c.adoLatency < 0 || c.adoLatency > 10*time.Second:
		return errors.New("-ado-latency must be 0-10s")
	case c.memRecords < 1 || c.memRecords > 100000:
		return errors.New("-mem-records must be 1-100000")
	case c.rtCommands < 1 || c.rtCommands > 10000:
		return errors.New("-rt-commands must be 1-10000")
	case c.grace <= 0 || c.grace > 2*time.Minute:
		return errors.New("-grace must be in (0, 2m]")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
