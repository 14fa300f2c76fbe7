package soupbin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Session-level outcomes returned by Client.Run.
var (
	// ErrEndOfSession: the server sent 'Z'; every message has been handed on.
	ErrEndOfSession = errors.New("soupbin: end of session")
	// ErrDeadLink wraps the error of a connection dropped for silence.
	ErrDeadLink = errors.New("soupbin: dead link: nothing heard within the timeout")
)

// LoginRejectedError is returned by Client.Run when the server refuses the
// login; retrying would not help, so Run does not.
type LoginRejectedError struct {
	Reason byte // RejectNotAuthorized or RejectSessionUnavailable
	User   string
}

func (e *LoginRejectedError) Error() string {
	switch e.Reason {
	case RejectNotAuthorized:
		return fmt.Sprintf("soupbin: login rejected: user %q not authorized (check username and password)", e.User)
	case RejectSessionUnavailable:
		return fmt.Sprintf("soupbin: login rejected: session not available for user %q", e.User)
	}
	return fmt.Sprintf("soupbin: login rejected for user %q: reason %q", e.User, e.Reason)
}

// SessionMismatchError is returned by Client.Run when the server accepts a
// login for another session than the one asked for (by the credentials, or
// the one accepted at the first login): its sequence numbers are not this
// session's, so resuming there would skip or repeat messages. Retrying
// would meet the same server, so Run does not.
type SessionMismatchError struct {
	Asked, Got string
}

func (e *SessionMismatchError) Error() string {
	return fmt.Sprintf("soupbin: login accepted for session %q, not the %q asked for", e.Got, e.Asked)
}

// Options configure a Client. Zero fields take the defaults noted.
type Options struct {
	Addr        string      // required: host:port of the server
	Credentials Credentials // fill with CredentialsFromEnv or CredentialsFromFile

	// Sequence is the first sequence asked for at the first login; 0 asks
	// for the most recent (per the spec). Reconnects ask for the next
	// expected one.
	Sequence uint64

	Heartbeat    time.Duration // send 'R' after this long without sending; default 1s
	DeadLink     time.Duration // drop a link silent this long; default 15s
	DialTimeout  time.Duration // default 5s
	BackoffMin   time.Duration // first reconnect delay; doubles per failure; default 100ms
	BackoffMax   time.Duration // default 5s
	MaxReconnect int           // consecutive failed attempts before Run gives up; 0 = never
	MaxLength    int           // largest packet length accepted; default DefaultMaxLength

	// OnUnsequenced receives 'U' packets from the server; msg is valid only
	// during the call. nil ignores them.
	OnUnsequenced func(msg []byte)
	// OnDisconnect is told why a connection ended before Run reconnects. nil ignores.
	OnDisconnect func(err error)
	// OnBatchEnd runs on Run's goroutine whenever the messages buffered from
	// the socket have all been handed on and Run is about to wait for more:
	// a consumer can commit the batch it built from one read burst, keeping
	// commits rare but latency bounded. It may also run when nothing was
	// handed on since the last call. nil ignores.
	OnBatchEnd func()
}

func (o *Options) setDefaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Heartbeat, time.Second)
	def(&o.DeadLink, 15*time.Second)
	def(&o.DialTimeout, 5*time.Second)
	def(&o.BackoffMin, 100*time.Millisecond)
	def(&o.BackoffMax, 5*time.Second)
	if o.MaxLength == 0 {
		o.MaxLength = DefaultMaxLength
	}
	switch {
	case o.Addr == "":
		return errors.New("soupbin: Options.Addr is required")
	case o.Heartbeat < 0 || o.DeadLink <= o.Heartbeat:
		return fmt.Errorf("soupbin: heartbeat %v must be positive and below the dead-link timeout %v", o.Heartbeat, o.DeadLink)
	case o.DialTimeout < 0 || o.BackoffMin < 0 || o.BackoffMax < o.BackoffMin:
		return fmt.Errorf("soupbin: bad dial timeout %v or backoff %v..%v", o.DialTimeout, o.BackoffMin, o.BackoffMax)
	case o.MaxReconnect < 0:
		return fmt.Errorf("soupbin: MaxReconnect %d is negative", o.MaxReconnect)
	case o.MaxLength < loginAcceptedLen+1 || o.MaxLength > MaxLength:
		return fmt.Errorf("soupbin: MaxLength %d outside %d..%d", o.MaxLength, loginAcceptedLen+1, MaxLength)
	}
	return o.Credentials.Validate()
}

// Stats are the client's counters; read them with Client.Stats.
type Stats struct {
	Messages   uint64 // sequenced messages handed on
	Heartbeats uint64 // server heartbeats received
	Logins     uint64 // logins accepted
	Disconnect uint64 // connections lost (then retried)
	SeqJumps   uint64 // logins accepted at a sequence past the one asked (messages skipped)
}

// Client is a SoupBinTCP client. Run it from one goroutine.
type Client struct {
	opts    Options
	next    atomic.Uint64 // next expected sequence; 0 until the first login
	session atomic.Value  // string: the session accepted at the first login

	msgs, hbs, logins, discs, jumps atomic.Uint64

	wmu  sync.Mutex // guards writes to conn (heartbeats, logout, unsequenced)
	conn net.Conn
	last atomic.Int64 // unix ns of the last send
}

// NewClient validates opts; nothing is dialled until Run.
func NewClient(opts Options) (*Client, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts}
	c.session.Store(opts.Credentials.Session)
	return c, nil
}

// NextSeq is the sequence of the next message expected (0 before the first login).
func (c *Client) NextSeq() uint64 { return c.next.Load() }

// Session is the session name the server accepted (or the one asked for).
func (c *Client) Session() string { return c.session.Load().(string) }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Messages: c.msgs.Load(), Heartbeats: c.hbs.Load(), Logins: c.logins.Load(),
		Disconnect: c.discs.Load(), SeqJumps: c.jumps.Load()}
}

// Run connects, logs in and hands each sequenced message to h with its
// sequence number, in order, each exactly once across reconnects. msg is
// valid only during the call. h runs on Run's goroutine (the read loop): keep
// it short. On a lost link Run reconnects with backoff and asks for the next
// expected sequence. It returns ErrEndOfSession, a *LoginRejectedError, a
// *SessionMismatchError, the last connection error after MaxReconnect
// failures, or nil once ctx is done (after sending a logout).
func (c *Client) Run(ctx context.Context, h func(seq uint64, msg []byte)) error {
	backoff := c.opts.BackoffMin
	fails := 0
	for {
		healthy, err := c.session1(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		if final(err) {
			return err
		}
		c.discs.Add(1)
		if c.opts.OnDisconnect != nil {
			c.opts.OnDisconnect(err)
		}
		if healthy { // the link worked: start the backoff afresh
			backoff, fails = c.opts.BackoffMin, 0
		}
		fails++
		if c.opts.MaxReconnect > 0 && fails > c.opts.MaxReconnect {
			return fmt.Errorf("soupbin: giving up after %d reconnect attempts: %w", c.opts.MaxReconnect, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, c.opts.BackoffMax)
	}
}

// final reports an outcome reconnecting would not change.
func final(err error) bool {
	var (
		rej      *LoginRejectedError
		mismatch *SessionMismatchError
	)
	return errors.Is(err, ErrEndOfSession) || errors.As(err, &rej) || errors.As(err, &mismatch)
}

// session1 runs one connection: dial, login, read until it ends. healthy
// reports that the server sent something after accepting the login, and
// did not end the link with a packet the client cannot read (garbled).
func (c *Client) session1(ctx context.Context, h func(uint64, []byte)) (healthy bool, err error) {
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.opts.Addr)
	if err != nil {
		return false, fmt.Errorf("soupbin: dial %s: %w", c.opts.Addr, err)
	}
	defer conn.Close()
	c.wmu.Lock()
	c.conn = conn
	c.wmu.Unlock()
	defer func() {
		c.wmu.Lock()
		c.conn = nil
		c.wmu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() {
		c.send(TypeLogout, nil)
		conn.Close()
	})
	defer stop()

	want := c.next.Load()
	if want == 0 {
		want = c.opts.Sequence
	}
	cr := c.opts.Credentials
	cr.Session = c.Session()
	if err := c.write(AppendLoginRequest(nil, cr, want)); err != nil {
		return false, err
	}
	rd := NewReader(&deadlineConn{c: conn, d: c.opts.DeadLink}, c.opts.MaxLength)
	typ, p, err := rd.Next()
	if err != nil {
		return false, c.readErr(err)
	}
	switch typ {
	case TypeLoginAccepted:
	case TypeLoginRejected:
		reason := byte(0)
		if len(p) > 0 {
			reason = p[0]
		}
		return false, &LoginRejectedError{Reason: reason, User: cr.Username}
	default:
		return false, fmt.Errorf("soupbin: expected login reply, got packet type %q", typ)
	}
	session, seq, err := ParseLoginAccepted(p)
	switch {
	case err != nil:
		return false, err
	case cr.Session != "" && string(session) != cr.Session:
		return false, &SessionMismatchError{Asked: cr.Session, Got: string(session)}
	case seq == 0:
		return false, fmt.Errorf("%w: login accepted at sequence 0 (sequences start at 1)", ErrBadSequence)
	}
	if want != 0 && seq > want {
		c.jumps.Add(1)
	}
	c.session.Store(string(session))
	c.logins.Add(1)
	// A server may restart below what we asked for: messages before want
	// were handed on already, so they are skipped, never repeated.
	next, expect := seq, max(seq, want)
	c.next.Store(expect)

	hbDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.heartbeats(hbDone) }()
	defer func() { close(hbDone); wg.Wait() }()
	for {
		if c.opts.OnBatchEnd != nil && !rd.Ready() {
			c.opts.OnBatchEnd()
		}
		typ, p, err := rd.Next()
		if err != nil {
			return healthy && !garbled(err), c.readErr(err)
		}
		healthy = true
		switch typ {
		case TypeSequenced:
			if next >= expect {
				h(next, p)
				c.next.Store(next + 1)
				c.msgs.Add(1)
			}
			next++
		case TypeServerHeartbeat:
			c.hbs.Add(1)
		case TypeUnsequenced:
			if c.opts.OnUnsequenced != nil {
				c.opts.OnUnsequenced(p)
			}
		case TypeEndOfSession:
			c.send(TypeLogout, nil)
			return healthy, ErrEndOfSession
		case TypeDebug:
		default: // garbled too
			return false, fmt.Errorf("soupbin: unexpected packet type %q after login (sequence %d)", typ, next)
		}
	}
}

// garbled reports a packet the client cannot read: the server will send it
// again on the next connection, so the link it ended did not work (the
// backoff goes on, as from a refused dial, instead of redialling every
// BackoffMin for ever).
func garbled(err error) bool {
	return errors.Is(err, ErrEmptyPacket) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnknownType)
}

func (c *Client) readErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w (%v): %v", ErrDeadLink, c.opts.DeadLink, err)
	}
	return fmt.Errorf("soupbin: read: %w", err)
}

// heartbeats sends 'R' whenever nothing was sent for a heartbeat interval.
func (c *Client) heartbeats(done <-chan struct{}) {
	t := time.NewTicker(c.opts.Heartbeat / 4)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if now.UnixNano()-c.last.Load() >= int64(c.opts.Heartbeat) {
				c.send(TypeClientHeartbeat, nil)
			}
		}
	}
}

// SendUnsequenced sends a 'U' packet on the current connection.
func (c *Client) SendUnsequenced(msg []byte) error {
	if len(msg)+1 > c.opts.MaxLength {
		return fmt.Errorf("soupbin: unsequenced message of %d bytes: %w", len(msg), ErrTooLarge)
	}
	return c.send(TypeUnsequenced, msg)
}

func (c *Client) send(typ byte, payload []byte) error {
	return c.write(AppendPacket(make([]byte, 0, 3+len(payload)), typ, payload))
}

func (c *Client) write(pkt []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.conn == nil {
		return errors.New("soupbin: not connected")
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.DeadLink))
	if _, err := c.conn.Write(pkt); err != nil {
		return fmt.Errorf("soupbin: write: %w", err)
	}
	c.last.Store(time.Now().UnixNano())
	return nil
}
