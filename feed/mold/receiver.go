package mold

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrEndOfSession is returned by Receiver.Run once the end-of-session marker
// has arrived and every message before it was handed on or given up.
var ErrEndOfSession = errors.New("mold: end of session")

// ReceiverOptions configure a Receiver. Zero fields take the defaults noted.
type ReceiverOptions struct {
	// Lines are the addresses to listen on: one, or two for A/B arbitration.
	// A multicast group address (e.g. "239.1.1.1:26400") is joined on
	// Interface; anything else is bound as unicast.
	Lines     []string
	Interface string // multicast interface name (e.g. "eth1"); "" lets the system choose

	Session string // expected session; "" adopts the first one seen
	Next    uint64 // first sequence expected; 0 starts at the first packet seen

	Rewind        string        // rewind server host:port; "" means gaps are only waited out
	MaxRequest    int           // messages asked for per request; default 64, and never more than an answer of MaxMessage-byte messages in MaxPacket holds
	RetryInterval time.Duration // wait for an answer before asking again; default 100ms
	MaxAttempts   int           // requests per gap before giving up; default 5
	MaxHeld       int           // packets held back behind a gap; default 1024 (more: give up)
	MaxJump       uint64        // a packet more than this many messages past the highest sequence seen is believed only once a second one confirms the jump; default 1<<20
	MaxPacket     int           // largest datagram read; default 1500
	MaxMessage    int           // longest message the feed carries; default 50 (ITCH 5.0's longest)
	ReadBuffer    int           // socket receive buffer asked of the kernel; default 4 MiB (capped by net.core.rmem_max)

	// OnGap is told of messages given up for lost, on Run's goroutine.
	OnGap func(first, count uint64)
	// OnBatchEnd runs on Run's goroutine after each datagram of the session
	// (data or heartbeat) or retry timeout has been handled, i.e. after the
	// messages it released were handed on: a consumer commits one batch per
	// datagram, and may take a call as the session heard from. Malformed
	// datagrams and another session's release nothing and do not call it.
	// nil ignores.
	OnBatchEnd func()
}

func (o *ReceiverOptions) setDefaults() error {
	if o.MaxRequest == 0 {
		o.MaxRequest = 64
	}
	if o.RetryInterval == 0 {
		o.RetryInterval = 100 * time.Millisecond
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.MaxHeld == 0 {
		o.MaxHeld = 1024
	}
	if o.MaxPacket == 0 {
		o.MaxPacket = 1500
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = 50
	}
	if o.MaxJump == 0 {
		o.MaxJump = 1 << 20
	}
	if o.ReadBuffer == 0 {
		o.ReadBuffer = 4 << 20
	}
	switch {
	case len(o.Lines) < 1 || len(o.Lines) > 2:
		return fmt.Errorf("mold: %d lines given, want 1 or 2 (A/B)", len(o.Lines))
	case o.MaxRequest < 1 || o.MaxRequest >= CountEndOfSession:
		return fmt.Errorf("mold: MaxRequest %d outside 1..65534", o.MaxRequest)
	case o.RetryInterval < 0 || o.MaxAttempts < 1 || o.MaxHeld < 1:
		return fmt.Errorf("mold: bad retry interval %v, attempts %d or held %d", o.RetryInterval, o.MaxAttempts, o.MaxHeld)
	case o.MaxPacket < HeaderLen || o.MaxPacket > MaxDatagram:
		return fmt.Errorf("mold: MaxPacket %d outside %d..%d", o.MaxPacket, HeaderLen, MaxDatagram)
	case o.MaxMessage < 1 || HeaderLen+2+o.MaxMessage > o.MaxPacket:
		return fmt.Errorf("mold: MaxMessage %d: want 1.., with one block fitting MaxPacket %d", o.MaxMessage, o.MaxPacket)
	}
	if len(o.Session) > SessionLen {
		return fmt.Errorf("mold: session %q longer than 10 bytes", o.Session)
	}
	return nil
}

// maxAsk is the count a retransmission request asks for at most: a rewind
// server answers with one packet, which must not outgrow the datagrams read
// (the socket would truncate it and the gap could never fill).
func (o *ReceiverOptions) maxAsk() uint64 {
	return uint64(min(o.MaxRequest, (o.MaxPacket-HeaderLen)/(2+o.MaxMessage)))
}

// Stats are the receiver's counters.
type Stats struct {
	Packets      uint64 // datagrams read, all lines and the rewind server
	Messages     uint64 // handed on
	Duplicates   uint64 // messages dropped as already handed on (the slower line, repeats)
	Gaps         uint64 // gaps given up
	Lost         uint64 // messages in those gaps
	Requests     uint64 // retransmission requests sent
	Malformed    uint64 // datagrams that failed Parse
	WrongSession uint64 // datagrams of another session
	// Lines counts the datagrams read on line A and line B (0 without a B
	// line). A line that reads nothing while the other carries the feed is
	// down: the session goes on, without its redundancy.
	Lines [2]uint64
}

type counters struct {
	packets, messages, dups, gaps, lost, requests, malformed, wrong atomic.Uint64
	lines                                                           [2]atomic.Uint64
}

// datagram is one read packet; buf is its pooled buffer.
type datagram struct {
	buf []byte
	n   int
}

// held is a packet waiting behind a gap.
type held struct {
	d     datagram
	first uint64
	at    time.Time // arrival: the gap before it has been seen since
}

// Receiver reads MoldUDP64 lines and hands on each message once, in order.
type Receiver struct {
	opts   ReceiverOptions
	lines  []*net.UDPConn
	rewind *net.UDPConn // nil without a rewind server
	st     counters

	in   chan datagram
	pool chan []byte
	quit chan struct{}
	once sync.Once

	// Run's state (one goroutine).
	session     Session
	haveSess    bool
	next        uint64    // next sequence to hand on; 0 until known
	high        uint64    // one past the highest sequence announced
	announcedAt time.Time // when a heartbeat last raised high
	endSeq      uint64
	ended       bool
	held        []held // sorted by first
	gapOpen     bool
	attempts    int
	askedAt     uint64    // next when the last request went out
	filledAt    time.Time // when a packet last filled (part of) an open gap
	timer       *time.Timer
	h           func(uint64, []byte)
	farSeq      uint64 // the sequence of an unconfirmed far jump (see ReceiverOptions.MaxJump); 0: none
}

// NewReceiver validates opts and binds every socket, so Addrs is known before Run.
func NewReceiver(opts ReceiverOptions) (*Receiver, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	r := &Receiver{opts: opts, next: opts.Next, in: make(chan datagram, 256),
		pool: make(chan []byte, opts.MaxHeld+256), quit: make(chan struct{})}
	if opts.Session != "" {
		r.session, _ = MakeSession(opts.Session)
		r.haveSess = true
	}
	for _, a := range opts.Lines {
		c, err := listen(a, opts.Interface)
		if err == nil {
			if err = c.SetReadBuffer(opts.ReadBuffer); err != nil {
				c.Close()
				err = fmt.Errorf("mold: line %s: read buffer: %w", a, err)
			}
		}
		if err != nil {
			r.Close()
			return nil, err
		}
		r.lines = append(r.lines, c)
	}
	if opts.Rewind != "" {
		ra, err := net.ResolveUDPAddr("udp4", opts.Rewind)
		if err == nil {
			r.rewind, err = net.DialUDP("udp4", nil, ra)
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("mold: rewind server %s: %w", opts.Rewind, err)
		}
	}
	return r, nil
}

// listen binds a line: a multicast group is joined, anything else bound.
func listen(addr, ifname string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("mold: line %s: %w", addr, err)
	}
	if !ua.IP.IsMulticast() {
		c, err := net.ListenUDP("udp4", ua)
		if err != nil {
			return nil, fmt.Errorf("mold: line %s: %w", addr, err)
		}
		return c, nil
	}
	var ifi *net.Interface
	if ifname != "" {
		if ifi, err = net.InterfaceByName(ifname); err != nil {
			return nil, fmt.Errorf("mold: line %s: interface %q: %w", addr, ifname, err)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("mold: line %s: interface %q does not support multicast (flags %v)", addr, ifname, ifi.Flags)
		}
	}
	c, err := listenGroup(ua, ifi)
	if err != nil {
		return nil, fmt.Errorf("mold: line %s: join multicast group on interface %q: %w", addr, ifname, err)
	}
	return c, nil
}

// Addrs are the bound line addresses, in the order of Lines.
func (r *Receiver) Addrs() []net.Addr {
	a := make([]net.Addr, len(r.lines))
	for i, c := range r.lines {
		a[i] = c.LocalAddr()
	}
	return a
}

// Stats returns the counters; safe from any goroutine.
func (r *Receiver) Stats() Stats {
	s := &r.st
	return Stats{Packets: s.packets.Load(), Messages: s.messages.Load(), Duplicates: s.dups.Load(),
		Gaps: s.gaps.Load(), Lost: s.lost.Load(), Requests: s.requests.Load(),
		Malformed: s.malformed.Load(), WrongSession: s.wrong.Load(),
		Lines: [2]uint64{s.lines[0].Load(), s.lines[1].Load()}}
}

// Close closes the sockets; Run does it on return, so Close is for a
// Receiver never run.
func (r *Receiver) Close() error {
	r.once.Do(func() {
		close(r.quit)
		for _, c := range r.lines {
			c.Close()
		}
		if r.rewind != nil {
			r.rewind.Close()
		}
	})
	return nil
}

// Run hands each message to h with its sequence, in order and once each,
// until ctx is done (nil) or the session ends (ErrEndOfSession). msg is valid
// only during the call; h runs on Run's goroutine. Run may be called once.
func (r *Receiver) Run(ctx context.Context, h func(seq uint64, msg []byte)) error {
	r.h = h
	var wg sync.WaitGroup
	for i, c := range r.lines {
		wg.Add(1)
		go func() { defer wg.Done(); r.read(c, &r.st.lines[i]) }()
	}
	if r.rewind != nil {
		wg.Add(1)
		go func() { defer wg.Done(); r.read(r.rewind, nil) }()
	}
	defer wg.Wait()
	defer r.Close()
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer r.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-r.in:
			if !r.packet(d) {
				continue
			}
		case <-r.timer.C:
			r.retry()
		}
		if r.opts.OnBatchEnd != nil {
			r.opts.OnBatchEnd()
		}
		if r.ended && r.next >= r.endSeq {
			return ErrEndOfSession
		}
	}
}

// read feeds one socket's datagrams to Run, reusing pooled buffers, and
// counts them in count (a line's; nil for the rewind server's answers).
func (r *Receiver) read(c *net.UDPConn, count *atomic.Uint64) {
	for {
		var buf []byte
		select {
		case buf = <-r.pool:
		default:
			buf = make([]byte, r.opts.MaxPacket)
		}
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.release(datagram{buf: buf}) // e.g. ICMP port unreachable from a rewind server not up
			continue
		}
		if count != nil {
			count.Add(1)
		}
		select {
		case r.in <- datagram{buf: buf, n: n}:
		case <-r.quit:
			return
		}
	}
}

func (r *Receiver) release(d datagram) {
	select {
	case r.pool <- d.buf:
	default:
	}
}
