package soupbin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var testCreds = Credentials{Username: "tickd", Password: secret, Session: "SESS1"}

// startServer runs a Server until the test ends.
func startServer(t *testing.T, opts ServerOptions) *Server {
	t.Helper()
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

func fill(s *Store, from, to int) {
	for i := from; i <= to; i++ {
		s.Append(fmt.Appendf(nil, "msg-%d", i))
	}
}

// collector checks messages arrive numbered 1.. in order, each exactly once.
type collector struct {
	t    *testing.T
	next uint64
}

func (c *collector) add(seq uint64, msg []byte) {
	if seq != c.next || string(msg) != fmt.Sprintf("msg-%d", seq) {
		c.t.Errorf("got seq %d %q, want seq %d", seq, msg, c.next)
	}
	c.next++
}

func newClient(t *testing.T, addr string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{Addr: addr, Credentials: testCreds, Sequence: 1, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDataInOrderAndEndOfSession(t *testing.T) {
	store := NewStore()
	fill(store, 1, 300)
	unseq := make(chan string, 2)
	srv := startServer(t, ServerOptions{Credentials: testCreds, Store: store,
		OnUnsequenced: func(msg []byte) { unseq <- string(msg) }})
	for _, from := range []uint64{1, 120} {
		cl := newClient(t, srv.Addr().String(), func(o *Options) { o.Sequence = from })
		col := &collector{t: t, next: from}
		var once atomic.Bool
		err := cl.Run(context.Background(), func(seq uint64, msg []byte) {
			col.add(seq, msg)
			if seq == from {
				if err := cl.SendUnsequenced(fmt.Appendf(nil, "hello %d", from)); err != nil {
					t.Errorf("SendUnsequenced: %v", err)
				}
			}
			if seq == 300 && once.CompareAndSwap(false, true) && from == 1 {
				go func() { fill(store, 301, 500); store.End() }() // live appends, then the end
			}
		})
		if !errors.Is(err, ErrEndOfSession) {
			t.Fatalf("from %d: Run = %v, want ErrEndOfSession", from, err)
		}
		if col.next != 501 || cl.NextSeq() != 501 || cl.Session() != "SESS1" {
			t.Fatalf("from %d: ended at %d (NextSeq %d, session %q), want 501", from, col.next, cl.NextSeq(), cl.Session())
		}
		if got := <-unseq; got != fmt.Sprintf("hello %d", from) {
			t.Fatalf("server got unsequenced %q", got)
		}
		if st := cl.Stats(); st.Messages != 501-from || st.Logins != 1 || st.Disconnect != 0 {
			t.Fatalf("from %d: stats %+v", from, st)
		}
	}
}

func TestLoginRejected(t *testing.T) {
	srv := startServer(t, ServerOptions{Credentials: testCreds, Store: NewStore()})
	for _, tc := range []struct {
		cr     Credentials
		reason byte
		text   string
	}{
		{Credentials{Username: "tickd", Password: "wrong", Session: "SESS1"}, RejectNotAuthorized, "not authorized"},
		{Credentials{Username: "nobody", Password: secret}, RejectNotAuthorized, "not authorized"},
		{Credentials{Username: "tickd", Password: secret, Session: "OTHER"}, RejectSessionUnavailable, "session not available"},
	} {
		cl := newClient(t, srv.Addr().String(), func(o *Options) { o.Credentials = tc.cr })
		err := cl.Run(context.Background(), func(uint64, []byte) { t.Error("data after rejection") })
		var rej *LoginRejectedError
		if !errors.As(err, &rej) || rej.Reason != tc.reason || !strings.Contains(err.Error(), tc.text) {
			t.Fatalf("%v: Run = %v, want rejection %q", tc.cr, err, tc.reason)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

// TestHeartbeats keeps an idle session up for many dead-link periods of the
// server: only the client's heartbeats can keep it alive, and the client
// counts the server's.
func TestHeartbeats(t *testing.T) {
	srv := startServer(t, ServerOptions{Credentials: testCreds, Store: NewStore(),
		Heartbeat: 10 * time.Millisecond, DeadLink: time.Second})
	cl := newClient(t, srv.Addr().String(), func(o *Options) {
		o.Heartbeat, o.DeadLink = 10*time.Millisecond, time.Second
		o.OnDisconnect = func(err error) { t.Errorf("disconnected: %v", err) }
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx, func(uint64, []byte) {}) }()
	for cl.Stats().Heartbeats < 20 { // >= 200 ms of idle link
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // two and a half server dead-link periods
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st := cl.Stats(); st.Logins != 1 || st.Disconnect != 0 {
		t.Fatalf("stats %+v: the link dropped", st)
	}
}

// TestDeadLink: a server that accepts the login, then falls silent.
func TestDeadLink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write(AppendLoginAccepted(nil, "SESS1", 1))
				buf := make([]byte, 512)
				for { // read (heartbeats) until the client hangs up
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	var drops atomic.Int32
	cl := newClient(t, ln.Addr().String(), func(o *Options) {
		o.Heartbeat, o.DeadLink, o.MaxReconnect = 10*time.Millisecond, 100*time.Millisecond, 1
		o.OnDisconnect = func(err error) {
			if !errors.Is(err, ErrDeadLink) {
				t.Errorf("disconnect %v, want ErrDeadLink", err)
			}
			drops.Add(1)
		}
	})
	err = cl.Run(context.Background(), func(uint64, []byte) {})
	if !errors.Is(err, ErrDeadLink) || drops.Load() != 2 {
		t.Fatalf("Run = %v after %d drops, want ErrDeadLink after 2", err, drops.Load())
	}
	ln.Close()
}

// TestReconnectResumes drops every connection mid-stream; the client must
// log in again at the next sequence, losing and repeating nothing. The drops
// at 1000 and 2000 come before the server has anything more to send, so they
// always cost a reconnect; the one at 500 may land after the rest is already
// in the socket buffers.
func TestReconnectResumes(t *testing.T) {
	store := NewStore()
	fill(store, 1, 1000)
	srv := startServer(t, ServerOptions{Credentials: testCreds, Store: store})
	var drops atomic.Int32
	cl := newClient(t, srv.Addr().String(), func(o *Options) {
		o.OnDisconnect = func(error) { drops.Add(1) }
	})
	col := &collector{t: t, next: 1}
	err := cl.Run(context.Background(), func(seq uint64, msg []byte) {
		col.add(seq, msg)
		switch seq {
		case 500:
			srv.DropConnections()
		case 1000, 2000:
			srv.DropConnections()
			fill(store, int(seq)+1, int(seq)+1000)
			if seq == 2000 {
				store.End()
			}
		}
	})
	if !errors.Is(err, ErrEndOfSession) || col.next != 3001 {
		t.Fatalf("Run = %v at %d, want ErrEndOfSession at 3001", err, col.next)
	}
	st := cl.Stats()
	if st.Disconnect < 2 || st.Logins != st.Disconnect+1 || st.Messages != 3000 || drops.Load() != int32(st.Disconnect) {
		t.Fatalf("stats %+v, drops %d: want >= 2 disconnects, one login more", st, drops.Load())
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{
		{},
		{Addr: "x:1", Heartbeat: time.Second, DeadLink: time.Second},
		{Addr: "x:1", BackoffMin: time.Second, BackoffMax: time.Millisecond},
		{Addr: "x:1", MaxLength: 1 << 20},
		{Addr: "x:1", Credentials: Credentials{Username: "toolong"}},
	} {
		if _, err := NewClient(o); err == nil || !strings.HasPrefix(err.Error(), "soupbin: ") {
			t.Errorf("NewClient(%+v) = %v", o, err)
		}
	}
	if _, err := NewServer(ServerOptions{}); err == nil {
		t.Error("NewServer without a store: no error")
	}
}

// TestSlowReaderKeepsLink: a client reading a backlog that takes several
// server dead-link periods to drain, but never pausing for one, keeps its
// connection.
func TestSlowReaderKeepsLink(t *testing.T) {
	store := NewStore()
	msg := make([]byte, 1000)
	for range 20000 {
		store.Append(msg)
	}
	store.End()
	srv := startServer(t, ServerOptions{Credentials: testCreds, Store: store,
		Heartbeat: 50 * time.Millisecond, DeadLink: 300 * time.Millisecond})
	cl := newClient(t, srv.Addr().String(), func(o *Options) { o.Heartbeat = 50 * time.Millisecond })
	start := time.Now()
	n := 0
	err := cl.Run(context.Background(), func(uint64, []byte) {
		if n++; n%200 == 0 {
			time.Sleep(10 * time.Millisecond) // about a second for the backlog
		}
	})
	if !errors.Is(err, ErrEndOfSession) || n != 20000 {
		t.Fatalf("Run = %v after %d messages", err, n)
	}
	if st := cl.Stats(); st.Disconnect != 0 {
		t.Fatalf("stats %+v after %v: the server dropped a client that kept reading", st, time.Since(start))
	}
}

// scriptedServer accepts every login with the session and sequence that
// accept returns for the i-th connection, sends msgs sequenced messages
// and hangs up.
func scriptedServer(t *testing.T, accept func(i int) (string, uint64), msgs int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			NewReader(c, 0).Next() // the login request
			session, seq := accept(i)
			out := AppendLoginAccepted(nil, session, seq)
			for k := range msgs {
				out = AppendPacket(out, TypeSequenced, fmt.Appendf(nil, "msg-%d", seq+uint64(k)))
			}
			c.Write(out)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestSessionMismatch: a server that accepts the reconnect for another
// session numbers its messages differently; the client stops instead of
// resuming there.
func TestSessionMismatch(t *testing.T) {
	for _, asked := range []string{"SESS1", ""} { // asked, or adopted at the first login
		addr := scriptedServer(t, func(i int) (string, uint64) { return []string{"SESS1", "OTHER"}[min(i, 1)], 1 }, 5)
		cl := newClient(t, addr, func(o *Options) { o.Credentials.Session = asked })
		col := &collector{t: t, next: 1}
		err := cl.Run(context.Background(), col.add)
		var mm *SessionMismatchError
		if !errors.As(err, &mm) || mm.Asked != "SESS1" || mm.Got != "OTHER" || col.next != 6 {
			t.Fatalf("asking %q: Run = %v at %d, want a mismatch, SESS1 asked, OTHER got, after 5 messages", asked, err, col.next)
		}
	}
}

// TestLoginAcceptedAtZero: sequences start at 1; a Login Accepted at 0 is
// malformed, not a session whose first message is numbered 0.
func TestLoginAcceptedAtZero(t *testing.T) {
	addr := scriptedServer(t, func(int) (string, uint64) { return "SESS1", 0 }, 3)
	cl := newClient(t, addr, func(o *Options) { o.Sequence, o.MaxReconnect = 0, 1 })
	err := cl.Run(context.Background(), func(seq uint64, _ []byte) { t.Errorf("message %d handed on", seq) })
	if !errors.Is(err, ErrBadSequence) {
		t.Fatalf("Run = %v, want ErrBadSequence", err)
	}
}

// TestStoppedAfterEndEndsSession: a server stopped right after its Store
// ends (an exchange interrupted: gen or replay -exchange on SIGINT) still
// gives its client the rest of the session and the end of session, rather
// than dropping the link, which the client would take for a lost one and
// reconnect to, for ever.
func TestStoppedAfterEndEndsSession(t *testing.T) {
	store := NewStore()
	fill(store, 1, 100)
	srv, err := NewServer(ServerOptions{Credentials: testCreds, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	cl := newClient(t, srv.Addr().String(), nil)
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	col := &collector{t: t, next: 1}
	err = cl.Run(cctx, func(seq uint64, msg []byte) {
		col.add(seq, msg)
		if seq == 1 { // logged in: the rest of the session is stored, and the server stopped
			fill(store, 101, 50000)
			store.End()
			stopServer()
		}
	})
	if !errors.Is(err, ErrEndOfSession) || col.next != 50001 {
		t.Fatalf("Run = %v after %d messages, want ErrEndOfSession after 50000", err, col.next-1)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestBacksOffUnreadableServer: a server that, once the login is accepted,
// sends a packet the client cannot read (an unknown type, one only clients
// send, a length past MaxLength) sends it again on every connection; the client backs off from
// it, doubling, as from a server that refuses connections. It took such a
// link for a working one and redialled every BackoffMin for ever.
func TestBacksOffUnreadableServer(t *testing.T) {
	for name, bad := range map[string][]byte{
		"unknown type":    AppendPacket(nil, 'Q', nil),
		"a client's type": AppendPacket(nil, TypeClientHeartbeat, nil),
		"too long":        AppendPacket(nil, TypeSequenced, make([]byte, 2000)),
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			accepted := make(chan time.Time, 16)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- time.Now()
					NewReader(c, 0).Next() // the login request
					out := AppendLoginAccepted(nil, "SESS1", 1)
					out = AppendPacket(out, TypeServerHeartbeat, nil)
					c.Write(append(out, bad...))
					c.Close()
				}
			}()
			const minB = 10 * time.Millisecond
			cl := newClient(t, ln.Addr().String(), func(o *Options) { o.BackoffMin, o.BackoffMax, o.MaxLength = minB, time.Second, 1000 })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- cl.Run(ctx, func(uint64, []byte) {}) }()
			var times []time.Time
			for len(times) < 5 {
				select {
				case at := <-accepted:
					times = append(times, at)
				case err := <-done:
					t.Fatalf("Run ended: %v", err)
				}
			}
			cancel()
			<-done
			// Backing off: 10, 20, 40, 80 ms between connections.
			if gap := times[4].Sub(times[3]); gap < 8*minB {
				t.Fatalf("the fifth connection came %v after the fourth, want at least %v: the client did not back off", gap, 8*minB)
			}
		})
	}
}

// TestSendUnsequencedTooLarge: a message whose packet (type byte and
// message) would pass MaxLength is refused before anything is sent; one
// that fills it exactly is not (unconnected here, it fails otherwise).
func TestSendUnsequencedTooLarge(t *testing.T) {
	cl := newClient(t, "127.0.0.1:1", func(o *Options) { o.MaxLength = 100 })
	if err := cl.SendUnsequenced(make([]byte, 100)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 101-byte packet: %v, want ErrTooLarge", err)
	}
	if err := cl.SendUnsequenced(make([]byte, 99)); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("a 100-byte packet, not connected: %v, want an error other than ErrTooLarge", err)
	}
}

// TestSeqJumpsCounted: a login accepted past the sequence asked for (the
// server has lost messages the client still wanted) is counted in
// SeqJumps; one accepted at it is not. The server is a raw socket that
// accepts at the sequence the test chooses, then ends the session.
func TestSeqJumpsCounted(t *testing.T) {
	for _, tc := range []struct{ ask, accept, jumps uint64 }{{5, 5, 0}, {5, 6, 1}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			defer c.Close()
			if _, _, err := NewReader(c, DefaultMaxLength).Next(); err != nil { // the login request
				served <- err
				return
			}
			_, err = c.Write(AppendPacket(AppendLoginAccepted(nil, testCreds.Session, tc.accept), TypeEndOfSession, nil))
			served <- err
		}()
		cl := newClient(t, ln.Addr().String(), func(o *Options) { o.Sequence = tc.ask })
		if err := cl.Run(context.Background(), func(uint64, []byte) {}); !errors.Is(err, ErrEndOfSession) {
			t.Fatalf("ask %d, accepted at %d: Run = %v, want ErrEndOfSession", tc.ask, tc.accept, err)
		}
		if err := <-served; err != nil {
			t.Fatal(err)
		}
		if st := cl.Stats(); st.SeqJumps != tc.jumps || st.Logins != 1 {
			t.Errorf("ask %d, accepted at %d: stats %+v, want %d jumps", tc.ask, tc.accept, st, tc.jumps)
		}
	}
}
