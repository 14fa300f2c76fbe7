package itch

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tickd/tickd/internal/gzipfile"
	"github.com/tickd/tickd/tick"
)

// samplePath is the real sample beside the repository (../shared/data, as
// the other packages' tests find it), not at one machine's absolute path.
const samplePath = "../../../shared/data/bx-itch50-sample.itch"

// readSample returns the sample file, or skips the test when it is absent.
func readSample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(samplePath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("sample ITCH file %s is absent; skipping the real-file test", samplePath)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readAll collects copies of every message of r and the error that ended it.
func readAll(t testing.TB, r io.Reader) ([][]byte, error) {
	t.Helper()
	f, err := NewFileReader(r)
	if err != nil {
		t.Fatal(err)
	}
	return readRest(f)
}

// readRest collects copies of f's remaining messages and the error that ended them.
func readRest(f *FileReader) ([][]byte, error) {
	var msgs [][]byte
	for {
		m, err := f.Next()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, bytes.Clone(m))
	}
}

func sameMessages(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: message %d differs", what, i)
		}
	}
}

// sliceSink is an EventSink that keeps every committed event; claim caps
// the slots handed out per Claim.
type sliceSink struct {
	events []tick.Event
	buf    []tick.Event
	claim  int
}

func (s *sliceSink) Claim(n int) []tick.Event {
	if s.claim == 0 {
		return nil // shutting down
	}
	if s.buf == nil {
		s.buf = make([]tick.Event, 1024)
	}
	return s.buf[:min(n, s.claim, len(s.buf))]
}
func (s *sliceSink) Commit(k int) { s.events = append(s.events, s.buf[:k]...) }

func TestSampleFile(t *testing.T) {
	data := readSample(t)
	if len(data) != 465_048 {
		t.Fatalf("sample is %d bytes, want 465048", len(data))
	}
	syms := tick.NewSymbolTable(0)
	d, err := NewDecoder(Options{Symbols: syms, SessionDate: time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFileReader(bytes.NewReader(data))
	if err != nil || f.Compressed() {
		t.Fatal(err, f.Compressed())
	}
	sink := &sliceSink{claim: 100}
	var rejects []error
	if err := d.DecodeFile(f, sink, func(_ int64, err error) { rejects = append(rejects, err) }); err != nil {
		t.Fatal(err)
	}
	if got := f.Offset(); got != int64(len(data)) {
		t.Errorf("reader stopped at offset %d, want %d", got, len(data))
	}
	c := d.Counters()
	var byType uint64
	for typ, n := range c.ByType {
		if n != 0 {
			t.Logf("type %c: %d", typ, n)
			if MsgLen[typ] == 0 {
				t.Errorf("unknown type %q in the sample", rune(typ))
			}
		}
		byType += n
	}
	want := map[byte]uint64{'A': 4997, 'D': 1745, 'E': 198, 'F': 3, 'H': 3, 'P': 5000, 'R': 3, 'S': 6, 'U': 12, 'X': 45}
	for typ, n := range c.ByType {
		if n != want[byte(typ)] {
			t.Errorf("type %q: %d messages, want %d", rune(typ), n, want[byte(typ)])
		}
	}
	t.Logf("events %d, ignored %d, rejected %d %v", c.Events, c.Ignored, c.Rejected(), c.ByReason)
	if c.Messages != 12_012 || byType != 12_012 {
		t.Errorf("messages %d, by type %d, want 12012", c.Messages, byType)
	}
	if c.Events+c.Ignored+c.Rejected() != c.Messages || uint64(len(rejects)) != c.Rejected() {
		t.Errorf("totals do not add up: %d events + %d ignored + %d rejected (%d reported) != %d",
			c.Events, c.Ignored, c.Rejected(), len(rejects), c.Messages)
	}
	if uint64(len(sink.events)) != c.Events+1 || sink.events[len(sink.events)-1].Kind != tick.KindEndOfStream {
		t.Errorf("sink got %d events, want %d and an EndOfStream last", len(sink.events), c.Events+1)
	}
	if syms.Len() != 3 {
		t.Errorf("%d symbols interned, want 3", syms.Len())
	}
	day := time.Date(2019, 12, 30, 0, 0, 0, 0, time.FixedZone("EST", -5*3600))
	for _, name := range []string{"ALC", "BOB", "CHAR"} {
		if _, ok := syms.LookupString(name); !ok {
			t.Errorf("symbol %s not found", name)
		}
	}
	for i, ev := range sink.events {
		ts := time.Unix(0, ev.TsEvent)
		if ts.Before(day) || !ts.Before(day.Add(24*time.Hour)) || ev.Seq == 0 {
			t.Fatalf("event %d: time %v outside the session day, or seq %d", i, ts, ev.Seq)
		}
	}
}

func TestGzipRoundTrip(t *testing.T) {
	data := genStream(3000, 2)
	if raw, err := os.ReadFile(samplePath); err == nil {
		data = raw // the real file when present; the generated one otherwise
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := NewFileReader(iotest.HalfReader(bytes.NewReader(zbuf.Bytes())))
	if err != nil || !f.Compressed() {
		t.Fatalf("gzip not detected: %v", err)
	}
	got, err := readAll(t, bytes.NewReader(zbuf.Bytes()))
	if err != io.EOF {
		t.Fatalf("gzip stream ended with %v", err)
	}
	sameMessages(t, "gzip", got, splitFrames(t, data))

	if _, err := NewFileReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
		t.Error("broken gzip header accepted")
	}
}

// splitReader hands out data[:at] on its first Read and the rest after.
type splitReader struct {
	data []byte
	at   int
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(s.data)
	if s.at > 0 {
		n, s.at = min(s.at, n), 0
	}
	n = copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}

// TestSplitAtEveryByte reads a stream split in two at every byte: the end
// of session, and data after it, are found wherever the split falls.
func TestSplitAtEveryByte(t *testing.T) {
	data := genStream(30, 3)
	want := splitFrames(t, data)
	ended := append(bytes.Clone(data), 0, 0)               // end of session, then the end of the file
	junk := append(bytes.Clone(ended), 'j', 'u', 'n', 'k') // end of session, then more: framing lost
	for _, c := range []struct {
		stream []byte
		check  func(*FileReader, error) bool
	}{
		{ended, func(_ *FileReader, err error) bool { return err == io.EOF }},
		{junk, func(f *FileReader, err error) bool {
			var fe *FramingError
			return errors.As(err, &fe) && fe.Length == 0 && f.Offset() == int64(len(data))
		}},
	} {
		read := func(what string, r io.Reader) {
			t.Helper()
			f, err := NewFileReader(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readRest(f)
			if !c.check(f, err) {
				t.Fatalf("%s (%d bytes): ended with %v at offset %d", what, len(c.stream), err, f.Offset())
			}
			sameMessages(t, what, got, want)
		}
		for at := 1; at < len(c.stream); at++ {
			read(fmt.Sprintf("split at %d", at), &splitReader{data: bytes.Clone(c.stream), at: at})
		}
		read("one byte at a time", iotest.OneByteReader(bytes.NewReader(c.stream)))
	}
	got, err := readAll(t, iotest.DataErrReader(bytes.NewReader(data)))
	if err != io.EOF {
		t.Fatalf("data with EOF: %v", err)
	}
	sameMessages(t, "data+EOF", got, want)
}

func TestFileReaderEnds(t *testing.T) {
	data := genStream(10, 4)
	msgs := splitFrames(t, data)
	last := len(data) - 2 - len(msgs[len(msgs)-1])
	cases := []struct {
		name string
		in   []byte
		n    int
		want error
	}{
		{"empty file", nil, 0, io.EOF},
		{"clean end", data, len(msgs), io.EOF},
		{"zero length at the end", append(bytes.Clone(data[:last]), 0, 0), len(msgs) - 1, io.EOF},
		{"cut in prefix", data[:last+1], len(msgs) - 1, ReasonTruncated},
		{"cut in message", data[:len(data)-1], len(msgs) - 1, ReasonTruncated},
		{"lone byte", []byte{0}, 0, ReasonTruncated},
	}
	for _, c := range cases {
		f, err := NewFileReader(bytes.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err = f.Next()
			if err != nil {
				break
			}
			n++
		}
		if n != c.n || err != c.want {
			t.Errorf("%s: %d messages, %v; want %d, %v", c.name, n, err, c.n, c.want)
		}
		if _, again := f.Next(); again != err {
			t.Errorf("%s: error not sticky: %v then %v", c.name, err, again)
		}
	}
	boom := errors.New("boom")
	if _, err := readAll(t, io.MultiReader(bytes.NewReader(data[:last+5]), iotest.ErrReader(boom))); err != boom {
		t.Errorf("read error: got %v", err)
	}
}

// TestFramingLost: a length prefix above MaxFileMessage, or data after a
// zero one, is a FramingError at the prefix's offset, and sticky.
func TestFramingLost(t *testing.T) {
	data := genStream(10, 4)
	msgs := splitFrames(t, data)
	for _, c := range []struct {
		name   string
		suffix []byte
		length int
	}{
		{"above the bound", []byte{0x01, 0x00, 'A'}, MaxFileMessage + 1},
		{"text", []byte("root:x:0:0"), 'r'<<8 | 'o'},
		{"zero, then more", []byte{0, 0, 0, 12, 'S'}, 0},
	} {
		f, err := NewFileReader(bytes.NewReader(append(bytes.Clone(data), c.suffix...)))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; err == nil; n++ {
			_, err = f.Next()
		}
		var fe *FramingError
		if !errors.As(err, &fe) || fe.Length != c.length || f.Offset() != int64(len(data)) || n-1 != len(msgs) {
			t.Errorf("%s: %d messages, then %v at offset %d; want %d, length %d at %d", c.name, n-1, err, f.Offset(), len(msgs), c.length, len(data))
		}
		if !strings.Contains(fmt.Sprint(err), "framing lost, or not ITCH framing") {
			t.Errorf("%s: %q does not say the framing is lost", c.name, err)
		}
		if _, again := f.Next(); again != err || f.Offset() != int64(len(data)) {
			t.Errorf("%s: not sticky: %v at %d", c.name, again, f.Offset())
		}
	}
}

// TestGzipTruncated: a gzip file cut short says so, not "unexpected EOF".
func TestGzipTruncated(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(genStream(2000, 7))
	_ = zw.Close()
	_, err := readAll(t, bytes.NewReader(z.Bytes()[:z.Len()/2]))
	if err != ErrGzipTruncated || !strings.Contains(err.Error(), "gzip stream ends early") {
		t.Errorf("half a gzip file: %v", err)
	}
}

// TestGzipTrailingGarbage: a whole gzip file with bytes after it (a
// newline appended) is read whole and ends on those bytes as trailing
// garbage, not as a file cut short.
func TestGzipTrailingGarbage(t *testing.T) {
	data := genStream(2000, 7)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(data)
	_ = zw.Close()
	for _, after := range []string{"\n", "123456789", strings.Repeat("x", 100)} {
		got, err := readAll(t, bytes.NewReader(append(bytes.Clone(z.Bytes()), after...)))
		if !errors.Is(err, gzipfile.ErrTrailingGarbage) || errors.Is(err, ErrGzipTruncated) {
			t.Errorf("%d bytes after: %v", len(after), err)
		}
		sameMessages(t, "gzip and trailing garbage", got, splitFrames(t, data))
	}
}

// TestLargeFrames pushes the longest frames accepted (of a type ITCH does
// not have) through the reader: the buffer must compact rather than grow,
// and the decoder must skip them by length and count them.
func TestLargeFrames(t *testing.T) {
	big := make([]byte, MaxFileMessage)
	big[0] = 'z'
	var data []byte
	small := genStream(5, 5)
	for len(data) < 2*fileBufSize {
		data = AppendFramed(data, big)
		data = append(data, small...)
	}
	frames := len(data) / (2 + len(big) + len(small))
	d, _ := newTestDecoder(t, time.Time{})
	f, err := NewFileReader(iotest.HalfReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sliceSink{claim: 7}
	if err := d.DecodeFile(f, sink, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.buf) != fileBufSize {
		t.Errorf("buffer grew to %d", len(f.buf))
	}
	c := d.Counters()
	if u := uint64(frames); c.ByReason[ReasonUnknownType] != u || c.ByType['z'] != u || c.Messages != 6*u || c.Events+c.Ignored != 5*u {
		t.Errorf("counters: messages %d events %d ignored %d unknown %d", c.Messages, c.Events, c.Ignored, c.ByReason[ReasonUnknownType])
	}
}

func TestDecodeFileErrors(t *testing.T) {
	data := genStream(50, 6)
	d, _ := newTestDecoder(t, time.Time{})
	f, _ := NewFileReader(bytes.NewReader(data[:len(data)-3]))
	sink := &sliceSink{claim: 16}
	if err := d.DecodeFile(f, sink, nil); err != ReasonTruncated {
		t.Errorf("truncated file: %v", err)
	}
	if n := len(sink.events); n == 0 || sink.events[n-1].Kind != tick.KindEndOfStream {
		t.Error("truncated file: no EndOfStream")
	}
	f, _ = NewFileReader(bytes.NewReader(data))
	if err := d.DecodeFile(f, &sliceSink{claim: 0}, nil); err != ErrSinkClosed {
		t.Errorf("closed sink: %v", err)
	}
}
