package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tickd/tickd/metrics"
	"github.com/tickd/tickd/tick"
)

// pipelineMetrics is the -metrics HTTP server of a pipeline: bound by
// setupMetrics before the publisher exists (its Observer is a publisher
// option), served by serveMetrics once every stage has started.
type pipelineMetrics struct {
	ln  net.Listener
	reg *prometheus.Registry
	obs *metrics.Observer
}

// setupMetrics binds -metrics (nothing when it is "") and builds the
// registry and the publisher's Observer, with the rules and bar intervals
// the engine runs (its defaults applied: bars not configured are its 1s and
// 1m). The listener is closed when ctx is done, or by startPipeline's
// failure path if a later step fails.
func (p *pipeline) setupMetrics(ctx context.Context, cfg *serveConfig) error {
	if cfg.metrics == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.metrics)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	var rules []string
	for _, r := range p.eng.Rules() {
		rules = append(rules, r.ID)
	}
	m := &pipelineMetrics{ln: ln, reg: prometheus.NewRegistry(), obs: metrics.NewObserver(rules, p.eng.Config().Bars)}
	if err := m.obs.Register(m.reg); err != nil {
		ln.Close()
		return err
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Feed sources are grouped before any starts, so the source label stays
	// bounded however many connections come and go. p.listener is set
	// before the feeds start.
	p.feedStats.Group = metrics.SourceGroup(p.listenAddr)
	p.metrics = m
	return nil
}

// metricsHook is the publisher's Observe option: nil without -metrics.
func (p *pipeline) metricsHook() func(o *tick.Out, pubNs, doneNs int64) {
	if p.metrics == nil {
		return nil
	}
	return p.metrics.obs.Observe
}

func (p *pipeline) listenAddr() string {
	if p.listener == nil {
		return ""
	}
	return p.listener.Addr().String()
}

// MetricsAddr is the -metrics server's address, or nil.
func (p *pipeline) MetricsAddr() net.Addr {
	if p.metrics == nil {
		return nil
	}
	return p.metrics.ln.Addr()
}

// serveMetrics registers the collector over the running stages and serves
// /metrics, /healthz and /readyz until ctx is done; stale is -feed-stale,
// past which a silent ITCH session is not ready.
func (p *pipeline) serveMetrics(ctx context.Context, src feedSources, stale time.Duration) {
	m := p.metrics
	if m == nil {
		return
	}
	natsState := func() (bool, uint64) { return p.nc.IsConnected(), p.nc.Stats().Reconnects }
	m.reg.MustRegister(metrics.NewCollector(metrics.Sources{Engine: p.eng, Feeds: p.feedStats, Listener: p.listener,
		Publisher: p.pub, Symbols: p.syms, Kafka: p.kafka, NATSFeed: p.natsFeed, Recorder: p.recorder, NATS: natsState, Version: version}))
	ready := &metrics.Readiness{NATS: p.nc.IsConnected, Feeds: p.feedStats,
		Group: p.feedStats.Group, Dials: src.dial, ITCH: len(src.itch), Stale: stale, Failed: p.failedStages}
	if src.kafka != nil {
		ready.Kafka = p.kafkaNotReady(src.kafka)
	}
	if src.nats != nil {
		ready.NATSFeed = p.natsFeedNotReady(src.nats)
	}
	// Scrape failures are logged at most once a second, like bad input.
	limit := newLimitedLog(p.log, time.Second)
	onErr := func(err error) {
		if suppressed, _, ok := limit.allow("metrics", "metrics scrape failed", "scrape", false); ok {
			p.log.Warn().Err(err).Int("suppressed", suppressed).Msg("metrics scrape failed")
		}
	}
	p.log.Info().Str("addr", "http://"+m.ln.Addr().String()+"/metrics").Msg("metrics listening")
	p.goRun("metrics", func() error {
		return metrics.Serve(ctx, m.ln, metrics.Handler(m.reg, ready.NotReady, onErr))
	})
}

// freeOr returns addr if it can be bound now, else a free port on its host
// (for the demo, which should not fail because 9464 is taken).
func freeOr(addr string) string {
	if addr == "" {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // the pipeline names the bad address
	}
	return net.JoinHostPort(host, "0")
}
