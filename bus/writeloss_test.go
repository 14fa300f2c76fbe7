package bus

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// smallWrites dials with a small socket send buffer, so that a server
// reading nothing blocks the client's writes after a few KB.
type smallWrites struct{}

func (smallWrites) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	return c, err
}

// writeLossRig is a publisher connected through a freezable relay whose
// connection hands its flusher's failed writes to WriteFailed, as serve's
// does, running over one small ring.
type writeLossRig struct {
	p      *Publisher
	nc     *nats.Conn
	relay  *freezableRelay
	ring   *ringbuf.Ring[tick.Out]
	ran    chan error
	lossed atomic.Pointer[error] // the last error OnLoss was called with
}

func newWriteLossRig(t *testing.T, f *fixture, s *Server, js *JetStreamOptions) *writeLossRig {
	t.Helper()
	r := &writeLossRig{relay: startRelay(t, s.Addr().String()), ran: make(chan error, 1)}
	nc, err := nats.Connect(r.relay.url(), append(ReconnectOptions(0), nats.SetCustomDialer(smallWrites{}),
		nats.ReconnectWait(25*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if js != nil {
		if _, err := EnsureStream(context.Background(), nc, "tickd", *js); err != nil {
			t.Fatal(err)
		}
	}
	r.nc = nc
	r.p, err = NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "wl", JetStream: js,
		OnLoss: func(_ PublisherCounters, last error) { r.lossed.Store(&last) }})
	if err != nil {
		t.Fatal(err)
	}
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if IsWriteLoss(err) {
			r.p.WriteFailed(err)
		}
	})
	if r.ring, err = ringbuf.New[tick.Out](ringbuf.Options{Capacity: 64, Bell: r.p.Bell()}); err != nil {
		t.Fatal(err)
	}
	go func() { r.ran <- r.p.Run([]*ringbuf.Ring[tick.Out]{r.ring}) }()
	return r
}

// feedUntilWriteFails freezes the relay and hands recs to the publisher a
// few at a time, paced so that nats.go's flusher goroutine, not Publish,
// meets the full socket, until a write has failed (DefaultWriteTimeout
// after the freeze). It returns the records not handed over.
func (r *writeLossRig) feedUntilWriteFails(t *testing.T, recs []tick.Out) []tick.Out {
	t.Helper()
	return r.feedUntil(t, recs, func() bool { return r.p.Counters().WriteFailures > 0 })
}

// feedUntil is feedUntilWriteFails with its own sign of the failed write.
func (r *writeLossRig) feedUntil(t *testing.T, recs []tick.Out, failed func() bool) []tick.Out {
	t.Helper()
	r.relay.freezeNow()
	giveUp := time.Now().Add(DefaultWriteTimeout + 20*time.Second)
	for !failed() {
		if len(recs) == 0 || time.Now().After(giveUp) {
			t.Fatalf("no failed write with the server reading nothing; counters %+v", r.p.Counters())
		}
		k := copy(r.ring.Reserve(2), recs)
		r.ring.Commit(k)
		recs = recs[k:]
		time.Sleep(200 * time.Microsecond) // pacing, not synchronisation
	}
	return recs
}

// TestFlusherWriteFailureLosesPublishesOnCoreNATS: a server that reads
// nothing makes nats.go's flusher fail a write after DefaultWriteTimeout
// and drop the publishes it held, which had returned without an error;
// then the server is killed. On core NATS those publishes are lost: the
// failed write counts in Errors, OnLoss reports it, Refusal names it (a
// Kafka barrier holds its offsets back) and Run's error says so.
func TestFlusherWriteFailureLosesPublishesOnCoreNATS(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	r := newWriteLossRig(t, f, s, nil)
	rest := r.feedUntilWriteFails(t, f.records(0, 100_000))
	s.Shutdown() // killed mid-stream: the relay's connections end with it
	write(r.ring, rest[:100])
	r.ring.Close()
	runErr := <-r.ran
	c := r.p.Counters()
	t.Logf("Run: %v; counters %+v", runErr, c)
	if c.WriteFailures == 0 || c.Errors < c.WriteFailures {
		t.Errorf("counters %+v: want every failed write counted in Errors", c)
	}
	if err := r.p.Refusal(); !IsWriteLoss(err) {
		t.Errorf("Refusal %v, want the failed write", err)
	}
	if last := r.lossed.Load(); last == nil || *last == nil {
		t.Error("OnLoss never reported the loss")
	}
	if runErr == nil {
		t.Error("Run returned nil after publishes were lost")
	}
}

// TestFlusherWriteFailureUnderJetStreamIsSentAgain: the same failed write
// under JetStream, then the server killed and restarted on its store, is no
// loss: the signals and bars it held get no acknowledgement and are sent
// again. Nothing counts in Errors, nothing is lost, and the stream holds
// every one once.
func TestFlusherWriteFailureUnderJetStreamIsSentAgain(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	s := startJS(t, RandomPort, dir)
	port := s.Addr().(*net.TCPAddr).Port
	r := newWriteLossRig(t, f, s, &JetStreamOptions{AckTimeout: 500 * time.Millisecond, MaxPending: 1 << 16})
	var recs []tick.Out // signals and bars only: stats and BBOs stay on core NATS
	for _, o := range f.records(0, 40_000) {
		if o.Kind == tick.OutSignal || o.Kind == tick.OutBar {
			recs = append(recs, o)
		}
	}
	rest := r.feedUntilWriteFails(t, recs)
	s.Shutdown()
	startJS(t, port, dir)
	r.relay.thawNow()
	n := min(len(rest), 200)
	write(r.ring, rest[:n])
	r.ring.Close()
	if err := <-r.ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	handed := len(recs) - len(rest) + n
	c := r.p.Counters()
	t.Logf("counters %+v", c)
	if c.WriteFailures == 0 || c.Errors != 0 || c.Dropped != 0 || c.JetStream.Lost != 0 || c.JetStream.Stored != uint64(handed) {
		t.Errorf("counters %+v: want a failed write, no error, nothing lost, %d stored", c, handed)
	}
	if err := r.p.Refusal(); err != nil {
		t.Errorf("Refusal %v, want none: nothing was lost", err)
	}
	ids, stored := storedIDs(t, r.nc, DefaultStream, uint64(handed))
	f.checkExactlyOnce(t, ids, stored, recs[:handed])
}

// TestFinishCountsWhatTheServerNeverGot: on core NATS, publishes that went
// into nats.go's reconnect buffer while the server was gone, and were still
// there when the final flush gave up, are lost when the connection closes:
// Finish counts them (once, in Errors) and its error says so, where they
// used to pass for published.
func TestFinishCountsWhatTheServerNeverGot(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	disconnected := make(chan struct{})
	nc, err := nats.Connect(s.ClientURL(), append(ReconnectOptions(1<<20),
		nats.ReconnectWait(time.Hour), nats.DisconnectErrHandler(func(*nats.Conn, error) { close(disconnected) }))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{ID: "test-pub", FlushTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	<-disconnected
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	recs := f.records(0, 10)
	for i := range recs {
		p.Emit(&recs[i])
	}
	p.EndBatch()
	err = p.Finish()
	if err == nil || !strings.Contains(err.Error(), "never reached the server") {
		t.Errorf("Finish: %v, want the unsent publishes named", err)
	}
	// Ten publishes were lost, counted once: the error gives the count as
	// the counter it is, not as "1 publishes failed".
	if err == nil || !strings.HasPrefix(err.Error(), "bus: publishes lost (publish_errors 1, publish_dropped 0 ") {
		t.Errorf("Finish: %v, want the loss given by its counters", err)
	}
	if c := p.Counters(); c.Errors != 1 || c.Dropped != 0 {
		t.Errorf("counters %+v: want the unsent publishes counted once in Errors", c)
	}
}

// TestRefusalSeesWriteLossBeforeItsCallback: a Kafka barrier may ask
// Refusal after its flush round trip but before nats.go's callback
// goroutine has handed the failed write to WriteFailed. Refusal then finds
// it in the connection's last error, on core NATS (the publishes it held
// are lost), and not under JetStream (they are sent again). The handler
// that calls WriteFailed is taken off to stand for the callback not run yet.
func TestRefusalSeesWriteLossBeforeItsCallback(t *testing.T) {
	for _, jetStream := range []bool{false, true} {
		f := newFixture(t)
		var (
			s  *Server
			js *JetStreamOptions
		)
		if jetStream {
			s, js = startJS(t, RandomPort, t.TempDir()), &JetStreamOptions{AckTimeout: 500 * time.Millisecond, MaxPending: 1 << 16}
		} else {
			s = startServer(t, ServerOptions{Port: RandomPort})
		}
		r := newWriteLossRig(t, f, s, js)
		r.nc.SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
		r.feedUntil(t, f.records(0, 100_000), func() bool { return IsWriteLoss(r.nc.LastError()) })
		err := r.p.Refusal()
		switch {
		case !jetStream && !IsWriteLoss(err):
			t.Errorf("core NATS: Refusal %v, want the failed write %v", err, r.nc.LastError())
		case jetStream && err != nil:
			t.Errorf("JetStream: Refusal %v, want none: what the write held is sent again", err)
		}
		r.relay.thawNow()
		r.ring.Close()
		<-r.ran
	}
}
