// Package stats holds the running statistics of the tickd engine: each one a
// small struct, updated in O(1) per tick without allocating, with its formula
// in its doc comment.
//
//	Rolling  SMA, sample variance, stddev and z-score over the last N ticks
//	EMA      exponential moving average by half-life in event time
//	EMAs     several EMAs of the same samples, one gap computation per sample
//	Window   count, mean, VWAP, first/min/max price over an event-time window,
//	         kept in B sub-buckets
//	Session  count, volume, min, max and exact VWAP since the first tick
//	Bars     OHLCV bars per interval with exact VWAP
//	Totals   exact running count, Σq, Σp, Σp·q: windows and bars over one
//	         stream share one and take differences of it
//	PQSum    exact 128-bit Σprice×qty behind every VWAP
//
// Times are event times in ns since the Unix epoch. None of these types is
// safe for concurrent use: the engine gives each symbol to one goroutine.
// Types that need a size (Rolling, Window, Bars, EMAs) hold nothing until
// Init; the others are ready at their zero value. Prices go in as
// tick.Price; float results are in currency units.
//
// Callers feed each statistic non-decreasing times; an earlier time is
// treated as the latest one seen (the engine clamps and counts those).
package stats

// floorDiv returns ⌊t/d⌋ for d > 0, rounding towards −∞ for negative t.
func floorDiv(t, d int64) int64 {
	q := t / d
	if t%d < 0 {
		q--
	}
	return q
}
