// Package cycles is a clock for timing intervals of tens of nanoseconds:
// it reads the CPU's time-stamp counter and scales it to nanoseconds on the
// Unix epoch. On the KVM guest tickd is measured on, time.Now costs 43 ns,
// as much as the engine's whole update it would time; Nanos costs 17 ns
// (BenchmarkNanos, BenchmarkTimeNow). Use it where both ends of an interval
// are stamped by it; it is no wall clock (it drifts from one by the
// calibration's error).
//
// The counter must be invariant and synchronised across CPUs (Linux's
// "tsc" clocksource, which checks both); Calibrate falls back to the
// runtime's monotonic clock when it is not, and on other architectures.
package cycles

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

var (
	once  sync.Once
	usTSC bool      // the counter is used
	why   string    // why not, when not
	mult  uint64    // ns per tick, as a 32.32 fixed-point number
	tsc0  uint64    // counter at base
	base  int64     // ns since the Unix epoch at tsc0
	mono0 time.Time // the same instant, with its monotonic reading
)

// Calibrate measures the counter's rate against the monotonic clock over
// about 20 ms, once; later calls return at once. Nanos calls it, but a
// caller that times should call it first, outside what it times.
func Calibrate() { once.Do(calibrate) }

func calibrate() {
	mono0 = time.Now()
	base = mono0.UnixNano()
	switch {
	case !haveTSC:
		why = "no time-stamp counter read on " + runtime.GOARCH
		return
	case !tscClocksource():
		why = "the time-stamp counter is not Linux's clocksource (not invariant, or not synchronised across CPUs)"
		return
	}
	t0, c0 := pairedRead()
	time.Sleep(20 * time.Millisecond)
	t1, c1 := pairedRead()
	ns, ticks := t1.Sub(t0).Nanoseconds(), c1-c0
	if ns <= 0 || ticks == 0 {
		why = fmt.Sprintf("calibration failed: %d ns, %d ticks", ns, ticks)
		return
	}
	hi, lo := bits.Mul64(uint64(ns), 1<<32)
	mult, _ = bits.Div64(hi, lo, ticks)
	tsc0, base, mono0, usTSC = c0, t0.UnixNano(), t0, true
}

// pairedRead returns the monotonic clock and the counter at one instant:
// the clock read between two counter reads, the counter their midpoint, of
// the tightest of a few tries. A preemption or interrupt between single
// reads of each (tens of µs to ms under load) put them that far apart, and
// a calibration 20 ms long off by as much as 1%.
func pairedRead() (time.Time, uint64) {
	var t time.Time
	var c uint64
	width := uint64(math.MaxUint64)
	for range 16 {
		a := rdtsc()
		now := time.Now()
		b := rdtsc()
		if w := b - a; w < width {
			t, c, width = now, a+w/2, w
		}
	}
	return t, c
}

// tscClocksource reports whether Linux trusts the counter as its clock.
func tscClocksource() bool {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	return err == nil && strings.TrimSpace(string(b)) == "tsc"
}

// driftWarn is the Drift from which Source says the figures are off.
const driftWarn = 0.005

// Source names the clock Nanos reads, calibrating first: the counter at
// its calibrated rate and its Drift so far, or the monotonic clock and why.
func Source() string {
	Calibrate()
	if !usTSC {
		return "monotonic clock (" + why + ")"
	}
	d := Drift()
	s := fmt.Sprintf("time-stamp counter at %.4f GHz, calibrated against the monotonic clock and %.3f%% off it since", float64(1<<32)/float64(mult), 100*d)
	if math.Abs(d) >= driftWarn {
		s += ": intervals timed by it are off as much"
	}
	return s
}

// Drift is how far the counter's time has run from the monotonic clock
// since the calibration, as a share (0.01: its nanoseconds are 1% long).
// A calibration thrown off (a preemption between its paired reads) or a
// counter whose rate changed since shows here, and every interval Nanos
// times is off by as much. 0 on the monotonic clock.
func Drift() float64 {
	Calibrate()
	if !usTSC {
		return 0
	}
	t, c := pairedRead()
	n := nanosAt(c)
	mono := t.Sub(mono0)
	if mono <= 0 {
		return 0
	}
	return float64(n-base-int64(mono)) / float64(mono)
}

// Nanos returns the time in ns since the Unix epoch, from the counter.
// Its first call calibrates (see Calibrate); later ones pay one atomic load
// for it, which also orders them after the calibration's writes.
func Nanos() int64 {
	Calibrate()
	if !usTSC {
		return base + int64(time.Since(mono0))
	}
	return nanosAt(rdtsc())
}

// nanosAt converts counter reading c to ns since the Unix epoch.
func nanosAt(c uint64) int64 {
	hi, lo := bits.Mul64(c-tsc0, mult)
	return base + int64(hi<<32|lo>>32)
}
