package cycles

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// Nanos called first from many goroutines at once calibrates once and
// races with nothing (run with -race). It is the file's first test, so
// that the calls here are the package's first.
func TestNanosConcurrentFirstUse(t *testing.T) {
	var wg sync.WaitGroup
	vals := make([]int64, 8)
	for i := range vals {
		wg.Go(func() { vals[i] = Nanos() })
	}
	wg.Wait()
	now := time.Now().UnixNano()
	for i, v := range vals {
		if d := now - v; d < 0 || d > int64(time.Second) {
			t.Fatalf("goroutine %d: Nanos %d is %v before time.Now", i, v, time.Duration(d))
		}
	}
}

// Nanos tracks the wall clock over a sleep and never goes backwards.
func TestNanosTracksClock(t *testing.T) {
	Calibrate()
	t.Logf("time-stamp counter in use: %v", usTSC)
	w0, n0 := time.Now().UnixNano(), Nanos()
	if d := n0 - w0; d < -int64(time.Millisecond) || d > int64(time.Millisecond) {
		t.Fatalf("Nanos %d is %v from time.Now", n0, time.Duration(d))
	}
	prev := n0
	for range 100000 {
		n := Nanos()
		if n < prev {
			t.Fatalf("Nanos went back from %d to %d", prev, n)
		}
		prev = n
	}
	time.Sleep(50 * time.Millisecond)
	w1, n1 := time.Now().UnixNano(), Nanos()
	wall, got := w1-w0, n1-n0
	if diff := got - wall; diff < -int64(time.Millisecond) || diff > int64(time.Millisecond) {
		t.Fatalf("over %v of wall clock Nanos advanced %v", time.Duration(wall), time.Duration(got))
	}
}

var sink int64

func BenchmarkNanos(b *testing.B) {
	Calibrate()
	for b.Loop() {
		sink += Nanos()
	}
}

// BenchmarkTimeNow is the baseline: the wall clock of package time.
func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		sink += time.Now().UnixNano()
	}
}

// Source names the clock in use: the counter with a rate that is the one
// Nanos runs at, or the monotonic clock with a reason.
func TestSourceNamesTheClock(t *testing.T) {
	s := Source()
	if !usTSC {
		if !strings.HasPrefix(s, "monotonic clock (") || why == "" {
			t.Fatalf("Source %q, without the counter", s)
		}
		return
	}
	var ghz float64
	if _, err := fmt.Sscanf(s, "time-stamp counter at %g GHz", &ghz); err != nil {
		t.Fatalf("Source %q: %v", s, err)
	}
	c0, n0 := rdtsc(), Nanos()
	time.Sleep(20 * time.Millisecond)
	c1, n1 := rdtsc(), Nanos()
	if got := float64(c1-c0) / float64(n1-n0); math.Abs(got-ghz)/ghz > 0.01 {
		t.Fatalf("Source says %g GHz; the counter ran %g ticks a ns of Nanos", ghz, got)
	}
}

// Drift shows a calibration that is off: right after a good one it is
// near 0; with the counter's rate taken 5% too slow (its ticks 5% long),
// it is 5%, and Source says the intervals are off.
func TestDriftShowsAnOffCalibration(t *testing.T) {
	Calibrate()
	if !usTSC {
		if d := Drift(); d != 0 {
			t.Fatalf("on the monotonic clock, drift %v", d)
		}
		return
	}
	if d := Drift(); math.Abs(d) > 0.001 {
		t.Fatalf("calibrated: drift %v", d)
	}
	good := mult
	defer func() { mult = good }()
	mult = good + good/20
	time.Sleep(10 * time.Millisecond)
	if d := Drift(); d < 0.045 || d > 0.055 {
		t.Fatalf("ticks 5%% long: drift %v", d)
	}
	if s := Source(); !strings.HasSuffix(s, "% off it since: intervals timed by it are off as much") {
		t.Fatalf("ticks 5%% long: Source %q", s)
	}
}
