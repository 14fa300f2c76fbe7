package bus

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

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// TestPublisherReconnectBuffer stops the server under a publisher whose
// reconnect buffer is small: what fits is sent after the reconnect, in
// order; the rest is counted as Dropped (not Errors), reported through
// OnLoss at a bounded rate, and shows as a seq gap to subscribers.
func TestPublisherReconnectBuffer(t *testing.T) {
	const bufSize = 16 << 10
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	url := s.ClientURL()
	port := s.Addr().(*net.TCPAddr).Port
	// The publisher's reconnect waits on gate, so the test decides that the
	// subscriber is back first (core NATS delivers only to present interest).
	gate := make(chan struct{})
	var gateOnce sync.Once
	openGate := func() { gateOnce.Do(func() { close(gate) }) }
	defer openGate()
	pnc, err := nats.Connect(url, append(ReconnectOptions(bufSize),
		nats.CustomReconnectDelay(func(int) time.Duration { <-gate; return 5 * time.Millisecond }))...)
	if err != nil {
		t.Fatal(err)
	}
	defer pnc.Close()
	snc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(5*time.Millisecond), nats.ReconnectJitter(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer snc.Close()
	col := collect(t, snc)

	var losses atomic.Int64
	var lastLoss atomic.Pointer[PublisherCounters]
	p, err := NewPublisher(pnc, f.syms, f.rules, PublisherOptions{ID: "test-pub", Wait: ringbuf.SpinYield,
		LossReportInterval: time.Hour, OnLoss: func(c PublisherCounters, last error) {
			if !errors.Is(last, nats.ErrReconnectBufExceeded) {
				t.Errorf("OnLoss: last error %v", last)
			}
			losses.Add(1)
			lastLoss.Store(&c)
		}})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- p.Run([]*ringbuf.Ring[tick.Out]{ring}) }()
	put := func(recs []tick.Out) {
		for len(recs) > 0 {
			k := copy(ring.Reserve(len(recs)), recs)
			ring.Commit(k)
			recs = recs[k:]
		}
	}
	handled := func() uint64 {
		c := p.Counters()
		return c.Signals + c.Bars + c.Stats + c.BBOs + c.Dropped + c.Errors
	}
	waitCond := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	const before, during, after = 100, 2000, 100
	recs := f.records(0, before+during+after)
	put(recs[:before])
	col.wait(t, before)

	s.Shutdown()
	waitCond("the publisher to notice", func() bool { return pnc.Status() == nats.RECONNECTING })
	put(recs[before : before+during])
	waitCond("the outage's records", func() bool { return handled() == before+during })
	c := p.Counters()
	if c.Dropped == 0 || c.Dropped >= during || c.Errors != 0 {
		t.Fatalf("during the outage: %+v", c)
	}
	buffered := during - int(c.Dropped)

	startServer(t, ServerOptions{Port: port})
	waitCond("the subscriber to reconnect", func() bool { return snc.Status() == nats.CONNECTED })
	snc.Flush() // its subscription is back on the server
	openGate()
	waitCond("the publisher to reconnect", func() bool { return pnc.Status() == nats.CONNECTED })
	put(recs[before+during:])
	ring.Close()
	runErr := <-ran
	if !errors.Is(runErr, nats.ErrReconnectBufExceeded) {
		t.Errorf("Run: %v", runErr)
	}
	col.wait(t, before+buffered+after)
	time.Sleep(20 * time.Millisecond) // a duplicate or extra message would arrive now
	got := col.wait(t, 0)
	c = p.Counters()
	t.Logf("reconnect buffer %d B: %d records during the outage, %d buffered and delivered, %d dropped; OnLoss calls %d",
		bufSize, during, buffered, c.Dropped, losses.Load())
	if len(got) != before+buffered+after {
		t.Fatalf("received %d, want %d", len(got), before+buffered+after)
	}
	// The buffer keeps a prefix of the outage's records; the rest is a seq gap.
	for i, m := range got {
		_, seq := m.Origin()
		want := uint64(i + 1)
		if i >= before+buffered {
			want += c.Dropped
		}
		if seq != want {
			t.Fatalf("message %d: seq %d, want %d", i, seq, want)
		}
	}
	if n := losses.Load(); n != 2 { // the first loss, then the final report at the end of Run
		t.Errorf("OnLoss called %d times, want 2 (interval 1h)", n)
	}
	if l := lastLoss.Load(); l == nil || l.Dropped != c.Dropped {
		t.Errorf("last OnLoss saw %+v, want Dropped %d", l, c.Dropped)
	}
}

// rawSubscriber subscribes to subject over a plain TCP connection and then
// reads nothing unless told: the server sees a client that does not keep up.
func rawSubscriber(t *testing.T, addr, subject string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB " + subject + " 1\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	// INFO, then PONG: the subscription is registered.
	buf := make([]byte, 0, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !strings.Contains(string(buf), "PONG\r\n") {
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatalf("raw subscriber: %v (read %q)", err, buf)
		}
		buf = buf[:len(buf)+n]
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// TestWatchSlowConsumers makes the server cut off a subscriber that reads
// nothing (its pending data passes nats-server's 64 MiB limit) and checks
// WatchSlowConsumers reports it once, with the right total.
func TestWatchSlowConsumers(t *testing.T) {
	s := startServer(t, ServerOptions{Port: RandomPort})
	rawSubscriber(t, s.Addr().String(), "big")
	ctx, cancel := context.WithCancel(context.Background())
	type rep struct{ total, added int64 }
	reps := make(chan rep, 16)
	watched := make(chan error, 1)
	go func() {
		watched <- s.WatchSlowConsumers(ctx, 10*time.Millisecond, func(total, added int64) { reps <- rep{total, added} })
	}()
	nc := connect(t, s)
	payload := make([]byte, 512<<10)
	for range 200 { // 100 MiB: past the 64 MiB pending limit
		if err := nc.Publish("big", payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reps:
		if r.total != 1 || r.added != 1 || s.SlowConsumers() != 1 {
			t.Errorf("reported %+v, server counts %d", r, s.SlowConsumers())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no slow consumer reported; server counts %d", s.SlowConsumers())
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-reps:
		t.Errorf("reported again: %+v", r)
	default:
	}
	cancel()
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	if err := s.WatchSlowConsumers(ctx, 0, nil); err == nil {
		t.Error("nil report accepted")
	}
}

// TestWatchBacklogs: a subscriber that reads nothing is reported once its
// backlog passes three quarters of max_pending (where the server starts
// dropping its messages), by address since it gave no name, and only once;
// a subscriber that keeps up is never reported. The write deadline is
// long: with the usual 2 s, a publisher slowed by a loaded machine got the
// laggard cut off as a slow consumer before its backlog reached the mark.
func TestWatchBacklogs(t *testing.T) {
	s := startServer(t, ServerOptions{Port: RandomPort, writeDeadline: time.Minute})
	laggard := rawSubscriber(t, s.Addr().String(), "lag")
	keeper := connect(t, s)
	var kept atomic.Int64
	if _, err := keeper.Subscribe("lag", func(*nats.Msg) { kept.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := keeper.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reps := make(chan Backlog, 16)
	watched := make(chan error, 1)
	go func() { watched <- s.WatchBacklogs(ctx, 5*time.Millisecond, func(b Backlog) { reps <- b }) }()
	nc := connect(t, s)
	payload := make([]byte, 256<<10)
	for range 320 { // 80 MiB: past 48 MiB, three quarters of the 64 MiB limit
		if err := nc.Publish("lag", payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-reps:
		if b.Client != laggard.LocalAddr().String() || b.Limit != 64<<20 || b.Pending <= b.Limit/4*3 || b.Pending > b.Limit {
			t.Errorf("reported %+v; the laggard is %s", b, laggard.LocalAddr())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no backlog reported")
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case b := <-reps:
		t.Errorf("reported again: %+v", b)
	default:
	}
	cancel()
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	if err := s.WatchBacklogs(ctx, 0, nil); err == nil {
		t.Error("nil report accepted")
	}
	if err := s.WatchBacklogs(ctx, -1, func(Backlog) {}); err == nil {
		t.Error("negative interval accepted")
	}
}
