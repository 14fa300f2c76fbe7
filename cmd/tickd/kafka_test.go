package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// upRule fires when a symbol's price rises through 100: on every 101 tick
// that follows a 99 tick of its symbol.
var upRule = []ruleConfig{{ID: "up", Type: "price", Dir: "up", Level: "100", Hysteresis: 0.5}}

// kafkaRig is an in-process Kafka cluster (3 partitions per topic), an
// external NATS server that outlives the tickd pipelines, and a subscriber
// collecting every signal's ts_event.
type kafkaRig struct {
	t       *testing.T
	cluster *kfake.Cluster
	prod    *kgo.Client // writes to the partition each record names
	nats    *bus.Server
	sigs    *signalLog
	sub     *nats.Subscription // sigs' subscription, for its own losses
	subConn *nats.Conn
	next    int64 // ts_event counter: every tick has its own
}

func newKafkaRig(t *testing.T, topics ...string) *kafkaRig {
	t.Helper()
	return newKafkaRigWith(t, bus.ServerOptions{Port: bus.RandomPort}, topics...)
}

// newKafkaCluster starts an in-process Kafka broker with topics of 3
// partitions each, closed when the test ends.
func newKafkaCluster(t *testing.T, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newKafkaRigWith is newKafkaRig on a NATS server started with opts.
func newKafkaRigWith(t *testing.T, opts bus.ServerOptions, topics ...string) *kafkaRig {
	t.Helper()
	c := newKafkaCluster(t, topics...)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	srv, err := bus.StartServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.ConnectInProcess() // authenticated whether or not opts has Users
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sigs := &signalLog{}
	sub, err := nc.Subscribe("tickd.signal.>", sigs.handle)
	if err != nil {
		t.Fatal(err)
	}
	// No client-side bound: a test starved of CPU must not drop signals
	// of its own and blame tickd (harnessLoss reports any loss left).
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &kafkaRig{t: t, cluster: c, prod: prod, nats: srv, sigs: sigs, sub: sub, subConn: nc}
}

// start runs a tickd pipeline consuming topic in group; stop cancels it and
// waits for it to drain, expecting it to end with an error or not.
func (r *kafkaRig) start(topic, group, format string, args ...string) (p *pipeline, stop func(wantErr bool)) {
	r.t.Helper()
	url := fmt.Sprintf("kafka://%s/%s?group=%s&format=%s&commit=50ms", r.cluster.ListenAddrs()[0], topic, group, format)
	cfg, err := serveDefaults(append([]string{"-feed-listen", "", "-nats-url", r.nats.ClientURL(), "-feed-kafka", url,
		"-shards", "2", "-bars", "1m", "-bbo-interval", "-1ns"}, args...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	cfg.rules = upRule
	ctx, cancel := context.WithCancel(context.Background())
	log, _ := newLogger(&syncBuffer{}, "info", false)
	p, err = startPipeline(ctx, &cfg, log)
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	return p, func(wantErr bool) {
		cancel()
		if err := p.Wait(); (err != nil) != wantErr {
			r.t.Errorf("pipeline ended with %v; want an error: %v", err, wantErr)
		}
	}
}

// sent is one produced record: where it went and the ts_event of its 101
// tick, whose signal must be seen.
type sent struct {
	partition int32
	offset    int64
	want      int64
}

// produce writes n records, each a 99 then a 101 tick of one symbol in the
// given format, keyed by symbol and sent to partition symbol%3, and returns
// them with their offsets.
func (r *kafkaRig) produce(topic string, format feed.Format, n int) []sent {
	r.t.Helper()
	out, err := r.send(topic, format, n)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// send is produce for any goroutine: it returns the error.
func (r *kafkaRig) send(topic string, format feed.Format, n int) ([]sent, error) {
	recs := make([]*kgo.Record, n)
	wants := make(map[*kgo.Record]int64, n)
	for i := range recs {
		sym := i % 12
		name := fmt.Sprintf("%s%02d", topic, sym)
		lo, hi := t0+r.next, t0+r.next+1
		r.next += 2
		var v []byte
		switch format {
		case feed.FormatNative:
			v = feed.AppendHello(v, 1)
			v = feed.AppendSymbol(v, 2, 0, name)
			v = feed.AppendTrade(v, 3, 0, lo, px("99"), 1, tick.SideBuy)
			v = feed.AppendTrade(v, 4, 0, hi, px("101"), 1, tick.SideBuy)
		case feed.FormatCSV:
			v = feed.AppendCSV(v, lo, name, px("99"), 1, tick.SideBuy)
			v = feed.AppendCSV(v, hi, name, px("101"), 1, tick.SideBuy)
		default:
			v = feed.AppendJSON(v, lo, name, px("99"), 1, tick.SideBuy)
			v = feed.AppendJSON(v, hi, name, px("101"), 1, tick.SideBuy)
		}
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(sym % 3), Key: []byte(name), Value: v}
		wants[recs[i]] = hi
	}
	res := r.prod.ProduceSync(context.Background(), recs...)
	if err := res.FirstErr(); err != nil {
		return nil, err
	}
	// ProduceSync lists the results as the partitions answered, not in
	// the records' order: each result's want is its own record's.
	out := make([]sent, n)
	for i, pr := range res {
		out[i] = sent{pr.Record.Partition, pr.Record.Offset, wants[pr.Record]}
	}
	return out, nil
}

// TestKafkaRigSendNamesEachRecord: every record send reports carries the
// ts_event of its own 101 tick. ProduceSync lists its results as the
// partitions answer, so pairing them with the records by index gave one
// record another's tick, and TestKafkaRestartLosesNothing then saw records
// below a commit cut through a batch "without a signal".
func TestKafkaRigSendNamesEachRecord(t *testing.T) {
	const topic = "pairs"
	rig := newKafkaRig(t, topic)
	recs := rig.produce(topic, feed.FormatCSV, 30)
	cl, err := kgo.NewClient(kgo.SeedBrokers(rig.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	type at struct {
		partition int32
		offset    int64
	}
	hiTick := map[at]string{} // the record's second line: its 101 tick
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(hiTick) < len(recs) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			lines := strings.Split(strings.TrimSpace(string(r.Value)), "\n")
			hiTick[at{r.Partition, r.Offset}] = lines[len(lines)-1]
		})
	}
	for _, s := range recs {
		line := hiTick[at{s.partition, s.offset}]
		if want := fmt.Sprint(s.want); !strings.HasPrefix(line, want+",") {
			t.Errorf("partition %d offset %d: its 101 tick is %q, send named ts_event %s", s.partition, s.offset, line, want)
		}
	}
}

// seen returns how many times each ts_event was signalled.
func (r *kafkaRig) seen() map[int64]int {
	r.sigs.mu.Lock()
	defer r.sigs.mu.Unlock()
	m := make(map[int64]int, len(r.sigs.events))
	for _, ts := range r.sigs.events {
		m[ts]++
	}
	return m
}

// missing counts the records of recs whose signal has not been seen.
// harnessLoss says how the rig's own subscriber may have lost signals,
// which a missing signal is then not tickd's: messages it dropped, or a
// reconnect (the server cut it off as a slow consumer).
func (r *kafkaRig) harnessLoss() string {
	dropped, _ := r.sub.Dropped()
	return fmt.Sprintf("the test's subscriber dropped %d and reconnected %d times", dropped, r.subConn.Reconnects)
}

// awaitSignals waits until every record of recs has its signal; on
// timeout it says how many have none, and the rig's own losses.
func (r *kafkaRig) awaitSignals(t *testing.T, what string, d time.Duration, recs []sent) {
	t.Helper()
	for deadline := time.Now().Add(d); r.missing(recs) > 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %d of %d records have no signal (%s)", d, what, r.missing(recs), len(recs), r.harnessLoss())
		}
	}
}

func (r *kafkaRig) missing(recs []sent) int {
	seen, n := r.seen(), 0
	for _, s := range recs {
		if seen[s.want] == 0 {
			n++
		}
	}
	return n
}

// committed asks the broker for group's committed offsets on topic (-1
// where none).
func (r *kafkaRig) committed(topic, group string) map[int32]int64 {
	r.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), r.prod)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

// TestKafkaFormats: ticks produced to a 3-partition topic in each format
// reach the engine, their signals reach NATS, and once the pipeline stops
// every offset is committed.
func TestKafkaFormats(t *testing.T) {
	rig := newKafkaRig(t, "native", "csv", "json")
	for _, format := range []feed.Format{feed.FormatNative, feed.FormatCSV, feed.FormatJSON} {
		topic := format.String()
		t.Run(topic, func(t *testing.T) {
			rig.t = t
			_, stop := rig.start(topic, "g-"+topic, topic)
			recs := rig.produce(topic, format, 300)
			rig.awaitSignals(t, topic+" signals", 20*time.Second, recs)
			stop(false)
			ends := map[int32]int64{}
			for _, s := range recs {
				ends[s.partition] = max(ends[s.partition], s.offset+1)
			}
			if len(ends) != 3 {
				t.Fatalf("records went to %d partitions, want 3", len(ends))
			}
			for p, off := range rig.committed(topic, "g-"+topic) {
				if off != ends[p] {
					t.Errorf("partition %d: committed %d, want %d (every record published)", p, off, ends[p])
				}
			}
		})
	}
}

// TestKafkaRestartLosesNothing runs three pipelines, one after the other,
// in one group, while a producer keeps writing: the first is stopped
// (drained), the second dies as if killed (its NATS connection is cut, so
// what it decodes from then on is never published), the third runs to the
// end. Every produced tick's signal is seen at least once, and after each
// stop every offset the group has committed covers only records whose
// signals were published.
func TestKafkaRestartLosesNothing(t *testing.T) {
	const topic, group = "restart", "rg"
	rig := newKafkaRig(t, topic)
	var mu sync.Mutex
	var all []sent
	producing := make(chan struct{})
	stopProducing := make(chan struct{})
	var stopOnce sync.Once
	endProducing := func() { stopOnce.Do(func() { close(stopProducing) }); <-producing }
	// A failure below ends the test at once: the producer must stop first,
	// or its next t.Error panics ("Fail in goroutine after ... has
	// completed") and takes the package's other results with it.
	t.Cleanup(endProducing)
	go func() { // a steady stream, across the restarts
		defer close(producing)
		for {
			select {
			case <-stopProducing:
				return
			default:
			}
			recs, err := rig.send(topic, feed.FormatCSV, 30)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			all = append(all, recs...)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	snapshot := func() []sent { mu.Lock(); defer mu.Unlock(); return append([]sent(nil), all...) }
	// checkCommitted: every record below a committed offset was published
	// before the commit, so its signal is delivered (or on its way).
	checkCommitted := func(stage string) int {
		t.Helper()
		off := rig.committed(topic, group)
		var below []sent
		for _, s := range snapshot() {
			if s.offset < off[s.partition] {
				below = append(below, s)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for rig.missing(below) > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := rig.missing(below); n != 0 {
			t.Fatalf("%s: %d records below the committed offsets %v have no signal (%s)", stage, n, off, rig.harnessLoss())
		}
		t.Logf("%s: committed %v (%d records)", stage, off, len(below))
		return len(below)
	}

	_, stop := rig.start(topic, group, "csv")
	waitUntil(t, "the first pipeline to publish", 20*time.Second, func() bool { return rig.sigs.len() >= 300 })
	stop(false)
	n1 := checkCommitted("stopped")
	if n1 == 0 {
		t.Fatal("the first pipeline committed nothing")
	}

	p, stop := rig.start(topic, group, "csv")
	waitUntil(t, "the second pipeline to commit", 20*time.Second, func() bool {
		off := rig.committed(topic, group)
		return off[0]+off[1]+off[2] >= int64(n1+150)
	})
	p.nc.Close() // killed: nothing it decodes from now on is published
	before := p.eng.Counters().Events
	waitUntil(t, "the second pipeline to take more ticks", 20*time.Second, func() bool { return p.eng.Counters().Events >= before+200 })
	stop(true) // the publisher reports the publishes refused
	n2 := checkCommitted("killed")

	_, stop = rig.start(topic, group, "csv")
	waitUntil(t, "the third pipeline to publish", 20*time.Second, func() bool { return rig.sigs.len() >= n2+300 })
	endProducing()
	recs := snapshot()
	rig.awaitSignals(t, "every signal", 20*time.Second, recs)
	stop(false)
	dups := 0
	for _, n := range rig.seen() {
		dups += n - 1
	}
	t.Logf("%d records; %d signals seen twice (replayed after the kill)", len(recs), dups)
}

// TestKafkaBadURLFailsAtStart: a bad -feed-kafka fails before anything runs.
func TestKafkaBadURLFailsAtStart(t *testing.T) {
	cfg, err := serveDefaults("-feed-listen", "", "-nats-listen", "off", "-feed-kafka", "kafka://127.0.0.1:9092")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(&syncBuffer{}, "info", false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := startPipeline(ctx, &cfg, log)
	if err == nil {
		cancel()
		p.Wait()
		t.Fatal("a URL without a topic started")
	}
	if !strings.Contains(err.Error(), "feed-kafka: kafka: URL") || !strings.Contains(err.Error(), "no /TOPIC") {
		t.Errorf("error %q does not name the flag and the problem", err)
	}
}

// TestKafkaFormatDefault: a URL without format= takes -feed-format's, native
// when that is itch; format= wins.
func TestKafkaFormatDefault(t *testing.T) {
	for _, c := range []struct {
		feedFormat, url string
		want            feed.Format
	}{
		{"csv", "kafka://h:1/t", feed.FormatCSV},
		{"json", "kafka://h:1/t", feed.FormatJSON},
		{"itch", "kafka://h:1/t", feed.FormatNative},
		{"csv", "kafka://h:1/t?format=native", feed.FormatNative},
	} {
		cfg := serveConfig{feedFormat: c.feedFormat, feedKafka: c.url}
		kc, err := cfg.kafkaSource()
		if err != nil || kc.Format != c.want {
			t.Errorf("-feed-format %s -feed-kafka %s: %v, %v; want format %v", c.feedFormat, c.url, kc, err, c.want)
		}
	}
	if kc, err := (&serveConfig{}).kafkaSource(); kc != nil || err != nil {
		t.Errorf("no -feed-kafka: %v, %v", kc, err)
	}
}

// TestKafkaJetStream: with -jetstream, the Kafka source's offsets wait for
// the stream's acknowledgements too; at the end every record is committed
// and the stream holds each tick's signal exactly once.
func TestKafkaJetStream(t *testing.T) {
	const topic, group = "durable", "jg"
	rig := newKafkaRigWith(t, bus.ServerOptions{Port: bus.RandomPort, JetStream: true, StoreDir: t.TempDir()}, topic)
	p, stop := rig.start(topic, group, "native", "-jetstream")
	recs := rig.produce(topic, feed.FormatNative, 200)
	rig.awaitSignals(t, "the signals", 20*time.Second, recs)
	stop(false)
	js := p.pub.Counters().JetStream
	if js.Sent != js.Stored || js.Lost != 0 || js.Sent < uint64(len(recs)) {
		t.Fatalf("JetStream counters %+v for %d records", js, len(recs))
	}
	ends := map[int32]int64{}
	for _, s := range recs {
		ends[s.partition] = max(ends[s.partition], s.offset+1)
	}
	for part, off := range rig.committed(topic, group) {
		if off != ends[part] {
			t.Errorf("partition %d: committed %d, want %d", part, off, ends[part])
		}
	}
	nc, err := nats.Connect(rig.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs, count, _ := readStream(t, nc, js.Stored)
	signals := 0
	for id, m := range msgs {
		if count[id] != 1 {
			t.Errorf("%s delivered %d times", id, count[id])
		}
		if strings.HasPrefix(m.subject, "tickd.signal.") {
			signals++
		}
	}
	if signals != len(recs) {
		t.Fatalf("%d signals stored, want one per record (%d)", signals, len(recs))
	}
}

// TestKafkaShardsReadEveryPartition: two shards given one topic and one
// group each read every partition (each in its own group, the shard
// appended), so every tick's signal is published, once, by its symbol's
// shard, and neither commits offsets of ticks the other dropped.
func TestKafkaShardsReadEveryPartition(t *testing.T) {
	const topic, group = "sharded", "sg"
	rig := newKafkaRig(t, topic)
	_, stop0 := rig.start(topic, group, "csv", "-shard", "0/2")
	_, stop1 := rig.start(topic, group, "csv", "-shard", "1/2")
	recs := rig.produce(topic, feed.FormatCSV, 240)
	rig.awaitSignals(t, "every record's signal", 20*time.Second, recs)
	stop0(false)
	stop1(false)
	for ts, n := range rig.seen() {
		if n != 1 {
			t.Errorf("signal of ts_event %d seen %d times, want once", ts, n)
		}
	}
	for _, g := range []string{group + "-shard0of2", group + "-shard1of2"} {
		for p, off := range rig.committed(topic, g) {
			if off <= 0 {
				t.Errorf("group %s, partition %d: committed %d; every shard reads every partition", g, p, off)
			}
		}
	}
}

// TestKafkaJetStreamBacklogWaits: a backlog read far faster than JetStream
// acknowledges (-js-max-pending 2) slows the consumer instead of dropping
// signals: every one is stored, and every offset committed.
func TestKafkaJetStreamBacklogWaits(t *testing.T) {
	const topic, group = "backlog", "bg"
	rig := newKafkaRigWith(t, bus.ServerOptions{Port: bus.RandomPort, JetStream: true, StoreDir: t.TempDir()}, topic)
	recs := rig.produce(topic, feed.FormatNative, 600) // before tickd starts: a backlog
	p, stop := rig.start(topic, group, "native", "-jetstream", "-js-max-pending", "2")
	rig.awaitSignals(t, "the signals", 30*time.Second, recs)
	ends := map[int32]int64{}
	for _, s := range recs {
		ends[s.partition] = max(ends[s.partition], s.offset+1)
	}
	waitUntil(t, "every offset committed", 30*time.Second, func() bool {
		off := rig.committed(topic, group)
		return off[0] == ends[0] && off[1] == ends[1] && off[2] == ends[2]
	})
	stop(false)
	if c := p.pub.Counters(); c.Dropped != 0 || c.JetStream.Lost != 0 || c.JetStream.Stored != c.JetStream.Sent {
		t.Fatalf("publisher counters %+v", c)
	}
}

// TestKafkaReadyz: /readyz is not ready while the Kafka source is not a
// member of its consumer group (no broker to reach), and ready once it is.
func TestKafkaReadyz(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens there
	c := newKafkaCluster(t, "ready")
	for _, tc := range []struct {
		broker string
		code   int
		body   string
	}{
		{dead, 503, "not ready: feed kafka:ready: not a member of consumer group tickd (brokers " + dead + ")"},
		{c.ListenAddrs()[0], 200, "ready"},
	} {
		cfg, err := serveDefaults("-feed-listen", "", "-nats-listen", "off", "-metrics", "127.0.0.1:0",
			"-feed-kafka", "kafka://"+tc.broker+"/ready?format=csv")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		p, err := startPipeline(ctx, &cfg, zerolog.New(io.Discard))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		body := pollStatus(t, "http://"+p.MetricsAddr().String()+"/readyz", tc.code)
		if !strings.Contains(body, tc.body) {
			t.Errorf("broker %s: /readyz %q, want %q", tc.broker, body, tc.body)
		}
		cancel()
		p.Wait()
	}
}

// TestKafkaMetrics: /metrics carries the Kafka source's records, bad
// records, commits, lag and group membership.
func TestKafkaMetrics(t *testing.T) {
	const topic, group = "metered", "mg"
	rig := newKafkaRig(t, topic)
	p, stop := rig.start(topic, group, "csv", "-metrics", "127.0.0.1:0")
	defer stop(false)
	recs := rig.produce(topic, feed.FormatCSV, 30)
	bad := &kgo.Record{Topic: topic, Partition: 1, Value: []byte("not a tick\n")}
	if err := rig.prod.ProduceSync(context.Background(), bad).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends := map[int32]int64{}
	for _, s := range recs {
		ends[s.partition] = max(ends[s.partition], s.offset+1)
	}
	ends[1] = max(ends[1], bad.Offset+1)
	waitUntil(t, "every offset committed", 20*time.Second, func() bool {
		off := rig.committed(topic, group)
		return off[0] == ends[0] && off[1] == ends[1] && off[2] == ends[2]
	})
	url := "http://" + p.MetricsAddr().String() + "/metrics"
	m := getMetrics(t, url)
	topicLabel := `topic="` + topic + `"`
	for name, want := range map[string]float64{
		"tickd_kafka_records_total": 31, "tickd_kafka_bad_records_total": 1, "tickd_kafka_lag_records": 0,
		"tickd_kafka_group_member": 1,
	} {
		if got := m.sum(name, topicLabel); got != want || !m.families[name] {
			t.Errorf("%s{%s} = %v, want %v", name, topicLabel, got, want)
		}
	}
	if got := m.sum("tickd_kafka_commits_total", topicLabel); got < 3 {
		t.Errorf("tickd_kafka_commits_total = %v, want at least one per partition", got)
	}
}

// TestKafkaBarrierSeesRefusals: a publish the NATS server refuses (a user
// without publish permission on the signal subjects) fails the Kafka
// barrier that follows it, so the offsets of its tick are not committed.
// The refusal is known from the barrier's own flush round trip (nats.go
// reports it to the publisher only asynchronously, later): a barrier that
// checked the losses before flushing let the commit through.
func TestKafkaBarrierSeesRefusals(t *testing.T) {
	const topic, group = "refused", "rg"
	pw := secFile(t, t.TempDir(), "tickd.pw", secTickdPW)
	noSignals := bus.Permissions{Publish: []string{"tickd.status", "tickd.bar.>", "tickd.stats.>", "tickd.bbo.>", "_INBOX.>"},
		Subscribe: []string{"_INBOX.>"}}
	rig := newKafkaRigWith(t, bus.ServerOptions{Port: bus.RandomPort,
		Users: []bus.User{{Name: "tickd", Password: secTickdPW, Permissions: noSignals}}}, topic)
	p, stop := rig.start(topic, group, "csv", "-nats-user", "tickd", "-nats-password-file", pw)
	defer stop(true)
	if err := p.publishedBarrier(context.Background()); err != nil {
		t.Fatalf("barrier before any refusal: %v", err)
	}
	// As the publisher does for a signal, on the same connection, just
	// before the barrier: its refusal is on its way back.
	if err := p.nc.Publish("tickd.signal.X.up", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	err := p.publishedBarrier(context.Background())
	if !bus.IsPublishRefused(err) {
		t.Fatalf("barrier after a refused publish: %v, want the permissions violation", err)
	}
}

// TestKafkaBarrierDuringOutageLosesNothing: while the NATS server is gone,
// a Kafka barrier cannot confirm anything. Its flush used to wait out its
// timeout and leave its PING in nats.go's reconnect buffer, which the
// publisher's final flush then took for publishes never sent: a pipeline
// that published nothing during the outage stopped with "bytes of
// publishes never reached the server" and publish_errors 1.
func TestKafkaBarrierDuringOutageLosesNothing(t *testing.T) {
	const topic, group = "outage", "og"
	rig := newKafkaRig(t, topic)
	p, stop := rig.start(topic, group, "csv")
	rig.nats.Shutdown()
	if err := waitFor(context.Background(), func() (bool, error) { return !p.nc.IsConnected(), nil }); err != nil {
		t.Fatal(err)
	}
	for range 2 { // as the committer does each interval
		if err := p.publishedBarrier(context.Background()); err == nil {
			t.Fatal("a barrier passed with the NATS server gone")
		}
	}
	stop(true) // the final flush fails: the server is gone
	if c := p.pub.Counters(); c.Errors != 0 {
		t.Errorf("publish_errors %d with nothing published during the outage", c.Errors)
	}
}
