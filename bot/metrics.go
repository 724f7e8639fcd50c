package bot

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics is a no-op when no Registerer was given.
type metrics struct {
	commands *prometheus.CounterVec
	ack      prometheus.Histogram
	inFlight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return &metrics{}, nil
	}
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adobot_commands_total", Help: "Slash commands handled, by subcommand and outcome.",
		}, []string{"command", "outcome"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "adobot_ack_latency_seconds", Help: "Time from receiving a Socket Mode envelope to queueing its ack.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .25, .5, 1, 2.5},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "adobot_commands_in_flight", Help: "Commands and events being worked on.",
		}),
	}
	// A second Bot on the same registry (tests, restarts in-process) shares
	// the first one's collectors instead of failing.
	var err error
	m.commands, err = register(reg, m.commands)
	if err == nil {
		m.ack, err = register(reg, m.ack)
	}
	if err == nil {
		m.inFlight, err = register(reg, m.inFlight)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) command(name, outcome string) {
	if m.commands != nil {
		m.commands.WithLabelValues(name, outcome).Inc()
	}
}

func (m *metrics) ackLatency(d time.Duration) {
	if m.ack != nil {
		m.ack.Observe(d.Seconds())
	}
}

func (m *metrics) inflight(delta float64) {
	if m.inFlight != nil {
		m.inFlight.Add(delta)
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
