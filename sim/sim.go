// Package sim is tickd's simulated exchange: a seeded, deterministic random
// walk of trades for a set of symbols, paced to a target rate in wall time.
// `tickd gen` and `tickd demo` write it over TCP or to a file in the native,
// CSV or JSON-lines formats of package feed.
//
// The walk is geometric Brownian motion per symbol with a slowly switching
// drift regime (so trends and reversals happen and moving-average rules have
// something to see), prices rounded to a 0.01 tick, trade sizes mostly round
// lots with an occasional block print (so volume rules fire), and inter-trade
// gaps drawn from an exponential distribution at the configured rate. Event
// times come from the walk, not the wall clock: with the same Seed and Start
// the stream is identical byte for byte, whatever the pacing.
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tickd/tickd/tick"
)

// Config sets up a Generator. The zero value of each field means its default.
type Config struct {
	Symbols    []string  // names; default: Count generated names (AAA, AAB, ...)
	Count      int       // how many generated names when Symbols is empty; default 32
	Seed       uint64    // PRNG seed; the same seed gives the same stream; default 1
	Rate       float64   // mean ticks per second of event time across all symbols; default 1000
	Start      time.Time // event time of the stream's start; default 2026-01-02 14:30:00 UTC
	Volatility float64   // annualised-ish volatility per symbol per sqrt(second); default 0.002
}

// DefaultStart is the default event time of a simulated session's start.
var DefaultStart = time.Date(2026, 1, 2, 14, 30, 0, 0, time.UTC)

func (c *Config) withDefaults() error {
	if len(c.Symbols) == 0 {
		if c.Count == 0 {
			c.Count = 32
		}
		if c.Count < 0 || c.Count > 26*26*26 {
			return fmt.Errorf("sim: symbol count %d not in 1..%d", c.Count, 26*26*26)
		}
		c.Symbols = GenerateNames(c.Count)
	}
	for _, s := range c.Symbols {
		if err := tick.ValidSymbol(s); err != nil {
			return fmt.Errorf("sim: symbol %q: %w", s, err)
		}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Rate == 0 {
		c.Rate = 1000
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return errors.New("sim: rate must be a positive number")
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Volatility == 0 {
		c.Volatility = 0.002
	}
	if c.Volatility < 0 {
		return errors.New("sim: volatility must be positive")
	}
	return nil
}

// GenerateNames returns n three-letter names: AAA, AAB, ..., AAZ, ABA, ...
func GenerateNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = string([]byte{byte('A' + i/676%26), byte('A' + i/26%26), byte('A' + i%26)})
	}
	return names
}

// Trade is one simulated print.
type Trade struct {
	TsEvent int64 // ns since the Unix epoch
	Symbol  int   // index into Generator.Symbols()
	Price   tick.Price
	Qty     int64
	Side    tick.Side
}

type walk struct {
	logPrice float64 // log of the price in currency units
	drift    float64 // per-second drift of log price in the current regime
}

// Generator produces the stream. It is not safe for concurrent use.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	walks  []walk
	now    int64 // event time of the last trade, ns
	meanNs float64
	ended  bool // the event time ran past the int64 ns range (OutOfTime)
}

// New returns a Generator for cfg.
func New(cfg Config) (*Generator, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x7469636b64)),
		walks:  make([]walk, len(cfg.Symbols)),
		now:    cfg.Start.UnixNano(),
		meanNs: 1e9 / cfg.Rate,
	}
	for i := range g.walks {
		g.walks[i].logPrice = math.Log(10 + 490*g.rng.Float64())
	}
	return g, nil
}

// Symbols returns the symbol names, indexed by Trade.Symbol.
func (g *Generator) Symbols() []string { return g.cfg.Symbols }

// OutOfTime says whether the event time has run past the int64 ns range:
// the trade Next returned last, and every later one, is stamped at its
// end, math.MaxInt64.
func (g *Generator) OutOfTime() bool { return g.ended }

// Rate returns the configured mean rate in ticks per second.
func (g *Generator) Rate() float64 { return g.cfg.Rate }

// Next returns the next trade.
func (g *Generator) Next() Trade {
	gap := g.rng.ExpFloat64() * g.meanNs
	if gap >= float64(math.MaxInt64-g.now) {
		// Past 2262-04-11 (a tiny -rate, a -start near the end): the sum
		// would wrap to a time centuries back. Held at the end instead.
		g.now, g.ended = math.MaxInt64, true
	} else {
		g.now += int64(gap) + 1
	}
	i := g.rng.IntN(len(g.walks))
	w := &g.walks[i]
	// Seconds since this symbol's previous trade, on average.
	dt := g.meanNs * float64(len(g.walks)) / 1e9
	if g.rng.IntN(2000) == 0 { // regime switch: a new trend, up or down
		w.drift = g.rng.NormFloat64() * g.cfg.Volatility * 0.5
	}
	w.logPrice += w.drift*dt + g.cfg.Volatility*math.Sqrt(dt)*g.rng.NormFloat64()
	// Keep the walk in a sane band (a listed stock, not a penny or a moon shot).
	w.logPrice = math.Min(math.Max(w.logPrice, math.Log(1)), math.Log(5000))
	cents := math.Round(math.Exp(w.logPrice) * 100)
	price, _ := tick.PriceFromUnits(int64(cents), 2)
	qty := int64(1+g.rng.IntN(5)) * 100
	switch r := g.rng.IntN(100); {
	case r < 20:
		qty = int64(1 + g.rng.IntN(99)) // odd lot
	case r == 99:
		qty *= int64(20 + g.rng.IntN(80)) // block print
	}
	side := tick.SideBuy
	if g.rng.IntN(2) == 0 {
		side = tick.SideSell
	}
	return Trade{TsEvent: g.now, Symbol: i, Price: price, Qty: qty, Side: side}
}
