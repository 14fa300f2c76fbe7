package ui

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tickd/tickd/bus"
)

// cursor is what one stream has been sent: the symbol and bar interval it
// watches and, per ring, the number of the next item it needs.
type cursor struct {
	symbol   string // "" until chosen: the first symbol, by name
	interval string // bar interval asked for; "" = the shortest
	sym      *symbol
	barsIv   int64 // interval the bars cursor counts in
	points   uint64
	bars     uint64
	marks    uint64
	signals  uint64
	watchGen uint64 // Hub.watchGen when the watchlist was last sent
	n        int    // updates sent
}

// appendUpdate appends to dst the JSON update that brings c's reader up to
// date, and advances c. See the package doc for the format.
func (h *Hub) appendUpdate(dst []byte, c *cursor) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.opts.Now().UnixNano()
	if c.symbol == "" && len(h.names) > 0 {
		c.symbol = h.names[0]
	}
	s := h.symbols[c.symbol]
	var series *barSeries
	if s != nil && len(s.bars) > 0 {
		series = &s.bars[0]
		for i := range s.bars {
			if s.bars[i].name == c.interval {
				series = &s.bars[i]
			}
		}
	}
	var iv int64
	if series != nil {
		iv = series.interval
	}
	reset := c.n == 0 || s != c.sym || iv != c.barsIv
	if s != nil && (c.points < s.points.oldest() || c.marks < s.marks.oldest()) ||
		series != nil && c.bars < series.bars.oldest() {
		reset = true // the reader fell behind a ring: start it over
	}
	if reset {
		c.sym, c.barsIv, c.points, c.bars, c.marks = s, iv, 0, 0, 0
	}

	dst = append(dst, `{"sym":`...)
	dst = appendString(dst, c.symbol)
	dst = append(dst, `,"known":`...)
	dst = strconv.AppendBool(dst, s != nil)
	dst = append(dst, `,"reset":`...)
	dst = strconv.AppendBool(dst, reset)
	dst = append(dst, `,"interval":`...)
	if series != nil {
		dst = appendString(dst, series.name)
	} else {
		dst = append(dst, `""`...)
	}
	dst = append(dst, `,"intervals":[`...)
	if s != nil {
		for i := range s.bars {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s.bars[i].name)
		}
	}
	dst = append(dst, ']')
	if s != nil {
		dst = h.appendSymbol(dst, c, s, series)
	}
	if c.n == 0 || c.watchGen != h.watchGen {
		c.watchGen = h.watchGen
		dst = h.appendWatch(dst)
	}
	dst = h.appendSignals(dst, c)
	dst = h.appendRates(dst, now)
	c.n++
	return append(dst, '}')
}

// appendSymbol appends the chart's new points, bars and markers and the
// symbol's latest quote.
func (h *Hub) appendSymbol(dst []byte, c *cursor, s *symbol, series *barSeries) []byte {
	dst = append(dst, `,"points":[`...)
	sep := false
	s.points.since(c.points, func(p *point) {
		dst = appendSep(dst, &sep)
		dst = appendMs(append(dst, '['), p.t)
		for _, f := range [...]float64{p.last, p.sma, p.ema, p.vwap} {
			dst = appendFloat(append(dst, ','), f)
		}
		dst = append(dst, ']')
	})
	c.points = s.points.next
	dst = append(dst, `],"bars":[`...)
	if series != nil {
		sep = false
		series.bars.since(c.bars, func(b *bar) {
			dst = appendSep(dst, &sep)
			dst = appendMs(append(dst, '['), b.start)
			for _, f := range [...]float64{b.open, b.high, b.low, b.close} {
				dst = appendFloat(append(dst, ','), f)
			}
			dst = strconv.AppendInt(append(dst, ','), b.volume, 10)
			dst = appendFloat(append(dst, ','), b.vwap)
			dst = strconv.AppendInt(append(dst, ','), b.count, 10)
			dst = append(dst, ']')
		})
		c.bars = series.bars.next
	}
	dst = append(dst, `],"marks":[`...)
	sep = false
	s.marks.since(c.marks, func(m *mark) {
		dst = appendSep(dst, &sep)
		dst = appendMs(append(dst, '['), m.t)
		dst = appendFloat(append(dst, ','), m.price)
		dst = strconv.AppendInt(append(dst, ','), int64(m.dir), 10)
		dst = appendString(append(dst, ','), m.rule)
		dst = append(dst, ']')
	})
	c.marks = s.marks.next
	dst = append(dst, `],"quote":{`...)
	if st := s.stats; st != nil {
		dst = appendMs(append(dst, `"t":`...), st.TsEvent)
		dst = appendString(append(dst, `,"last":`...), st.Last.String())
		dst = appendFloat(append(dst, `,"chg":`...), change(s.first, st.Last.InexactFloat64()))
		for _, kv := range [...]struct {
			k string
			v float64
		}{{"sma", st.SMA}, {"ema", st.EMA}, {"vwap", st.VWAP}, {"sd", st.StdDev}, {"z", st.ZScore}} {
			dst = appendFloat(append(append(append(dst, `,"`...), kv.k...), `":`...), kv.v)
		}
		dst = appendString(append(dst, `,"min":`...), st.Min.String())
		dst = appendString(append(dst, `,"max":`...), st.Max.String())
		dst = strconv.AppendInt(append(dst, `,"count":`...), st.Count, 10)
		dst = strconv.AppendInt(append(dst, `,"volume":`...), st.Volume, 10)
	}
	if b := s.bbo; b != nil {
		if s.stats != nil {
			dst = append(dst, ',')
		}
		dst = appendSide(append(dst, `"bid":`...), b.Bid.Valid, b.Bid.Decimal.String())
		dst = appendSide(append(dst, `,"ask":`...), b.Ask.Valid, b.Ask.Decimal.String())
		dst = strconv.AppendInt(append(dst, `,"bid_size":`...), b.BidSize, 10)
		dst = strconv.AppendInt(append(dst, `,"ask_size":`...), b.AskSize, 10)
	}
	return append(dst, '}')
}

// appendWatch appends every symbol's last price and change, by name.
func (h *Hub) appendWatch(dst []byte) []byte {
	dst = append(dst, `,"watch":[`...)
	for i, name := range h.names {
		if i > 0 {
			dst = append(dst, ',')
		}
		s := h.symbols[name]
		dst = appendString(append(dst, '['), name)
		if s.stats != nil {
			dst = appendString(append(dst, ','), s.stats.Last.String())
			dst = appendFloat(append(dst, ','), change(s.first, s.stats.Last.InexactFloat64()))
		} else {
			dst = append(dst, ",null,null"...)
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

// appendSignals appends the signals (every symbol) c has not been sent.
func (h *Hub) appendSignals(dst []byte, c *cursor) []byte {
	dst = append(dst, `,"signals":[`...)
	sep := false
	h.signals.since(c.signals, func(r *signalRow) {
		dst = appendSep(dst, &sep)
		dst = appendMs(append(dst, '['), r.t)
		dst = appendString(append(dst, ','), r.symbol)
		dst = appendString(append(dst, ','), r.rule)
		dst = appendString(append(dst, ','), r.dir.String())
		dst = appendString(append(dst, ','), r.price)
		dst = appendString(append(dst, ','), r.values)
		dst = appendFloat(append(dst, ','), float64(r.latency)/1e3)
		dst = append(dst, ']')
	})
	c.signals = h.signals.next
	return append(dst, ']')
}

// appendRates appends throughput, latency percentiles and counts.
func (h *Hub) appendRates(dst []byte, now int64) []byte {
	total := h.skipped.Load()
	for _, n := range h.counts {
		total += n
	}
	var pc Counters
	if h.opts.Counters != nil {
		pc = h.opts.Counters()
	} else {
		pc.Signals = h.counts[bus.KindSignal]
	}
	r := h.rates.rates(now, [3]uint64{pc.Events, pc.Signals, total})
	dst = append(dst, `,"rates":{"ticks":`...)
	if h.opts.Counters != nil {
		dst = appendFloat(dst, r[0])
	} else {
		dst = append(dst, "null"...)
	}
	dst = appendFloat(append(dst, `,"signals":`...), r[1])
	dst = appendFloat(append(dst, `,"msgs":`...), r[2])
	dst = strconv.AppendUint(append(dst, `,"received":`...), total, 10)
	dst = strconv.AppendUint(append(dst, `,"invalid":`...), h.counts[bus.KindInvalid], 10)
	dst = strconv.AppendInt(append(dst, `,"symbols":`...), int64(len(h.names)), 10)
	dst = strconv.AppendUint(append(dst, `,"overflow":`...), h.overflow, 10)
	dst = append(dst, '}')
	dst = appendPercentiles(append(dst, `,"latency":`...), h.tickToPub.percentiles(now))
	return appendPercentiles(append(dst, `,"hop":`...), h.hop.percentiles(now))
}

// appendPercentiles appends p in microseconds.
func appendPercentiles(dst []byte, p percentiles) []byte {
	dst = strconv.AppendInt(append(dst, `{"n":`...), int64(p.N), 10)
	if p.N > 0 {
		for _, kv := range [...]struct {
			k string
			v int64
		}{{"p50", p.P50}, {"p99", p.P99}, {"p999", p.P999}, {"max", p.Max}} {
			dst = appendFloat(append(append(append(dst, `,"`...), kv.k...), `":`...), float64(kv.v)/1e3)
		}
	}
	return append(dst, '}')
}

// change is the percent change from first to last (NaN without a first).
func change(first, last float64) float64 {
	if first == 0 || math.IsNaN(first) {
		return math.NaN()
	}
	return (last - first) / first * 100
}

func appendSep(dst []byte, sep *bool) []byte {
	if *sep {
		dst = append(dst, ',')
	}
	*sep = true
	return dst
}

// appendMs appends ns as milliseconds (a JSON number with a fraction when
// needed: float64 holds today's epoch milliseconds to well under 1µs).
func appendMs(dst []byte, ns int64) []byte {
	return strconv.AppendFloat(dst, float64(ns)/1e6, 'f', -1, 64)
}

// appendFloat appends f as the shortest JSON number that reads back to it,
// or null for NaN and ±Inf.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

func appendSide(dst []byte, valid bool, price string) []byte {
	if !valid {
		return append(dst, "null"...)
	}
	return appendString(dst, price)
}

// appendString appends s as a JSON string; bytes other than '"', '\\' and
// control characters are copied as they are (callers pass UTF-8).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c >= utf8.RuneSelf:
			// JSON is UTF-8: a byte that is not (a ?symbol= of %FF) is
			// sent as U+FFFD, as encoding/json does.
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, `\ufffd`...)
				continue
			}
			dst = append(dst, s[i:i+n]...)
			i += n - 1
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
