// Package gzipfile reads a file that may be gzip-compressed, told by its
// magic bytes (1f 8b), member after member as gzip(1) does, and tells
// apart the two ways such a file ends badly: a member cut short (a partial
// copy: io.ErrUnexpectedEOF, as compress/gzip says) and bytes after the
// last member that start no other (a newline appended, a padded copy:
// ErrTrailingGarbage, where compress/gzip reports a few such bytes as a
// header cut short and more as gzip.ErrHeader).
package gzipfile

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
)

// ErrTrailingGarbage ends a gzip file whose last member is followed by
// bytes that start no other: everything before them was read whole.
var ErrTrailingGarbage = errors.New("bytes after the gzip stream's end are not gzip (trailing garbage)")

// Open returns a reader of what br holds: decompressed, and true, when it
// starts with the gzip magic; br itself, and false, otherwise. It fails
// only on a broken first gzip header.
func Open(br *bufio.Reader) (io.Reader, bool, error) {
	if !atMember(br) {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, true, err
	}
	zr.Multistream(false)
	return &members{br: br, zr: zr}, true, nil
}

// atMember reports whether br's next bytes are the gzip magic.
func atMember(br *bufio.Reader) bool {
	magic, _ := br.Peek(2)
	return len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

// members reads one gzip member after another.
type members struct {
	br *bufio.Reader
	zr *gzip.Reader
}

func (m *members) Read(b []byte) (int, error) {
	n, err := m.zr.Read(b)
	if err != io.EOF { // io.EOF: a member ended whole
		return n, err
	}
	if next, err := m.br.Peek(1); len(next) == 0 {
		return n, err // io.EOF: the file ends with the member; else a read failed
	}
	if !atMember(m.br) {
		return n, ErrTrailingGarbage
	}
	if err := m.zr.Reset(m.br); err != nil { // the next member's header cut short: io.ErrUnexpectedEOF
		return n, err
	}
	m.zr.Multistream(false)
	return n, nil
}
