package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tickd/tickd/tick"
)

// lendLog is a LendingTap that logs into a tapLog and returns loans on its
// own goroutine, late: only when more than lendBuffers are queued or the
// pump waits for one, so the pump grows to all its buffers and waits.
// Before returning a loan it checks that the pump left the bytes alone
// (and -race checks that it did not touch them concurrently).
type lendLog struct {
	*tapLog
	mu       sync.Mutex
	cond     sync.Cond
	queue    []lentRead
	tickets  uint64
	want     uint64 // the ticket the pump waits for
	returned atomic.Uint64
	waits    int      // WaitReturned calls that had to wait
	changed  []uint64 // tickets whose bytes the pump changed while lent
	closed   bool
	done     chan struct{}
}

type lentRead struct {
	b, clone []byte
	ticket   uint64
}

func newLendLog() *lendLog {
	l := &lendLog{tapLog: newTapLog(), done: make(chan struct{})}
	l.cond.L = &l.mu
	go l.returner()
	return l
}

func (l *lendLog) Lend(src uint16, recv int64, b []byte) uint64 {
	clone := bytes.Clone(b)
	l.tapLog.Data(src, recv, clone)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickets++
	l.queue = append(l.queue, lentRead{b, clone, l.tickets})
	l.cond.Broadcast()
	return l.tickets
}

func (l *lendLog) Returned(ticket uint64) bool { return l.returned.Load() >= ticket }

func (l *lendLog) WaitReturned(ticket uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.returned.Load() < ticket {
		l.waits++
		l.want = max(l.want, ticket)
		l.cond.Broadcast()
	}
	for l.returned.Load() < ticket {
		l.cond.Wait()
	}
}

func (l *lendLog) returner() {
	defer close(l.done)
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for !l.closed && (len(l.queue) == 0 || (len(l.queue) < lendBuffers+8 && l.want < l.queue[0].ticket)) {
			l.cond.Wait()
		}
		if len(l.queue) == 0 {
			return
		}
		r := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		same := bytes.Equal(r.b, r.clone)
		l.mu.Lock()
		if !same {
			l.changed = append(l.changed, r.ticket)
		}
		l.returned.Store(r.ticket)
		l.cond.Broadcast()
	}
}

// stop returns what is left and ends the returner.
func (l *lendLog) stop(t *testing.T) {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	if len(l.changed) > 0 {
		t.Fatalf("the pump changed lent bytes (tickets %v)", l.changed)
	}
}

// TestTapTCPLending: with a LendingTap the pump lends its read buffers,
// rotating through them (700-byte buffers, thousands of reads), waits for
// each loan before reusing its buffer, and the tap still sees exactly the
// bytes sent and decoded.
func TestTapTCPLending(t *testing.T) {
	l := newLendLog()
	tapTCP(t, l.tapLog, l)
	l.stop(t)
	if l.waits == 0 || l.tickets < 3*lendBuffers {
		t.Fatalf("%d loans, %d waits: the buffers did not cycle", l.tickets, l.waits)
	}
}

// TestTapTailLending: a tail's restart and end move on to a free buffer
// rather than reading over a lent one.
func TestTapTailLending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "1,A,1,1\n2,A,1,2\n3,A,1,3\n")
	l := newLendLog()
	r := startTail(t, path, func(o *Options) { o.Tap = l; o.ReadBuffer = 66; o.MaxFrame = 64 })
	equalQtys(t, r.qtys(3), 1, 2, 3)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "4,A,1,4\n5,A,1,5\n")
	equalQtys(t, r.qtys(5), 1, 2, 3, 4, 5)
	r.stop()
	l.stop(t)
	id := l.sources()[0]
	if want := []string{"open 1", "close 1", "open 1", "close 1"}; !slices.Equal(l.order, want) {
		t.Fatalf("life cycle %v, want %v", l.order, want)
	}
	var got []byte
	for _, c := range l.data[id] {
		got = append(got, c...)
	}
	if string(got) != "1,A,1,1\n2,A,1,2\n3,A,1,3\n4,A,1,4\n5,A,1,5\n" {
		t.Fatalf("tap saw %q", got)
	}
}

// TestPumpLendingGrows reads a stream through a pump whose tap holds its
// loans: the pump adds buffers up to lendBuffers, then waits for the oldest
// instead of reading over it, and the tap gets exactly the stream while the
// sink gets every event.
func TestPumpLendingGrows(t *testing.T) {
	const n = 5000
	stream := connStream("GROW", n)
	l := newLendLog()
	syms := tick.NewSymbolTable(64)
	o, err := Options{Symbols: syms, Tap: l, ReadBuffer: 300, MaxFrame: 256, Clock: func() int64 { return 42 }}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	sink := &testSink{}
	p := newPump("grow", sink, &o)
	if err := p.readAll(bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	p.close()
	l.stop(t)
	if len(p.lend.bufs) != lendBuffers || l.waits == 0 {
		t.Fatalf("%d buffers, %d waits; want %d buffers and some waits", len(p.lend.bufs), l.waits, lendBuffers)
	}
	var got []byte
	for _, c := range l.data[1] {
		got = append(got, c...)
	}
	if !bytes.Equal(got, stream) {
		t.Fatalf("tap saw %d bytes, the stream is %d (or they differ)", len(got), len(stream))
	}
	ev, _ := sink.snapshot()
	checkConnEvents(t, ev, syms, "GROW", n)
}
