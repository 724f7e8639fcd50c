package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the whole run, as written by -json.
type Report struct {
	Tool    string       `json:"tool"`
	Started time.Time    `json:"started"`
	Args    []string     `json:"args"`
	Machine Machine      `json:"machine"`
	Runs    []*RunReport `json:"runs"`
	// Pass is true when every target of every run was met.
	Pass bool `json:"pass"`
}

// Machine describes where the numbers come from.
type Machine struct {
	NProc      int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPU        string `json:"cpu"`
	GoVersion  string `json:"go_version"`
	OSArch     string `json:"os_arch"`
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// RunReport is one mode's result.
type RunReport struct {
	Mode                string                      `json:"mode"`
	Instances           int                         `json:"instances"`
	People              int                         `json:"people"`
	Rate                float64                     `json:"rate_per_s"`
	DurationS           float64                     `json:"duration_s"`
	ADOLatencyMs        float64                     `json:"ado_latency_ms"`
	Redis               string                      `json:"redis"`
	Counts              Counts                      `json:"counts"`
	AckMs               Dist                        `json:"ack_ms"`
	BaselineAckMs       *Dist                       `json:"baseline_ack_ms,omitempty"`
	BaselineCounts      *Counts                     `json:"baseline_counts,omitempty"`
	AckP99Ratio         float64                     `json:"ack_p99_ratio_to_baseline,omitempty"`
	E2EMs               map[string]Dist             `json:"e2e_ms,omitempty"`
	OverheadMs          map[string]Dist             `json:"bot_overhead_ms,omitempty"`
	ThroughputPerS      float64                     `json:"throughput_per_s"`
	ADOCallsPerCommand  float64                     `json:"ado_calls_per_command,omitempty"`
	RedisRoundTrips     map[string]float64          `json:"redis_round_trips_per_command,omitempty"`
	RedisCommands       map[string]map[string]int64 `json:"redis_commands,omitempty"`
	RedisBytesPerPerson []MemRow                    `json:"redis_bytes_per_person,omitempty"`
	Process             *ProcMem                    `json:"process,omitempty"`
	InstanceRSSMiB      []float64                   `json:"instance_rss_mib,omitempty"`
	Stampede            *StampedeReport             `json:"stampede,omitempty"`
	Outage              *OutageReport               `json:"redis_outage,omitempty"`
	Disconnects         int                         `json:"disconnects,omitempty"`
	Checks              []Check                     `json:"checks"`
	Notes               []string                    `json:"notes,omitempty"`
	Pass                bool                        `json:"pass"`
}

// Check is one table row; rows without a target are information.
type Check struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Target   string `json:"target,omitempty"`
	Pass     bool   `json:"pass"`
}

func (r *RunReport) check(name, measured, target string, pass bool) {
	r.Checks = append(r.Checks, Check{Name: name, Measured: measured, Target: target, Pass: pass})
}

func (r *RunReport) finish() {
	r.Pass = true
	for _, c := range r.Checks {
		if c.Target != "" && !c.Pass {
			r.Pass = false
		}
	}
}

func printRun(w io.Writer, r *RunReport) {
	fmt.Fprintf(w, "\n== %s: %d instance(s), %d people", r.Mode, r.Instances, r.People)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", %.0f commands/s for %gs", r.Rate, r.DurationS)
	}
	fmt.Fprintf(w, ", Azure DevOps latency %gms, Redis: %s\n", r.ADOLatencyMs, r.Redis)
	c := r.Counts
	fmt.Fprintf(w, "commands: sent %d, acked %d, answered %d, errors %d, lost %d, unacked %d, redeliveries %d",
		c.Sent, c.Acked, c.Answered, c.Errors, c.Lost, c.Unacked, c.Redeliveries)
	if c.SendFailed > 0 {
		fmt.Fprintf(w, ", not sent (no connection) %d", c.SendFailed)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tmeasured\ttarget\tresult")
	for _, ch := range r.Checks {
		res := ""
		if ch.Target != "" {
			res = "PASS"
			if !ch.Pass {
				res = "FAIL"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.Name, ch.Measured, ch.Target, res)
	}
	_ = tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
