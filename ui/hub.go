package ui

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
)

// Options bound what a Hub keeps and how often a Server streams. The zero
// value of each field means its default.
type Options struct {
	Prefix     string // subject prefix tickd publishes under; default bus.DefaultPrefix
	MaxSymbols int    // symbols tracked (the first seen); later ones are counted and ignored; default 512
	Points     int    // chart points (one per stats message) kept per symbol; default 600
	Bars       int    // bars kept per symbol and interval; default 300
	Intervals  int    // bar intervals kept per symbol; default 4
	Marks      int    // signals kept per symbol, for chart markers; default 64
	Signals    int    // latest signals kept across symbols; default 100
	// LatencySamples is how many recent messages the latency percentiles
	// are taken over; default 4096.
	LatencySamples int
	// Interval is the least time between two events of one stream; default
	// 100ms (at most 10 updates a second per browser).
	Interval time.Duration
	// MaxClients bounds the streams served at once; default 32.
	MaxClients int
	// Counters, when set, reads the pipeline's totals for the throughput
	// figures (ticks in, signals out); without it they are counted from
	// what the Hub receives.
	Counters func() Counters
	// Now is the wall clock (tests set it); default time.Now.
	Now func() time.Time
}

// Counters are a pipeline's running totals.
type Counters struct {
	Events    uint64 // feed events the engine took in
	Signals   uint64 // signals published
	Published uint64 // messages published, every kind
}

func (o *Options) withDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Prefix == "" {
		o.Prefix = bus.DefaultPrefix
	}
	def(&o.MaxSymbols, 512)
	// Rings grow as they fill: at these sizes a busy symbol holds about
	// 45 KB (600 points of 40 bytes, 300 bars of 64 per interval), 512 of
	// them some 23 MB at most with one bar interval.
	def(&o.Points, 600)
	def(&o.Bars, 300)
	def(&o.Intervals, 4)
	def(&o.Marks, 64)
	def(&o.Signals, 100)
	def(&o.LatencySamples, 4096)
	def(&o.MaxClients, 32)
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Hub aggregates what tickd publishes into bounded per-symbol history.
// Handle may be called from any goroutine (NATS delivery goroutines); it
// takes one mutex, which the streams take briefly to copy out an update.
type Hub struct {
	opts    Options
	version atomic.Uint64 // bumped by every Handle: streams skip a tick when it has not moved
	skipped atomic.Uint64 // BBOs received but not decoded (bboThrottle)
	changed atomic.Int64  // when Handle last ran (Options.Now), Unix ns

	mu        sync.Mutex
	symbols   map[string]*symbol
	names     []string // sorted
	watchGen  uint64   // bumped when a watchlist entry changes (a stats message)
	signals   ring[signalRow]
	counts    [bus.NumKinds]uint64 // messages received by bus.Kind (KindInvalid: undecodable)
	overflow  uint64               // messages of symbols beyond MaxSymbols
	tickToPub latencies
	hop       latencies
	rates     rateMeter
}

// symbol is one symbol's history.
type symbol struct {
	points ring[point]
	bars   []barSeries // by interval, shortest first
	marks  ring[mark]
	stats  *bus.Stats // latest
	bbo    *bus.BBO   // latest
	first  float64    // first price seen: the watchlist's change is against it
}

type point struct {
	t                    int64 // event time, ns
	last, sma, ema, vwap float64
}

type barSeries struct {
	interval int64
	name     string // "1s"
	bars     ring[bar]
}

type bar struct {
	start                        int64
	open, high, low, close, vwap float64
	volume, count                int64
}

type mark struct {
	t     int64
	price float64
	dir   bus.Direction
	rule  string
}

type signalRow struct {
	t       int64 // event time
	symbol  string
	rule    string
	dir     bus.Direction
	price   string
	values  string
	latency int64 // ts_pub − ts_recv, ns
}

// NewHub returns an empty Hub.
func NewHub(o Options) *Hub {
	o.withDefaults()
	h := &Hub{opts: o, symbols: make(map[string]*symbol), signals: newRing[signalRow](o.Signals)}
	h.tickToPub.samples = newRing[int64](o.LatencySamples)
	h.hop.samples = newRing[int64](o.LatencySamples)
	return h
}

// Subscribe subscribes h to the signals, bars, stats and BBOs published on
// nc under the Hub's prefix. Unsubscribe them (or close nc) to stop.
//
// BBOs come with every book change (thousands a second per busy symbol on
// an ITCH feed), far more than a person can read: a symbol's BBOs are
// decoded at most every bboEvery, and the rest only counted, so the
// dashboard's JSON decoding never competes with the pipeline for a core.
func (h *Hub) Subscribe(nc *nats.Conn) ([]*nats.Subscription, error) {
	subj := bus.Subjects{Prefix: h.opts.Prefix}
	var subs []*nats.Subscription
	for _, pattern := range []string{subj.AllSignals(), subj.AllBars(), subj.AllStats(), subj.AllBBOs()} {
		var s *nats.Subscription
		var err error
		if pattern == subj.AllBBOs() {
			s, err = nc.Subscribe(pattern, h.bboThrottle())
		} else {
			s, err = bus.Subscribe(nc, pattern, h.Handle)
		}
		if err != nil {
			for _, s := range subs {
				s.Unsubscribe()
			}
			return nil, fmt.Errorf("ui: %w", err)
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// Handle adds one decoded message to the history.
func (h *Hub) Handle(m bus.Message) {
	now := h.opts.Now().UnixNano()
	h.changed.Store(now)
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.version.Add(1)
	h.counts[m.Kind()]++
	switch m := m.(type) {
	case *bus.Stats:
		h.hop.add(now - m.TsPub)
		if s := h.symbol(m.Symbol); s != nil {
			h.addStats(s, m)
			h.watchGen++
		}
	case *bus.Bar:
		h.hop.add(now - m.TsPub)
		if s := h.symbol(m.Symbol); s != nil {
			h.addBar(s, m)
		}
	case *bus.Signal:
		h.hop.add(now - m.TsPub)
		h.tickToPub.add(m.TsPub - m.TsRecv)
		h.addSignal(m)
	case *bus.BBO:
		h.hop.add(now - m.TsPub)
		h.tickToPub.add(m.TsPub - m.TsRecv)
		if s := h.symbol(m.Symbol); s != nil {
			s.bbo = m
		}
	}
}

// bboEvery is the least time between two BBOs of a symbol the Hub decodes.
const bboEvery = 100 * time.Millisecond

// bboThrottle returns the BBO subscription's handler. nats.go calls it on
// one goroutine, so its map of when each subject was last decoded needs no
// lock. The map holds at most MaxSymbols subjects: BBOs of symbols beyond
// them would be ignored by Handle anyway, so they are only counted.
func (h *Hub) bboThrottle() nats.MsgHandler {
	last := make(map[string]time.Time)
	return func(msg *nats.Msg) {
		now := h.opts.Now()
		t, seen := last[msg.Subject]
		if seen && now.Sub(t) < bboEvery || !seen && len(last) >= h.opts.MaxSymbols {
			h.skipped.Add(1)
			return
		}
		last[msg.Subject] = now
		m, err := bus.Decode(msg)
		if err != nil {
			m = err.(*bus.DecodeError)
		}
		h.Handle(m)
	}
}

// symbol returns name's history, made on first sight, or nil past MaxSymbols.
func (h *Hub) symbol(name string) *symbol {
	if s := h.symbols[name]; s != nil {
		return s
	}
	if len(h.symbols) >= h.opts.MaxSymbols {
		h.overflow++
		return nil
	}
	s := &symbol{points: newRing[point](h.opts.Points), marks: newRing[mark](h.opts.Marks), first: math.NaN()}
	h.symbols[name] = s
	i, _ := slices.BinarySearch(h.names, name)
	h.names = slices.Insert(h.names, i, name)
	return s
}

func (h *Hub) addStats(s *symbol, m *bus.Stats) {
	s.stats = m
	last := m.Last.InexactFloat64()
	if math.IsNaN(s.first) {
		s.first = last
	}
	// A stats message comes when the symbol's shortest bar closes; a second
	// one for the same trade (the flush at shutdown) replaces the point.
	p := point{t: m.TsEvent, last: last, sma: m.SMA, ema: m.EMA, vwap: m.VWAP}
	if lp := s.points.last(); lp != nil && lp.t == p.t {
		*lp = p
		return
	}
	s.points.push(p)
}

func (h *Hub) addBar(s *symbol, m *bus.Bar) {
	iv := int64(m.Interval)
	k := slices.IndexFunc(s.bars, func(b barSeries) bool { return b.interval == iv })
	if k < 0 {
		if len(s.bars) >= h.opts.Intervals {
			return
		}
		k, _ = slices.BinarySearchFunc(s.bars, iv, func(b barSeries, iv int64) int { return cmpInt(b.interval, iv) })
		s.bars = slices.Insert(s.bars, k, barSeries{interval: iv, name: bus.FormatInterval(m.Interval), bars: newRing[bar](h.opts.Bars)})
	}
	b := bar{start: m.Start, open: m.Open.InexactFloat64(), high: m.High.InexactFloat64(), low: m.Low.InexactFloat64(),
		close: m.Close.InexactFloat64(), vwap: m.VWAP.InexactFloat64(), volume: m.Volume, count: m.Count}
	r := &s.bars[k].bars
	if lb := r.last(); lb != nil && lb.start == b.start {
		*lb = b // the open bar flushed at shutdown, then again: keep the newest
		return
	}
	r.push(b)
}

func (h *Hub) addSignal(m *bus.Signal) {
	row := signalRow{t: m.TsEvent, symbol: m.Symbol, rule: m.Rule, dir: m.Dir, price: m.Price.String(),
		values: m.FormatValues(6, "price"), latency: m.TsPub - m.TsRecv}
	h.signals.push(row)
	if s := h.symbol(m.Symbol); s != nil {
		s.marks.push(mark{t: m.TsEvent, price: m.Price.InexactFloat64(), dir: m.Dir, rule: m.Rule})
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// settling says whether the Hub received anything within rateSettle and
// refreshEvery: its rates may still be falling, so a stream must keep
// sending them for a while after the feed stops.
func (h *Hub) settling() bool {
	return h.opts.Now().UnixNano()-h.changed.Load() <= rateSettle+int64(refreshEvery)
}

// Symbols returns the names of the symbols tracked, sorted.
func (h *Hub) Symbols() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.names)
}
