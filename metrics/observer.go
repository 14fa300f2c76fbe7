package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/tick"
)

// Latency buckets, in seconds. Tick to publish spans a few µs (idle, one
// hop) to seconds (a backlog); one publish call, 100 ns to tens of ms.
var (
	tickToPublishBuckets = prometheus.ExponentialBuckets(1e-6, 2, 24) // 1 µs .. 8.4 s
	publishBuckets       = prometheus.ExponentialBuckets(1e-7, 2, 22) // 100 ns .. 210 ms
)

// Observer counts what the publisher publishes, by rule and by bar
// interval, and records the latency histograms. Observe is its hot path.
type Observer struct {
	signals   []prometheus.Counter // by tick.Signal.Rule
	intervals []int64              // bar intervals, ns
	bars      []prometheus.Counter // by index in intervals
	latency   [tick.OutBBO + 1]prometheus.Observer
	publish   prometheus.Histogram

	signalVec, barVec *prometheus.CounterVec
	latencyVec        *prometheus.HistogramVec
}

// NewObserver returns an Observer for the rules (ids, indexed like
// tick.Signal.Rule) and bar intervals of an engine. Register it with its
// Register method.
func NewObserver(rules []string, bars []time.Duration) *Observer {
	o := &Observer{
		signalVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickd_signals_published_total",
			Help: "Signals published to NATS, by rule."}, []string{"rule"}),
		barVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickd_bars_published_total",
			Help: "OHLCV bars published to NATS, by interval."}, []string{"interval"}),
		latencyVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tickd_tick_to_publish_seconds",
			Help:    "Time from receiving the tick (ts_recv) to publishing what it caused (ts_pub), by kind: signal, bar, bbo.",
			Buckets: tickToPublishBuckets}, []string{"kind"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tickd_publish_duration_seconds",
			Help:    "Time to encode one record and hand it to nats.go (nc.Publish), from ts_pub to its return.",
			Buckets: publishBuckets}),
	}
	for _, id := range rules {
		o.signals = append(o.signals, o.signalVec.WithLabelValues(id))
	}
	for _, d := range bars {
		o.intervals = append(o.intervals, int64(d))
		o.bars = append(o.bars, o.barVec.WithLabelValues(bus.FormatInterval(d)))
	}
	o.latency[tick.OutSignal] = o.latencyVec.WithLabelValues("signal")
	o.latency[tick.OutBar] = o.latencyVec.WithLabelValues("bar")
	o.latency[tick.OutBBO] = o.latencyVec.WithLabelValues("bbo")
	return o
}

// Register registers the Observer's families with r.
func (o *Observer) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{o.signalVec, o.barVec, o.latencyVec, o.publish} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Observe is a bus.PublisherOptions.Observe hook: out was published at
// pubNs (its ts_pub) and nc.Publish returned at doneNs. It takes no lock and
// does not allocate: counter adds and histogram observations are atomic.
func (o *Observer) Observe(out *tick.Out, pubNs, doneNs int64) {
	o.publish.Observe(float64(doneNs-pubNs) * 1e-9)
	var recv int64
	switch out.Kind {
	case tick.OutSignal:
		if r := int(out.Signal.Rule); r < len(o.signals) {
			o.signals[r].Inc()
		}
		recv = out.Signal.TsRecv
	case tick.OutBar:
		for i, iv := range o.intervals {
			if iv == out.Bar.Interval {
				o.bars[i].Inc()
				break
			}
		}
		recv = out.Bar.TsRecv
	case tick.OutBBO:
		recv = out.BBO.TsRecv
	default: // stats carry no receive time
		return
	}
	if recv > 0 && pubNs >= recv { // 0: not stamped (a replayed capture may lack it)
		o.latency[out.Kind].Observe(float64(pubNs-recv) * 1e-9)
	}
}
