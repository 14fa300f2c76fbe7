package itch

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"

	"github.com/tickd/tickd/tick"
)

// fileBufSize bounds a FileReader's memory: it holds the largest possible
// frame (2 + 65535 bytes) with room to spare, whatever the file's size.
const fileBufSize = 1 << 17

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
	br := bufio.NewReaderSize(r, 4096)
	f := &FileReader{src: br, buf: make([]byte, fileBufSize)}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, errors.New("itch: gzip header: " + err.Error())
		}
		f.src, f.gz = zr, true
	}
	return f, nil
}

// Compressed reports whether the file is gzip-compressed.
func (f *FileReader) Compressed() bool { return f.gz }

// Next returns the next message without its length prefix. The slice
// aliases the reader's buffer and is valid only until the next call to Next,
// like bufio.Reader.Peek: copy what must outlive it.
//
// At the end of the session (a zero length prefix, or the end of the file
// between messages) Next returns io.EOF. A file that ends inside a frame
// gives ReasonTruncated; a read error is returned as is. Errors are sticky.
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
	if n == 0 {
		f.r += 2
		f.err = io.EOF
		return nil, io.EOF
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
