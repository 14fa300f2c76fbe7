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
	"math/bits"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

var (
	once  sync.Once
	usTSC bool   // the counter is used
	why   string // why not, when not
	mult  uint64 // ns per tick, as a 32.32 fixed-point number
	tsc0  uint64 // counter at base
	base  int64  // ns since the Unix epoch at tsc0
	mono0 time.Time
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
	t0, c0 := time.Now(), rdtsc()
	time.Sleep(20 * time.Millisecond)
	t1, c1 := time.Now(), rdtsc()
	ns, ticks := t1.Sub(t0).Nanoseconds(), c1-c0
	if ns <= 0 || ticks == 0 {
		why = fmt.Sprintf("calibration failed: %d ns, %d ticks", ns, ticks)
		return
	}
	hi, lo := bits.Mul64(uint64(ns), 1<<32)
	mult, _ = bits.Div64(hi, lo, ticks)
	tsc0, base, usTSC = c0, t0.UnixNano(), true
}

// tscClocksource reports whether Linux trusts the counter as its clock.
func tscClocksource() bool {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	return err == nil && strings.TrimSpace(string(b)) == "tsc"
}

// Source names the clock Nanos reads, calibrating first: the counter at
// its calibrated rate, or the monotonic clock and why.
func Source() string {
	Calibrate()
	if !usTSC {
		return "monotonic clock (" + why + ")"
	}
	return fmt.Sprintf("time-stamp counter at %.4f GHz, calibrated against the monotonic clock", float64(1<<32)/float64(mult))
}

// Nanos returns the time in ns since the Unix epoch, from the counter.
// Its first call calibrates (see Calibrate); later ones pay one atomic load
// for it, which also orders them after the calibration's writes.
func Nanos() int64 {
	Calibrate()
	if !usTSC {
		return base + int64(time.Since(mono0))
	}
	hi, lo := bits.Mul64(rdtsc()-tsc0, mult)
	return base + int64(hi<<32|lo>>32)
}
