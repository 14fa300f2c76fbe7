package soupbin

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ServerOptions configure a Server. Zero fields take the defaults noted.
type ServerOptions struct {
	Addr        string      // listen address; default "127.0.0.1:0"
	Credentials Credentials // the one login accepted; Session is the session name (default "1")
	Store       *Store      // required: the messages served

	Heartbeat time.Duration // send 'H' after this long without sending; default 1s
	DeadLink  time.Duration // drop a client silent this long; default 15s
	// EndGrace is how long Serve, stopped once the Store has ended, lets the
	// clients logged in take the rest of the session and its end before it
	// drops them; default 1s.
	EndGrace  time.Duration
	MaxLength int // largest packet length accepted from clients; default DefaultMaxLength

	// OnUnsequenced receives 'U' packets from clients, on that connection's
	// goroutine; msg is valid only during the call.
	OnUnsequenced func(msg []byte)
}

func (o *ServerOptions) setDefaults() error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Credentials.Session == "" {
		o.Credentials.Session = "1"
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = time.Second
	}
	if o.DeadLink == 0 {
		o.DeadLink = 15 * time.Second
	}
	if o.MaxLength == 0 {
		o.MaxLength = DefaultMaxLength
	}
	if o.EndGrace == 0 {
		o.EndGrace = time.Second
	}
	switch {
	case o.Store == nil:
		return errors.New("soupbin: ServerOptions.Store is required")
	case o.Heartbeat < 0 || o.DeadLink <= o.Heartbeat:
		return fmt.Errorf("soupbin: server heartbeat %v must be positive and below the dead-link timeout %v", o.Heartbeat, o.DeadLink)
	case o.MaxLength < loginRequestLen+1 || o.MaxLength > MaxLength:
		return fmt.Errorf("soupbin: server MaxLength %d outside %d..%d", o.MaxLength, loginRequestLen+1, MaxLength)
	}
	return o.Credentials.Validate()
}

// Server is a simulated exchange: it accepts logins, then streams the Store
// from the requested sequence, heartbeats while idle, and sends end of
// session once the Store has ended and the client has every message.
type Server struct {
	opts ServerOptions
	ln   net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewServer validates opts and starts listening; call Serve to accept.
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("soupbin: listen: %w", err)
	}
	return &Server{opts: opts, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until ctx is done, then closes every connection
// and returns once their goroutines have finished. If the Store has ended,
// the clients first get up to EndGrace to take the rest of the session and
// its end (they log out on it), so that a session stopped early still ends
// for them instead of looking like a lost link they reconnect to.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if _, ended, _ := s.opts.Store.State(); ended {
				s.waitConnections(s.opts.EndGrace)
			}
			s.DropConnections()
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("soupbin: accept: %w", err)
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// waitConnections waits at most d for the open connections to end. It is
// called once the listener is closed: no connection is added meanwhile.
func (s *Server) waitConnections(d time.Duration) {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// DropConnections closes every client connection at once, as a failing
// exchange gateway would; clients reconnect and resume.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	rd := NewReader(&deadlineConn{c: c, d: s.opts.DeadLink}, s.opts.MaxLength)
	typ, p, err := rd.Next()
	if err != nil || typ != TypeLoginRequest {
		return
	}
	user, pass, session, seq, err := ParseLoginRequest(p)
	if err != nil {
		return
	}
	cr := s.opts.Credentials
	okUser := subtle.ConstantTimeCompare(user, []byte(cr.Username))
	okPass := subtle.ConstantTimeCompare(pass, []byte(cr.Password))
	var reject byte
	switch {
	case okUser&okPass != 1:
		reject = RejectNotAuthorized
	case len(session) > 0 && string(session) != cr.Session:
		reject = RejectSessionUnavailable
	}
	if reject != 0 {
		c.SetWriteDeadline(time.Now().Add(s.opts.DeadLink))
		c.Write(AppendPacket(nil, TypeLoginRejected, []byte{reject}))
		return
	}
	last, _, _ := s.opts.Store.State()
	if seq == 0 || seq > last+1 { // 0 asks for the most recent; past the end starts there
		seq = last + 1
	}
	w := bufio.NewWriterSize(&deadlineConn{c: c, d: s.opts.DeadLink}, 32<<10)
	w.Write(AppendLoginAccepted(nil, cr.Session, seq))
	if w.Flush() != nil {
		return
	}
	done := make(chan struct{})
	go func() { // reader: heartbeats keep the link alive, logout or silence ends it
		defer close(done)
		for {
			typ, p, err := rd.Next()
			if err != nil || typ == TypeLogout {
				c.Close()
				return
			}
			if typ == TypeUnsequenced && s.opts.OnUnsequenced != nil {
				s.opts.OnUnsequenced(p)
			}
		}
	}()
	s.stream(w, seq, done)
	c.Close()
	<-done
}

// stream sends the store from seq until the connection ends.
func (s *Server) stream(w *bufio.Writer, seq uint64, done <-chan struct{}) {
	hb := time.NewTimer(s.opts.Heartbeat)
	defer hb.Stop()
	var pkt []byte
	for {
		last, ended, changed := s.opts.Store.State()
		if seq <= last {
			for ; seq <= last; seq++ {
				msg, _ := s.opts.Store.Message(seq)
				pkt = AppendPacket(pkt[:0], TypeSequenced, msg)
				if _, err := w.Write(pkt); err != nil {
					return
				}
			}
			if w.Flush() != nil {
				return
			}
			hb.Reset(s.opts.Heartbeat)
			continue
		}
		if ended {
			w.Write(AppendPacket(pkt[:0], TypeEndOfSession, nil))
			w.Flush()
			// Give the client the chance to log out; its reader ends us.
			select {
			case <-done:
			case <-time.After(s.opts.DeadLink):
			}
			return
		}
		select {
		case <-changed:
		case <-done:
			return
		case <-hb.C:
			w.Write(AppendPacket(pkt[:0], TypeServerHeartbeat, nil))
			if w.Flush() != nil {
				return
			}
			hb.Reset(s.opts.Heartbeat)
		}
	}
}

// deadlineConn pushes a deadline d out before each read and each write.
// A peer silent for d is detected as dead; and on the write side, the
// buffer's own flushes included, a client that keeps reading a long
// backlog is not cut off once the backlog outlasts d, while one that stops
// reading for that long is.
type deadlineConn struct {
	c net.Conn
	d time.Duration
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.c.SetWriteDeadline(time.Now().Add(c.d)); err != nil {
		return 0, err
	}
	return c.c.Write(p)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.c.SetReadDeadline(time.Now().Add(c.d)); err != nil {
		return 0, err
	}
	return c.c.Read(p)
}
