package feed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// tailRun follows path with Tail in the background until stop is called.
type tailRun struct {
	t      *testing.T
	ss     sinks
	rs     reports
	syms   *tick.SymbolTable
	cancel context.CancelFunc
	done   chan error
}

func startTail(t *testing.T, path string, mod func(*Options)) *tailRun {
	r := &tailRun{t: t, syms: tick.NewSymbolTable(64), done: make(chan error, 1)}
	o := Options{Format: FormatCSV, Symbols: r.syms, OnError: r.rs.onError, PollInterval: time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- Tail(ctx, path, r.ss.open, o) }()
	return r
}

// qtys waits until the sink holds n events and returns their Qty values.
func (r *tailRun) qtys(n int) []int64 {
	r.t.Helper()
	waitFor(r.t, "tailed events", func() bool { return r.ss.total() >= n })
	ev, _ := r.ss.list()[0].snapshot()
	q := make([]int64, len(ev))
	for i, e := range ev {
		q[i] = e.Qty
	}
	return q
}

func (r *tailRun) stop() {
	r.t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Fatal(err)
	}
	s := r.ss.list()
	if len(s) != 1 {
		r.t.Fatalf("%d sinks", len(s))
	}
	if _, closed := s[0].snapshot(); !closed {
		r.t.Fatal("sink not closed")
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func equalQtys(t *testing.T, got []int64, want ...int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("qtys %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("qtys %v, want %v", got, want)
		}
	}
}

func TestTailAppendAndPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "ts,symbol,price,size\n1,A,1,1\n2,A,1,2\n")
	r := startTail(t, path, nil)
	equalQtys(t, r.qtys(2), 1, 2)
	appendFile(t, path, "3,A,1,3\n4,A,1,")
	equalQtys(t, r.qtys(3), 1, 2, 3)
	time.Sleep(20 * time.Millisecond) // a few polls: the partial line must wait
	equalQtys(t, r.qtys(3), 1, 2, 3)
	appendFile(t, path, "4\n")
	equalQtys(t, r.qtys(4), 1, 2, 3, 4)
	ev, _ := r.ss.list()[0].snapshot()
	if ev[3].Seq != 5 || r.ss.list()[0].name != path {
		t.Fatalf("event %+v, source %q", ev[3], r.ss.list()[0].name)
	}
	r.stop()
	if len(r.rs.list()) != 0 {
		t.Fatalf("reports %v", r.rs.list())
	}
}

func TestTailTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "1,A,1,1\n2,A,1,2\n3,A,1,3\n")
	r := startTail(t, path, nil)
	equalQtys(t, r.qtys(3), 1, 2, 3)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "4,A,1,4\n")
	equalQtys(t, r.qtys(4), 1, 2, 3, 4)
	ev, _ := r.ss.list()[0].snapshot()
	if ev[3].Seq != 1 {
		t.Fatalf("line number after truncation: %d", ev[3].Seq)
	}
	r.stop()
	// (truncated to 0, or to 8 if the poll came after the append)
	checkRestart(t, r.rs.list(), path, 24, "bytes below the 24 read: reading it again from its start")
}

func TestTailRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ticks.csv")
	appendFile(t, path, "1,A,1,1\n2,A,1,2")
	r := startTail(t, path, nil)
	equalQtys(t, r.qtys(1), 1)
	// Rotate: rename, the writer finishes the old file, a new file appears.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", "\n3,A,1,3\n4,A,1,4") // unterminated at rotation
	time.Sleep(10 * time.Millisecond)              // old file followed while no new one exists
	appendFile(t, path, "5,A,1,5\n")
	equalQtys(t, r.qtys(5), 1, 2, 3, 4, 5)
	appendFile(t, path, "6,A,1,6\n")
	equalQtys(t, r.qtys(6), 1, 2, 3, 4, 5, 6)
	r.stop()
	checkRestart(t, r.rs.list(), path, 31, "replaced (rotated) after 31 bytes: following the new file from its start")
}

// checkRestart checks that the reports are one SourceTailRestart of path at
// offset off, ending with what.
func checkRestart(t *testing.T, rs []report, path string, off int64, what string) {
	t.Helper()
	var se *SourceError
	if len(rs) != 1 || !errors.As(rs[0].err, &se) || se.Op != SourceTailRestart || rs[0].source != path ||
		rs[0].offset != off || !strings.HasPrefix(se.Error(), "feed: "+path+": ") || !strings.HasSuffix(se.Error(), what) {
		t.Fatalf("reports %v, want one at %d: %s", rs, off, what)
	}
}

func TestTailFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "1,A,1,1\n2,A,1,2\n")
	r := startTail(t, path, func(o *Options) { o.FromEnd = true })
	// Lines written before the tail opened the file are skipped; keep
	// appending until lines arrive.
	for k := 100; r.ss.total() == 0; k++ {
		if k == 10000 {
			t.Fatal("no line arrived")
		}
		appendFile(t, path, fmt.Sprintf("%d,A,1,%d\n", k, k))
		time.Sleep(2 * time.Millisecond)
	}
	q := r.qtys(1)
	for i, v := range q {
		if v < 100 || (i > 0 && v != q[i-1]+1) {
			t.Fatalf("qtys %v", q)
		}
	}
	// Line numbers count from the file's start, not from where the tail
	// started: line k-97 holds qty k.
	ev, _ := r.ss.list()[0].snapshot()
	for _, e := range ev {
		if e.Seq != uint64(e.Qty-97) {
			t.Fatalf("qty %d at line %d, want line %d", e.Qty, e.Seq, e.Qty-97)
		}
	}
	r.stop()
}

// TestTailFromEndNative: a native file followed from its end goes on from
// the state its frames built: a Trade appended later resolves the symbol a
// Symbol frame defined before the start, in sequence after the frames
// skipped (no no_hello, no unknown_symbol, no gap reported).
func TestTailFromEndNative(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.bin")
	var e NativeEncoder
	appendFile(t, path, string(e.Trade(e.Hello(nil), "A", 1, 1e9, 1, tick.SideBuy)))
	r := startTail(t, path, func(o *Options) { o.Format = FormatNative; o.FromEnd = true })
	for k := int64(100); r.ss.total() == 0; k++ {
		if k == 10000 || len(r.rs.list()) != 0 {
			t.Fatalf("no trade arrived; reports %v", r.rs.list())
		}
		appendFile(t, path, string(e.Trade(nil, "A", k, 1e9, k, tick.SideBuy)))
		time.Sleep(2 * time.Millisecond)
	}
	q := r.qtys(1)
	ev, _ := r.ss.list()[0].snapshot()
	for i, v := range q {
		if v < 100 || (i > 0 && v != q[i-1]+1) || r.syms.Name(ev[i].Symbol) != "A" {
			t.Fatalf("qtys %v, event %+v", q, ev[i])
		}
	}
	r.stop()
	if len(r.rs.list()) != 0 {
		t.Fatalf("reports %v", r.rs.list())
	}
}

func TestTailOpenFromEnd(t *testing.T) {
	dir := t.TempDir()
	var e NativeEncoder
	whole := e.Trade(e.Hello(nil), "A", 1, 1, 1, tick.SideBuy)
	next := e.Trade(nil, "A", 2, 1, 2, tick.SideBuy)
	for _, c := range []struct {
		f       Format
		content string
		pos     int64
	}{
		{FormatCSV, "1,A,1,1\n3,A,1,", 8},
		{FormatCSV, "1,A,1,1\n", 8},
		{FormatCSV, "3,A,1,", 0},
		{FormatCSV, "", 0},
		{FormatNative, "\x05\x00abcdefg", 7}, // then a length prefix beyond MaxFrame: reading reports it
		{FormatNative, string(whole) + string(next[:20]), int64(len(whole))}, // a frame half-written
	} {
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		o, _ := Options{Format: c.f, Symbols: tick.NewSymbolTable(8), FromEnd: true}.withDefaults()
		tl := &tailer{path: path, o: &o, p: newPump(path, &testSink{}, &o)}
		if err := tl.openFile(true); err != nil {
			t.Fatal(err)
		}
		if tl.pos != c.pos || tl.p.dec.Offset() != c.pos {
			t.Errorf("%s %q: pos %d, offset %d, want %d", c.f, c.content, tl.pos, tl.p.dec.Offset(), c.pos)
		}
		tl.f.Close()
	}
}

func TestTailLateFile(t *testing.T) {
	late := filepath.Join(t.TempDir(), "late.jsonl")
	// FromEnd does not apply to a file that appears after the tail started.
	r := startTail(t, late, func(o *Options) { o.Format = FormatJSON; o.FromEnd = true })
	// The file must appear after the tail's first look: a sleep here let a
	// loaded machine start the tail late, find the file and skip its line.
	waitFor(t, "the missing file reported", func() bool {
		for _, x := range r.rs.list() {
			if errors.Is(x.err, fs.ErrNotExist) {
				return true
			}
		}
		return false
	})
	appendFile(t, late, string(AppendJSON(nil, 1, "A", 1, 7, tick.SideBuy)))
	equalQtys(t, r.qtys(1), 7)
	r.stop()
}

func TestTailNative(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.bin")
	b := connStream("A", 10)
	appendFile(t, path, string(b[:101]))
	r := startTail(t, path, func(o *Options) { o.Format = FormatNative; o.Clock = func() int64 { return 42 } })
	appendFile(t, path, string(b[101:]))
	waitFor(t, "native events", func() bool { return r.ss.total() == 11 })
	ev, _ := r.ss.list()[0].snapshot()
	checkConnEvents(t, ev, r.syms, "A", 10)
	r.stop()
}

// TestTailDirectory: a path that is a directory stops the tail with an
// error, rather than retrying (and reporting) forever.
func TestTailDirectory(t *testing.T) {
	dir := t.TempDir()
	var rs reports
	err := Tail(context.Background(), dir, (&sinks{}).open, Options{Format: FormatCSV, Symbols: tick.NewSymbolTable(8),
		OnError: rs.onError, PollInterval: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), dir+": is a directory") || len(rs.list()) != 0 {
		t.Fatalf("err %v, reports %v", err, rs.list())
	}
}

// TestTailRefusedAfterShutdown: a tail that starts as a shutdown begins
// (serve stopped during start-up) finds the engine refusing new inputs; that
// is the stop it was asked for, not a failure. While running, a refused sink
// is an error.
func TestTailRefusedAfterShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	refused := func(source string) (Sink, error) {
		return nil, fmt.Errorf("engine: input %q: engine is shutting down", source)
	}
	opts := Options{Format: FormatCSV, Symbols: tick.NewSymbolTable(8)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Tail(ctx, path, refused, opts); err != nil {
		t.Errorf("stopped tail, sink refused: %v, want nil", err)
	}
	if err := Tail(context.Background(), path, refused, opts); err == nil || !strings.Contains(err.Error(), "open sink") {
		t.Errorf("running tail, sink refused: %v, want the open error", err)
	}
}

// TestTailMissingFileReported: a path that does not exist is reported once
// (so a misspelt one is not waited for in silence), not at every poll, and
// the file is followed once it appears.
func TestTailMissingFileReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.csv")
	r := startTail(t, path, nil)
	waitFor(t, "the report of the missing file", func() bool { return len(r.rs.list()) > 0 })
	time.Sleep(10 * time.Millisecond) // polls that must not report it again
	appendFile(t, path, "1,A,1,1\n")
	equalQtys(t, r.qtys(1), 1)
	r.stop()
	rs := r.rs.list()
	var se *SourceError
	if len(rs) != 1 || !errors.As(rs[0].err, &se) || se.Op != SourceTailRead || !errors.Is(se, fs.ErrNotExist) ||
		rs[0].source != path || !strings.Contains(se.Error(), "later.csv") {
		t.Fatalf("reports %v", rs)
	}
}
