package feed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// TCPListener accepts any number of connections (up to Options.MaxConns at
// once) and gives each its own Decoder, Sink and goroutine.
type TCPListener struct {
	ln       net.Listener // plain TCP: TLS is set up per connection
	open     SinkOpener
	opts     Options
	active   atomic.Int64
	rejected atomic.Uint64
	evicted  atomic.Uint64
	closed   atomic.Bool

	mu    sync.Mutex
	conns map[*listenerConn]struct{} // holding a slot of MaxConns
}

// listenerConn is a connection the listener serves. It notes since when it
// has been waiting for its peer in a read, so that one silent for long can
// give its slot up (Options.EvictAfter); one held up by the engine (its
// sink full) is not waiting for its peer, and is never taken for silent.
type listenerConn struct {
	net.Conn
	idleSince atomic.Int64  // wall clock since when a read has waited for the peer; 0: not in a read
	done      chan struct{} // closed when its goroutine has returned
	evictable bool          // Options.EvictAfter is set: reads note idleSince
}

func (c *listenerConn) Read(b []byte) (int, error) {
	if !c.evictable { // no clock reading per read where nothing evicts
		return c.Conn.Read(b)
	}
	c.idleSince.Store(time.Now().UnixNano())
	n, err := c.Conn.Read(b)
	c.idleSince.Store(0)
	return n, err
}

// silent is how long c has been waiting for its peer, or 0.
func (c *listenerConn) silent(now int64) time.Duration {
	if since := c.idleSince.Load(); since != 0 {
		return time.Duration(now - since)
	}
	return 0
}

// NewTCPListener binds exactly addr (tickd's callers default it to
// 127.0.0.1:port; port 0 picks a free one) and returns the listener, ready to
// Serve. Every accepted connection gets the Sink that open returns for it.
// With Options.TLS every connection is TLS (see ServerTLSConfig); one whose
// handshake fails is reported to OnError and closed before a Sink is opened.
func NewTCPListener(addr string, open SinkOpener, opts Options) (*TCPListener, error) {
	if open == nil {
		return nil, errors.New("feed: NewTCPListener: nil SinkOpener")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("feed: listen: %w", err)
	}
	return &TCPListener{ln: ln, open: open, opts: o, conns: map[*listenerConn]struct{}{}}, nil
}

// Addr is the address the listener is bound to.
func (l *TCPListener) Addr() net.Addr { return l.ln.Addr() }

// Active is the number of connections being served.
func (l *TCPListener) Active() int { return int(l.active.Load()) }

// Rejected counts connections refused because MaxConns were being served.
func (l *TCPListener) Rejected() uint64 { return l.rejected.Load() }

// Evicted counts connections closed, silent, to admit a new one
// (Options.EvictAfter).
func (l *TCPListener) Evicted() uint64 { return l.evicted.Load() }

// Stats are the per-connection counters and totals (Options.Stats).
func (l *TCPListener) Stats() *Registry { return l.opts.Stats }

// Close stops accepting; Serve then ends its connections and returns. Use it
// to release the address when Serve is never called.
func (l *TCPListener) Close() error {
	l.closed.Store(true)
	return l.ln.Close()
}

// Serve accepts connections until ctx is done or Close is called, then
// closes the listener, ends every connection (each closes its Sink), waits
// for them and returns nil. A connection beyond MaxConns takes the slot of
// the one silent longest if that one has been silent EvictAfter (which is
// closed, and reported to OnError; the new one is served once it has
// ended), else it is closed at once and reported to OnError. Serve returns
// an error only if accepting fails for good.
func (l *TCPListener) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		l.ln.Close()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	name := "tcp " + l.ln.Addr().String() // the source of accept failures and refusals
	defer l.opts.ended(name)
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off, go on.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.opts.sourceError(name, 0, SourceAccept, fmt.Errorf("feed: accept: %w", err))
			if !SleepContext(ctx, delay) {
				return nil
			}
			continue
		}
		delay = 0
		lc := &listenerConn{Conn: c, done: make(chan struct{}), evictable: l.opts.EvictAfter > 0}
		// Not evictable until its first read: one admitted in place of an
		// evicted connection waits, unread, for that one to end.
		victim, silent, ok := l.admit(lc)
		// Refusals and evictions are reported as the listener's, so that a
		// flood of them is rate-limited as one source.
		if !ok {
			l.rejected.Add(1)
			c.Close()
			l.opts.sourceError(name, 0, SourceRefused, fmt.Errorf("feed: %s: connection refused: %d connections already served (MaxConns)", connName(c), l.opts.MaxConns))
			continue
		}
		if victim != nil {
			l.evicted.Add(1)
			victim.Close()
			l.opts.sourceError(name, 0, SourceEvicted, fmt.Errorf("feed: %s: evicted after %s silent, for %s: %d connections already served (MaxConns)",
				connName(victim), silent.Round(time.Millisecond), connName(c), l.opts.MaxConns))
		}
		var conn net.Conn = lc
		if l.opts.TLS != nil {
			conn = tls.Server(lc, l.opts.TLS)
		}
		l.active.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer l.release(lc)
			defer l.active.Add(-1)
			if victim != nil {
				<-victim.done // never more than MaxConns served at once
			}
			serveConn(ctx, conn, l.open, &l.opts, name)
		}()
	}
}

// admit gives c a slot. When MaxConns are taken, it takes the slot of the
// connection that has waited for its peer longest, if for EvictAfter, and
// returns it and how long it waited; otherwise it refuses c.
func (l *TCPListener) admit(c *listenerConn) (victim *listenerConn, silent time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.opts.MaxConns {
		if l.opts.EvictAfter <= 0 {
			return nil, 0, false
		}
		now := time.Now().UnixNano()
		for v := range l.conns {
			if d := v.silent(now); d > silent {
				victim, silent = v, d
			}
		}
		if victim == nil || silent < l.opts.EvictAfter {
			return nil, 0, false
		}
		delete(l.conns, victim)
	}
	l.conns[c] = struct{}{}
	return victim, silent, true
}

// release frees c's slot, unless it was taken from it, and tells a
// connection waiting for c that it has ended.
func (l *TCPListener) release(c *listenerConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	close(c.done)
}

// DialTCP connects to addr and feeds the connection to a Sink from open,
// with a fresh Decoder (sequence from 1) per connection. When a connection
// fails or ends it reconnects after a backoff that doubles from ReconnectMin
// up to ReconnectMax, and starts again from ReconnectMin after a connection
// that delivered data. It returns nil once ctx is done, or an error for bad
// arguments. With Options.TLS it speaks TLS (see ClientTLSConfig), the
// server name taken from addr.
func DialTCP(ctx context.Context, addr string, open SinkOpener, opts Options) error {
	if open == nil {
		return errors.New("feed: DialTCP: nil SinkOpener")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if o.TLS != nil {
		d = &tls.Dialer{Config: o.TLS}
	}
	name := "tcp " + addr // the source of dial failures
	defer o.ended(name)
	backoff := o.ReconnectMin
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		switch {
		case err == nil:
			conn := connName(c)
			read, peerClosed, unreadable := serveConn(ctx, c, open, &o, name)
			if read > 0 && !unreadable {
				// A connection that fed something: the next one may too.
				// Not one this decoder cannot read (another format
				// version, lost framing): the peer will send the same.
				backoff = o.ReconnectMin
			}
			if peerClosed {
				// The feed is gone until the redial: say so, as the
				// dialer's source, so that a flapping peer is rate-limited
				// as one.
				o.sourceError(name, 0, SourceDial, fmt.Errorf("feed: %s: closed by the peer after %d bytes, reconnecting", conn, read))
			}
		case ctx.Err() == nil:
			o.sourceError(name, 0, SourceDial, fmt.Errorf("feed: dial: %w", err))
		}
		if !SleepContext(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, o.ReconnectMax)
	}
}

// ShutdownGrace is how long a TCP source keeps reading after its context
// ends, so that data already sent before a shutdown is not dropped.
const ShutdownGrace = 100 * time.Millisecond

// connName names a connection "tcp local<-remote": data flows to local.
func connName(c net.Conn) string {
	return "tcp " + c.LocalAddr().String() + "<-" + c.RemoteAddr().String()
}

// serveConn feeds one connection to its own Sink until EOF, an error, the
// sink shutting down or ctx being done; it closes both and returns the bytes
// read, whether the peer closed the connection (EOF; a failed read is
// reported here) and whether the decoder ended it (EndsStream). A failed TLS handshake is reported as source's (the
// listener's or dialer's), not the connection's: each connection has a
// name of its own, and a flood of them must be rate-limited as one source.
func serveConn(ctx context.Context, c net.Conn, open SinkOpener, o *Options, source string) (read uint64, peerClosed, unreadable bool) {
	defer c.Close()
	name := connName(c)
	if err := handshake(ctx, c); err != nil {
		if ctx.Err() == nil {
			o.sourceError(source, 0, SourceRefused, fmt.Errorf("feed: %s: %w", name, err))
		}
		return 0, false, false
	}
	sink, err := open(name)
	if err != nil {
		o.sourceError(name, 0, SourceRefused, fmt.Errorf("feed: %s: open sink: %w", name, err))
		return 0, false, false
	}
	p := newPump(name, sink, o)
	p.socket = true
	defer p.close()
	// When ctx ends, keep reading for ShutdownGrace: what the peer already
	// sent (in the kernel's buffer, acknowledged) reaches the sink, then a
	// blocked read returns with a deadline error.
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now().Add(ShutdownGrace)) })
	defer stop()
	err = p.readAll(c)
	switch {
	case EndsStream(err):
		unreadable = true // reported by the decoder
	case ctx.Err() != nil, errors.Is(err, errSinkDone):
		// cancelled
	case err == nil:
		peerClosed = true
	case errors.Is(err, net.ErrClosed):
		// closed on our side: the listener evicted it, and said so
	default:
		o.sourceError(name, p.dec.off, SourceLost, fmt.Errorf("feed: %s: read: %w", name, err))
	}
	return p.dec.stats.Bytes, peerClosed, unreadable
}

// SleepContext waits d or until ctx is done; it reports whether ctx is
// still live. Sources back off with it between reconnects.
func SleepContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
