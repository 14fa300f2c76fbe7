package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/ringbuf"
)

func TestInprocOpenLoop(t *testing.T) {
	for _, f := range []feed.Format{feed.FormatNative, feed.FormatCSV, feed.FormatJSON} {
		t.Run(f.String(), func(t *testing.T) { testInproc(t, f) })
	}
}

func testInproc(t *testing.T, f feed.Format) {
	const rate, ratio = 40000, 0.1
	s, err := RunInproc(t.Context(), InprocOptions{Pattern: Pattern{Rate: rate, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Symbols: 8, SignalRatio: ratio}, Format: f})
	if err != nil {
		t.Fatal(err)
	}
	warm := int64(0.1 * rate)
	want := newTicks(8, ratio, DefaultLevel).countFires(warm, warm+rate/2)
	if s.Name != "inproc" || s.Sent != rate/2 || s.Received != want || s.Dropped != 0 || uint64(s.Hist.TotalCount()) != want {
		t.Fatalf("%s: sent %d, received %d, dropped %d, histogram %d; want %d signals", s.Name, s.Sent, s.Received, s.Dropped,
			s.Hist.TotalCount(), want)
	}
	if s.Hist.ValueAtQuantile(50) <= 0 {
		t.Fatalf("p50 %d", s.Hist.ValueAtQuantile(50))
	}
	t.Logf("p50 %v p99 %v max %v", time.Duration(s.Hist.ValueAtQuantile(50)), time.Duration(s.Hist.ValueAtQuantile(99)), time.Duration(s.Hist.Max()))
}

func TestInprocFullSpeed(t *testing.T) {
	s, err := RunInproc(t.Context(), InprocOptions{FullSpeed: true, Pattern: Pattern{Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
		Symbols: 8, SignalRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent < 10_000 || s.Dropped != 0 || s.Received == 0 || uint64(s.Hist.TotalCount()) != s.Received {
		t.Fatalf("sent %d, received %d, dropped %d", s.Sent, s.Received, s.Dropped)
	}
	// Round robin over 8 symbols with ratio 0.5: about every other tick fires.
	if r := float64(s.Received) / float64(s.Sent); r < 0.45 || r > 0.55 {
		t.Fatalf("%d signals of %d ticks", s.Received, s.Sent)
	}
	t.Logf("%.0f ticks/s; p50 %v p99 %v", s.Rate, time.Duration(s.Hist.ValueAtQuantile(50)), time.Duration(s.Hist.ValueAtQuantile(99)))
}

// TestInprocWaitStrategies: every wait strategy runs the in-process
// measurement to the end with nothing dropped (Park needs the output
// ring's Bell to wake the consumer).
func TestInprocWaitStrategies(t *testing.T) {
	for _, w := range []ringbuf.WaitStrategy{ringbuf.Spin, ringbuf.SpinYield, ringbuf.Park} {
		s, err := RunInproc(t.Context(), InprocOptions{Pattern: Pattern{Rate: 20000, Duration: 200 * time.Millisecond,
			Warmup: -1, Symbols: 4, SignalRatio: 0.5}, Wait: w})
		if err != nil {
			t.Fatalf("%v: %v", w, err)
		}
		if s.Received == 0 || s.Dropped != 0 {
			t.Fatalf("%v: received %d, dropped %d", w, s.Received, s.Dropped)
		}
	}
}

// Fused (decode and engine on one goroutine) gets exactly the signals the
// ticks fire, under each pacing, at a rate and at full speed.
func TestInprocFused(t *testing.T) {
	const rate, ratio = 40000, 0.1
	for _, p := range []Pace{PaceSleep, PaceYield, PaceSpin} {
		s, err := RunInproc(t.Context(), InprocOptions{Pattern: Pattern{Rate: rate, Duration: 250 * time.Millisecond, Warmup: 50 * time.Millisecond,
			Symbols: 8, SignalRatio: ratio}, Fused: true, Pace: p})
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		warm := int64(0.05 * rate)
		want := newTicks(8, ratio, DefaultLevel).countFires(warm, warm+rate/4)
		if s.Sent != rate/4 || s.Received != want || s.Dropped != 0 || uint64(s.Hist.TotalCount()) != want {
			t.Fatalf("%v: sent %d, received %d, dropped %d, histogram %d; want %d signals", p, s.Sent, s.Received, s.Dropped,
				s.Hist.TotalCount(), want)
		}
		if s.Hist.ValueAtQuantile(50) <= 0 || s.Hist.Max() > int64(time.Second) {
			t.Fatalf("%v: p50 %d max %d", p, s.Hist.ValueAtQuantile(50), s.Hist.Max())
		}
		t.Logf("%v: p50 %v p99 %v max %v", p, time.Duration(s.Hist.ValueAtQuantile(50)), time.Duration(s.Hist.ValueAtQuantile(99)), time.Duration(s.Hist.Max()))
	}
	s, err := RunInproc(t.Context(), InprocOptions{FullSpeed: true, Fused: true, Pattern: Pattern{Duration: 200 * time.Millisecond,
		Warmup: 50 * time.Millisecond, Symbols: 8, SignalRatio: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	// The floor is for the ratio's sake, not a speed: the ticks fire every
	// other one (ticks.fires), so a thousand pin it; 10 000 in 200 ms failed
	// under -race on a loaded machine (6 656 sent).
	if r := float64(s.Received) / float64(s.Sent); s.Sent < 1_000 || s.Dropped != 0 || r < 0.45 || r > 0.55 {
		t.Fatalf("full speed: %d signals of %d ticks, %d dropped", s.Received, s.Sent, s.Dropped)
	}
}

func TestParsePace(t *testing.T) {
	for _, p := range []Pace{PaceSleep, PaceYield, PaceSpin} {
		if got, err := ParsePace(p.String()); err != nil || got != p {
			t.Fatalf("%v: got %v, %v", p, got, err)
		}
	}
	if _, err := ParsePace("busy"); err == nil || !strings.Contains(err.Error(), `"busy"`) {
		t.Fatalf("ParsePace(busy): %v", err)
	}
}

// The clock floor records every interval, each short and positive.
func TestClockFloor(t *testing.T) {
	s := ClockFloor(5000)
	if s.Name != "clock" || s.Hist.TotalCount() != 5000 || s.Received != 5000 {
		t.Fatalf("%+v, %d recorded", s, s.Hist.TotalCount())
	}
	if p50 := s.Hist.ValueAtQuantile(50); p50 < 1 || p50 > int64(10*time.Microsecond) {
		t.Fatalf("clock floor p50 %d ns", p50)
	}
}

// TestInprocCancelled: a run cancelled (tickd bench's Ctrl-C) ends with
// the context's error, which tickd reports as interrupted, not as the
// engine having stopped early.
func TestInprocCancelled(t *testing.T) {
	for _, fullSpeed := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := RunInproc(ctx, InprocOptions{FullSpeed: fullSpeed, Pattern: Pattern{Rate: 20000, Duration: time.Second,
			Symbols: 8}, Format: feed.FormatNative})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("full speed %v, cancelled: %v, want context.Canceled", fullSpeed, err)
		}
	}
}

// TestInprocInterruptedReturnsWhatItMeasured: a run stopped mid-window
// (tickd bench's Ctrl-C) returns the context's error with what it
// measured until then: the ticks sent, every signal of theirs received
// (none dropped: the engine drains what was sent before it stops), and the
// time they took.
func TestInprocInterruptedReturnsWhatItMeasured(t *testing.T) {
	for _, c := range []struct{ fullSpeed, fused bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		ctx, cancel := context.WithCancel(t.Context())
		s, err := RunInproc(ctx, InprocOptions{FullSpeed: c.fullSpeed, Fused: c.fused, Format: feed.FormatNative, Wait: ringbuf.Park,
			Pattern: Pattern{Rate: 20000, Duration: time.Minute, Warmup: -1, Symbols: 8},
			afterBatch: func(sent uint64) {
				if sent >= 2000 {
					cancel()
				}
			}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%+v: %v, want context.Canceled", c, err)
		}
		if s.Name != "inproc" || s.Sent < 2000 || s.Received == 0 || s.Dropped != 0 || s.Elapsed <= 0 || uint64(s.Hist.TotalCount()) != s.Received {
			t.Errorf("%+v: side %s sent %d received %d dropped %d elapsed %v: want what was measured until the interrupt",
				c, s.Name, s.Sent, s.Received, s.Dropped, s.Elapsed)
		}
	}
}
