package natsfeed

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sliceSink keeps what is committed. A non-nil gate holds every Claim
// until it is closed: an engine that has fallen behind.
type sliceSink struct {
	mu     sync.Mutex
	slots  []tick.Event
	events []tick.Event
	closed bool
	gate   chan struct{}
	// claiming, if not nil, hears of each Claim before it waits at gate.
	claiming chan struct{}
	// shutDown: Claim returns nil, as an engine shutting down does.
	shutDown bool
}

func (s *sliceSink) Claim(n int) []tick.Event {
	if s.shutDown {
		return nil
	}
	if s.gate != nil {
		select {
		case s.claiming <- struct{}{}:
		default:
		}
		<-s.gate
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

func (s *sliceSink) count() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events), s.closed
}

// reports collects OnError's reports.
type reports struct {
	mu   sync.Mutex
	list []report
}

type report struct {
	source string
	err    error
}

func (r *reports) onError(source string, _ int64, _ uint64, err error) {
	r.mu.Lock()
	r.list = append(r.list, report{source, err})
	r.mu.Unlock()
}

func (r *reports) all() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.list...)
}

// newServer starts an embedded NATS server and returns a connection to it.
func newServer(t *testing.T) (*bus.Server, *nats.Conn) {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv, connect(t, srv)
}

func connect(t *testing.T, srv *bus.Server) *nats.Conn {
	t.Helper()
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// running is a Source running in the background.
type running struct {
	src    *Source
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config, nc *nats.Conn, sink *sliceSink, opts feed.Options) *running {
	t.Helper()
	if opts.Symbols == nil {
		opts.Symbols = tick.NewSymbolTable(16)
	}
	src, err := New(cfg, nc, func(string) (feed.Sink, error) { return sink, nil }, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{src, cancel, make(chan error, 1)}
	go func() { r.done <- src.Run(ctx) }()
	waitFor(t, "subscribed", src.Subscribed)
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func publish(t *testing.T, nc *nats.Conn, subject string, data ...string) {
	t.Helper()
	for _, d := range data {
		if err := nc.Publish(subject, []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputCountedAndSkipped(t *testing.T) {
	_, nc := newServer(t)
	var rep reports
	stats := new(feed.Registry)
	sink := new(sliceSink)
	r := start(t, Config{Subject: "ticks.>", Format: feed.FormatCSV}, nc, sink, feed.Options{OnError: rep.onError, Stats: stats})
	publish(t, nc, "ticks.a",
		"1700000000000000001,AAA,100.5,10\n1700000000000000002,AAA,100.6,5\n", // good, 2 events
		"this is not a trade\n", // bad
	)
	publish(t, nc, "ticks.b",
		"1700000000000000003,BBB,101,1\nbad,line", // good line, then a bad last line
		"1700000000000000004,BBB,102,1",           // good, no trailing newline
	)
	waitFor(t, "4 messages", func() bool { return r.src.Messages() == 4 })
	r.stop(t)
	if n, closed := sink.count(); n != 4 || !closed {
		t.Errorf("sink got %d events (closed %v), want 4 and closed", n, closed)
	}
	if got := r.src.BadMessages(); got != 2 {
		t.Errorf("BadMessages = %d, want 2", got)
	}
	if tot := stats.Total(); tot.Errors != 2 || tot.Events != 4 {
		t.Errorf("feed totals: %d errors, %d events; want 2 and 4", tot.Errors, tot.Events)
	}
	got := rep.all()
	if len(got) != 2 || got[0].source != "nats:ticks.>" || got[1].source != "nats:ticks.>" {
		t.Fatalf("reports %v, want two from the subscription, nats:ticks.>", got)
	}
	if !strings.Contains(got[0].err.Error(), "nats:ticks.a byte 0") || !strings.Contains(got[1].err.Error(), "nats:ticks.b byte 30") {
		t.Errorf("reports %q, %q do not name the subjects and bytes 0 and 30", got[0].err, got[1].err)
	}
}

func TestNativeMessagesEachStartWithHello(t *testing.T) {
	_, nc := newServer(t)
	sink := new(sliceSink)
	syms := tick.NewSymbolTable(16)
	var rep reports
	r := start(t, Config{Subject: "native", Format: feed.FormatNative}, nc, sink, feed.Options{Symbols: syms, OnError: rep.onError})
	msg := func(name string, ts int64) string {
		b := feed.AppendHello(nil, 1)
		b = feed.AppendSymbol(b, 2, 0, name)
		return string(feed.AppendTrade(b, 3, 0, ts, tick.Price(1000000), 7, tick.SideBuy))
	}
	publish(t, nc, "native", msg("AAA", 1), msg("BBB", 2)) // each message is a stream of its own: seq from 1
	waitFor(t, "2 messages", func() bool { return r.src.Messages() == 2 })
	r.stop(t)
	if n, _ := sink.count(); n != 2 || len(rep.all()) != 0 {
		t.Fatalf("%d events, reports %v; want 2 events and no report", n, rep.all())
	}
	for i, want := range []string{"AAA", "BBB"} {
		if name := syms.Name(sink.events[i].Symbol); name != want {
			t.Errorf("event %d: symbol %q, want %q", i, name, want)
		}
	}
}

// TestNativeOtherVersionSkipsTheMessage: a message (a stream of its own)
// whose Hello is of another native format version is not read, reported
// with the rest of that message skipped, and the next message is read.
func TestNativeOtherVersionSkipsTheMessage(t *testing.T) {
	_, nc := newServer(t)
	sink := new(sliceSink)
	syms := tick.NewSymbolTable(16)
	var rep reports
	r := start(t, Config{Subject: "native", Format: feed.FormatNative}, nc, sink, feed.Options{Symbols: syms, OnError: rep.onError})
	msg := func(name string, version byte) string {
		b := feed.AppendHello(nil, 1)
		b[15] = version
		b = feed.AppendSymbol(b, 2, 0, name)
		return string(feed.AppendTrade(b, 3, 0, 1, tick.Price(1000000), 7, tick.SideBuy))
	}
	publish(t, nc, "native", msg("AAA", feed.FormatVersion+1), msg("BBB", feed.FormatVersion))
	waitFor(t, "2 messages", func() bool { return r.src.Messages() == 2 })
	r.stop(t)
	got := rep.all()
	var ve *feed.VersionError
	if n, _ := sink.count(); n != 1 || syms.Name(sink.events[0].Symbol) != "BBB" || len(got) != 1 ||
		!errors.As(got[0].err, &ve) || !errors.Is(got[0].err, feed.ErrRestOfMessageSkipped) {
		t.Fatalf("%d events, reports %v; want BBB's trade only, and one *VersionError with the rest of its message skipped", n, got)
	}
}

func TestQueueGroupSplitsMessages(t *testing.T) {
	srv, nc := newServer(t)
	cfg := Config{Subject: "ticks", Queue: "q", Format: feed.FormatCSV}
	a, b := new(sliceSink), new(sliceSink)
	ra := start(t, cfg, connect(t, srv), a, feed.Options{})
	rb := start(t, cfg, connect(t, srv), b, feed.Options{})
	const total = 200
	for range total {
		publish(t, nc, "ticks", "1700000000000000001,AAA,100,1\n")
	}
	waitFor(t, "every message decoded once", func() bool { return ra.src.Messages()+rb.src.Messages() == total })
	ra.stop(t)
	rb.stop(t)
	na, _ := a.count()
	nb, _ := b.count()
	if na+nb != total || na == 0 || nb == 0 {
		t.Errorf("members got %d and %d events, want %d in all, split", na, nb, total)
	}
}

func TestSlowConsumerDropsCounted(t *testing.T) {
	_, nc := newServer(t)
	var rep reports
	sink := &sliceSink{gate: make(chan struct{})}
	cfg := Config{Subject: "ticks", Format: feed.FormatCSV, PendingMsgs: 10, PendingBytes: 1 << 20}
	r := start(t, cfg, nc, sink, feed.Options{OnError: rep.onError})
	const total = 100
	for range total {
		publish(t, nc, "ticks", "1700000000000000001,AAA,100,1\n")
	}
	waitFor(t, "drops seen", func() bool { return r.src.Dropped() > 0 })
	close(sink.gate) // the engine catches up
	waitFor(t, "every message decoded or dropped", func() bool { return r.src.Messages()+r.src.Dropped() == total })
	r.stop(t)
	n, _ := sink.count()
	if uint64(n) != r.src.Messages() || r.src.Dropped() < total-11 {
		t.Errorf("%d events, %d messages, %d dropped; want every message an event, at least %d dropped", n, r.src.Messages(), r.src.Dropped(), total-11)
	}
	var reported bool
	for _, x := range rep.all() {
		var se *feed.SourceError
		reported = reported || errors.As(x.err, &se) && se.Op == feed.SourceDropped && x.source == "nats:ticks" && strings.Contains(x.err.Error(), "slow consumer")
	}
	if !reported {
		t.Errorf("no slow-consumer report from nats:ticks: %v", rep.all())
	}
}

func TestParseSpec(t *testing.T) {
	c, err := ParseSpec("ticks.*.trades?queue=q1&format=json", feed.FormatNative)
	if err != nil || c.Subject != "ticks.*.trades" || c.Queue != "q1" || c.Format != feed.FormatJSON {
		t.Fatalf("got %+v, %v", c, err)
	}
	if c, err := ParseSpec("ticks.>", feed.FormatCSV); err != nil || c.Format != feed.FormatCSV || c.Queue != "" {
		t.Fatalf("default format: got %+v, %v", c, err)
	}
	for _, bad := range []string{"", "a..b", "a.>.b", "a b", "ab*", "a*", "x.*b", "x.b>", "a?group=x", "a?format=xml", "a?queue=", "a?queue=x*",
		"nats://127.0.0.1:4222/ticks.>", "tls://host/ticks?format=csv"} { // URLs: legal subjects no producer publishes on
		if _, err := ParseSpec(bad, feed.FormatCSV); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

// TestStopDecodesWhatWasReceived: messages received while the engine was
// behind are decoded when the source stops, not dropped.
func TestStopDecodesWhatWasReceived(t *testing.T) {
	_, nc := newServer(t)
	sink := &sliceSink{gate: make(chan struct{})}
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, sink, feed.Options{})
	const total = 50
	for range total {
		publish(t, nc, "ticks", "1700000000000000001,AAA,100,1\n")
	}
	waitFor(t, "all received", func() bool { n, _, _ := r.src.sub.Load().Pending(); return n >= total-1 })
	r.cancel()
	close(sink.gate)
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	if n, closed := sink.count(); n != total || !closed || r.src.Dropped() != 0 {
		t.Errorf("%d events (closed %v), %d dropped; want %d, closed, none dropped", n, closed, r.src.Dropped(), total)
	}
}

// TestConnectionClosedEndsRun: a connection closed for good ends Run with
// an error naming the source, so the stage shows as failed.
func TestConnectionClosedEndsRun(t *testing.T) {
	srv, _ := newServer(t)
	nc := connect(t, srv)
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, new(sliceSink), feed.Options{})
	nc.Close()
	select {
	case err := <-r.done:
		if err == nil || !strings.Contains(err.Error(), "nats:ticks: subscription ended") {
			t.Errorf("Run returned %v, want the subscription ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end when the connection closed")
	}
	r.cancel()
}

// TestRefusedSubscriptionFails: a subscription the server refuses (the
// user may not subscribe to the subject) fails Subscribe and Run naming
// the subscription and the violation, rather than looking in place and
// receiving nothing.
func TestRefusedSubscriptionFails(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort, Users: []bus.User{
		{Name: "feed", Password: "secret", Permissions: bus.Permissions{Publish: []string{">"}, Subscribe: []string{"_INBOX.>"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("feed", "secret"), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := Config{Subject: "ticks.>", Queue: "q", Format: feed.FormatCSV}
	open := func(string) (feed.Sink, error) { return new(sliceSink), nil }
	for _, c := range []struct {
		name string
		do   func(*Source) error
	}{
		{"Subscribe", (*Source).Subscribe},
		{"Run", func(s *Source) error {
			// Bounded: a Run that took the refused subscription as in place
			// would wait for messages that never come.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.Run(ctx)
		}},
	} {
		src, err := New(cfg, nc, open, feed.Options{Symbols: tick.NewSymbolTable(16)})
		if err != nil {
			t.Fatal(err)
		}
		err = c.do(src)
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "subscribe ticks.>?") {
			t.Errorf("%s: %v, want a permissions violation naming the subscription", c.name, err)
		}
		if src.Subscribed() {
			t.Errorf("%s: subscribed after the refusal", c.name)
		}
	}
}

// TestSubscribedFollowsTheConnection: while the server is away the source
// is not subscribed (what is published then is never seen); once the
// client reconnects, it is again, and what is published is decoded.
func TestSubscribedFollowsTheConnection(t *testing.T) {
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	port := srv.Addr().(*net.TCPAddr).Port
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sink := new(sliceSink)
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, sink, feed.Options{})
	srv.Shutdown()
	waitFor(t, "not subscribed while the server is away", func() bool { return !r.src.Subscribed() })
	srv, err = bus.StartServer(bus.ServerOptions{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	waitFor(t, "subscribed again", r.src.Subscribed)
	publish(t, nc, "ticks", "1700000000000000001,AAA,100,1\n")
	waitFor(t, "the message after the reconnect", func() bool { return r.src.Messages() == 1 })
	r.stop(t)
}

// TestMessagesCountDecodedOnly: Messages counts a message once its events
// are committed, not when its decoding starts (whoever saw Messages reach n
// took the events of message n for there when they were not yet).
func TestMessagesCountDecodedOnly(t *testing.T) {
	_, nc := newServer(t)
	sink := &sliceSink{gate: make(chan struct{}), claiming: make(chan struct{}, 1)}
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, sink, feed.Options{})
	release := sync.OnceFunc(func() { close(sink.gate) })
	defer release() // a held Claim would hang stop
	publish(t, nc, "ticks", "1700000000000000001,AAA,100.5,10\n")
	select {
	case <-sink.claiming:
	case <-time.After(20 * time.Second):
		t.Fatal("the message was never decoded")
	}
	if n := r.src.Messages(); n != 0 {
		t.Fatalf("Messages = %d while the message's events wait for a slot", n)
	}
	release()
	waitFor(t, "the message counted", func() bool { return r.src.Messages() == 1 })
	if n, _ := sink.count(); n != 1 {
		t.Fatalf("Messages = 1 with %d events committed, want 1", n)
	}
	r.stop(t)
}

// TestMessageCutShortNotCounted: a message whose decoding the Sink's
// shutdown cut short (Claim refused: the engine is stopping) is not a
// message decoded, so Messages does not count it (feed/kafka's Records
// does not count such a record either); Run ends without an error.
func TestMessageCutShortNotCounted(t *testing.T) {
	_, nc := newServer(t)
	sink := &sliceSink{shutDown: true}
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, sink, feed.Options{})
	defer r.cancel()
	publish(t, nc, "ticks", "1700000000000000001,AAA,100.5,10\n")
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run = %v, want nil when the sink shuts down", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run went on after the sink shut down")
	}
	if n, closed := sink.count(); n != 0 || !closed {
		t.Fatalf("sink holds %d events, closed %v; want none, closed", n, closed)
	}
	if n := r.src.Messages(); n != 0 {
		t.Errorf("Messages = %d after the only message was cut short, want 0", n)
	}
}

// TestNotStaleWhileHandingOn: a message whose events wait for a full engine
// ring is not silence, and the source's silence counts from when it was
// handed on, not from its arrival.
func TestNotStaleWhileHandingOn(t *testing.T) {
	_, nc := newServer(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	stats := new(feed.Registry)
	sink := &sliceSink{gate: make(chan struct{}), claiming: make(chan struct{}, 1)}
	r := start(t, Config{Subject: "ticks", Format: feed.FormatCSV}, nc, sink, feed.Options{Stats: stats, Clock: now.Load})
	release := sync.OnceFunc(func() { close(sink.gate) })
	defer release() // a held Claim would hang stop
	publish(t, nc, "ticks", "1700000000000000001,AAA,100.5,10\n")
	select {
	case <-sink.claiming:
	case <-time.After(20 * time.Second):
		t.Fatal("the message was never decoded")
	}
	watch := feed.StaleWatch{Reg: stats, After: time.Minute}
	now.Add(int64(time.Hour))
	if got := watch.Check(now.Load(), nil); len(got) != 0 {
		t.Fatalf("held up by the engine for an hour, reported: %+v", got)
	}
	release()
	waitFor(t, "the message handed on", func() bool {
		live, _ := stats.Sources()
		return r.src.Messages() == 1 && len(live) == 1 && !live[0].Handing
	})
	got := watch.Check(now.Load()+int64(2*time.Minute), nil)
	if len(got) != 1 || !got[0].Stale || got[0].Silent != 2*time.Minute {
		t.Fatalf("2 minutes after the hand-on: %+v, want stale, silent 2m0s", got)
	}
	r.stop(t)
}
