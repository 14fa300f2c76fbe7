package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFloorReceivesAll(t *testing.T) {
	srv := startNATS(t)
	t.Cleanup(srv.Shutdown)
	const rate = 5000
	s, err := RunFloor(t.Context(), FloorOptions{Pub: connect(t, srv), Sub: connect(t, srv), Rate: rate,
		Duration: time.Second, Warmup: 100 * time.Millisecond, PayloadSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "floor" || s.Sent != rate || s.Received != s.Sent || s.Dropped != 0 || uint64(s.Hist.TotalCount()) != s.Sent {
		t.Fatalf("%s: sent %d, received %d, dropped %d, histogram %d", s.Name, s.Sent, s.Received, s.Dropped, s.Hist.TotalCount())
	}
	if s.Hist.Min() <= 0 || s.Hist.ValueAtQuantile(50) <= 0 {
		t.Fatalf("latencies min %d p50 %d", s.Hist.Min(), s.Hist.ValueAtQuantile(50))
	}
	if s.Elapsed < 900*time.Millisecond || s.Rate < 0.8*rate || s.Rate > 1.2*rate {
		t.Fatalf("elapsed %v, rate %.0f/s", s.Elapsed, s.Rate)
	}
}

// The harness alone, without tickd: one stall of the subscriber shows in
// every message queued behind it.
func TestFloorStallShowsInTail(t *testing.T) {
	srv := startNATS(t)
	t.Cleanup(srv.Shutdown)
	const rate, stall = 4000, 100 * time.Millisecond
	var once sync.Once
	start := time.Now()
	s, err := RunFloor(t.Context(), FloorOptions{Pub: connect(t, srv), Sub: connect(t, srv), Rate: rate,
		Duration: time.Second, Warmup: -1, onRecv: func() {
			if time.Since(start) > 500*time.Millisecond {
				once.Do(func() { time.Sleep(stall) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	checkStall(t, s, rate, stall)
}

func TestTypicalSignalSize(t *testing.T) {
	if n := TypicalSignalSize(); n < 150 || n > 600 {
		t.Fatalf("typical signal %d bytes", n)
	}
}

// TestFloorRateOfFewMessages: the achieved rate counts the intervals
// between the sends, so a window of one message has no rate (0, "-" in
// the table), not the 1e7/s one message in a few ns would make.
func TestFloorRateOfFewMessages(t *testing.T) {
	srv := startNATS(t)
	t.Cleanup(srv.Shutdown)
	s, err := RunFloor(t.Context(), FloorOptions{Pub: connect(t, srv), Sub: connect(t, srv), Rate: 10,
		Duration: 100 * time.Millisecond, Warmup: -1, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent != 1 || s.Rate != 0 {
		t.Fatalf("sent %d, rate %v/s: want 1 and 0 (unknown)", s.Sent, s.Rate)
	}
	var table bytes.Buffer
	if err := WriteReport(t.TempDir(), &Result{Sides: []Side{s}}, &table); err != nil {
		t.Fatal(err)
	}
	if row := table.String()[strings.Index(table.String(), "\nfloor "):]; !strings.Contains(row, "  -  ") {
		t.Errorf("floor row shows a rate: %q", row)
	}
	if r := achievedRate(11, time.Second); r != 10 {
		t.Errorf("11 sends over 1 s: %v/s, want 10", r)
	}
}

// TestFloorInterruptedReturnsWhatItMeasured: RunFloor stopped mid-window
// returns the context's error with what it sent until then, all received.
func TestFloorInterruptedReturnsWhatItMeasured(t *testing.T) {
	srv := startNATS(t)
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got atomic.Int64
	s, err := RunFloor(ctx, FloorOptions{Pub: connect(t, srv), Sub: connect(t, srv), Rate: 2000, Duration: time.Minute, Warmup: -1,
		onRecv: func() {
			if got.Add(1) == 100 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	checkInterrupted(t, s, "floor")
}
