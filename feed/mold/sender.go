package mold

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// SenderOptions configure a Sender. Zero fields take the defaults noted.
type SenderOptions struct {
	Session   string // required, at most 10 bytes
	Addr      string // required: destination host:port (a multicast group works)
	Local     string // local address to send from; default "0.0.0.0:0": the route's (a group leaves by the interface a Receiver without one joins on)
	MaxPacket int    // datagram size limit including the header; default 1400
	FirstSeq  uint64 // sequence of the first message; default 1

	// Drop, when set, is asked before each data packet is written; true skips
	// the write (the sequence still advances), simulating loss on the line.
	Drop func(seq uint64, count int) bool
}

// Sender packs messages into MoldUDP64 packets on one line. It is not safe
// for concurrent use: one producer goroutine drives it.
type Sender struct {
	opts    SenderOptions
	session Session
	conn    *net.UDPConn
	pkt     []byte // the packet being filled
	count   int    // messages in pkt
	next    uint64 // sequence of the next message added
	refused uint64 // datagrams refused by the destination (see write)
}

// NewSender validates opts and opens the socket.
func NewSender(opts SenderOptions) (*Sender, error) {
	if opts.Local == "" {
		// Not 127.0.0.1: from there a group leaves by lo (which carries no
		// multicast on most Linux hosts, and no receiver joins by default),
		// and another host cannot be reached at all.
		opts.Local = "0.0.0.0:0"
	}
	if opts.MaxPacket == 0 {
		opts.MaxPacket = 1400
	}
	if opts.FirstSeq == 0 {
		opts.FirstSeq = 1
	}
	ss, err := MakeSession(opts.Session)
	switch {
	case err != nil:
		return nil, err
	case opts.Session == "" || opts.Addr == "":
		return nil, errors.New("mold: SenderOptions.Session and Addr are required")
	case opts.MaxPacket < HeaderLen+3 || opts.MaxPacket > MaxDatagram:
		return nil, fmt.Errorf("mold: MaxPacket %d outside %d..%d", opts.MaxPacket, HeaderLen+3, MaxDatagram)
	}
	raddr, err := net.ResolveUDPAddr("udp4", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mold: sender address: %w", err)
	}
	laddr, err := net.ResolveUDPAddr("udp4", opts.Local)
	if err != nil {
		return nil, fmt.Errorf("mold: sender local address: %w", err)
	}
	conn, err := net.DialUDP("udp4", laddr, raddr)
	if err != nil {
		return nil, fmt.Errorf("mold: sender: %w", err)
	}
	s := &Sender{opts: opts, session: ss, conn: conn, next: opts.FirstSeq, pkt: make([]byte, 0, opts.MaxPacket)}
	s.pkt = AppendHeader(s.pkt, ss, s.next, 0)
	return s, nil
}

// Next is the sequence the next added message will get.
func (s *Sender) Next() uint64 { return s.next }

// Add packs msg into the current packet, first sending that packet if msg
// would not fit. It returns msg's sequence.
func (s *Sender) Add(msg []byte) (uint64, error) {
	if HeaderLen+2+len(msg) > s.opts.MaxPacket {
		return 0, fmt.Errorf("mold: message of %d bytes does not fit a %d-byte packet", len(msg), s.opts.MaxPacket)
	}
	if len(s.pkt)+2+len(msg) > s.opts.MaxPacket || s.count == CountEndOfSession-1 {
		if err := s.Flush(); err != nil {
			return 0, err
		}
	}
	s.pkt = AppendMessage(s.pkt, msg)
	s.count++
	seq := s.next
	s.next++
	return seq, nil
}

// Flush sends the current packet, if it holds any message.
func (s *Sender) Flush() error {
	if s.count == 0 {
		return nil
	}
	first := s.next - uint64(s.count)
	SetCount(s.pkt, uint16(s.count))
	var err error
	if s.opts.Drop == nil || !s.opts.Drop(first, s.count) {
		err = s.write(s.pkt)
	}
	s.pkt = AppendHeader(s.pkt[:0], s.session, s.next, 0)
	s.count = 0
	if err != nil {
		return fmt.Errorf("mold: send sequence %d: %w", first, err)
	}
	return nil
}

// Heartbeat flushes, then sends a heartbeat carrying the next sequence.
func (s *Sender) Heartbeat() error { return s.control(0) }

// End flushes, then sends the end-of-session marker.
func (s *Sender) End() error { return s.control(CountEndOfSession) }

func (s *Sender) control(count uint16) error {
	if err := s.Flush(); err != nil {
		return err
	}
	if err := s.write(AppendHeader(make([]byte, 0, HeaderLen), s.session, s.next, count)); err != nil {
		return fmt.Errorf("mold: send control packet: %w", err)
	}
	return nil
}

// write sends one datagram. A refusal (ICMP port unreachable from an
// earlier datagram: nobody listens at a unicast destination yet) loses
// the datagram as a real line would, and is counted, not returned: the
// session goes on and receivers recover through the rewind server.
func (s *Sender) write(pkt []byte) error {
	_, err := s.conn.Write(pkt)
	if errors.Is(err, syscall.ECONNREFUSED) {
		s.refused++
		return nil
	}
	return err
}

// Refused returns how many datagrams were lost because the destination
// refused them (nothing was listening there).
func (s *Sender) Refused() uint64 { return s.refused }

// Close closes the socket (without flushing).
func (s *Sender) Close() error { return s.conn.Close() }

// Store is where a RewindServer finds past messages by sequence (1-based);
// soupbin.Store satisfies it. The slice is only read.
type Store interface {
	Message(seq uint64) ([]byte, bool)
}

// RewindOptions configure a RewindServer.
type RewindOptions struct {
	Addr      string // listen address; default "127.0.0.1:0"
	Session   string // required: requests for other sessions are ignored
	Store     Store  // required
	MaxPacket int    // answer size limit including the header; default 1400
}

// RewindServer answers retransmission requests from a Store with one packet
// each, holding as many of the requested messages as fit.
type RewindServer struct {
	opts    RewindOptions
	session Session
	conn    *net.UDPConn
}

// NewRewindServer validates opts and binds the socket; call Serve.
func NewRewindServer(opts RewindOptions) (*RewindServer, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.MaxPacket == 0 {
		opts.MaxPacket = 1400
	}
	ss, err := MakeSession(opts.Session)
	switch {
	case err != nil:
		return nil, err
	case opts.Session == "" || opts.Store == nil:
		return nil, errors.New("mold: RewindOptions.Session and Store are required")
	case opts.MaxPacket < HeaderLen+3 || opts.MaxPacket > MaxDatagram:
		return nil, fmt.Errorf("mold: MaxPacket %d outside %d..%d", opts.MaxPacket, HeaderLen+3, MaxDatagram)
	}
	laddr, err := net.ResolveUDPAddr("udp4", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mold: rewind address: %w", err)
	}
	conn, err := net.ListenUDP("udp4", laddr)
	if err != nil {
		return nil, fmt.Errorf("mold: rewind: %w", err)
	}
	return &RewindServer{opts: opts, session: ss, conn: conn}, nil
}

// Addr is the address requests go to.
func (s *RewindServer) Addr() net.Addr { return s.conn.LocalAddr() }

// Serve answers requests until ctx is done.
func (s *RewindServer) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	defer s.conn.Close()
	req := make([]byte, 512)
	out := make([]byte, 0, s.opts.MaxPacket)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mold: rewind read: %w", err)
		}
		ss, seq, count, err := ParseRequest(req[:n])
		if err != nil || ss != s.session {
			continue
		}
		out = s.answer(out[:0], seq, int(count))
		if out != nil {
			s.conn.WriteToUDPAddrPort(out, from)
		}
	}
}

// answer packs messages seq.. (at most count, as many as fit) into dst, or
// returns nil when the store has none of them.
func (s *RewindServer) answer(dst []byte, seq uint64, count int) []byte {
	dst = AppendHeader(dst, s.session, seq, 0)
	n := 0
	for ; n < count; n++ {
		msg, ok := s.opts.Store.Message(seq + uint64(n))
		if !ok || len(dst)+2+len(msg) > s.opts.MaxPacket {
			break
		}
		dst = AppendMessage(dst, msg)
	}
	if n == 0 {
		return nil
	}
	SetCount(dst, uint16(n))
	return dst
}
