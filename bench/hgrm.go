package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// HgrmTicksPerHalfDistance is the percentile resolution of the .hgrm files
// we write: five rows between 0% and 50%, five more between 50% and 75%, and
// so on, halving the remaining distance each time (the resolution
// HdrHistogram's own tools and its plotter use by default).
const HgrmTicksPerHalfDistance = 5

// HgrmRow is one row of a percentile distribution: the value (in the output
// unit) at or below which Percentile (0..1) of the Count recorded values lie.
type HgrmRow struct {
	Value      float64
	Percentile float64 // 0..1, the reporting tick, not the exact share at Value
	Count      int64   // recorded values at or below Value
}

// hgrmRows walks h in value order and yields one row per percentile tick,
// following HdrHistogram's percentile iteration: a row is emitted at the first
// recorded value whose cumulative share reaches the tick (several ticks may
// land on one value), the tick then advances by 1/(ticks·2^(k+1)) where
// 1/2^k is the remaining distance to 100%, and a final row at 100% holds the
// maximum. Values are the highest equivalent value of their bucket, in ns.
func hgrmRows(h *hdrhistogram.Histogram, ticksPerHalf int) []HgrmRow {
	total := h.TotalCount()
	if total == 0 {
		return nil
	}
	var rows []HgrmRow
	level := 0.0 // percent, 0..100
	var cum int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		cum += b.Count
		current := 100 * float64(cum) / float64(total)
		for level <= current {
			rows = append(rows, HgrmRow{Value: float64(b.To), Percentile: level / 100, Count: cum})
			halves := math.Trunc(math.Log2(100/(100-level))) + 1
			level += 100 / (float64(ticksPerHalf) * math.Exp2(halves))
			if cum == total {
				// Ticks approach 100% forever: the last value gets one tick
				// row, then the closing 100% row below.
				break
			}
		}
		if cum == total {
			rows = append(rows, HgrmRow{Value: float64(b.To), Percentile: 1, Count: cum})
			break
		}
	}
	return rows
}

// hgrmGeometry returns the bucket and sub-bucket counts of h's layout, which
// the histogram keeps private, from the parameters it was made with.
func hgrmGeometry(h *hdrhistogram.Histogram) (buckets, subBuckets int64) {
	digits := h.SignificantFigures()
	subBuckets = int64(1) << uint(math.Ceil(math.Log2(2*math.Pow10(int(digits)))))
	unit := uint(0)
	if low := h.LowestTrackableValue(); low > 1 {
		unit = uint(math.Floor(math.Log2(float64(low))))
	}
	smallestUntrackable := subBuckets << unit
	buckets = 1
	for smallestUntrackable <= h.HighestTrackableValue() {
		if smallestUntrackable > math.MaxInt64/2 {
			return buckets + 1, subBuckets
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}

// WriteHgrm writes h as a percentile distribution in HdrHistogram's text
// (.hgrm) layout, the one its outputPercentileDistribution prints and its
// plotter reads: a header, rows of value / percentile / total count /
// 1/(1-percentile) at five ticks per half distance, and a footer with the
// mean, standard deviation, max, total count and bucket layout. Values are
// divided by unitScale (1000 turns our ns into µs) and printed with three
// decimals. The closing row at percentile 1 prints "inf" for 1/(1-p).
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram, unitScale float64) error {
	if h == nil {
		return errors.New("bench: hgrm: nil histogram")
	}
	if !(unitScale > 0) || math.IsInf(unitScale, 0) {
		return fmt.Errorf("bench: hgrm: unit scale %v is not a positive number", unitScale)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	for _, r := range hgrmRows(h, HgrmTicksPerHalfDistance) {
		if r.Percentile >= 1 {
			fmt.Fprintf(bw, "%12.3f %2.12f %10d %14s\n", r.Value/unitScale, r.Percentile, r.Count, "inf")
			continue
		}
		fmt.Fprintf(bw, "%12.3f %2.12f %10d %14.2f\n", r.Value/unitScale, r.Percentile, r.Count, 1/(1-r.Percentile))
	}
	buckets, subBuckets := hgrmGeometry(h)
	mean, std := 0.0, 0.0
	if h.TotalCount() > 0 { // an empty histogram's mean is 0 rather than NaN here
		mean, std = h.Mean()/unitScale, h.StdDev()/unitScale
	}
	fmt.Fprintf(bw, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean, std)
	fmt.Fprintf(bw, "#[Max     = %12.3f, Total count    = %12d]\n", float64(h.Max())/unitScale, h.TotalCount())
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("bench: hgrm: %w", err)
	}
	return nil
}
