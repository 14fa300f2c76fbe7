package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/tickd/tickd/feed"
)

// WriteOptions says how much of the stream to write and how fast.
type WriteOptions struct {
	Format   feed.Format   // native (default), CSV or JSON lines
	Count    int64         // stop after this many trades; 0 = no limit
	Duration time.Duration // stop after this much event time; 0 = no limit
	// Unpaced writes as fast as the writer takes it; otherwise each trade is
	// written when the wall clock reaches its event-time offset from the start,
	// so the stream arrives at the configured rate.
	Unpaced bool
	// NoEnd leaves out the native End-of-session frame when the stream stops.
	NoEnd bool
	// Header writes the CSV header line first.
	Header bool
}

// Written reports what Write wrote: after a failed write, the trades
// whose bytes all went out and the bytes that did.
type Written struct {
	Trades int64
	Bytes  int64
}

// flushBytes is how much Write buffers before a write when it is behind.
const flushBytes = 32 << 10

// Write writes the generator's stream to w until opts says stop, ctx is done,
// or w fails. A cancelled ctx is a normal stop (nil error). The native stream
// starts with Hello and, unless NoEnd, ends with End of session.
func Write(ctx context.Context, w io.Writer, g *Generator, opts WriteOptions) (Written, error) {
	var (
		enc   feed.NativeEncoder
		buf   = make([]byte, 0, flushBytes+512)
		ends  []int // where each trade in buf ends: a short write counts those it finished
		sent  int64 // trades encoded
		out   Written
		start = time.Now()
		first = g.now
		names = g.Symbols()
		last  int64
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		n, err := w.Write(buf)
		out.Bytes += int64(n)
		out.Trades += int64(sort.SearchInts(ends, n+1)) // the trades that end within n
		buf, ends = buf[:0], ends[:0]
		if err != nil {
			return fmt.Errorf("sim: write: %w", err)
		}
		return nil
	}
	switch opts.Format {
	case feed.FormatNative:
		buf = enc.Hello(buf)
	case feed.FormatCSV:
		if opts.Header {
			buf = feed.AppendCSVHeader(buf)
		}
	case feed.FormatJSON:
	default:
		return out, fmt.Errorf("sim: unsupported format %v", opts.Format)
	}
	for opts.Count == 0 || sent < opts.Count {
		if err := ctx.Err(); err != nil {
			break
		}
		t := g.Next()
		if g.OutOfTime() {
			return out, errors.Join(flush(), fmt.Errorf("sim: after %d trades the event time runs past %s, the end of int64 ns since the epoch: a lower count or duration, a higher rate or an earlier start",
				sent, time.Unix(0, math.MaxInt64).UTC().Format(time.RFC3339)))
		}
		if opts.Duration > 0 && time.Duration(t.TsEvent-first) > opts.Duration {
			break
		}
		if !opts.Unpaced {
			due := start.Add(time.Duration(t.TsEvent - first))
			if wait := time.Until(due); wait > 0 {
				if err := flush(); err != nil {
					return out, err
				}
				// Sleep in steps of at least a millisecond (the timer's real
				// granularity) and let the next trades catch up in a batch.
				if !feed.SleepContext(ctx, max(wait, time.Millisecond)) {
					break
				}
			}
		}
		switch opts.Format {
		case feed.FormatNative:
			buf = enc.Trade(buf, names[t.Symbol], t.TsEvent, t.Price, t.Qty, t.Side)
		case feed.FormatCSV:
			buf = feed.AppendCSV(buf, t.TsEvent, names[t.Symbol], t.Price, t.Qty, t.Side)
		case feed.FormatJSON:
			buf = feed.AppendJSON(buf, t.TsEvent, names[t.Symbol], t.Price, t.Qty, t.Side)
		}
		last = t.TsEvent
		sent++
		ends = append(ends, len(buf))
		if len(buf) >= flushBytes {
			if err := flush(); err != nil {
				return out, err
			}
		}
	}
	if opts.Format == feed.FormatNative && !opts.NoEnd {
		buf = enc.End(buf, last)
	}
	return out, flush()
}
