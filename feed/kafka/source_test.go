package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTopic = "ticks"

// sliceSink is a Sink that keeps what is committed; the "engine" consumes
// each event when the test says so (consumed), so marks are honest.
type sliceSink struct {
	mu       sync.Mutex
	slots    []tick.Event
	events   []tick.Event
	closed   bool
	consumed *atomic.Bool // nil or true: consumed as committed
	// held, if not nil, holds Claim until it is closed, after saying so on
	// claiming: an engine that has no room yet.
	held     chan struct{}
	claiming chan struct{}
}

func (s *sliceSink) Claim(n int) []tick.Event {
	if s.held != nil {
		select {
		case s.claiming <- struct{}{}:
		default:
		}
		<-s.held
	}
	if cap(s.slots) < n {
		s.slots = make([]tick.Event, n)
	}
	return s.slots[:n]
}

func (s *sliceSink) Commit(k int) {
	s.mu.Lock()
	s.events = append(s.events, s.slots[:k]...)
	s.mu.Unlock()
}

func (s *sliceSink) Close() { s.mu.Lock(); s.closed = true; s.mu.Unlock() }

func (s *sliceSink) Committed(dst []int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(dst, int64(len(s.events)))
}

func (s *sliceSink) Consumed(pos []int64) bool {
	if s.consumed != nil && !s.consumed.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.events)) >= pos[0]
}

// sinkSet opens one sliceSink per partition.
type sinkSet struct {
	mu       sync.Mutex
	byName   map[string]*sliceSink
	consumed *atomic.Bool
	held     chan struct{} // see sliceSink
	claiming chan struct{}
}

func (ss *sinkSet) open(source string) (Sink, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := &sliceSink{consumed: ss.consumed, held: ss.held, claiming: ss.claiming}
	ss.byName[source] = s
	return s, nil
}

func (ss *sinkSet) events() (n int, allClosed bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	allClosed = true
	for _, s := range ss.byName {
		s.mu.Lock()
		n += len(s.events)
		allClosed = allClosed && s.closed
		s.mu.Unlock()
	}
	return n, allClosed
}

// newCluster starts an in-process Kafka cluster with a 3-partition topic
// and returns it with a producer that writes to the partition each record
// names.
func newCluster(t *testing.T) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return c, prod
}

func produce(t *testing.T, prod *kgo.Client, part int32, values ...string) {
	t.Helper()
	var recs []*kgo.Record
	for _, v := range values {
		recs = append(recs, &kgo.Record{Partition: part, Value: []byte(v)})
	}
	if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committedOffsets asks the broker what group has committed on the topic
// (-1 where nothing is).
func committedOffsets(t *testing.T, cl *kgo.Client, group string) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = testTopic
	rt.Partitions = []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// unreachableAddr is a loopback address nothing listens on.
func unreachableAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newSinkSet() *sinkSet { return &sinkSet{byName: map[string]*sliceSink{}} }

// newSource is a Source on cfg with one sliceSink a partition in sinks,
// failing the test if New refuses it.
func newSource(t *testing.T, cfg Config, sinks *sinkSet, barrier Barrier, opts feed.Options) *Source {
	t.Helper()
	src, err := New(cfg, sinks.open, barrier, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// runUntilEnd runs src until the test ends, then stops it and waits for
// Run to return.
func runUntilEnd(t *testing.T, src *Source) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// passBarrier is a Barrier that always lets the offsets be committed.
func passBarrier(context.Context) error { return nil }

// reportedErrors returns an OnError that passes the errors it is given to
// the channel it returns, of size n, dropping those that find it full.
func reportedErrors(n int) (func(string, int64, uint64, error), <-chan error) {
	reports := make(chan error, n)
	return func(_ string, _ int64, _ uint64, err error) {
		select {
		case reports <- err:
		default:
		}
	}, reports
}

// report is one OnError call.
type report struct {
	source string
	offset int64
	err    error
}

// TestBadRecordsCountedAndSkipped: records that do not decode, wholly or in
// part, are counted, reported with their partition and offset, and skipped;
// their good lines still arrive, and the offsets of every record, bad ones
// included, are committed.
func TestBadRecordsCountedAndSkipped(t *testing.T) {
	c, prod := newCluster(t)
	for p := range int32(3) {
		sym := fmt.Sprintf("S%d", p)
		produce(t, prod, p,
			"1700000000000000001,"+sym+",100.5,10\n1700000000000000002,"+sym+",100.6,5\n", // good, 2 events
			"this is not a trade\n",                       // bad
			"1700000000000000003,"+sym+",101,1\nbad,line", // good line, then a bad last line
			"1700000000000000004,"+sym+",102,1",           // good, no trailing newline
		)
	}
	var mu sync.Mutex
	var reports []report
	onError := func(source string, offset int64, _ uint64, err error) {
		mu.Lock()
		reports = append(reports, report{source, offset, err})
		mu.Unlock()
	}
	sinks := &sinkSet{byName: map[string]*sliceSink{}}
	var barriers atomic.Int64
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "bad", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	stats := new(feed.Registry)
	src, err := New(cfg, sinks.open, func(context.Context) error { barriers.Add(1); return nil },
		feed.Options{Symbols: tick.NewSymbolTable(16), OnError: onError, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()

	waitFor(t, "every offset committed", func() bool {
		off := committedOffsets(t, prod, "bad")
		return off[0] == 4 && off[1] == 4 && off[2] == 4
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, closed := sinks.events()
	if n != 12 || !closed {
		t.Errorf("sinks got %d events (closed %v), want 12 and closed", n, closed)
	}
	if got := src.BadRecords(); got != 6 {
		t.Errorf("BadRecords = %d, want 6", got)
	}
	if got := src.Records(); got != 12 {
		t.Errorf("Records = %d, want 12", got)
	}
	if tot := stats.Total(); tot.Errors != 6 || tot.Events != 12 {
		t.Errorf("feed totals: %d errors, %d events; want 6 and 12", tot.Errors, tot.Events)
	}
	if barriers.Load() == 0 {
		t.Error("offsets were committed without a barrier")
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, r := range reports {
		seen[fmt.Sprintf("%s@%d", r.source, r.offset)] = true
		if !strings.Contains(r.err.Error(), fmt.Sprintf("offset %d", r.offset)) {
			t.Errorf("report %q does not name offset %d", r.err, r.offset)
		}
	}
	for p := range 3 {
		for _, off := range []int{1, 2} {
			if k := fmt.Sprintf("kafka:%s/%d@%d", testTopic, p, off); !seen[k] {
				t.Errorf("no report for %s; got %v", k, reports)
			}
		}
	}
}

// TestOffsetsWaitForTheBarrier: while the engine has not consumed the
// records, and then while the barrier fails, nothing is committed; once
// both pass, everything is.
func TestOffsetsWaitForTheBarrier(t *testing.T) {
	c, prod := newCluster(t)
	for p := range int32(3) {
		produce(t, prod, p, "1700000000000000001,X,1,1\n", "1700000000000000002,X,2,1\n")
	}
	consumed := new(atomic.Bool)
	sinks := &sinkSet{byName: map[string]*sliceSink{}, consumed: consumed}
	published := new(atomic.Bool)
	var calls atomic.Int64
	barrier := func(context.Context) error {
		calls.Add(1)
		if !published.Load() {
			return errors.New("not yet")
		}
		return nil
	}
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "held", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	src, err := New(cfg, sinks.open, barrier, feed.Options{Symbols: tick.NewSymbolTable(16)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()

	waitFor(t, "6 events in the sinks", func() bool { n, _ := sinks.events(); return n == 6 })
	// Several commit intervals pass: the engine has not consumed them.
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 0 {
		t.Error("the barrier was asked before the engine consumed the marks")
	}
	consumed.Store(true)
	waitFor(t, "the barrier to be asked (and fail)", func() bool { return calls.Load() >= 3 })
	for p, off := range committedOffsets(t, prod, "held") {
		if off != -1 {
			t.Errorf("partition %d: offset %d committed before the barrier passed", p, off)
		}
	}
	published.Store(true)
	waitFor(t, "every offset committed", func() bool {
		off := committedOffsets(t, prod, "held")
		return off[0] == 2 && off[1] == 2 && off[2] == 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRebalanceHandsPartitionsOver: a second member joins the group while
// the first consumes; the partitions it takes over are revoked from the
// first, which commits what it took of them, so the second starts where the
// first stopped: every record arrives exactly once.
func TestRebalanceHandsPartitionsOver(t *testing.T) {
	c, prod := newCluster(t)
	line := func(i int) string { return fmt.Sprintf("%d,X,1,1\n", 1700000000000000000+i) }
	fill := func(from int) {
		for p := range int32(3) {
			for i := range 10 {
				produce(t, prod, p, line(from+i))
			}
		}
	}
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "rebal", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	ok := func(context.Context) error { return nil }
	start := func(sinks *sinkSet) (*Source, func()) {
		src, err := New(cfg, sinks.open, ok, feed.Options{Symbols: tick.NewSymbolTable(16)})
		if err != nil {
			t.Fatal(err)
		}
		src.extra = []kgo.Opt{kgo.HeartbeatInterval(50 * time.Millisecond)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()
		return src, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	committedAll := func(want int64) func() bool {
		return func() bool {
			off := committedOffsets(t, prod, "rebal")
			return off[0] == want && off[1] == want && off[2] == want
		}
	}

	fill(0)
	first := &sinkSet{byName: map[string]*sliceSink{}}
	_, stop1 := start(first)
	defer stop1()
	waitFor(t, "the first member to commit everything", committedAll(10))

	second := &sinkSet{byName: map[string]*sliceSink{}}
	_, stop2 := start(second)
	defer stop2()
	waitFor(t, "the second member to be given a partition", func() bool {
		second.mu.Lock()
		defer second.mu.Unlock()
		return len(second.byName) > 0
	})
	fill(100)
	waitFor(t, "both members to commit everything", committedAll(20))
	n1, _ := first.events()
	n2, _ := second.events()
	if n1+n2 != 60 {
		t.Errorf("the members got %d + %d events, want 60 in all (each record once)", n1, n2)
	}
	first.mu.Lock()
	revoked := 0
	for _, s := range first.byName {
		s.mu.Lock()
		if s.closed {
			revoked++
		}
		s.mu.Unlock()
	}
	first.mu.Unlock()
	if revoked == 0 {
		t.Error("no partition of the first member was revoked")
	}
}

// TestStopsWithoutBrokers: with no broker to reach, the source reports the
// failures and still stops when told to.
func TestStopsWithoutBrokers(t *testing.T) {
	addr := unreachableAddr(t)
	var reports atomic.Int64
	cfg := Config{Brokers: []string{addr}, Topic: testTopic, Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	sinks := &sinkSet{byName: map[string]*sliceSink{}}
	src, err := New(cfg, sinks.open, func(context.Context) error { return nil }, feed.Options{Symbols: tick.NewSymbolTable(16),
		OnError: func(string, int64, uint64, error) { reports.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	waitFor(t, "a fetch error to be reported", func() bool { return reports.Load() > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(FinalTimeout + 10*time.Second):
		t.Fatal("Run did not return")
	}
}

// TestPartitionsHeardForStaleWatch: a partition is silent from its
// assignment, not from 1970, and heard on every record, so a StaleWatch
// finds no partition stale while records arrive, and finds a partition
// that has received nothing for After stale.
func TestPartitionsHeardForStaleWatch(t *testing.T) {
	c, prod := newCluster(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() int64 { return now.Load() }
	stats := new(feed.Registry)
	sinks := newSinkSet()
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "heard", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	runUntilEnd(t, newSource(t, cfg, sinks, passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16), Stats: stats, Clock: clock}))

	waitFor(t, "3 partitions assigned", func() bool { live, _ := stats.Sources(); return len(live) == 3 })
	watch := feed.StaleWatch{Reg: stats, After: time.Minute}
	if got := watch.Check(now.Load(), nil); len(got) != 0 {
		t.Fatalf("partitions stale right after their assignment: %+v", got)
	}
	now.Add(int64(50 * time.Second))
	produce(t, prod, 1, "1700000000000000001,X,1,1\n")
	waitFor(t, "the record", func() bool { n, _ := sinks.events(); return n == 1 })
	now.Add(int64(30 * time.Second)) // 80 s after assignment, 30 s after partition 1's record
	got := watch.Check(now.Load(), nil)
	stale := map[string]bool{}
	for _, s := range got {
		stale[s.Source] = s.Stale
	}
	want := map[string]bool{"kafka:ticks/0": true, "kafka:ticks/2": true}
	if len(stale) != 2 || !stale["kafka:ticks/0"] || !stale["kafka:ticks/2"] {
		t.Fatalf("stale sources %v, want %v (partition 1 received a record 30 s ago)", stale, want)
	}
}

// TestPartitionNotStaleWhileHandingOn: a partition whose records wait for
// a full engine ring is not silent meanwhile, and its silence counts from
// when they were handed on, not from the poll that brought them.
func TestPartitionNotStaleWhileHandingOn(t *testing.T) {
	c, prod := newCluster(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() int64 { return now.Load() }
	stats := new(feed.Registry)
	sinks := newSinkSet()
	sinks.held, sinks.claiming = make(chan struct{}), make(chan struct{}, 1)
	release := sync.OnceFunc(func() { close(sinks.held) })
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "handing", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	runUntilEnd(t, newSource(t, cfg, sinks, passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16), Stats: stats, Clock: clock}))
	t.Cleanup(release) // before the source's: a failed test must not leave the poll loop waiting

	waitFor(t, "3 partitions assigned", func() bool { live, _ := stats.Sources(); return len(live) == 3 })
	produce(t, prod, 1, "1700000000000000001,X,1,1\n")
	<-sinks.claiming // partition 1's record waits for the engine
	watch := feed.StaleWatch{Reg: stats, After: time.Minute}
	now.Add(int64(time.Hour))
	for _, s := range watch.Check(now.Load(), nil) {
		if s.Source == "kafka:ticks/1" {
			t.Fatalf("held up by the engine for an hour, reported: %+v", s)
		}
	}
	release()
	waitFor(t, "the record", func() bool { n, _ := sinks.events(); return n == 1 })
	waitFor(t, "partition 1 handed on", func() bool {
		live, _ := stats.Sources()
		for _, s := range live {
			if s.Source == "kafka:ticks/1" {
				return !s.Handing
			}
		}
		return false
	})
	got := watch.Check(now.Load()+int64(2*time.Minute), nil)
	if len(got) != 1 || got[0].Source != "kafka:ticks/1" || !got[0].Stale || got[0].Silent != 2*time.Minute {
		t.Fatalf("2 minutes after the hand-on: %+v, want partition 1 stale, silent 2m0s", got)
	}
}

// TestClientErrorsAreSourceErrors: an unreachable broker is reported as a
// failed dial, and offsets held back by the barrier as a commit problem,
// not as bad input.
func TestClientErrorsAreSourceErrors(t *testing.T) {
	dead := unreachableAddr(t)
	c, prod := newCluster(t)
	produce(t, prod, 0, "1700000000000000001,X,1,1\n")
	lost := func(context.Context) error { return errors.New("publishes lost") }
	for _, tc := range []struct {
		name    string
		brokers []string
		barrier Barrier
		want    feed.SourceOp
	}{
		{"no broker", []string{dead}, passBarrier, feed.SourceDial},
		{"barrier fails", c.ListenAddrs(), lost, feed.SourceCommit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onError, reports := reportedErrors(64)
			cfg := Config{Brokers: tc.brokers, Topic: testTopic, Group: "ops", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
			runUntilEnd(t, newSource(t, cfg, newSinkSet(), tc.barrier, feed.Options{Symbols: tick.NewSymbolTable(16), OnError: onError}))
			select {
			case err := <-reports:
				var se *feed.SourceError
				op := feed.SourceOp(0)
				if errors.As(err, &se) {
					op = se.Op
				}
				if op != tc.want {
					t.Fatalf("first report's op %v, want %v (0: reported as bad input): %v", op, tc.want, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("nothing reported")
			}
		})
	}
}

// TestMissingTopicReported: a topic the cluster does not have is reported
// (a fetch failure naming it), not waited for in silence.
func TestMissingTopicReported(t *testing.T) {
	c, _ := newCluster(t)
	onError, reports := reportedErrors(64)
	cfg := Config{Brokers: c.ListenAddrs(), Topic: "absent", Group: "absent", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	runUntilEnd(t, newSource(t, cfg, newSinkSet(), passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16), OnError: onError}))
	select {
	case err := <-reports:
		var se *feed.SourceError
		if !errors.As(err, &se) || se.Op != feed.SourceFetch || !errors.Is(err, kerr.UnknownTopicOrPartition) || !strings.Contains(err.Error(), "absent") {
			t.Fatalf("report %v: want a fetch failure naming the topic, UNKNOWN_TOPIC_OR_PARTITION", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a missing topic was not reported")
	}
}

// TestGroupLostReportNamesGroup: when the cluster goes away under a member,
// the poll's client-level error (rejoining the group fails) names the
// group, not an empty topic and partition.
func TestGroupLostReportNamesGroup(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	onError, reports := reportedErrors(1024)
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "gone", Format: feed.FormatCSV, CommitInterval: 20 * time.Millisecond}
	src := newSource(t, cfg, newSinkSet(), passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16), OnError: onError})
	src.extra = []kgo.Opt{kgo.HeartbeatInterval(50 * time.Millisecond)}
	runUntilEnd(t, src)
	waitFor(t, "the member to join", src.InGroup)
	c.Close()
	for deadline := time.After(20 * time.Second); ; {
		select {
		case err := <-reports:
			var se *feed.SourceError
			if !errors.As(err, &se) || se.Op != feed.SourceFetch {
				continue
			}
			if strings.Contains(err.Error(), "fetch /") || !strings.Contains(err.Error(), "kafka: group gone: ") {
				t.Fatalf("fetch report %q does not name the group", err)
			}
			return
		case <-deadline:
			t.Fatal("no fetch report after the cluster went away")
		}
	}
}

// TestFramingLostSkipsOnlyTheRecord: a record whose native framing is lost
// (CSV sent to a native topic) loses only its own rest, and its report
// says so (feed.ErrRestOfMessageSkipped), so that it is not taken for the
// end of the source; the next record is decoded.
func TestFramingLostSkipsOnlyTheRecord(t *testing.T) {
	c, prod := newCluster(t)
	good := feed.AppendHello(nil, 1)
	good = feed.AppendSymbol(good, 2, 0, "AAA")
	good = feed.AppendTrade(good, 3, 0, 1, tick.Price(1000000), 7, tick.SideBuy)
	produce(t, prod, 0, "ts,symbol,price,size\n1700000000000000001,AAA,100,1\n", string(good))
	onError, reports := reportedErrors(4)
	sinks := newSinkSet()
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "framing", Format: feed.FormatNative}
	src := newSource(t, cfg, sinks, passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16), OnError: onError})
	runUntilEnd(t, src)
	waitFor(t, "both records", func() bool { return src.Records() == 2 })
	if n, _ := sinks.events(); n != 1 {
		t.Errorf("%d events, want the good record's 1", n)
	}
	select {
	case err := <-reports:
		if !errors.Is(err, feed.ReasonFrameTooLarge) || !errors.Is(err, feed.ErrRestOfMessageSkipped) {
			t.Errorf("report %v, want framing lost, the rest of the record skipped", err)
		}
	default:
		t.Error("no report of the record's lost framing")
	}
}

// TestRecordsCountDecodedOnly: Records counts a record once its events are
// committed, not when its decoding starts: a test (or a scrape) that saw
// Records reach n took the events of record n for there when they were
// not yet (TestFramingLostSkipsOnlyTheRecord failed so, 1 run in 10).
func TestRecordsCountDecodedOnly(t *testing.T) {
	c, prod := newCluster(t)
	produce(t, prod, 0, "1700000000000000001,AAA,100,1\n")
	sinks := newSinkSet()
	sinks.held, sinks.claiming = make(chan struct{}), make(chan struct{}, 1)
	cfg := Config{Brokers: c.ListenAddrs(), Topic: testTopic, Group: "count", Format: feed.FormatCSV}
	src := newSource(t, cfg, sinks, passBarrier, feed.Options{Symbols: tick.NewSymbolTable(16)})
	runUntilEnd(t, src)
	release := sync.OnceFunc(func() { close(sinks.held) })
	t.Cleanup(release) // before Run's end (cleanups run last first): a held Claim would hang it
	select {
	case <-sinks.claiming:
	case <-time.After(20 * time.Second):
		t.Fatal("the record was never decoded")
	}
	if n := src.Records(); n != 0 {
		t.Fatalf("Records = %d while the record's events wait for a slot", n)
	}
	release()
	waitFor(t, "the record counted", func() bool { return src.Records() == 1 })
	if n, _ := sinks.events(); n != 1 {
		t.Fatalf("Records = 1 with %d events committed, want 1", n)
	}
}
