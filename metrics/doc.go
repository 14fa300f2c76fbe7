// Package metrics exposes a running tickd to Prometheus and to health
// checkers: one HTTP server with /metrics, /healthz and /readyz.
//
// Almost every family is read at scrape time from counters the pipeline
// keeps anyway (engine.Counters, feed.Registry, bus.PublisherCounters, ring
// lengths), by a Collector: nothing is incremented on the hot path for
// them. The exceptions are what only the publisher sees per record: signals
// by rule, bars by interval and the two latency histograms. The Observer
// records those from bus.PublisherOptions.Observe with atomic adds only: it
// takes no lock and allocates nothing, so the publisher loop stays as it was.
//
// Labels are bounded: a feed's source label is its group (Registry.Group,
// see SourceGroup), never a connection; rules and bar intervals come from
// the configuration; there is no per-symbol label.
package metrics
