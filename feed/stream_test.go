package feed

import (
	"bytes"
	"io"
	"testing"

	"github.com/tickd/tickd/tick"
)

// ReadStream runs the pump over any reader: every event reaches the sink,
// the tap sees the stream, and the sink is closed.
func TestReadStream(t *testing.T) {
	const n = 3000
	stream := connStream("PIPE", n)
	l := newTapLog()
	syms := tick.NewSymbolTable(64)
	sink := &testSink{}
	r := &splitReader{b: stream, max: 997}
	if err := ReadStream("pipe", r, sink, Options{Symbols: syms, Tap: l, ReadBuffer: 1024, MaxFrame: 256, Clock: func() int64 { return 42 }}); err != nil {
		t.Fatal(err)
	}
	ev, closed := sink.snapshot()
	if !closed {
		t.Fatal("sink not closed")
	}
	checkConnEvents(t, ev, syms, "PIPE", n)
	var got []byte
	for _, c := range l.data[1] {
		got = append(got, c...)
	}
	if !bytes.Equal(got, stream) {
		t.Fatalf("tap saw %d bytes of %d", len(got), len(stream))
	}
	if err := ReadStream("bad", bytes.NewReader(nil), &testSink{}, Options{Symbols: syms, ReadBuffer: 1}); err == nil {
		t.Fatal("ReadStream took a 1-byte read buffer")
	}
}

// splitReader yields b in reads of at most max bytes.
type splitReader struct {
	b   []byte
	max int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.max)], r.b)
	r.b = r.b[n:]
	return n, nil
}
