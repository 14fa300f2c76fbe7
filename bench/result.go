package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/tickd/tickd/internal/cycles"
)

// Latencies are recorded in nanoseconds, from 1 ns to a minute, at three
// significant digits (0.1% resolution at every magnitude).
const (
	histMin    = 1
	histMax    = int64(time.Minute)
	histDigits = 3
)

// NewHistogram returns an empty latency histogram (ns) as every part of the
// harness records them.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// latencies is a latency histogram being filled, with the latencies it
// could not hold at their value counted.
type latencies struct {
	hist    *hdrhistogram.Histogram
	clamped uint64
}

func newLatencies() latencies { return latencies{hist: NewHistogram()} }

// add records a latency in ns. One outside the histogram's range (a clock
// step can make one negative, a stall of over a minute too large) is
// recorded at the nearest bound, so that every message received is in the
// histogram, and counted, so that the report can say how many are not at
// their value.
func (l *latencies) add(ns int64) {
	if ns < 0 || ns > histMax {
		l.clamped++
	}
	_ = l.hist.RecordValue(min(max(ns, histMin), histMax))
}

// side is the Side of these latencies, named name.
func (l *latencies) side(name string) Side { return Side{Name: name, Hist: l.hist, Clamped: l.clamped} }

// Side is one measured path: tickd, or the bare-NATS floor beside it.
type Side struct {
	Name     string                  // "tickd", "floor", "inproc" or "clock" (ClockFloor)
	Hist     *hdrhistogram.Histogram // latency per message received, ns
	Sent     uint64                  // ticks (or floor messages) sent in the measured window
	Received uint64                  // messages recorded in Hist
	Clamped  uint64                  // of them, recorded at a bound of Hist's range (negative, or over a minute), not at their value
	Dropped  uint64                  // expected but not received (signals: expected from the ticks sent), within Drain if set
	Drain    time.Duration           // how long after the last send the expected were awaited; 0: until the pipeline closed (in process)
	Rate     float64                 // achieved send rate, messages per second of the measured window
	Elapsed  time.Duration           // measured window
}

// Settings are the options a run was made with, as the user gave them.
type Settings struct {
	Rate        float64       `json:"rate"`         // ticks per second, intended
	Duration    time.Duration `json:"duration_ns"`  // measured window
	Warmup      time.Duration `json:"warmup_ns"`    // sent before measuring, not recorded
	Symbols     int           `json:"symbols"`      //
	SignalRatio float64       `json:"signal_ratio"` // share of ticks that fire a signal
	Format      string        `json:"format"`       // feed payload format
	Wait        string        `json:"wait"`         // wait strategy of tickd's stages
	Pace        string        `json:"pace"`         // how the sender waits: sleep, yield or spin
	NATS        string        `json:"nats"`         // "embedded" or the external URL
	Mode        string        `json:"mode"`         // "e2e", "e2e-fused", "inproc" or "inproc-fused"
	GOGC        int           `json:"gogc"`         // the collector's GOGC during the run (-1: off)
}

// Machine describes where a run was made.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Host      string `json:"host"`
}

// Result is one run: its settings and machine, and the sides measured (tickd
// and the floor in e2e mode; inproc alone in the in-process mode).
type Result struct {
	Settings Settings
	Machine  Machine
	Start    time.Time
	Sides    []Side
	// Timing says what the latencies measure (TimingOf); the zero value
	// means unsaid.
	Timing Timing
	// Cache holds the CacheProbes taken before and after the run; the
	// zero value means none were taken.
	Cache CachePhase
	// Partial, when not empty, says why the run stopped before its end
	// (an interrupt): the sides hold what was measured until then, and a
	// side not measured at all is missing.
	Partial string
}

// Timing is what a run's latencies are: from where to where each one runs,
// and the clock that stamped both ends.
type Timing struct {
	Interval string `json:"interval"`
	Clock    string `json:"clock"`
}

// TimingOf is the Timing of a run in mode (Settings.Mode: "e2e",
// "e2e-fused", "inproc", "inproc-fused"); zero for another. In process it
// calibrates package cycles, if no run did.
func TimingOf(mode string) Timing {
	const inproc = "service time, not open loop: from the decode's receive stamp (ts_recv), so a tick encoded late is not charged for its wait, "
	switch mode {
	case "e2e", "e2e-fused":
		return Timing{Interval: "open loop: from each tick's intended send time (its ts_event) to its signal received from NATS by the bench's subscriber; floor: from each message's intended send time to its receipt",
			Clock: "monotonic clock from the run's start, on its wall-clock time (a step of the wall clock moves nothing), both ends in this process"}
	case "inproc":
		return Timing{Interval: inproc + "to the signal seen by the output ring's consumer (two hand-offs between goroutines)", Clock: cycles.Source()}
	case "inproc-fused":
		return Timing{Interval: inproc + "to the signal enqueued for the publisher (decode and engine on one goroutine)", Clock: cycles.Source()}
	}
	return Timing{}
}

// CachePhase is a run's cache probes: before the run and after it.
type CachePhase struct {
	Before CacheProbe `json:"before"`
	After  CacheProbe `json:"after"`
}
