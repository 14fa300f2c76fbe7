package soupbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Packet types.
const (
	TypeDebug           byte = '+'
	TypeLoginAccepted   byte = 'A'
	TypeLoginRejected   byte = 'J'
	TypeSequenced       byte = 'S'
	TypeServerHeartbeat byte = 'H'
	TypeEndOfSession    byte = 'Z'
	TypeLoginRequest    byte = 'L'
	TypeUnsequenced     byte = 'U'
	TypeClientHeartbeat byte = 'R'
	TypeLogout          byte = 'O'
)

// Login rejection reasons.
const (
	RejectNotAuthorized      byte = 'A'
	RejectSessionUnavailable byte = 'S'
)

// Field widths of the login packets.
const (
	usernameLen = 6
	passwordLen = 10
	sessionLen  = 10
	seqLen      = 20

	loginRequestLen  = usernameLen + passwordLen + sessionLen + seqLen
	loginAcceptedLen = sessionLen + seqLen

	// MaxLength is the largest length field the wire can carry.
	MaxLength = 0xFFFF
	// DefaultMaxLength bounds packets when an option leaves it zero: ITCH
	// messages are at most 50 bytes, debug text rarely more than a line.
	DefaultMaxLength = 4096
)

// Parse errors. Parse returns them bare (no allocation); Reader wraps them
// with the stream offset.
var (
	ErrEmptyPacket  = errors.New("soupbin: packet length 0 (must count the type byte)")
	ErrTooLarge     = errors.New("soupbin: packet length exceeds the limit")
	ErrUnknownType  = errors.New("soupbin: unknown packet type")
	ErrBadLogin     = errors.New("soupbin: malformed login packet")
	ErrBadSequence  = errors.New("soupbin: sequence number is not a decimal number")
	ErrFieldTooLong = errors.New("soupbin: field longer than its wire width")
)

// knownTypes marks the packet types of SoupBinTCP 3.0, indexed by type byte.
var knownTypes = func() (t [256]bool) {
	for _, c := range []byte("+AJSHZLURO") {
		t[c] = true
	}
	return t
}()

// Parse reads one packet from the front of b, accepting length fields up to
// maxLen (1..MaxLength). It returns the type, the payload (aliasing b) and
// the number of bytes consumed. n == 0 with a nil error means b holds only
// part of a packet: append more input and call again. Parse never allocates.
func Parse(b []byte, maxLen int) (typ byte, payload []byte, n int, err error) {
	if len(b) < 2 {
		return 0, nil, 0, nil
	}
	l := int(binary.BigEndian.Uint16(b))
	switch {
	case l == 0:
		return 0, nil, 0, ErrEmptyPacket
	case l > maxLen:
		return 0, nil, 0, ErrTooLarge
	case len(b) < 2+l:
		return 0, nil, 0, nil
	}
	typ = b[2]
	if !knownTypes[typ] {
		return 0, nil, 0, ErrUnknownType
	}
	return typ, b[3 : 2+l : 2+l], 2 + l, nil
}

// Reader reads packets from a byte stream, however the stream splits them
// across reads. It owns one buffer and never allocates per packet.
type Reader struct {
	rd     io.Reader
	buf    []byte
	r, w   int   // unread bytes are buf[r:w]
	off    int64 // stream offset of buf[r]
	maxLen int
}

// NewReader returns a Reader accepting length fields up to maxLen (0 means
// DefaultMaxLength; values above MaxLength are clamped).
func NewReader(rd io.Reader, maxLen int) *Reader {
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	maxLen = min(maxLen, MaxLength)
	return &Reader{rd: rd, buf: make([]byte, max(2+maxLen, 32<<10)), maxLen: maxLen}
}

// Next returns the next packet. The payload aliases the Reader's buffer and is
// valid only until the next call to Next. At a clean end of stream it returns
// io.EOF; in the middle of a packet, an error wrapping io.ErrUnexpectedEOF
// that says where.
func (r *Reader) Next() (typ byte, payload []byte, err error) {
	for {
		typ, payload, n, err := Parse(r.buf[r.r:r.w], r.maxLen)
		if err != nil {
			return 0, nil, fmt.Errorf("%w (type %q, stream offset %d)", err, r.peekType(), r.off)
		}
		if n > 0 {
			r.r += n
			r.off += int64(n)
			return typ, payload, nil
		}
		if r.r > 0 { // keep the partial packet at the front so a whole one fits
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		m, err := r.rd.Read(r.buf[r.w:])
		r.w += m
		if m == 0 && err != nil {
			if err == io.EOF && r.w > r.r {
				return 0, nil, r.cutShort()
			}
			return 0, nil, err
		}
	}
}

// Ready reports whether Next would return without reading: a whole packet
// (or a malformed one) is already buffered. A client uses it to tell the end
// of a read burst, where it hands a batch on.
func (r *Reader) Ready() bool {
	_, _, n, err := Parse(r.buf[r.r:r.w], r.maxLen)
	return n > 0 || err != nil
}

// cutShort describes a stream that ended inside the buffered packet: a
// connection cut mid-packet says which packet, and where in the stream.
func (r *Reader) cutShort() error {
	n := r.w - r.r
	if n < 2 {
		return fmt.Errorf("%w: stream ended inside a packet's length field (stream offset %d)", io.ErrUnexpectedEOF, r.off)
	}
	return fmt.Errorf("%w: stream ended %d bytes into a packet of %d (type %q, stream offset %d)",
		io.ErrUnexpectedEOF, n, 2+int(binary.BigEndian.Uint16(r.buf[r.r:])), r.peekType(), r.off)
}

func (r *Reader) peekType() byte {
	if r.w-r.r >= 3 {
		return r.buf[r.r+2]
	}
	return 0
}

// Reset discards buffered input and reads from rd from offset 0, keeping the buffer.
func (r *Reader) Reset(rd io.Reader) {
	r.rd, r.r, r.w, r.off = rd, 0, 0, 0
}

// AppendPacket appends a packet of type typ carrying payload to dst.
func AppendPacket(dst []byte, typ byte, payload []byte) []byte {
	l := 1 + len(payload)
	dst = append(dst, byte(l>>8), byte(l), typ)
	return append(dst, payload...)
}

// appendField appends s left-justified and right-padded to width w.
func appendField(dst []byte, s string, w int) []byte {
	dst = append(dst, s...)
	for i := len(s); i < w; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

func appendSeq(dst []byte, seq uint64) []byte {
	start := len(dst)
	dst = strconv.AppendUint(dst, seq, 10)
	for i := len(dst) - start; i < seqLen; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// AppendLoginRequest appends an 'L' packet. The fields must fit their widths
// (Credentials.Validate checks that).
func AppendLoginRequest(dst []byte, c Credentials, seq uint64) []byte {
	dst = append(dst, 0, 1+loginRequestLen, TypeLoginRequest)
	dst = appendField(dst, c.Username, usernameLen)
	dst = appendField(dst, c.Password, passwordLen)
	dst = appendField(dst, c.Session, sessionLen)
	return appendSeq(dst, seq)
}

// AppendLoginAccepted appends an 'A' packet: the session and the sequence of
// the next message the server will send.
func AppendLoginAccepted(dst []byte, session string, seq uint64) []byte {
	dst = append(dst, 0, 1+loginAcceptedLen, TypeLoginAccepted)
	dst = appendField(dst, session, sessionLen)
	return appendSeq(dst, seq)
}

// ParseLoginRequest splits an 'L' payload. Fields are trimmed of spaces and
// alias p.
func ParseLoginRequest(p []byte) (user, pass, session []byte, seq uint64, err error) {
	if len(p) != loginRequestLen {
		return nil, nil, nil, 0, ErrBadLogin
	}
	user = trim(p[:usernameLen])
	pass = trim(p[usernameLen : usernameLen+passwordLen])
	session = trim(p[usernameLen+passwordLen : usernameLen+passwordLen+sessionLen])
	seq, err = parseSeq(p[loginRequestLen-seqLen:])
	return user, pass, session, seq, err
}

// ParseLoginAccepted splits an 'A' payload; session is trimmed and aliases p.
func ParseLoginAccepted(p []byte) (session []byte, seq uint64, err error) {
	if len(p) != loginAcceptedLen {
		return nil, 0, ErrBadLogin
	}
	seq, err = parseSeq(p[sessionLen:])
	return trim(p[:sessionLen]), seq, err
}

// parseSeq reads a space-padded decimal; all spaces means 0.
func parseSeq(b []byte) (uint64, error) {
	b = trim(b)
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if c < '0' || c > '9' || v > (1<<64-1-d)/10 {
			return 0, ErrBadSequence
		}
		v = v*10 + d
	}
	return v, nil
}

func trim(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
