package metrics

import (
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/kafka"
	"github.com/tickd/tickd/feed/natsfeed"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// Sources are what a Collector reads at scrape time; a nil member's
// families are left out (a tickd without a feed listener has no refused
// connections to report).
type Sources struct {
	Engine    *engine.Engine
	Feeds     *feed.Registry
	Listener  *feed.TCPListener
	Publisher *bus.Publisher
	Symbols   *tick.SymbolTable
	Kafka     *kafka.Source    // -feed-kafka's, or nil
	NATSFeed  *natsfeed.Source // -feed-nats's, or nil
	Recorder  *replay.Recorder // -record's, or nil
	// NATS reports the publishing connection's state and its reconnects
	// (nats.Conn.IsConnected, Stats().Reconnects).
	NATS    func() (connected bool, reconnects uint64)
	Version string // of tickd, for tickd_build_info
}

// Collector is a prometheus.Collector over a running tickd's counters.
type Collector struct {
	src Sources
}

// NewCollector returns a Collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// families holds every descriptor desc made, in declaration order: Describe
// sends them all, so a family added below cannot be collected undescribed.
var families []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	families = append(families, d)
	return d
}

// The families the Collector reports. README "Metrics and health" lists them.
var (
	feedMessages = desc("tickd_feed_messages_total", "Feed messages (native frames, text lines, ITCH messages) read, good or bad, by source.", "source")
	feedBytes    = desc("tickd_feed_bytes_total", "Feed bytes read, by source.", "source")
	feedEvents   = desc("tickd_feed_events_total", "Events decoded and handed to the engine, by source.", "source")
	feedErrors   = desc("tickd_feed_decode_errors_total", "Feed messages rejected by the decoder, by reason.", "reason")
	feedGaps     = desc("tickd_feed_gaps_total", "Sequence gaps (native sequence, SoupBinTCP or MoldUDP64), by source.", "source")
	feedMissed   = desc("tickd_feed_gap_messages_total", "Messages lost in sequence gaps, by source.", "source")
	feedRefused  = desc("tickd_feed_connections_refused_total", "Feed connections refused because -feed-max-conns were being served.")
	feedEvicted  = desc("tickd_feed_connections_evicted_total", "Feed connections closed after -feed-stale silent, to admit a new one when -feed-max-conns were being served.")
	soupLogins   = desc("tickd_soupbin_logins_total", "SoupBinTCP logins accepted (the first, then one per reconnect), by session.", "source")
	soupDiscs    = desc("tickd_soupbin_disconnects_total", "SoupBinTCP connections lost or not made (each is retried), by session.", "source")
	moldBad      = desc("tickd_mold_malformed_datagrams_total", "MoldUDP64 datagrams that failed to parse, by session.", "source")
	moldDups     = desc("tickd_mold_duplicate_messages_total", "MoldUDP64 messages dropped as already handed on (the slower line, repeats), by session.", "source")
	moldWrong    = desc("tickd_mold_wrong_session_datagrams_total", "MoldUDP64 datagrams of another session, dropped, by session: growing while the session hears nothing, the exchange restarted under a new session or another feed sends here.", "source")
	moldLine     = desc("tickd_mold_line_datagrams_total", "MoldUDP64 datagrams read by line (A, B), by session: a line that stays flat while the other grows is down.", "source", "line")

	engineEvents   = desc("tickd_engine_events_total", "Events the engine took off its input rings.")
	engineRejected = desc("tickd_engine_rejected_total", "Events the engine rejected: unknown symbol or kind, trade size negative or above 10^12 (tick.MaxQty).")
	engineLate     = desc("tickd_engine_out_of_order_total", "Trades earlier than their symbol's last, applied at its last time (windows, bars and signals never go back).")
	ringDepth      = desc("tickd_ring_depth", "Records waiting in the engine's rings, summed over shards: engine_input (feeds to engine), engine_output (engine to publisher).", "ring")
	ringDropped    = desc("tickd_ring_dropped_total", "Records dropped because a ring was full: engine_input (Drop inputs, i.e. MoldUDP64 feeds); engine_output never drops (the engine waits).", "ring")
	bookOrders     = desc("tickd_book_orders", "Live orders resting in the L3 books.")
	bookEvents     = desc("tickd_book_events_total", "The L3 books' counters by reason: events applied, rejected (unknown_*, duplicate_ref, bad_*), adjusted (overfill), states entered (crossed, locked) and slow-path growth (grow_*).", "reason")
	symbols        = desc("tickd_symbols", "Symbols in the symbol table.")
	symbolsCap     = desc("tickd_symbols_capacity", "Symbols the symbol table holds (-max-symbols): past it, new symbols are refused (symbol_table_full).")

	kafkaRecords = desc("tickd_kafka_records_total", "Kafka records decoded, good or bad, by topic.", "topic")
	kafkaBad     = desc("tickd_kafka_bad_records_total", "Kafka records with at least one frame or line rejected (the rest used), by topic.", "topic")
	kafkaCommits = desc("tickd_kafka_commits_total", "Kafka partition offsets committed (one per partition per commit), by topic.", "topic")
	kafkaLag     = desc("tickd_kafka_lag_records", "Records the assigned partitions hold past the last one decoded, as of the last poll, by topic.", "topic")
	kafkaMember  = desc("tickd_kafka_group_member", "1 while the Kafka source is a member of its consumer group, by topic.", "topic")

	natsFeedMsgs    = desc("tickd_natsfeed_messages_total", "NATS feed messages decoded, good or bad, by subscribed subject.", "subject")
	natsFeedBad     = desc("tickd_natsfeed_bad_messages_total", "NATS feed messages with at least one frame or line rejected (the rest used), by subscribed subject.", "subject")
	natsFeedDropped = desc("tickd_natsfeed_dropped_total", "NATS feed messages dropped by the client past the subscription's pending limits (slow consumer), by subscribed subject.", "subject")
	natsFeedSubbed  = desc("tickd_natsfeed_subscribed", "1 while the NATS feed source is subscribed (0 while its connection is down), by subscribed subject.", "subject")

	published   = desc("tickd_publish_messages_total", "Records published to NATS, by kind: signal, bar, stats, bbo.", "kind")
	pubBytes    = desc("tickd_publish_bytes_total", "Payload bytes published to NATS.")
	pubErrors   = desc("tickd_publish_errors_total", "NATS publishes that failed (the record is lost).")
	pubDropped  = desc("tickd_publish_dropped_total", "NATS publishes refused while reconnecting because the reconnect buffer was full (lost).")
	natsReconns = desc("tickd_nats_reconnects_total", "Reconnects of the publishing NATS connection.")
	natsUp      = desc("tickd_nats_connected", "1 while the publishing NATS connection is connected.")
	recStalls   = desc("tickd_record_stalls_total", "Times a feed source waited for the -record writer: the disk fell behind and held the feed up.")
	recDropped  = desc("tickd_record_dropped_total", "Reads the -record capture lost: after the recorder failed (a write error, see /readyz) or stopped.")
	buildInfo   = desc("tickd_build_info", "Always 1; the labels say which tickd this is.", "version", "goversion")
)

// Describe sends every family's descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range families {
		ch <- d
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), validLabels(labels)...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, validLabels(labels)...)
}

// validLabels makes label values UTF-8, as Prometheus requires, with
// U+FFFD for what is not (as the logs print it): a source is named by a
// tailed file's path, which may be any bytes, and one such value would
// otherwise panic in the middle of Collect and lose every family after it.
func validLabels(labels []string) []string {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	return labels
}

// Collect reads the counters and sends one metric per family and label.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := &c.src
	gauge(ch, buildInfo, 1, s.Version, runtime.Version())
	if s.Feeds != nil {
		c.collectFeeds(ch)
	}
	if s.Listener != nil {
		counter(ch, feedRefused, s.Listener.Rejected())
		counter(ch, feedEvicted, s.Listener.Evicted())
	}
	if s.Engine != nil {
		ec := s.Engine.Counters()
		counter(ch, engineEvents, ec.Events)
		counter(ch, engineRejected, ec.Rejected)
		counter(ch, engineLate, ec.OutOfOrder)
		in, out := s.Engine.Depths()
		gauge(ch, ringDepth, float64(in), "engine_input")
		gauge(ch, ringDepth, float64(out), "engine_output")
		counter(ch, ringDropped, ec.Dropped, "engine_input")
		counter(ch, ringDropped, 0, "engine_output")
		gauge(ch, bookOrders, float64(ec.Orders))
		for r := 1; r < book.NumReasons; r++ {
			counter(ch, bookEvents, ec.Book[r], book.Reason(r).String())
		}
	}
	if s.Symbols != nil {
		gauge(ch, symbols, float64(s.Symbols.Len()))
		gauge(ch, symbolsCap, float64(s.Symbols.Cap()))
	}
	if s.Publisher != nil {
		pc := s.Publisher.Counters()
		counter(ch, published, pc.Signals, "signal")
		counter(ch, published, pc.Bars, "bar")
		counter(ch, published, pc.Stats, "stats")
		counter(ch, published, pc.BBOs, "bbo")
		counter(ch, pubBytes, pc.Bytes)
		counter(ch, pubErrors, pc.Errors)
		counter(ch, pubDropped, pc.Dropped)
	}
	if k := s.Kafka; k != nil {
		counter(ch, kafkaRecords, k.Records(), k.Topic())
		counter(ch, kafkaBad, k.BadRecords(), k.Topic())
		counter(ch, kafkaCommits, k.Commits(), k.Topic())
		gauge(ch, kafkaLag, float64(k.Lag()), k.Topic())
		gauge(ch, kafkaMember, b2f(k.InGroup()), k.Topic())
	}
	if n := s.NATSFeed; n != nil {
		counter(ch, natsFeedMsgs, n.Messages(), n.Subject())
		counter(ch, natsFeedBad, n.BadMessages(), n.Subject())
		counter(ch, natsFeedDropped, n.Dropped(), n.Subject())
		gauge(ch, natsFeedSubbed, b2f(n.Subscribed()), n.Subject())
	}
	if r := s.Recorder; r != nil {
		counter(ch, recStalls, r.Stalls())
		counter(ch, recDropped, r.Dropped())
	}
	if s.NATS != nil {
		up, reconnects := s.NATS()
		counter(ch, natsReconns, reconnects)
		gauge(ch, natsUp, b2f(up))
	}
}

func (c *Collector) collectFeeds(ch chan<- prometheus.Metric) {
	var byReason [feed.NumReasons]uint64
	for _, g := range c.src.Feeds.Groups() {
		counter(ch, feedMessages, g.Frames, g.Group)
		counter(ch, feedBytes, g.Bytes, g.Group)
		counter(ch, feedEvents, g.Events, g.Group)
		counter(ch, feedGaps, g.Gaps, g.Group)
		counter(ch, feedMissed, g.Missed, g.Group)
		for r, n := range g.ByReason {
			byReason[r] += n
		}
	}
	for r := feed.Reason(1); r < feed.NumReasons; r++ {
		counter(ch, feedErrors, byReason[r], r.String())
	}
	for _, t := range c.src.Feeds.TransportTotals() { // ended sessions' too: counters only grow
		switch t.Transport {
		case feed.TransportSoupBin:
			counter(ch, soupLogins, t.Logins, t.Source)
			counter(ch, soupDiscs, t.Disconnects, t.Source)
		case feed.TransportMold:
			counter(ch, moldBad, t.Malformed, t.Source)
			counter(ch, moldDups, t.Duplicates, t.Source)
			counter(ch, moldWrong, t.WrongSession, t.Source)
			for i := range t.Lines {
				counter(ch, moldLine, t.LineDatagrams[i], t.Source, moldLineNames[i])
			}
		}
	}
}

// moldLineNames are the line label's values, by line index.
var moldLineNames = [2]string{"A", "B"}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
