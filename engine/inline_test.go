package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// recorder is an Emitter that keeps what it is given and fails the test if
// two calls overlap.
type recorder struct {
	t       *testing.T
	busy    atomic.Bool
	outs    []tick.Out
	batches int
}

func (r *recorder) enter() {
	if !r.busy.CompareAndSwap(false, true) {
		r.t.Error("Emitter calls overlap")
	}
}

func (r *recorder) Emit(o *tick.Out) {
	r.enter()
	defer r.busy.Store(false)
	r.outs = append(r.outs, *o)
}

func (r *recorder) EndBatch() {
	r.enter()
	defer r.busy.Store(false)
	r.batches++
}

// TestInlineMatchesEngine: an inline engine fed by two sources in turn
// yields exactly the records of a one-shard Engine fed the same events,
// bars flushed at shutdown included; it refuses a second source while one
// is open, and any source once it is stopping.
func TestInlineMatchesEngine(t *testing.T) {
	cfg, evs := mixedStream()
	ref, _ := newTestEngine(t, cfg, "A", "B", "C", "D", "E")
	want := runEngine(t, ref, evs)

	rec := &recorder{t: t}
	cfg.Emit = rec
	e, _ := newTestEngine(t, cfg, "A", "B", "C", "D", "E")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()

	first, err := e.NewInput("first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewInput("second"); err == nil || !strings.Contains(err.Error(), `"first" is open`) {
		t.Fatalf("a second source while the first is open: %v", err)
	}
	half := len(evs) / 2
	feed(first, evs[:half])
	second, err := e.NewInput("second")
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	feed(second, evs[half:])
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := e.NewInput("late"); err == nil {
		t.Fatal("a source attached after shutdown")
	}
	if len(rec.outs) != len(want) {
		t.Fatalf("inline: %d records, Engine: %d", len(rec.outs), len(want))
	}
	for i := range want {
		if !sameOut(&rec.outs[i], &want[i]) {
			t.Fatalf("record %d: inline %+v, Engine %+v", i, rec.outs[i], want[i])
		}
	}
	// feed commits batches of up to 37 events; one more EndBatch for the
	// final flush.
	if least := (len(evs)+36)/37 + 1; rec.batches < least {
		t.Fatalf("%d EndBatch calls, want at least %d", rec.batches, least)
	}
	if c := e.Counters(); c.Events != uint64(len(evs)) || c.Signals == 0 || c.Bars == 0 {
		t.Fatalf("counters %+v", c)
	}
	if r := e.Outputs()[0]; r.Published() != r.Released() || !r.Closed() {
		t.Fatalf("output ring: published %d, released %d, closed %v", r.Published(), r.Released(), r.Closed())
	}
}

// TestInlineStopsOpenSource: a source still open at shutdown sees Claim
// return nil; Run waits for it to Close, then flushes.
func TestInlineStopsOpenSource(t *testing.T) {
	rec := &recorder{t: t}
	e, _ := newTestEngine(t, Config{Emit: rec, Bars: []time.Duration{time.Second}}, "A")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	in, err := e.NewInput("open")
	if err != nil {
		t.Fatal(err)
	}
	slots := in.Claim(1)
	slots[0] = trade(0, t0, 10, 5)
	in.Commit(1)
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned with a source open")
	case <-time.After(20 * time.Millisecond):
	}
	for in.Claim(1) != nil { // stopping is set by Run, soon after cancel
		time.Sleep(time.Millisecond)
	}
	in.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if bars := only(rec.outs, tick.OutBar); len(bars) != 1 || bars[0].Bar.Volume != 5 {
		t.Fatalf("bars flushed at shutdown: %+v", bars)
	}
}

// TestStepManyRecords: one batch may yield more records than the Step's
// output ring holds (it drains as it goes instead of waiting for a
// consumer that is its own goroutine).
func TestStepManyRecords(t *testing.T) {
	syms := tick.NewSymbolTable(16)
	if _, err := syms.Intern("A"); err != nil {
		t.Fatal(err)
	}
	st, err := NewStep(Config{Bars: []time.Duration{time.Second}}, syms)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3 * stepOutputs // each trade after the first closes a bar: bar + stats
	evs := make([]tick.Event, n)
	for i := range evs {
		evs[i] = trade(0, t0+int64(i)*sec, 10, 1)
	}
	got := 0
	st.Process(evs, func(*tick.Out) { got++ })
	if want := 2 * (n - 1); got != want {
		t.Fatalf("%d records, want %d", got, want)
	}
	st.Flush(func(*tick.Out) { got++ })
	if want := 2 * n; got != want {
		t.Fatalf("after Flush: %d records, want %d", got, want)
	}
}

func TestInlineOneShard(t *testing.T) {
	syms := tick.NewSymbolTable(16)
	if _, err := New(Config{Shards: 2, Emit: &recorder{t: t}}, syms); err == nil || !strings.Contains(err.Error(), "one shard") {
		t.Fatalf("inline with 2 shards: %v", err)
	}
}
