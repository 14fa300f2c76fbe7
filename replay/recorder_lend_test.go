package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bufLender lends reads to a Recorder from a few buffers in turn, as a
// feed pump does: it overwrites a buffer with the next read as soon as the
// recorder has returned its last loan.
type bufLender struct {
	rec     *Recorder
	source  uint16
	bufs    [][]byte
	tickets []uint64
	kept    []Record // the reads the recorder took, in order
	zeros   int      // reads it dropped (ticket 0)
}

func newBufLender(rec *Recorder, source uint16, n, size int) *bufLender {
	l := &bufLender{rec: rec, source: source, tickets: make([]uint64, n)}
	for range n {
		l.bufs = append(l.bufs, make([]byte, size))
	}
	return l
}

// lend lends read i and returns its ticket.
func (l *bufLender) lend(i int) uint64 {
	k := i % len(l.bufs)
	l.rec.WaitReturned(l.tickets[k])
	b := l.bufs[k][:1+(i*7919+int(l.source)*13)%len(l.bufs[k])]
	for j := range b {
		b[j] = byte(i*31 + j + int(l.source))
	}
	t := l.rec.Lend(l.source, int64(i), b)
	if t == 0 {
		l.zeros++
		return 0
	}
	l.tickets[k] = t
	l.kept = append(l.kept, Record{Kind: KindData, Source: l.source, Recv: int64(i), Bytes: bytes.Clone(b)})
	return t
}

// waitAll waits until the recorder has returned every loan.
func (l *bufLender) waitAll() {
	for _, t := range l.tickets {
		l.rec.WaitReturned(t)
	}
}

// dataOf returns the Data records of source in recs.
func dataOf(recs []Record, source uint16) []Record {
	var out []Record
	for _, r := range recs {
		if r.Kind == KindData && r.Source == source {
			out = append(out, Record{Kind: KindData, Source: r.Source, Recv: r.Recv, Bytes: r.Bytes})
		}
	}
	return out
}

func equalData(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d data records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Source != want[i].Source || got[i].Recv != want[i].Recv || !bytes.Equal(got[i].Bytes, want[i].Bytes) {
			t.Fatalf("data record %d: source %d recv %d, %d bytes; want source %d recv %d, %d bytes (or the bytes differ)",
				i, got[i].Source, got[i].Recv, len(got[i].Bytes), want[i].Source, want[i].Recv, len(want[i].Bytes))
		}
	}
}

// within fails the test if done is not closed in a minute: a caller stuck
// waiting for a loan.
func within(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: still waiting after a minute", what)
	}
}

// TestRecorderLendReusedBuffers: two callers lend thousands of reads from
// three reused buffers each, beside copied Data records, through a small
// buffer and rotating files: the capture holds exactly the bytes lent, in
// order, never the bytes that later overwrote them.
func TestRecorderLendReusedBuffers(t *testing.T) {
	rec, done := startRecorder(t, RecorderOptions{Dir: t.TempDir(), Format: "native", Buffer: 64 << 10, MaxBytes: 64 << 10})
	const reads = 4000
	lenders := []*bufLender{newBufLender(rec, 1, 3, 3000), newBufLender(rec, 2, 3, 700)}
	copied := make([][]Record, len(lenders))
	fin := make(chan struct{}, len(lenders))
	for n, l := range lenders {
		go func() {
			defer func() { fin <- struct{}{} }()
			rec.Open(l.source, "lender")
			for i := range reads {
				l.lend(i)
				if i%7 == 0 { // a copied read in between, as an ITCH source gives
					b := []byte{byte(i), byte(i >> 8), 0xC0}
					rec.Data(l.source+10, int64(i), b)
					copied[n] = append(copied[n], Record{Kind: KindData, Source: l.source + 10, Recv: int64(i), Bytes: b})
				}
			}
			l.waitAll()
			rec.Close(l.source, reads)
		}()
	}
	rec.Open(11, "copies 1")
	rec.Open(12, "copies 2")
	for range lenders {
		<-fin
	}
	rec.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs := readFiles(t, rec.Files())
	for n, l := range lenders {
		equalData(t, dataOf(recs, l.source), l.kept)
		equalData(t, dataOf(recs, l.source+10), copied[n])
		if l.zeros != 0 || len(l.kept) != reads {
			t.Fatalf("source %d: %d reads kept, %d dropped", l.source, len(l.kept), l.zeros)
		}
	}
	if len(rec.Files()) < 2 || rec.Dropped() != 0 {
		t.Fatalf("%d files, %d dropped", len(rec.Files()), rec.Dropped())
	}
}

// lendUntilDropped lends from l until the recorder has dropped 20 reads,
// then waits for every loan; it closes the returned channel when done.
func lendUntilDropped(l *bufLender) chan struct{} {
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		l.rec.Open(l.source, "lender")
		for i := 0; l.zeros < 20; i++ {
			l.lend(i)
		}
		l.waitAll()
	}()
	return fin
}

// TestRecorderLendAcrossStop: a caller lending while the recorder stops is
// never left waiting; what was lent before Stop is written whole, what
// after is counted as dropped.
func TestRecorderLendAcrossStop(t *testing.T) {
	rec, done := startRecorder(t, RecorderOptions{Dir: t.TempDir(), Format: "native", Buffer: 64 << 10})
	l := newBufLender(rec, 1, 4, 2000)
	fin := lendUntilDropped(l)
	waitUntil(t, func() bool { return rec.returned.Load() >= 500 })
	rec.Stop()
	within(t, "lender after Stop", fin)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	equalData(t, dataOf(readFiles(t, rec.Files()), 1), l.kept)
	if rec.Dropped() != uint64(l.zeros) || len(l.kept) < 500 {
		t.Fatalf("%d dropped, the lender saw %d; %d kept", rec.Dropped(), l.zeros, len(l.kept))
	}
}

// TestRecorderLendWriteFailure: when the writer fails (its directory is
// removed, so the next file cannot be created) every outstanding loan is
// returned, the caller goes on, and later reads are counted as dropped.
func TestRecorderLendWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cap")
	rec, done := startRecorder(t, RecorderOptions{Dir: dir, Format: "native", Buffer: 64 << 10, MaxBytes: 4096})
	l := newBufLender(rec, 1, 4, 2000)
	fin := lendUntilDropped(l)
	waitUntil(t, func() bool { return len(rec.Files()) >= 3 })
	waitUntil(t, func() bool { // files may still appear while removing
		os.RemoveAll(dir)
		_, err := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist)
	})
	within(t, "lender after a write failure", fin)
	err := <-done
	if err == nil || !errors.Is(rec.Err(), err) {
		t.Fatalf("Run gave %v, Err %v; want the write error", err, rec.Err())
	}
	rec.mu.Lock()
	issued := rec.tickets
	rec.mu.Unlock()
	if rec.returned.Load() != issued || rec.Dropped() != uint64(l.zeros) {
		t.Fatalf("returned %d of %d loans; %d dropped, the lender saw %d", rec.returned.Load(), issued, rec.Dropped(), l.zeros)
	}
	rec.Stop() // after a failure: harmless
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in a minute")
		}
		time.Sleep(time.Millisecond)
	}
}
