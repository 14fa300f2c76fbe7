package feed

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/internal/testpki"
	"github.com/tickd/tickd/tick"
)

// tlsListener serves a TLS listener requiring client certificates of pki.
func tlsListener(t *testing.T, pki testpki.PKI, ss *sinks, rs *reports, syms *tick.SymbolTable) *TCPListener {
	t.Helper()
	cfg, err := ServerTLSConfig(pki.ServerCert, pki.ServerKey, pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	return serveTCP(t, ss.open, Options{Symbols: syms, OnError: rs.onError,
		Clock: func() int64 { return 42 }, TLS: cfg})
}

func waitReport(t *testing.T, rs *reports, substr string) {
	t.Helper()
	waitFor(t, "a report containing "+substr, func() bool {
		for _, r := range rs.list() {
			if strings.Contains(r.err.Error(), substr) {
				return true
			}
		}
		return false
	})
}

func TestTLSListenerClientCert(t *testing.T) {
	pki := testpki.New(t)
	var ss sinks
	var rs reports
	syms := tick.NewSymbolTable(8)
	l := tlsListener(t, pki, &ss, &rs, syms)
	ccfg, err := ClientTLSConfig(pki.CA, pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.ServerName = "127.0.0.1"
	c, err := tls.Dial("tcp", l.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(connStream("TLS", 100)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, "the TLS session's events", func() bool { return ss.total() == 101 })
	s := ss.list()
	if len(s) != 1 {
		t.Fatalf("%d sinks", len(s))
	}
	ev, _ := s[0].snapshot()
	checkConnEvents(t, ev, syms, "TLS", 100)
	if r := rs.list(); len(r) != 0 {
		t.Fatalf("reports %v", r)
	}
}

func TestTLSListenerRefusesWithoutClientCert(t *testing.T) {
	pki := testpki.New(t)
	var ss sinks
	var rs reports
	l := tlsListener(t, pki, &ss, &rs, tick.NewSymbolTable(8))

	// TLS without a client certificate: the handshake fails on the server.
	ccfg, err := ClientTLSConfig(pki.CA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ccfg.ServerName = "127.0.0.1"
	if c, err := tls.Dial("tcp", l.Addr().String(), ccfg); err == nil {
		c.Write(connStream("X", 10)) // TLS 1.3: the client learns of the refusal late
		c.Close()
	}
	waitReport(t, &rs, "tls handshake")
	waitReport(t, &rs, "certificate")

	// Plain TCP to a TLS listener is refused as well.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(connStream("Y", 10))
	waitFor(t, "two handshake failures", func() bool { return len(rs.list()) >= 2 })
	c.Close()
	if n := len(ss.list()); n != 0 {
		t.Fatalf("%d sinks opened for refused connections", n)
	}
}

// TestTLSHandshakeFailuresAreTheListeners: a failed handshake is reported as
// the listener's source, as a refusal beyond MaxConns is, so that a flood of
// them is rate-limited as one source; the error names the connection.
func TestTLSHandshakeFailuresAreTheListeners(t *testing.T) {
	pki := testpki.New(t)
	var ss sinks
	var rs reports
	l := tlsListener(t, pki, &ss, &rs, tick.NewSymbolTable(8))
	const n = 3
	for range n {
		dialTCP(t, l).Write([]byte("not a TLS client hello\r\n"))
	}
	waitFor(t, "the handshake failures", func() bool { return len(rs.list()) >= n })
	for _, r := range rs.list() {
		if want := "tcp " + l.Addr().String(); r.source != want {
			t.Errorf("reported as %q, want the listener's %q: %v", r.source, want, r.err)
		}
		if !strings.Contains(r.err.Error(), "<-127.0.0.1:") || !strings.Contains(r.err.Error(), "tls handshake") {
			t.Errorf("the error does not name the connection and its handshake: %v", r.err)
		}
	}
}

func TestDialTCPTLS(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	scfg, err := ServerTLSConfig(pki.ServerCert, pki.ServerKey, "")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", scfg)
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
			c.Write(connStream("D", 20))
			time.Sleep(10 * time.Millisecond)
			c.Close()
		}
	}()

	dial := func(ca string) (*sinks, *reports) {
		ccfg, err := ClientTLSConfig(ca, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var ss sinks
		var rs reports
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- DialTCP(ctx, ln.Addr().String(), ss.open, Options{Symbols: tick.NewSymbolTable(8),
				OnError: rs.onError, Clock: func() int64 { return 42 }, TLS: ccfg,
				ReconnectMin: time.Millisecond, ReconnectMax: 50 * time.Millisecond})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		return &ss, &rs
	}
	ss, _ := dial(pki.CA)
	waitFor(t, "a TLS session", func() bool { return ss.total() >= 21 })

	ss, rs := dial(other.CA)
	waitReport(t, rs, "certificate signed by unknown authority")
	if n := ss.total(); n != 0 {
		t.Fatalf("%d events over an unverified server", n)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := testpki.New(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		f    func() error
		want string
	}{
		{func() error { _, err := ServerTLSConfig("", "", ""); return err }, "certificate and a key"},
		{func() error { _, err := ServerTLSConfig(missing, pki.ServerKey, ""); return err }, "missing.pem"},
		{func() error { _, err := ServerTLSConfig(pki.ServerCert, pki.ServerKey, missing); return err }, "missing.pem"},
		{func() error { _, err := ServerTLSConfig(pki.ServerCert, pki.ServerKey, pki.ServerKey); return err }, "no PEM certificate"},
		{func() error { _, err := ClientTLSConfig("", pki.ClientCert, ""); return err }, "both a certificate and a key"},
		{func() error { _, err := ClientTLSConfig("", pki.ClientCert, pki.ServerKey); return err }, "client certificate"},
	} {
		if err := tc.f(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
}

// countSink counts events and signals when it has seen want of them.
type countSink struct {
	slots []tick.Event
	n     atomic.Int64
	want  int64
	done  chan struct{}
}

func (s *countSink) Claim(n int) []tick.Event { return s.slots[:min(n, len(s.slots))] }
func (s *countSink) Commit(k int) {
	if s.n.Add(int64(k)) == s.want {
		close(s.done)
	}
}
func (s *countSink) Close() {}

// BenchmarkTCPListenerTLS streams native Trade frames through a TLS
// listener (one op = one frame): the cost of TLS on the feed, against
// BenchmarkTCPListenerPlain as the baseline. Allocations are per read or
// record (crypto/tls), not per message.
func BenchmarkTCPListenerTLS(b *testing.B)   { benchListener(b, true) }
func BenchmarkTCPListenerPlain(b *testing.B) { benchListener(b, false) }

func benchListener(b *testing.B, useTLS bool) {
	prefix, trades := benchNative()
	first := binary.LittleEndian.Uint64(trades[3:])
	sink := &countSink{slots: make([]tick.Event, 256), want: int64(b.N), done: make(chan struct{})}
	opts := Options{Symbols: tick.NewSymbolTable(64)}
	var ccfg *tls.Config
	if useTLS {
		pki := testpki.New(b)
		var err error
		if opts.TLS, err = ServerTLSConfig(pki.ServerCert, pki.ServerKey, pki.CA); err != nil {
			b.Fatal(err)
		}
		if ccfg, err = ClientTLSConfig(pki.CA, pki.ClientCert, pki.ClientKey); err != nil {
			b.Fatal(err)
		}
		ccfg.ServerName = "127.0.0.1"
	}
	l, err := NewTCPListener("127.0.0.1:0", func(string) (Sink, error) { return sink, nil }, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	var c net.Conn
	if useTLS {
		c, err = tls.Dial("tcp", l.Addr().String(), ccfg)
	} else {
		c, err = net.Dial("tcp", l.Addr().String())
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(prefix); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(TradeFrameSize)
	b.ReportAllocs()
	b.ResetTimer()
	seq := first
	for sent := 0; sent < b.N; {
		k := min(b.N-sent, benchFrames)
		for i := range k {
			binary.LittleEndian.PutUint64(trades[i*TradeFrameSize+3:], seq)
			seq++
		}
		if _, err := c.Write(trades[:k*TradeFrameSize]); err != nil {
			b.Fatal(err)
		}
		sent += k
	}
	select {
	case <-sink.done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d events", sink.n.Load(), b.N)
	}
	b.StopTimer()
	c.Close()
	cancel()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
}
