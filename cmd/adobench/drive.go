package main

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/adobot/adobot/internal/fakeslack"
)

// sample is what happened to one command.
type sample struct {
	kind       string // "builds", "workitems" or "baseline"
	sendFailed bool   // no Socket Mode connection took it before the deadline
	sent       time.Time
	acked      bool
	ack        time.Duration
	replied    bool
	replyAt    time.Time
	e2e        time.Duration
	errKind    string // "" for a proper answer
	deliveries int
}

// driveOptions describe one open-loop run: commands are sent on a fixed schedule
// (rate per second for dur) whether or not earlier ones were answered, so a slow
// bot cannot slow the load down and hide its own latency.
type driveOptions struct {
	rate      float64
	dur       time.Duration
	grace     time.Duration // how long after the last send replies may still arrive
	wantReply bool
	command   func(i int) (kind string, sc fakeslack.SlashCommand)
	// tick, when set, is called once a second on the schedule's goroutine with the
	// elapsed time (fault injection).
	tick func(elapsed time.Duration)
}

type driveResult struct {
	samples []sample
	start   time.Time
	end     time.Time // last reply (or last send)
}

func drive(ctx context.Context, sl *fakeslack.Server, o driveOptions) driveResult {
	n := max(1, int(math.Round(o.rate*o.dur.Seconds())))
	interval := time.Duration(float64(time.Second) / o.rate)
	samples := make([]sample, n)
	deadline := time.Now().Add(o.dur + o.grace)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	var wg sync.WaitGroup
	start := time.Now()
	nextTick := time.Second
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			samples = samples[:i]
			break
		}
		if o.tick != nil && time.Since(start) >= nextTick {
			o.tick(time.Since(start))
			nextTick += time.Second
		}
		kind, sc := o.command(i)
		wg.Go(func() {
			s := &samples[i]
			s.kind = kind
			c, err := sl.Slash(wctx, sc)
			if err != nil {
				s.sendFailed = true
				return
			}
			s.sent = c.SentAt
			defer func() { s.deliveries = c.Deliveries() }()
			a, err := c.WaitAck(wctx)
			if err == nil {
				s.acked, s.ack = true, a.Latency
			}
			if !o.wantReply {
				return
			}
			m, err := c.WaitReply(wctx)
			if err != nil {
				return
			}
			s.replied, s.replyAt, s.e2e = true, m.At, m.At.Sub(c.SentAt)
			s.errKind = classify(m)
		})
	}
	// Fault ticks must keep coming while replies drain (a pause may straddle the end).
	stopTicks := make(chan struct{})
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		if o.tick == nil {
			return
		}
		for {
			select {
			case <-stopTicks:
				return
			case <-time.After(time.Until(start.Add(nextTick))):
				o.tick(time.Since(start))
				nextTick += time.Second
			}
		}
	}()
	wg.Wait()
	close(stopTicks)
	<-tickDone
	r := driveResult{samples: samples, start: start, end: start}
	for _, s := range samples {
		if s.replied && s.replyAt.After(r.end) {
			r.end = s.replyAt
		}
		if s.sent.After(r.end) {
			r.end = s.sent
		}
	}
	return r
}

// errorPhrases map what adobot's error replies say to a short category.
var errorPhrases = []struct{ phrase, kind string }{
	{"storage is unavailable", "storage_unavailable"},
	{"busy right now", "busy"},
	{"rate limiting", "rate_limited"},
	{"being renewed", "refresh_busy"},
	{"haven't linked", "not_linked"},
	{"link again", "relink"},
	{"did not accept your sign-in", "relink"},
	{"is having trouble", "upstream_error"},
	{"took too long", "timeout"},
	{"something went wrong", "error"},
	{"request id", "error"},
	{"azure devops refused", "forbidden"},
	{"was not found", "not_found"},
	{"isn't valid", "invalid"},
	{"don't know which azure devops organization", "no_org"},
}

// classify returns "" for a proper answer, else the error category.
func classify(m fakeslack.Message) string {
	t := strings.ToLower(flatten(m))
	for _, p := range errorPhrases {
		if strings.Contains(t, p.phrase) {
			return p.kind
		}
	}
	return ""
}

// Dist is a latency distribution in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func distOf(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	// Nearest-rank percentile.
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return Dist{N: len(s), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Counts are what every mode reports.
type Counts struct {
	Sent         int            `json:"sent"`
	SendFailed   int            `json:"send_failed"`
	Acked        int            `json:"acked"`
	Answered     int            `json:"answered"`
	Errors       int            `json:"errors"`
	ErrorKinds   map[string]int `json:"error_kinds,omitempty"`
	Lost         int            `json:"lost"`    // acked, never answered within the grace period
	Unacked      int            `json:"unacked"` // sent, never acknowledged
	Redeliveries int            `json:"redeliveries"`
}

func countsOf(ss []sample, wantReply bool) Counts {
	c := Counts{ErrorKinds: map[string]int{}}
	for _, s := range ss {
		if s.sendFailed {
			c.SendFailed++
			continue
		}
		c.Sent++
		c.Redeliveries += max(0, s.deliveries-1)
		if s.acked {
			c.Acked++
		} else {
			c.Unacked++
		}
		if !wantReply {
			continue
		}
		switch {
		case s.replied:
			c.Answered++
			if s.errKind != "" {
				c.Errors++
				c.ErrorKinds[s.errKind]++
			}
		case s.acked:
			c.Lost++
		}
	}
	if len(c.ErrorKinds) == 0 {
		c.ErrorKinds = nil
	}
	return c
}

func ackDurations(ss []sample) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		if s.acked {
			out = append(out, s.ack)
		}
	}
	return out
}
