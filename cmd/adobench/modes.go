package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adobot/adobot/internal/fakeado"
	"github.com/adobot/adobot/internal/fakeslack"
	"github.com/adobot/adobot/store"
)

// adoCalls is how many Azure DevOps REST calls a command makes with a fresh token.
var adoCalls = map[string]int{"builds": 1, "workitems": 2}

// Targets (see docs/benchmarks.md).
const (
	targetAckRatio      = 1.5
	targetAckP99        = 10.0 // ms
	targetOverheadP50   = 2.0  // ms
	targetOverheadP99   = 5.0  // ms
	targetRoundTrips    = 3.0
	targetBytesPerUser  = 4096.0
	targetRSSPerInstMiB = 32.0
)

// commandFor alternates builds and workitems over the linked people.
func (e *env) commandFor(project string) func(i int) (string, fakeslack.SlashCommand) {
	return func(i int) (string, fakeslack.SlashCommand) {
		p := e.people[i%len(e.people)]
		sc := fakeslack.SlashCommand{Team: e.team, User: p.slackID, Channel: benchChannel}
		if i%2 == 0 {
			sc.Text = fmt.Sprintf("builds %q", project)
			return "builds", sc
		}
		sc.Text = "workitems"
		return "workitems", sc
	}
}

// summarize fills the common part of a run report from a drive.
func summarize(rr *RunReport, res driveResult, latency time.Duration) {
	rr.Counts = countsOf(res.samples, true)
	rr.AckMs = distOf(ackDurations(res.samples))
	e2e := map[string][]time.Duration{}
	over := map[string][]time.Duration{}
	for _, s := range res.samples {
		if !s.replied || s.errKind != "" {
			continue
		}
		e2e[s.kind] = append(e2e[s.kind], s.e2e)
		e2e["all"] = append(e2e["all"], s.e2e)
		o := s.e2e - time.Duration(adoCalls[s.kind])*latency
		over[s.kind] = append(over[s.kind], o)
		over["all"] = append(over["all"], o)
	}
	rr.E2EMs = map[string]Dist{}
	rr.OverheadMs = map[string]Dist{}
	for k, v := range e2e {
		rr.E2EMs[k] = distOf(v)
		rr.OverheadMs[k] = distOf(over[k])
	}
	if d := res.end.Sub(res.start).Seconds(); d > 0 {
		rr.ThroughputPerS = round2(float64(rr.Counts.Answered) / d)
	}
	rr.check("lost commands (acked, never answered)", strconv.Itoa(rr.Counts.Lost), "= 0", rr.Counts.Lost == 0)
	rr.check("unacknowledged commands", strconv.Itoa(rr.Counts.Unacked), "= 0", rr.Counts.Unacked == 0)
}

func (c *config) envOpts(instances int, ownRedis bool) envOptions {
	return envOptions{
		instances: instances, people: c.people, adoLatency: c.adoLatency, ownRedis: ownRedis,
		redeliverAfter: c.redeliverAfter, logger: c.logger,
	}
}

func (c *config) newRun(mode string, instances int, dur time.Duration, redis *redisServer) *RunReport {
	rr := &RunReport{Mode: mode, Instances: instances, People: c.people, Rate: c.rate,
		DurationS: dur.Seconds(), ADOLatencyMs: ms(c.adoLatency), Redis: "REDIS_URL"}
	if redis != nil && redis.own {
		rr.Redis = "own redis-server " + redis.Addr
	}
	return rr
}

// warm runs a short unmeasured load so connection pools, Lua script caches and the
// Go runtime are in their steady state, as in a bot that has been up for a while.
func (e *env) warm(ctx context.Context, c *config, dur time.Duration) {
	drive(ctx, e.slack, driveOptions{rate: c.rate, dur: dur, grace: c.grace, wantReply: true, command: e.commandFor(c.project)})
}

// ---- load ---------------------------------------------------------------------------

func runLoad(ctx context.Context, c *config, dur time.Duration, memRecords int) (*RunReport, error) {
	var base *Dist
	var baseCounts Counts
	if c.baseline {
		// Before the bots start, so the floor is measured on a quiet process.
		d, bc, err := runBaseline(ctx, c.logger, c.rate, dur)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		base, baseCounts = &d, bc
	}
	e, err := newEnv(ctx, c.envOpts(c.instances, false))
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.linkAll(ctx); err != nil {
		return nil, err
	}
	rr := c.newRun("load", c.instances, dur, e.redis)
	e.warm(ctx, c, min(time.Second, dur/4))
	e.ado.ResetCounters()

	res := drive(ctx, e.slack, driveOptions{rate: c.rate, dur: dur, grace: c.grace, wantReply: true, command: e.commandFor(c.project)})
	summarize(rr, res, c.adoLatency)
	if rr.Counts.Answered > 0 {
		rr.ADOCallsPerCommand = round2(float64(e.ado.APICalls()) / float64(rr.Counts.Answered))
	}
	rr.Process = readProcMem(len(e.insts))

	rr.check("ack latency p50 / p90 / p99 / max", distStr(rr.AckMs), "", true)
	if base != nil {
		rr.BaselineAckMs, rr.BaselineCounts = base, &baseCounts
		rr.check("baseline (bare slack-go) ack p50 / p90 / p99 / max", distStr(*base), "", true)
		if base.P99 > 0 {
			rr.AckP99Ratio = round2(rr.AckMs.P99 / base.P99)
		}
		rr.check("ack p99 / baseline p99", fmt.Sprintf("%.2f×", rr.AckP99Ratio), fmt.Sprintf("≤ %.1f×", targetAckRatio),
			rr.AckP99Ratio <= targetAckRatio)
	}
	rr.check("ack p99", fmt.Sprintf("%.2f ms", rr.AckMs.P99), fmt.Sprintf("≤ %.0f ms", targetAckP99), rr.AckMs.P99 <= targetAckP99)
	for _, k := range []string{"builds", "workitems"} {
		d := rr.E2EMs[k]
		rr.check("end-to-end "+k+" p50 / p99", fmt.Sprintf("%.2f / %.2f ms", d.P50, d.P99), "", true)
	}
	for _, k := range []string{"builds", "workitems"} {
		d := rr.OverheadMs[k]
		rr.check(fmt.Sprintf("bot overhead %s (e2e − %d×latency) p50 / p99", k, adoCalls[k]),
			fmt.Sprintf("%.2f / %.2f ms", d.P50, d.P99), "", true)
	}
	o := rr.OverheadMs["all"]
	rr.check("bot overhead p50 (all commands)", fmt.Sprintf("%.2f ms", o.P50), fmt.Sprintf("≤ %.0f ms", targetOverheadP50), o.N > 0 && o.P50 <= targetOverheadP50)
	rr.check("bot overhead p99 (all commands)", fmt.Sprintf("%.2f ms", o.P99), fmt.Sprintf("≤ %.0f ms", targetOverheadP99), o.N > 0 && o.P99 <= targetOverheadP99)
	rr.check("throughput (answers / s)", fmt.Sprintf("%.1f (offered %.0f/s)", rr.ThroughputPerS, c.rate), "", true)
	rr.check("Azure DevOps calls / command (measured; builds 1 + workitems 2)", fmt.Sprintf("%.2f", rr.ADOCallsPerCommand), "", true)
	rr.check("error replies", errStr(rr.Counts), "", true)

	// Quiet phases: nothing else runs, tokens are fresh, links are done.
	rr.RedisRoundTrips = map[string]float64{}
	rr.RedisCommands = map[string]map[string]int64{}
	for _, k := range []string{"builds", "workitems"} {
		per, by, err := e.redisRoundTrips(ctx, c, k, c.rtCommands)
		if err != nil {
			return nil, fmt.Errorf("redis round trips: %w", err)
		}
		rr.RedisRoundTrips[k] = per
		rr.RedisCommands[k] = by
		rr.check("Redis round trips / fresh-token "+k, fmt.Sprintf("%.2f (%s)", per, cmdBreakdown(by, c.rtCommands)),
			fmt.Sprintf("≤ %.0f", targetRoundTrips), per <= targetRoundTrips)
	}
	if e.redis.own {
		rows, err := e.redisBytesPerPerson(ctx, memRecords)
		if err != nil {
			return nil, fmt.Errorf("redis memory: %w", err)
		}
		rr.RedisBytesPerPerson = rows
		for _, r := range rows {
			rr.check(fmt.Sprintf("Redis bytes / linked person (%s)", r.Tokens), fmt.Sprintf("%.0f B", r.BytesPerPerson),
				fmt.Sprintf("≤ %.0f B", targetBytesPerUser), r.BytesPerPerson <= targetBytesPerUser)
		}
	} else {
		rr.Notes = append(rr.Notes, "Redis bytes per person not measured: REDIS_URL is shared (used_memory deltas need a private server; unset REDIS_URL)")
	}
	p := rr.Process
	rr.check("process RSS (peak) / Go heap in use", fmt.Sprintf("%.1f (%.1f) / %.1f MiB", p.RSSMiB, p.PeakRSSMiB, p.HeapInuseMiB), "", true)
	if c.instanceProcs {
		rss, err := e.instanceProcRSS(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("instance-procs: %w", err)
		}
		rr.InstanceRSSMiB = rss
		worst := 0.0
		for _, v := range rss {
			worst = max(worst, v)
		}
		rr.check("RSS per instance (separate processes, after load)", fmt.Sprint(rss, " MiB"),
			fmt.Sprintf("≤ %.0f MiB", targetRSSPerInstMiB), len(rss) > 0 && worst <= targetRSSPerInstMiB)
	} else {
		rr.Notes = append(rr.Notes, fmt.Sprintf("in-process: the %d instances share one process with both fakes and the load generator, so RSS is an upper bound for all of them together; -instance-procs measures each instance in its own process", len(e.insts)))
	}
	return rr, nil
}

// redisRoundTrips sends n commands of one kind (8 at a time) on an otherwise idle
// system and divides the round trips the instances' Redis clients made by n; the
// INFO commandstats delta (our own INFO left out) says which commands they carried.
func (e *env) redisRoundTrips(ctx context.Context, c *config, kind string, n int) (float64, map[string]int64, error) {
	rdb, err := e.redis.client()
	if err != nil {
		return 0, nil, err
	}
	defer rdb.Close()
	cmd := e.commandFor(c.project)
	off := 0
	if kind == "workitems" {
		off = 1
	}
	var failed atomic.Int64
	// Eight at a time through the instances; the first, unmeasured pass fills the
	// Redis connection pools to that concurrency so their HELLOs are not counted.
	pass := func(n int) {
		_ = parallel(n, 8, func(i int) error {
			_, sc := cmd(2*i + off)
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			cm, err := e.slack.Slash(cctx, sc)
			if err == nil {
				var m fakeslack.Message
				if m, err = cm.WaitReply(cctx); err == nil && classify(m) != "" {
					err = errors.New(classify(m))
				}
			}
			cancel()
			if err != nil {
				failed.Add(1)
			}
			return nil
		})
	}
	pass(max(16, n/4))
	time.Sleep(200 * time.Millisecond) // let stragglers settle
	failed.Store(0)
	before, err := commandStats(ctx, rdb)
	if err != nil {
		return 0, nil, err
	}
	tripsBefore := e.trips.n.Load()
	pass(n)
	time.Sleep(200 * time.Millisecond) // replies go out before the last Redis call may land
	trips := e.trips.n.Load() - tripsBefore
	after, err := commandStats(ctx, rdb)
	if err != nil {
		return 0, nil, err
	}
	if f := failed.Load(); f > 0 {
		return 0, nil, fmt.Errorf("%d of %d %s commands failed in the quiet phase", f, n, kind)
	}
	delta := map[string]int64{}
	for k, v := range after {
		if k == "info" {
			continue
		}
		if d := v - before[k]; d > 0 {
			delta[k] = d
		}
	}
	return round2(float64(trips) / float64(n)), delta, nil
}

// MemRow is one Redis memory measurement.
type MemRow struct {
	Tokens         string  `json:"tokens"`
	Records        int     `json:"records"`
	SealedBytes    int     `json:"sealed_bytes_per_record"`
	BytesPerPerson float64 `json:"bytes_per_person"`
}

// redisBytesPerPerson writes n link records through store.Put (the code path a
// sign-in takes) and divides the used_memory delta by n, twice: with the tokens the
// fake identity provider issues, and with Entra-sized ones.
func (e *env) redisBytesPerPerson(ctx context.Context, n int) ([]MemRow, error) {
	rdb, err := e.redis.client()
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	st := store.New(rdb, e.sealer, store.Options{OpTimeout: 10 * time.Second})
	real, err := st.Get(ctx, store.UserKey{Team: e.team, User: e.people[0].slackID})
	if err != nil {
		return nil, fmt.Errorf("read a linked record: %w", err)
	}
	entra := real.Clone()
	// Typical sizes of Microsoft Entra v2 tokens for Azure DevOps: a JWT access
	// token of ~2 KB and an opaque refresh token of ~1.5 KB (an assumption; the
	// fake issues 50-character tokens). Random base64url, so they have the entropy of
	// real tokens: records are compressed, and repeated characters would flatter it.
	entra.AccessToken = "eyJ0eXAiOiJKV1Qi" + randomB64(2048-16)
	entra.RefreshToken = "1.AQ" + randomB64(1536-4)
	var rows []MemRow
	for _, v := range []struct {
		name string
		rec  *store.Record
	}{
		{fmt.Sprintf("fake IdP tokens, %d+%d chars", len(real.AccessToken), len(real.RefreshToken)), real},
		{"Entra-sized tokens, 2048+1536 chars", entra},
	} {
		team := "TM" + strings.ToUpper(randHex(4))
		before, err := usedMemory(ctx, rdb)
		if err != nil {
			return nil, err
		}
		if err := parallel(n, 16, func(i int) error {
			return st.Put(ctx, store.UserKey{Team: team, User: fmt.Sprintf("U%07d", i)}, v.rec.Clone())
		}); err != nil {
			return nil, err
		}
		after, err := usedMemory(ctx, rdb)
		if err != nil {
			return nil, err
		}
		sealed, _ := rdb.HGet(ctx, "adobot:{"+team+":U0000000}:tokens", "d").Result()
		rows = append(rows, MemRow{Tokens: v.name, Records: n, SealedBytes: len(sealed),
			BytesPerPerson: round2(float64(after-before) / float64(n))})
		if err := parallel(n, 16, func(i int) error {
			return st.Delete(ctx, store.UserKey{Team: team, User: fmt.Sprintf("U%07d", i)})
		}); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func parallel(n, workers int, f func(i int) error) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// ProcMem is this process's memory.
type ProcMem struct {
	Instances    int     `json:"instances_in_process"`
	RSSMiB       float64 `json:"rss_mib"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	HeapInuseMiB float64 `json:"heap_inuse_mib"`
	Goroutines   int     `json:"goroutines"`
}

func readProcMem(instances int) *ProcMem {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p := &ProcMem{Instances: instances, HeapInuseMiB: mib(int64(m.HeapInuse)), Goroutines: runtime.NumGoroutine()}
	p.RSSMiB, p.PeakRSSMiB = procStatusMiB("/proc/self/status")
	return p
}

// procStatusMiB reads VmRSS and VmHWM from a /proc/<pid>/status file.
func procStatusMiB(path string) (rss, peak float64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = mib(kb << 10)
		case "VmHWM":
			peak = mib(kb << 10)
		}
	}
	return rss, peak
}

func mib(b int64) float64 { return round2(float64(b) / (1 << 20)) }

// ---- stampede -------------------------------------------------------------------------

func runStampede(ctx context.Context, c *config) (*RunReport, error) {
	co := *c
	co.people = 1
	e, err := newEnv(ctx, co.envOpts(3, false))
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.linkAll(ctx); err != nil {
		return nil, err
	}
	const n = 100
	rr := co.newRun("stampede", 3, 0, e.redis)
	rr.Rate = 0
	p := e.people[0]
	e.ado.RejectAccessTokens(p.ado.ID)
	before := e.ado.Refreshes()
	// Rate high enough that all 100 are on the wire within a few milliseconds.
	res := drive(ctx, e.slack, driveOptions{rate: n * 1000, dur: time.Millisecond * n / 100, grace: c.grace, wantReply: true,
		command: func(int) (string, fakeslack.SlashCommand) {
			return "builds", fakeslack.SlashCommand{Team: e.team, User: p.slackID, Channel: benchChannel, Text: fmt.Sprintf("builds %q --top 3", c.project)}
		}})
	refreshes := e.ado.Refreshes() - before
	summarize(rr, res, c.adoLatency)
	rr.Stampede = &StampedeReport{Commands: len(res.samples), Refreshes: refreshes,
		GoodReplies: rr.Counts.Answered - rr.Counts.Errors}
	rr.check("refresh calls at the identity provider", strconv.FormatInt(refreshes, 10), "= 1", refreshes == 1)
	rr.check("proper replies", fmt.Sprintf("%d / %d", rr.Stampede.GoodReplies, n), "", true)
	rr.check("error replies", errStr(rr.Counts), "", true)
	rr.check("end-to-end p50 / p99", fmt.Sprintf("%.2f / %.2f ms", rr.E2EMs["all"].P50, rr.E2EMs["all"].P99), "", true)
	return rr, nil
}

// StampedeReport is the refresh-once result.
type StampedeReport struct {
	Commands    int   `json:"commands"`
	Refreshes   int64 `json:"refreshes"`
	GoodReplies int   `json:"good_replies"`
}

// ---- faults ---------------------------------------------------------------------------

// OutageReport is what redis-outage adds.
type OutageReport struct {
	PausedAtS        float64 `json:"paused_at_s"`
	PauseS           float64 `json:"pause_s"`
	RecoveryMs       float64 `json:"recovery_ms"` // Redis resumed → first proper reply
	InstancesAlive   int     `json:"instances_alive"`
	RecordsIntact    int     `json:"records_intact"`
	RecordsLinked    int     `json:"records_linked"`
	ErrorsDuringWait int     `json:"errors"`
}

func runFault(ctx context.Context, c *config, mode string, dur time.Duration) (*RunReport, error) {
	own := mode == "redis-outage"
	e, err := newEnv(ctx, c.envOpts(c.instances, own))
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.linkAll(ctx); err != nil {
		return nil, err
	}
	rr := c.newRun(mode, c.instances, dur, e.redis)
	e.warm(ctx, c, min(time.Second, dur/4))
	o := driveOptions{rate: c.rate, dur: dur, grace: c.grace, wantReply: true, command: e.commandFor(c.project)}

	var out OutageReport
	var resumedAt time.Time
	var faultErr error
	switch mode {
	case "ado-429":
		e.ado.SetFaults(fakeado.Faults{RateLimitRatio: 0.3, RetryAfter: time.Second})
	case "ado-503":
		e.ado.SetFaults(fakeado.Faults{UnavailableRatio: 0.5})
	case "slack-disconnect":
		o.tick = func(el time.Duration) {
			if s := int(el.Round(time.Second) / time.Second); s > 0 && s%5 == 0 && el < dur {
				e.slack.DisconnectOne("refresh_requested")
				rr.Disconnects++
			}
		}
	case "redis-outage":
		pauseAt := max(time.Second, (dur-5*time.Second)/2).Truncate(time.Second)
		out.PausedAtS, out.PauseS = pauseAt.Seconds(), 5
		paused, resumed := false, false
		o.tick = func(el time.Duration) {
			switch {
			case !paused && el >= pauseAt:
				paused = true
				faultErr = e.redis.Pause()
			case paused && !resumed && el >= pauseAt+5*time.Second:
				resumed = true
				faultErr = errors.Join(faultErr, e.redis.Resume())
				resumedAt = time.Now()
			}
		}
	}
	res := drive(ctx, e.slack, o)
	e.ado.SetFaults(fakeado.Faults{})
	if faultErr != nil {
		return nil, faultErr
	}
	summarize(rr, res, c.adoLatency)
	rr.check("error replies", errStr(rr.Counts), "", true)
	rr.check("end-to-end p50 / p99 (proper replies)", fmt.Sprintf("%.2f / %.2f ms", rr.E2EMs["all"].P50, rr.E2EMs["all"].P99), "", true)
	rr.check("ack p99", fmt.Sprintf("%.2f ms", rr.AckMs.P99), "", true)
	if mode == "slack-disconnect" {
		rr.check("disconnects sent", strconv.Itoa(rr.Disconnects), "", true)
	}
	alive := e.alive(ctx)
	rr.check("instances alive after the run", fmt.Sprintf("%d / %d", alive, len(e.insts)), "all", alive == len(e.insts))
	if mode == "redis-outage" {
		out.InstancesAlive = alive
		out.ErrorsDuringWait = rr.Counts.Errors
		out.RecoveryMs = -1
		if !resumedAt.IsZero() {
			var first time.Time
			for _, s := range res.samples {
				if s.replied && s.errKind == "" && !s.replyAt.Before(resumedAt) && (first.IsZero() || s.replyAt.Before(first)) {
					first = s.replyAt
				}
			}
			if !first.IsZero() {
				out.RecoveryMs = ms(first.Sub(resumedAt))
			}
		}
		out.RecordsLinked = len(e.people)
		out.RecordsIntact, err = e.recordsIntact(ctx)
		if err != nil {
			return nil, err
		}
		rr.Outage = &out
		rr.check(fmt.Sprintf("recovery (Redis resumed → first proper reply), paused %gs at t=%gs", out.PauseS, out.PausedAtS),
			fmt.Sprintf("%.1f ms", out.RecoveryMs), "", out.RecoveryMs >= 0)
		rr.check("link records intact after the outage", fmt.Sprintf("%d / %d", out.RecordsIntact, out.RecordsLinked), "all",
			out.RecordsIntact == out.RecordsLinked)
	}
	return rr, nil
}

func (e *env) recordsIntact(ctx context.Context) (int, error) {
	rdb, err := e.redis.client()
	if err != nil {
		return 0, err
	}
	defer rdb.Close()
	st := store.New(rdb, e.sealer, store.Options{OpTimeout: 5 * time.Second})
	n := 0
	for _, p := range e.people {
		r, err := st.Get(ctx, store.UserKey{Team: e.team, User: p.slackID})
		if err == nil && r.AccessToken != "" && !r.NeedsRelink {
			n++
		}
	}
	return n, nil
}

func distStr(d Dist) string {
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f ms", d.P50, d.P90, d.P99, d.Max)
}

func errStr(c Counts) string {
	if c.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, k := range sortedKeys(c.ErrorKinds) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.ErrorKinds[k]))
	}
	return fmt.Sprintf("%d (%s)", c.Errors, strings.Join(parts, ", "))
}

func cmdBreakdown(by map[string]int64, n int) string {
	var parts []string
	for _, k := range sortedKeys(by) {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(by[k])/float64(n)))
	}
	return strings.Join(parts, ", ")
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// randomB64 returns n random base64url characters.
func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
