package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// startJS starts a JetStream-enabled server storing in dir.
func startJS(tb testing.TB, port int, dir string) *Server {
	tb.Helper()
	s, err := StartServer(ServerOptions{Port: port, JetStream: true, StoreDir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Shutdown)
	return s
}

// StoredIDs reads stream through Replay once it holds want messages and
// returns how often each Nats-Msg-Id is stored, and the stream's count.
func storedIDs(t *testing.T, nc *nats.Conn, stream string, want uint64) (map[string]int, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for ctx.Err() == nil {
		info, err := st.Info(ctx)
		if err == nil {
			if n = info.State.Msgs; n >= want {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var (
		mu   sync.Mutex
		ids  = map[string]int{}
		seen uint64
		all  = make(chan struct{})
	)
	cc, err := Replay(ctx, nc, ReplayOptions{Stream: stream}, func(m jetstream.Msg) {
		mu.Lock()
		defer mu.Unlock()
		ids[m.Headers().Get(jetstream.MsgIDHeader)]++
		if seen++; seen == n {
			close(all)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("replayed %d of %d stored messages", seen, n)
	}
	mu.Lock()
	defer mu.Unlock()
	return ids, n
}

// checkExactlyOnce checks that the stream holds the signals and bars of
// recs once each (by their MsgID), and nothing else.
func (f *fixture) checkExactlyOnce(t *testing.T, ids map[string]int, stored uint64, recs []tick.Out) {
	t.Helper()
	want := 0
	for i, o := range recs {
		if o.Kind != tick.OutSignal && o.Kind != tick.OutBar {
			continue
		}
		want++
		subj := Subjects{}.Bar(time.Duration(o.Bar.Interval), f.syms.Name(o.Bar.Symbol))
		if o.Kind == tick.OutSignal {
			subj = Subjects{}.Signal(f.syms.Name(o.Signal.Symbol), f.rules[o.Signal.Rule].ID)
		}
		if id := MsgID(subj, &recs[i]); ids[id] != 1 {
			t.Errorf("%s stored %d times", id, ids[id])
		}
	}
	if stored != uint64(want) || len(ids) != want {
		t.Errorf("stream holds %d messages, %d ids; want %d", stored, len(ids), want)
	}
}

func newRing(t *testing.T, p *Publisher) *ringbuf.Ring[tick.Out] {
	t.Helper()
	r, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 1024, Bell: p.Bell()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// write commits recs to ring, a few slots at a time, without closing it.
func write(ring *ringbuf.Ring[tick.Out], recs []tick.Out) {
	for len(recs) > 0 {
		slots := ring.Reserve(7)
		k := copy(slots, recs)
		ring.Commit(k)
		recs = recs[k:]
	}
}

// storingPublisher is a Publisher with ID "js" storing signals and bars in
// JetStream with o.
func storingPublisher(t *testing.T, nc *nats.Conn, f *fixture, o JetStreamOptions) *Publisher {
	t.Helper()
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "js", JetStream: &o})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runRecords runs p over one ring that recs are written to, then closed,
// and returns Run's error.
func runRecords(t *testing.T, p *Publisher, recs []tick.Out) error {
	t.Helper()
	ring := newRing(t, p)
	go produce(ring, recs)
	return p.Run([]*ringbuf.Ring[tick.Out]{ring})
}

// connectNoSignals starts a JetStream server whose one user may publish
// everything but signals, connects as that user with opts, and binds the
// stream.
func connectNoSignals(t *testing.T, opts ...nats.Option) *nats.Conn {
	t.Helper()
	noSignals := Permissions{Publish: []string{"tickd.bar.>", "tickd.stats.>", "tickd.bbo.>", "_INBOX.>", "$JS.API.>"},
		Subscribe: []string{"_INBOX.>"}}
	s, err := StartServer(ServerOptions{Port: RandomPort, JetStream: true, StoreDir: t.TempDir(),
		Users: []User{{Name: "tickd", Password: "tp", Permissions: noSignals}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := nats.Connect(s.ClientURL(), append([]nats.Option{nats.UserInfo("tickd", "tp")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := EnsureStream(ctx, nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestJetStreamPublisher(t *testing.T) {
	f := newFixture(t)
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	ctx := context.Background()
	if _, err := EnsureStream(ctx, nc, "tickd", JetStreamOptions{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// Binding to the stream it made works; one that misses our subjects is refused.
	if _, err := EnsureStream(ctx, nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureStream(ctx, nc, "other", JetStreamOptions{}); err == nil || !strings.Contains(err.Error(), "not capturing other.signal.>") {
		t.Fatalf("binding a stream of other subjects: %v", err)
	}
	c := collect(t, nc)
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "js", JetStream: &JetStreamOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	recs := f.records(0, 400)
	ring := newRing(t, p)
	go produce(ring, recs)
	if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
		t.Fatal(err)
	}
	pc := p.Counters()
	if pc.Signals != 100 || pc.Bars != 100 || pc.Stats != 100 || pc.BBOs != 100 || pc.Dropped != 0 || pc.Errors != 0 {
		t.Errorf("counters %+v", pc)
	}
	if js := pc.JetStream; js.Stored != 200 || js.Lost != 0 || js.Pending != 0 {
		t.Errorf("JetStream counters %+v", js)
	}
	ids, n := storedIDs(t, nc, DefaultStream, 200)
	f.checkExactlyOnce(t, ids, n, recs)
	if err := p.Run([]*ringbuf.Ring[tick.Out]{newRing(t, p)}); err == nil {
		t.Error("a second Run with JetStream accepted")
	}
	// Subscribers of core NATS still see every message, stored or not.
	c.wait(t, 400)
}

// TestJetStreamServerRestart stops the server while the publisher sends and
// starts it again on the same port and store: every message sent during
// the outage is re-sent until stored, and stored once.
func TestJetStreamServerRestart(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	s := startJS(t, RandomPort, dir)
	port := s.Addr().(*net.TCPAddr).Port
	nc, err := nats.Connect(s.ClientURL(), append(ReconnectOptions(0), nats.ReconnectWait(25*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := EnsureStream(context.Background(), nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "js",
		JetStream: &JetStreamOptions{AckTimeout: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ring := newRing(t, p)
	done := make(chan error, 1)
	go func() { done <- p.Run([]*ringbuf.Ring[tick.Out]{ring}) }()
	recs := f.records(0, 800)
	write(ring, recs[:400])
	waitFor(t, "the first half stored", func() bool { return p.Counters().JetStream.Stored == 200 })
	s.Shutdown()
	write(ring, recs[400:])
	waitFor(t, "the second half handed to NATS", func() bool {
		c := p.Counters()
		return c.Signals+c.Bars+c.Stats+c.BBOs+c.Dropped+c.Errors == 800
	})
	startJS(t, port, dir)
	ring.Close()
	runErr := <-done
	pc := p.Counters()
	// Stats and BBOs stay on core NATS: one written as the socket breaks
	// fails (counted in Errors, reported by Run) instead of being buffered.
	// Signals and bars must all be stored.
	if runErr != nil && pc.Errors == 0 {
		t.Fatal(runErr)
	}
	if pc.Dropped != 0 || pc.JetStream.Stored != 400 || pc.JetStream.Lost != 0 || pc.Errors > 400 {
		t.Errorf("counters %+v", pc)
	}
	t.Logf("JetStream counters after the restart: %+v", pc.JetStream)
	ids, n := storedIDs(t, nc, DefaultStream, 400)
	f.checkExactlyOnce(t, ids, n, recs)
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (a hang guard, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestJetStreamBound: with no stream to store them, nothing is acknowledged;
// MaxPending messages wait and are retried until the drain gives up, and
// every message beyond the bound is dropped and counted at once.
func TestJetStreamBound(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort, JetStream: true, StoreDir: t.TempDir()})
	nc := connect(t, s)
	var lossReported bool
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "js",
		OnLoss:    func(PublisherCounters, error) { lossReported = true },
		JetStream: &JetStreamOptions{MaxPending: 8, AckTimeout: 100 * time.Millisecond, DrainTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ring := newRing(t, p)
	go produce(ring, f.records(0, 400))
	err = p.Run([]*ringbuf.Ring[tick.Out]{ring})
	if err == nil || !strings.Contains(err.Error(), "8 JetStream publishes not stored within 1s") || !errors.Is(err, ErrJetStreamFull) {
		t.Errorf("Run: %v", err)
	}
	pc := p.Counters()
	if pc.Dropped != 192 || pc.JetStream.Lost != 8 || pc.JetStream.Stored != 0 || pc.JetStream.Retries == 0 || pc.Stats != 100 {
		t.Errorf("counters %+v", pc)
	}
	if !lossReported {
		t.Error("OnLoss not called")
	}
}

// TestJetStreamBlockWaitsForRoom: with Block, a publisher far ahead of the
// acknowledgements waits for room instead of dropping: every signal and
// bar is stored, once.
func TestJetStreamBlockWaitsForRoom(t *testing.T) {
	f := newFixture(t)
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	if _, err := EnsureStream(context.Background(), nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p := storingPublisher(t, nc, f, JetStreamOptions{MaxPending: 2, Block: true})
	recs := f.records(0, 800)
	if err := runRecords(t, p, recs); err != nil {
		t.Fatal(err)
	}
	if pc := p.Counters(); pc.Dropped != 0 || pc.JetStream.Stored != 400 || pc.JetStream.Lost != 0 {
		t.Errorf("counters %+v", pc)
	}
	ids, n := storedIDs(t, nc, DefaultStream, 400)
	f.checkExactlyOnce(t, ids, n, recs)
}

// TestJetStreamBlockGivesUp: with Block and a JetStream that stores
// nothing, the publisher waits DrainTimeout once, then drops what finds no
// room, as without Block, and Run ends.
func TestJetStreamBlockGivesUp(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort, JetStream: true, StoreDir: t.TempDir()})
	nc := connect(t, s)
	p := storingPublisher(t, nc, f, JetStreamOptions{MaxPending: 8, Block: true, AckTimeout: 100 * time.Millisecond, DrainTimeout: 300 * time.Millisecond})
	start := time.Now()
	err := runRecords(t, p, f.records(0, 400))
	if err == nil || !errors.Is(err, ErrJetStreamFull) {
		t.Errorf("Run: %v", err)
	}
	if pc := p.Counters(); pc.Dropped != 192 || pc.JetStream.Lost != 8 {
		t.Errorf("counters %+v", pc)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %s: the wait for room was not given up once", d)
	}
}

func TestJetStreamOptionsValidate(t *testing.T) {
	for _, o := range []JetStreamOptions{{Replicas: 6}, {MaxPending: -1}, {MaxAge: -1}, {AckTimeout: -1}} {
		if _, err := newJSPublisher(nil, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := StartServer(ServerOptions{Port: RandomPort, JetStream: true}); err == nil {
		t.Error("JetStream without a store directory accepted")
	}
}

// BenchmarkJetStreamSignals publishes signals through the real Publisher
// (a producer goroutine fills its ring, Run drains it) to an in-process
// server, on core NATS and with JetStream (file storage, one replica), and
// reports signals/s. With JetStream the time includes every acknowledgement:
// Run returns once the stream has stored the last signal.
func BenchmarkJetStreamSignals(b *testing.B) {
	f := newFixture(b)
	sig := tick.Out{Kind: tick.OutSignal, Signal: f.signal()}
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "core", true: "jetstream"}[on], func(b *testing.B) {
			s := startJS(b, RandomPort, b.TempDir())
			nc := connect(b, s)
			opts := PublisherOptions{ID: "bench"}
			if on {
				if _, err := EnsureStream(context.Background(), nc, "tickd", JetStreamOptions{}); err != nil {
					b.Fatal(err)
				}
				opts.JetStream = &JetStreamOptions{}
			}
			p, err := NewPublisher(nc, f.syms, f.rules, opts)
			if err != nil {
				b.Fatal(err)
			}
			ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 4096, Bell: p.Bell()})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for sent := 0; sent < b.N; {
					// Keep within the in-flight bound, as a feed slower than
					// the stream would: the rate measured is what is stored.
					for on && uint64(sent)-p.Counters().JetStream.Stored > DefaultJSMaxPending/2 {
						time.Sleep(50 * time.Microsecond)
					}
					slots := ring.Reserve(min(64, b.N-sent))
					for i := range slots {
						slots[i] = sig
					}
					ring.Commit(len(slots))
					sent += len(slots)
				}
				ring.Close()
			}()
			if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signals/s")
			if c := p.Counters(); c.Signals != uint64(b.N) || c.Dropped != 0 {
				b.Fatalf("counters %+v", c)
			}
		})
	}
}

// TestJetStreamRoles: on a server with users, the tickd role creates the
// stream and stores signals; the subscriber role replays them, but may
// neither delete the stream nor store anything in it.
func TestJetStreamRoles(t *testing.T) {
	f := newFixture(t)
	perm := func(r Role) Permissions {
		p, err := DefaultPermissions(r, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := StartServer(ServerOptions{Port: RandomPort, JetStream: true, StoreDir: t.TempDir(), Users: []User{
		{Name: "tickd", Password: "tp", Permissions: perm(RoleTickd)},
		{Name: "alice", Password: "ap", Permissions: perm(RoleSubscriber)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	conn := func(user, pw string) *nats.Conn {
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(user, pw),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // refusals are expected here
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	tnc, anc := conn("tickd", "tp"), conn("alice", "ap")
	// A refused request gets no reply: it fails by its timeout.
	refused := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		t.Cleanup(cancel)
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := EnsureStream(refused(), anc, "tickd", JetStreamOptions{}); err == nil {
		t.Fatal("a subscriber created the stream")
	}
	if _, err := EnsureStream(ctx, tnc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatalf("tickd could not create its stream: %v", err)
	}
	p, err := NewPublisher(tnc, f.syms, f.rules, PublisherOptions{ID: "js", JetStream: &JetStreamOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	ring := newRing(t, p)
	recs := f.records(0, 40)
	go produce(ring, recs)
	if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
		t.Fatal(err)
	}
	ids, n := storedIDs(t, anc, DefaultStream, 20) // read back as the subscriber
	f.checkExactlyOnce(t, ids, n, recs)

	js, err := jetstream.New(anc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(refused(), DefaultStream); err == nil {
		t.Error("a subscriber deleted the stream")
	}
	if _, err := js.Publish(refused(), "tickd.signal.AAPL.x", []byte(`{}`)); err == nil {
		t.Error("a subscriber stored a message")
	}
	if st, err := js.Stream(ctx, DefaultStream); err != nil || st.CachedInfo().State.Msgs != 20 {
		t.Errorf("stream after the subscriber's attempts: %v, err %v", st, err)
	}
}

// TestReplayRefusesUncapturedSubject: a replay of a subject the stream does
// not store (stats stay on core NATS) is refused, not left waiting for
// messages that never come; one the stream stores part of is not.
func TestReplayRefusesUncapturedSubject(t *testing.T) {
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	ctx := context.Background()
	if _, err := EnsureStream(ctx, nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	nop := func(jetstream.Msg) {}
	for _, subj := range []string{"tickd.stats.>", "other.signal.>", "tickd.status"} {
		if cc, err := Replay(ctx, nc, ReplayOptions{Subject: subj, Seq: 1}, nop); err == nil || !strings.Contains(err.Error(), "captures") {
			if cc != nil {
				cc.Stop()
			}
			t.Errorf("replay of %s: %v, want refused", subj, err)
		}
	}
	for _, subj := range []string{"tickd.signal.AAPL.>", "tickd.>", ">", "*.bar.1s.*"} {
		cc, err := Replay(ctx, nc, ReplayOptions{Subject: subj}, nop)
		if err != nil {
			t.Errorf("replay of %s: %v", subj, err)
			continue
		}
		cc.Stop()
	}
}

// TestJetStreamRefusedCountedOnce: a signal the server refuses (no publish
// permission on its subject) is sent again by JetStream's retries and
// refused each time; it is lost once, counted once (JetStream's Lost), not
// once more in Errors per refused retry, and Run's error names the refusal.
func TestJetStreamRefusedCountedOnce(t *testing.T) {
	f := newFixture(t)
	nc := connectNoSignals(t)
	p := storingPublisher(t, nc, f, JetStreamOptions{AckTimeout: 50 * time.Millisecond, DrainTimeout: time.Second})
	var refusals atomic.Int64
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if IsPublishRefused(err) {
			refusals.Add(1)
			p.Refused(err)
		}
	})
	err := runRecords(t, p, f.records(0, 40)) // 10 signals, refused; 10 bars, stored
	if err == nil || !strings.Contains(err.Error(), "Permissions Violation") {
		t.Errorf("Run: %v, want the refusal named", err)
	}
	if refusals.Load() <= 10 {
		t.Fatalf("%d refusals: the retries were not refused again", refusals.Load())
	}
	if pc := p.Counters(); pc.Errors != 0 || pc.JetStream.Lost != 10 {
		t.Errorf("counters %+v: want the 10 refused signals lost once each (JetStream.Lost), none in Errors", pc)
	}
}

// TestJetStreamDrainCountsAcknowledged: at the end of the drain, messages
// queued behind one that held it up (a signal refused by the server) whose
// acknowledgement had arrived are counted stored, not lost.
func TestJetStreamDrainCountsAcknowledged(t *testing.T) {
	f := newFixture(t)
	nc := connectNoSignals(t, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	p := storingPublisher(t, nc, f, JetStreamOptions{AckTimeout: 50 * time.Millisecond, DrainTimeout: 300 * time.Millisecond})
	_ = runRecords(t, p, f.records(0, 40)) // 10 signals, refused; 10 bars behind them
	if pc := p.Counters().JetStream; pc.Stored != 10 || pc.Lost != 10 {
		t.Errorf("JetStream counters %+v: want the 10 bars stored, the 10 signals lost", pc)
	}
}

// TestEnsureStreamEmptyPrefix: an empty prefix means DefaultPrefix, as for
// PublisherOptions.Prefix and StreamSubjects, so a zero-configured publisher
// and its stream agree.
func TestEnsureStreamEmptyPrefix(t *testing.T) {
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	st, err := EnsureStream(context.Background(), nc, "", JetStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.CachedInfo().Config.Subjects, StreamSubjects(DefaultPrefix); !slices.Equal(got, want) {
		t.Fatalf("stream captures %v, want %v", got, want)
	}
}

// TestJetStreamEmitAfterFinishPanics: a signal or bar emitted after Finish
// panics naming the misuse, not with a send on a closed channel.
func TestJetStreamEmitAfterFinishPanics(t *testing.T) {
	f := newFixture(t)
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	if _, err := EnsureStream(context.Background(), nc, "tickd", JetStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "js", JetStream: &JetStreamOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	bar := &tick.Out{Kind: tick.OutBar, Bar: tick.Bar{Symbol: f.aapl, Interval: int64(time.Second), Start: int64(time.Second), Count: 1, Volume: 1}}
	p.Emit(bar)
	p.EndBatch()
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "Emit after Finish") {
			t.Fatalf("Emit after Finish: panic %q, want one naming the misuse", msg)
		}
	}()
	p.Emit(bar)
}

// TestReplayStopDeletesConsumer: subscribers replaying the stream and then
// leaving (tickd sub -js-seq run again and again) leave no consumer behind:
// the server kept each one, and three goroutines of it, for five minutes.
func TestReplayStopDeletesConsumer(t *testing.T) {
	s := startJS(t, RandomPort, t.TempDir())
	nc := connect(t, s)
	ctx := context.Background()
	st, err := EnsureStream(ctx, nc, "tickd", JetStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		cc, err := Replay(ctx, nc, ReplayOptions{Seq: 1}, func(jetstream.Msg) {})
		if err != nil {
			t.Fatal(err)
		}
		cc.Stop()
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Consumers; n != 0 {
		t.Fatalf("%d consumers left after every replay stopped", n)
	}
}

// TestJetStreamStoreOneServer: a second server on a JetStream store in use
// is refused, naming the holder, instead of writing the same stream files
// as the first (two tickd serve -jetstream on the default store did); once
// the first has shut down, the store is free.
func TestJetStreamStoreOneServer(t *testing.T) {
	dir := t.TempDir()
	first, err := StartServer(ServerOptions{Port: RandomPort, JetStream: true, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := StartServer(ServerOptions{Port: RandomPort, JetStream: true, StoreDir: dir})
	if err == nil {
		second.Shutdown()
		first.Shutdown()
		t.Fatal("a second server started on a JetStream store in use")
	}
	want := fmt.Sprintf("JetStream store %s is in use by another server (pid %d)", dir, os.Getpid())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	first.Shutdown()
	again := startJS(t, RandomPort, dir)
	if again.ClientURL() == "" {
		t.Error("no listener after the store was freed")
	}
}
