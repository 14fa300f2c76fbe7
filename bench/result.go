package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
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
	Dropped  uint64                  // expected but never received (signals: expected from the ticks sent)
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
	// Cache holds the CacheProbes taken before and after the run; the
	// zero value means none were taken.
	Cache CachePhase
}

// CachePhase is a run's cache probes: before the run and after it.
type CachePhase struct {
	Before CacheProbe `json:"before"`
	After  CacheProbe `json:"after"`
}
