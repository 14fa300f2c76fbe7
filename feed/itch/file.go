package itch

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/tickd/tickd/internal/gzipfile"
	"github.com/tickd/tickd/tick"
)

// fileBufSize bounds a FileReader's memory whatever the file's size: it is
// read in chunks this large, far more than one frame needs.
const fileBufSize = 1 << 17

// MaxFileMessage is the longest message a FileReader accepts. ITCH 5.0's
// longest is 50 bytes (I, NOII), but a message of a type the decoder does
// not know must still be skipped by its length, and NASDAQ adds types within
// the version (O, 48 bytes, in 2020): so the bound is 5 times that, not 50.
// At 255 the first byte of every valid prefix is zero, while a reader that
// lost the framing takes its lengths from inside messages, where a non-zero
// byte is usual (ASCII stocks and flags, times, prices): it stops there at
// once (a FramingError) instead of reading on through garbage.
const MaxFileMessage = 255

// FramingError reports a length prefix that no ITCH file holds: the input
// is not ITCH framing, or its framing was lost (a corrupt or shifted
// prefix). FileReader.Offset gives the position of the prefix.
type FramingError struct {
	Length int // the prefix; 0 when more data follows a zero (end of session) prefix
}

func (e *FramingError) Error() string {
	if e.Length == 0 {
		return "itch: data after the zero length prefix that ends the session: framing lost, or not ITCH framing"
	}
	return fmt.Sprintf("itch: length prefix %d, above the longest message (%d bytes): framing lost, or not ITCH framing", e.Length, MaxFileMessage)
}

// ErrGzipTruncated is returned when a gzip-compressed file ends inside its
// compressed stream: the file was cut short (a partial download or copy).
var ErrGzipTruncated = errors.New("itch: gzip stream ends early: the compressed file is truncated")

// FileReader reads a NASDAQ daily ITCH file: each message preceded by a
// 2-byte big-endian length that does not count itself, a zero length ending
// the session. The file may be gzip-compressed (detected by its magic bytes
// 1f 8b). It streams through a fixed buffer, so memory stays constant.
type FileReader struct {
	src  io.Reader
	buf  []byte
	r, w int   // unread bytes are buf[r:w]
	base int64 // stream offset of buf[0]
	last int   // length of the frame Next returned last, discarded on the next call
	err  error // sticky
	gz   bool
}

// NewFileReader returns a reader over r, which it reads through a small
// bufio.Reader to sniff the gzip magic. It fails only when the gzip header
// is broken.
func NewFileReader(r io.Reader) (*FileReader, error) {
	src, gz, err := gzipfile.Open(bufio.NewReaderSize(r, 4096))
	if err != nil {
		return nil, errors.New("itch: gzip header: " + err.Error())
	}
	return &FileReader{src: src, buf: make([]byte, fileBufSize), gz: gz}, nil
}

// Compressed reports whether the file is gzip-compressed.
func (f *FileReader) Compressed() bool { return f.gz }

// Next returns the next message without its length prefix. The slice
// aliases the reader's buffer and is valid only until the next call to Next,
// like bufio.Reader.Peek: copy what must outlive it.
//
// At the end of the session (a zero length prefix that ends the file, or
// the end of the file between messages) Next returns io.EOF. A prefix above
// MaxFileMessage, or data after a zero prefix, gives a *FramingError; a file
// that ends inside a frame, ReasonTruncated; a gzip stream cut short,
// ErrGzipTruncated; a read error is returned as is. After an error, Offset
// is where the frame it concerns starts. Errors are sticky.
func (f *FileReader) Next() ([]byte, error) {
	f.r += f.last
	f.last = 0
	if f.err != nil {
		return nil, f.err
	}
	if f.w-f.r < 2 {
		if err := f.fill(2); err != nil {
			return nil, err
		}
	}
	n := int(be.Uint16(f.buf[f.r:]))
	switch {
	case n == 0:
		return nil, f.endOfSession()
	case n > MaxFileMessage:
		f.err = &FramingError{Length: n}
		return nil, f.err
	}
	if f.w-f.r < 2+n {
		if err := f.fill(2 + n); err != nil {
			return nil, err
		}
	}
	f.last = 2 + n
	return f.buf[f.r+2 : f.r+2+n : f.r+2+n], nil
}

// Offset returns the offset, in the (decompressed) stream, of the length
// prefix of the message Next returned last.
func (f *FileReader) Offset() int64 { return f.base + int64(f.r) }

// endOfSession handles the zero length prefix at buf[r:]: the session ends
// there, so only the end of the file may follow it.
func (f *FileReader) endOfSession() error {
	switch err := f.fill(3); err {
	case nil:
		f.err = &FramingError{}
	case ReasonTruncated: // the prefix was all that was left
		f.err = io.EOF
	}
	return f.err
}

// fill reads until buf[r:w] holds at least need bytes.
func (f *FileReader) fill(need int) error {
	if len(f.buf)-f.r < need {
		copy(f.buf, f.buf[f.r:f.w])
		f.base += int64(f.r)
		f.w -= f.r
		f.r = 0
	}
	for empty := 0; f.w-f.r < need; {
		n, err := f.src.Read(f.buf[f.w:])
		f.w += n
		if f.w-f.r >= need {
			break
		}
		switch {
		case err == io.EOF && f.w == f.r:
			f.err = io.EOF
		case err == io.EOF:
			f.err = ReasonTruncated
		case f.gz && err == io.ErrUnexpectedEOF:
			f.err = ErrGzipTruncated
		case f.gz && err != nil:
			f.err = fmt.Errorf("itch: gzip stream: %w", err)
		case err != nil:
			f.err = err
		case n == 0:
			if empty++; empty >= 100 {
				f.err = io.ErrNoProgress
			}
		}
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

// EventSink receives decoded events in batches, written in place; feed.Sink
// and engine.Input satisfy it.
type EventSink interface {
	Claim(n int) []tick.Event // 1..n slots to decode into; nil when shutting down
	Commit(k int)             // publish the first k claimed slots
}

// ErrSinkClosed is returned by DecodeFile when the sink's Claim returns nil.
var ErrSinkClosed = errors.New("itch: sink closed")

// decodeBatch is how many slots DecodeFile claims at a time.
const decodeBatch = 256

// DecodeFile decodes every message of f with d into slots claimed from sink,
// a batch at a time, and ends with one KindEndOfStream event. A rejected
// message is counted by d, reported to onError (if not nil) with the offset of
// its length prefix, and skipped. It returns nil at the end of the session;
// otherwise the reader's error (after the EndOfStream event) or ErrSinkClosed.
func (d *Decoder) DecodeFile(f *FileReader, sink EventSink, onError func(offset int64, err error)) error {
	var rerr error
	for rerr == nil {
		slots := sink.Claim(decodeBatch)
		if slots == nil {
			return ErrSinkClosed
		}
		k := 0
		for k < len(slots) {
			msg, err := f.Next()
			if err != nil {
				rerr = err
				break
			}
			ok, err := d.Decode(msg, &slots[k])
			if err != nil && onError != nil {
				onError(f.Offset(), err)
			}
			if ok {
				k++
			}
		}
		sink.Commit(k)
	}
	slots := sink.Claim(1)
	if slots == nil {
		return ErrSinkClosed
	}
	d.EndOfStream(&slots[0])
	sink.Commit(1)
	if rerr == io.EOF {
		return nil
	}
	return rerr
}
