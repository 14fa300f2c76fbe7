package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// connStream is a native connection: hello, one symbol, n trades with
// qty = 1..n, then End.
func connStream(sym string, n int) []byte {
	var e NativeEncoder
	b := e.Hello(nil)
	for i := 1; i <= n; i++ {
		b = e.Trade(b, sym, int64(i), tick.Price(i)*1e7, int64(i), tick.Side(i%3))
	}
	return e.End(b, int64(n+1))
}

// serveTCP starts a listener on a free port, serving until the test ends,
// when Serve must return nil.
func serveTCP(t *testing.T, open SinkOpener, opts Options) *TCPListener {
	t.Helper()
	l, err := NewTCPListener("127.0.0.1:0", open, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	return l
}

// dialTCP connects to l, closing the connection when the test ends.
func dialTCP(t *testing.T, l *TCPListener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkConnEvents verifies one connection's events arrived whole and in order.
func checkConnEvents(t *testing.T, ev []tick.Event, syms *tick.SymbolTable, sym string, n int) {
	t.Helper()
	if len(ev) != n+1 {
		t.Fatalf("%s: %d events, want %d", sym, len(ev), n+1)
	}
	for i, e := range ev[:n] {
		if e.Qty != int64(i+1) || syms.Name(e.Symbol) != sym || e.Kind != tick.KindTrade || e.TsRecv != 42 {
			t.Fatalf("%s event %d: %+v", sym, i, e)
		}
	}
	if ev[n].Kind != tick.KindEndOfStream {
		t.Fatalf("%s: last event %+v", sym, ev[n])
	}
}

func TestTCPListenerConcurrent(t *testing.T) {
	const conns, perConn = 6, 3000
	var ss sinks
	var rs reports
	reg := new(Registry)
	syms := tick.NewSymbolTable(64)
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{
		Symbols: syms, OnError: rs.onError, Stats: reg, ReadBuffer: 1000, MaxFrame: 256,
		Clock: func() int64 { return 42 },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()

	var wg sync.WaitGroup
	clients := make([]net.Conn, conns)
	for i := range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Odd-sized writes, so frames straddle reads.
			b := connStream(fmt.Sprintf("S%d", i), perConn)
			for len(b) > 0 {
				k := min(len(b), 777+i)
				if _, err := c.Write(b[:k]); err != nil {
					t.Error(err)
					return
				}
				b = b[k:]
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all events", func() bool { return ss.total() == conns*(perConn+1) })
	if n := l.Active(); n != conns {
		t.Errorf("Active() = %d", n)
	}
	tot := reg.Total()
	live, _ := reg.Sources()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.Close()
	}
	ids := map[uint16]bool{}
	for _, s := range ss.list() {
		ev, closed := s.snapshot()
		if !closed {
			t.Errorf("%s: sink not closed", s.name)
		}
		if !strings.HasPrefix(s.name, "tcp 127.0.0.1:") || !strings.Contains(s.name, "<-127.0.0.1:") {
			t.Errorf("source name %q", s.name)
		}
		checkConnEvents(t, ev, syms, syms.Name(ev[0].Symbol), perConn)
		ids[ev[0].Source] = true
	}
	if len(ss.list()) != conns || len(ids) != conns {
		t.Fatalf("%d sinks, %d distinct source ids", len(ss.list()), len(ids))
	}
	if tot.Events != conns*(perConn+1) || tot.Errors != 0 || tot.Bytes != uint64(conns*len(connStream("S0", perConn))) || len(live) != conns {
		t.Fatalf("stats %+v, %d live", tot, len(live))
	}
	if after := reg.Total(); after.Events != tot.Events {
		t.Fatalf("totals after close %+v", after)
	}
	if len(rs.list()) != 0 {
		t.Fatalf("reports %v", rs.list())
	}
}

func TestTCPListenerMaxConns(t *testing.T) {
	var ss sinks
	var rs reports
	l := serveTCP(t, ss.open, Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError, MaxConns: 1})
	dialTCP(t, l)
	waitFor(t, "first connection", func() bool { return l.Active() == 1 })
	second := dialTCP(t, l)
	// The refused connection is closed by the server: the read ends (the
	// deadline only keeps a connection wrongly served from hanging the test).
	second.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection past MaxConns was not closed: read %v", err)
	}
	waitFor(t, "rejection report", func() bool { return len(rs.list()) == 1 })
	if l.Rejected() != 1 || !strings.Contains(rs.list()[0].err.Error(), "MaxConns") {
		t.Fatalf("rejected %d, reports %v", l.Rejected(), rs.list())
	}
}

// TestTCPListenerEvictsSilent: beyond MaxConns, a new connection takes the
// slot of the one silent longest once it has been silent EvictAfter: that
// one is closed and reported as evicted (not as a lost connection), and the
// new one is served.
func TestTCPListenerEvictsSilent(t *testing.T) {
	var ss sinks
	var rs reports
	l := serveTCP(t, ss.open, Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError,
		MaxConns: 2, EvictAfter: time.Nanosecond})
	silent := dialTCP(t, l) // opens and sends nothing
	waitFor(t, "the silent connection", func() bool { return l.Active() == 1 })
	// Only a connection waiting in a read counts as silent: under load its
	// goroutine may not be reading yet, and the talker, reading by then,
	// would be taken instead.
	waitFor(t, "the silent connection to wait for its peer", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for c := range l.conns { // the one connection
			if c.idleSince.Load() != 0 {
				return true
			}
		}
		return false
	})
	talker := dialTCP(t, l)
	if _, err := talker.Write(connStream("B", 5)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the talker's events", func() bool { return ss.total() == 6 })

	late := dialTCP(t, l)
	if _, err := late.Write(connStream("C", 5)); err != nil {
		t.Fatal(err)
	}
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the silent connection was not closed: %v", err)
	}
	waitFor(t, "the late connection's events", func() bool { return ss.total() == 12 })
	if l.Evicted() != 1 || l.Rejected() != 0 {
		t.Errorf("evicted %d, rejected %d; want 1, 0", l.Evicted(), l.Rejected())
	}
	waitFor(t, "the eviction report", func() bool { return len(rs.list()) >= 1 })
	r := rs.list()
	var se *SourceError
	if len(r) != 1 || !errors.As(r[0].err, &se) || se.Op != SourceEvicted || r[0].source != "tcp "+l.Addr().String() ||
		!strings.Contains(r[0].err.Error(), silent.LocalAddr().String()) {
		t.Errorf("reports %v, want one eviction of %s reported as the listener's", r, silent.LocalAddr())
	}
}

// heldSink is a Sink whose Claim waits until open is closed, as an input
// waits while the engine is behind; held is closed at the first Claim.
type heldSink struct {
	testSink
	held, open chan struct{}
	once       sync.Once
}

func (s *heldSink) Claim(n int) []tick.Event {
	s.once.Do(func() { close(s.held) })
	<-s.open
	return s.testSink.Claim(n)
}

// TestTCPListenerKeepsHeldUp: a connection that has not read for long
// because its Sink held it up (the engine behind) is not waiting for its
// peer, so it is not evicted for a new one: that one is refused.
func TestTCPListenerKeepsHeldUp(t *testing.T) {
	var rs reports
	sink := &heldSink{held: make(chan struct{}), open: make(chan struct{})}
	l := serveTCP(t, func(string) (Sink, error) { return sink, nil },
		Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError, MaxConns: 1, EvictAfter: time.Nanosecond})
	t.Cleanup(func() { close(sink.open) }) // before Serve is stopped
	busy := dialTCP(t, l)
	if _, err := busy.Write(connStream("B", 5)); err != nil {
		t.Fatal(err)
	}
	<-sink.held
	dialTCP(t, l)
	waitFor(t, "the late connection's refusal", func() bool { return l.Rejected() == 1 })
	if l.Evicted() != 0 {
		t.Errorf("evicted %d connections held up by their sink", l.Evicted())
	}
}

// closeHeldSink is a testSink whose Close waits until release is closed,
// as an input's close may wait for the engine; closing is closed at the
// first Close.
type closeHeldSink struct {
	testSink
	closing, release chan struct{}
}

func (s *closeHeldSink) Close() {
	close(s.closing)
	<-s.release
	s.testSink.Close()
}

// TestTCPListenerKeepsWaitingConn: a connection admitted in place of an
// evicted one waits, unread, until that one has ended; it is not waiting
// for its peer meanwhile, so a third connection must not evict it (its
// data, sent at once, would be lost unread): the third is refused, and the
// second is served once the first has ended.
func TestTCPListenerKeepsWaitingConn(t *testing.T) {
	var rs reports
	var ss sinks
	first := &closeHeldSink{closing: make(chan struct{}), release: make(chan struct{})}
	var opened atomic.Int32
	open := func(name string) (Sink, error) {
		if opened.Add(1) == 1 {
			return first, nil
		}
		return ss.open(name)
	}
	l := serveTCP(t, open, Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError,
		MaxConns: 1, EvictAfter: time.Nanosecond})
	released := false
	t.Cleanup(func() { // before Serve is stopped
		if !released {
			close(first.release)
		}
	})
	dialTCP(t, l) // silent: evicted for the next
	// Until its goroutine is in its first read, it is not waiting for its
	// peer, and the second would be refused instead.
	waitFor(t, "the first connection in a read", func() bool { return l.longestSilent() > 0 })
	waiting := dialTCP(t, l)
	if _, err := waiting.Write(connStream("W", 5)); err != nil {
		t.Fatal(err)
	}
	select { // evicted; its end is held up
	case <-first.closing:
	case <-time.After(20 * time.Second):
		t.Fatalf("the silent connection was not evicted for the second (evicted %d, rejected %d)", l.Evicted(), l.Rejected())
	}
	dialTCP(t, l)
	waitFor(t, "the third connection's refusal", func() bool { return l.Rejected()+l.Evicted() == 2 })
	if l.Evicted() != 1 {
		t.Fatalf("evicted %d connections, want 1: the one waiting for the evicted one's end was taken for silent", l.Evicted())
	}
	close(first.release)
	released = true
	waitFor(t, "the waiting connection's events", func() bool { return ss.total() == 6 })
}

// serveOneConn starts a listener for the test, whose sinks and reports
// it returns, and one connection to it; the test's cleanup stops both.
func serveOneConn(t *testing.T) (*sinks, *reports, net.Conn) {
	t.Helper()
	ss, rs := new(sinks), new(reports)
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ss, rs, c
}

// closedSinkEvents waits for ss's one sink to close and returns what it took.
func closedSinkEvents(t *testing.T, ss *sinks) []tick.Event {
	t.Helper()
	waitFor(t, "sink closed", func() bool {
		s := ss.list()
		if len(s) != 1 {
			return false
		}
		_, closed := s[0].snapshot()
		return closed
	})
	ev, _ := ss.list()[0].snapshot()
	return ev
}

func TestTCPOversizeEndsConnection(t *testing.T) {
	ss, rs, c := serveOneConn(t)
	b := connStream("A", 3)
	b = b[:len(b)-19]                  // drop End
	b = append(b, 0xf0, 0xff, 1, 2, 3) // length 65520 > MaxFrame
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	// The server ends the connection; the client sees EOF.
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	ev := closedSinkEvents(t, ss)
	var fe *FrameTooLargeError
	r := rs.list()
	if len(ev) != 3 || len(r) != 1 || !errors.As(r[0].err, &fe) || fe.Length != 0xfff0 || r[0].offset != int64(len(b)-5) {
		t.Fatalf("%d events, reports %v", len(ev), r)
	}
}

// TestTCPOtherVersionEndsConnection: a connection whose Hello is of another
// native format version is closed, and none of its frames reaches the sink.
func TestTCPOtherVersionEndsConnection(t *testing.T) {
	ss, rs, c := serveOneConn(t)
	b := connStream("A", 3)
	b[15] = FormatVersion + 1
	if _, err := c.Write(b[:len(b)-19]); err != nil { // all but the End: the server must close
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the server did not end the connection: %v", err)
	}
	ev := closedSinkEvents(t, ss)
	var ve *VersionError
	r := rs.list()
	if len(ev) != 0 || len(r) != 1 || !errors.As(r[0].err, &ve) || ve.Version != FormatVersion+1 {
		t.Fatalf("%d events, reports %v; want none and one *VersionError", len(ev), r)
	}
}

// TestDialTCPBacksOffUnreadablePeer: a peer whose stream the decoder
// cannot read (here another native format version) sends the same after
// every redial, so the dialer backs off from it, doubling, as from a peer
// that sends nothing, instead of redialling (and logging the error) at the
// shortest backoff forever because the connection carried bytes.
func TestDialTCPBacksOffUnreadablePeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b := connStream("A", 3)
	b[15] = FormatVersion + 1
	accepted := make(chan time.Time, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- time.Now()
			c.Write(b)
			io.Copy(io.Discard, c) // until the dialer closes it
			c.Close()
		}
	}()
	var ss sinks
	var rs reports
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan error, 1)
	const min = 20 * time.Millisecond
	go func() {
		dialed <- DialTCP(ctx, ln.Addr().String(), ss.open, Options{
			Symbols: tick.NewSymbolTable(8), OnError: rs.onError, ReconnectMin: min, ReconnectMax: time.Minute,
		})
	}()
	defer func() {
		cancel()
		if err := <-dialed; err != nil {
			t.Error(err)
		}
	}()
	var at []time.Time
	for len(at) < 5 {
		select {
		case a := <-accepted:
			at = append(at, a)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d connections in 30s", len(at))
		}
	}
	// Backoffs min, 2min, 4min, 8min: the fifth connection comes at least
	// 8min after the fourth (at the shortest backoff it came after min).
	if gap := at[4].Sub(at[3]); gap < 8*min {
		t.Fatalf("the fifth connection came %v after the fourth, want at least %v: the dialer did not back off", gap, 8*min)
	}
	for _, r := range rs.list() {
		var ve *VersionError
		if !errors.As(r.err, &ve) {
			t.Fatalf("report %v, want only *VersionError", r)
		}
	}
}

func TestDialTCPReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var ss sinks
	var rs reports
	syms := tick.NewSymbolTable(8)
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan error, 1)
	go func() {
		dialed <- DialTCP(ctx, ln.Addr().String(), ss.open, Options{
			Symbols: syms, OnError: rs.onError, Clock: func() int64 { return 42 },
			ReconnectMin: time.Millisecond, ReconnectMax: 4 * time.Millisecond,
		})
	}()
	// First connection: a whole session, then the server drops it.
	c1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c1.Write(connStream("A", 50))
	c1.Close()
	// The dialer comes back; the new connection starts at sequence 1.
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write(connStream("B", 70))
	waitFor(t, "both sessions", func() bool { return ss.total() == 51+71 })
	cancel()
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
	s := ss.list()
	if len(s) != 2 {
		t.Fatalf("%d sinks", len(s))
	}
	for i, want := range []struct {
		sym string
		n   int
	}{{"A", 50}, {"B", 70}} {
		ev, closed := s[i].snapshot()
		if !closed {
			t.Errorf("sink %d open", i)
		}
		checkConnEvents(t, ev, syms, want.sym, want.n)
	}
	// The server's close of the first connection is reported, as the
	// dialer's source (the feed is gone until the redial); nothing else.
	var se *SourceError
	want := fmt.Sprintf("closed by the peer after %d bytes, reconnecting", len(connStream("A", 50)))
	if r := rs.list(); len(r) != 1 || r[0].source != "tcp "+ln.Addr().String() || !errors.As(r[0].err, &se) ||
		se.Op != SourceDial || !strings.Contains(se.Error(), s[0].name+": "+want) {
		t.Fatalf("reports %v, want one: %s", r, want)
	}
}

func TestDialTCPRetriesUntilCancelled(t *testing.T) {
	// Nothing listens: every dial fails, is reported, and backs off.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var rs reports
	var ended []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- DialTCP(ctx, addr, (&sinks{}).open, Options{Symbols: tick.NewSymbolTable(8), OnError: rs.onError,
			OnEnd:        func(source string) { ended = append(ended, source) },
			ReconnectMin: time.Millisecond, ReconnectMax: 2 * time.Millisecond})
	}()
	waitFor(t, "dial failures", func() bool { return len(rs.list()) >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var se *SourceError
	if r := rs.list()[0]; r.source != "tcp "+addr || !strings.Contains(r.err.Error(), "feed: dial") ||
		!errors.As(r.err, &se) || se.Op != SourceDial {
		t.Fatalf("report %v", r)
	}
	if len(ended) != 1 || ended[0] != "tcp "+addr {
		t.Fatalf("OnEnd %v", ended)
	}
}

func TestSourcesRejectBadArgs(t *testing.T) {
	o := Options{Symbols: tick.NewSymbolTable(8)}
	if _, err := NewTCPListener("127.0.0.1:0", nil, o); err == nil {
		t.Error("nil opener accepted")
	}
	if _, err := NewTCPListener("127.0.0.1:0", (&sinks{}).open, Options{}); err == nil {
		t.Error("missing symbols accepted")
	}
	if _, err := NewTCPListener("256.0.0.1:0", (&sinks{}).open, o); err == nil {
		t.Error("bad address accepted")
	}
	if err := DialTCP(context.Background(), "x", nil, o); err == nil {
		t.Error("nil opener accepted")
	}
	if err := Tail(context.Background(), "x", (&sinks{}).open, Options{}); err == nil {
		t.Error("missing symbols accepted")
	}
	l, err := NewTCPListener("127.0.0.1:0", (&sinks{}).open, o)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Serve(context.Background()); err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestTCPUnterminatedLineTruncated: on a connection, a last text line
// without its '\n' was cut off by the peer closing, so it is counted and
// reported as truncated, not decoded (a file's last line is: TestTailRotate).
func TestTCPUnterminatedLineTruncated(t *testing.T) {
	for _, f := range []Format{FormatCSV, FormatJSON} {
		var ss sinks
		var rs reports
		reg := new(Registry)
		l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{Format: f, Symbols: tick.NewSymbolTable(8), OnError: rs.onError, Stats: reg})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- l.Serve(ctx) }()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b := encodeText(f, trades[:2])
		if _, err := c.Write(b[:len(b)-4]); err != nil { // the second line cut short
			t.Fatal(err)
		}
		c.Close()
		waitFor(t, "connection ended", func() bool { _, ended := reg.Sources(); return ended == 1 })
		cancel()
		<-served
		ev, _ := ss.list()[0].snapshot()
		r := rs.list()
		if st := reg.Total(); len(ev) != 1 || st.ByReason[ReasonTruncated] != 1 || st.Errors != 1 ||
			len(r) != 1 || !errors.Is(r[0].err, ReasonTruncated) {
			t.Fatalf("%s: %d events, stats %+v, reports %v", f, len(ev), st, r)
		}
	}
}

// longestSilent is how long the connection waiting longest for its peer
// has waited, or 0.
func (l *TCPListener) longestSilent() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, longest := time.Now().UnixNano(), time.Duration(0)
	for c := range l.conns {
		longest = max(longest, c.silent(now))
	}
	return longest
}
