package mold

import (
	"encoding/binary"
	"errors"
)

const (
	// HeaderLen is the size of the packet header (and of a request).
	HeaderLen = 20
	// SessionLen is the width of the session field.
	SessionLen = 10
	// CountEndOfSession in the count field marks the end of the session.
	CountEndOfSession = 0xFFFF
	// MaxDatagram is the largest UDP payload over IPv4.
	MaxDatagram = 65507
)

// Parse errors; Parse returns them bare and never allocates.
var (
	ErrShort     = errors.New("mold: packet shorter than the 20-byte header")
	ErrTruncated = errors.New("mold: message block runs past the end of the packet")
	ErrTrailing  = errors.New("mold: bytes after the last message block")
	ErrSeqWrap   = errors.New("mold: sequence number plus count overflows")
)

// Session is the 10-byte session field, kept as an array so comparing and
// copying it never allocates.
type Session [SessionLen]byte

// MakeSession pads s with spaces (it must be at most 10 bytes).
func MakeSession(s string) (Session, error) {
	var ss Session
	if len(s) > SessionLen {
		return ss, errors.New("mold: session name longer than 10 bytes")
	}
	n := copy(ss[:], s)
	for i := n; i < SessionLen; i++ {
		ss[i] = ' '
	}
	return ss, nil
}

// String is the session name without its padding.
func (s Session) String() string {
	n := SessionLen
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return string(s[:n])
}

// Packet is a parsed MoldUDP64 packet. Its blocks alias the parsed buffer.
type Packet struct {
	Session Session
	Seq     uint64 // sequence of the first message (heartbeat, end: the next one)
	Count   uint16 // messages; 0 heartbeat; CountEndOfSession end of session
	blocks  []byte
}

// Heartbeat reports a count of 0.
func (p *Packet) Heartbeat() bool { return p.Count == 0 }

// End reports the end-of-session marker.
func (p *Packet) End() bool { return p.Count == CountEndOfSession }

// Messages is the number of messages carried (0 for heartbeat and end).
func (p *Packet) Messages() int {
	if p.Count == CountEndOfSession {
		return 0
	}
	return int(p.Count)
}

// Parse validates a whole packet: the header, then every message block
// against the count, with nothing left over. It never allocates; the
// Packet's messages alias b.
func Parse(b []byte) (Packet, error) {
	var p Packet
	if len(b) < HeaderLen {
		return p, ErrShort
	}
	_ = b[HeaderLen-1]
	copy(p.Session[:], b[:SessionLen])
	p.Seq = binary.BigEndian.Uint64(b[10:18])
	p.Count = binary.BigEndian.Uint16(b[18:20])
	body := b[HeaderLen:]
	n := p.Messages()
	if p.Seq+uint64(n) < p.Seq {
		return p, ErrSeqWrap
	}
	off := 0
	for range n {
		if len(body)-off < 2 {
			return p, ErrTruncated
		}
		l := int(binary.BigEndian.Uint16(body[off:]))
		off += 2 + l
		if off > len(body) {
			return p, ErrTruncated
		}
	}
	if off != len(body) {
		return p, ErrTrailing
	}
	p.blocks = body
	return p, nil
}

// ErrBadRequest: a retransmission request is exactly a header with a count
// of 1..0xFFFE.
var ErrBadRequest = errors.New("mold: malformed retransmission request")

// ParseRequest reads a retransmission request: the session, the first
// sequence wanted and how many.
func ParseRequest(b []byte) (s Session, seq uint64, count uint16, err error) {
	if len(b) != HeaderLen {
		return s, 0, 0, ErrBadRequest
	}
	copy(s[:], b[:SessionLen])
	seq = binary.BigEndian.Uint64(b[10:18])
	count = binary.BigEndian.Uint16(b[18:20])
	if count == 0 || count == CountEndOfSession {
		return s, 0, 0, ErrBadRequest
	}
	return s, seq, count, nil
}

// Iter walks a parsed packet's messages.
type Iter struct {
	b   []byte
	seq uint64
}

// Iter starts at the first message.
func (p *Packet) Iter() Iter { return Iter{b: p.blocks, seq: p.Seq} }

// Next returns the next message and its sequence; ok is false at the end.
// msg aliases the parsed buffer. Parse has checked the bounds.
func (it *Iter) Next() (seq uint64, msg []byte, ok bool) {
	if len(it.b) < 2 {
		return 0, nil, false
	}
	l := int(binary.BigEndian.Uint16(it.b))
	msg, it.b = it.b[2:2+l:2+l], it.b[2+l:]
	seq = it.seq
	it.seq++
	return seq, msg, true
}

// AppendHeader appends a packet header (also the form of a request).
func AppendHeader(dst []byte, s Session, seq uint64, count uint16) []byte {
	dst = append(dst, s[:]...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return binary.BigEndian.AppendUint16(dst, count)
}

// AppendMessage appends one message block (len(msg) must be <= 0xFFFF).
func AppendMessage(dst, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(msg)))
	return append(dst, msg...)
}

// SetCount rewrites the count of the packet started at pkt[0].
func SetCount(pkt []byte, count uint16) { binary.BigEndian.PutUint16(pkt[18:20], count) }
