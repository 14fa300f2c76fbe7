package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tickd/tickd/engine/stats"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// Config configures an Engine. Zero fields take the defaults below; New
// applies them and then validates the result.
type Config struct {
	// Shards is the number of engine goroutines; symbol id goes to shard
	// id mod Shards. Default 1.
	Shards int
	// Partition is the share of the feed's symbols this instance owns
	// when several split one feed; the zero value owns them all.
	Partition Partition
	// MaxSymbols bounds the symbol IDs accepted (0 … MaxSymbols−1); events
	// for others are rejected. Default: the symbol table's capacity.
	MaxSymbols int
	// RingCapacity is the slot count (a power of two) of each input ring
	// (one per Input per shard). Default DefaultRingCapacity.
	RingCapacity int
	// OutputCapacity is the slot count (a power of two) of each shard's
	// output ring. A tick.Out is 312 bytes, so the default, 1024, keeps a
	// ring to 312 KiB, which stays in cache. Default 1024.
	OutputCapacity int
	// Wait is how shards and rings wait when idle or full. Default SpinYield.
	Wait ringbuf.WaitStrategy
	// OutputBell, if set, is the Bell of every output ring
	// (ringbuf.Options.Bell): each Commit to an output ring (one per input
	// batch) rings it. A consumer that fans in over Outputs and idles on the
	// same Bell with ringbuf.Park (bus.Publisher with PublisherOptions{Bell:
	// OutputBell, Wait: ringbuf.Park}; see ringbuf.NewIdler) is then woken
	// by the first commit instead of by the park timeout (~10 ms). A ring
	// with a Bell pays one atomic load per Commit while nobody is parked.
	// Default nil: no Bell, for consumers that spin or yield, or Wait on
	// each ring.
	OutputBell *ringbuf.Bell
	// SMA is N, the number of trades behind the SMA, stddev and z-score.
	// Default 50.
	SMA int
	// Windows are the event-time windows kept per symbol (count, mean,
	// VWAP, first/min/max); tick.Stats.Mean reports the first. Windows that
	// rules name are added. Default 1s, 60s.
	Windows []time.Duration
	// WindowBuckets is how many sub-buckets each window keeps (see
	// stats.Window); every window must be a multiple of it in ns. Default 20.
	WindowBuckets int
	// EMAHalfLife is the half-life of tick.Stats.EMA. Default 10s.
	EMAHalfLife time.Duration
	// Bars are the OHLCV bar intervals. The shortest one's closing also
	// publishes the symbol's tick.Stats. Default 1s, 1m.
	Bars []time.Duration
	// Rules are the rules to evaluate (none by default; see DefaultRules).
	Rules []RuleSpec
	// BookOrders is how many live orders each shard's L3 books are sized
	// for up front (book.Options.ExpectedOrders); more grow the slab and
	// the order table (the shard grows the table when its input is idle,
	// else a pause of milliseconds). The books are created on a shard's
	// first L3 or venue event, so a trades-only feed never allocates them.
	// About 65 B per order. Default 1<<20.
	BookOrders int
	// Emit, if set, runs the engine inline: one shard, no goroutine and no
	// ring of its own. It is applied on the goroutine of its source, one
	// source at a time, and each record goes to Emit as soon as the batch
	// that produced it is applied (see Emitter): the least latency from a
	// tick to its signal, for one feed. Wait, OutputCapacity and OutputBell
	// are then unused, and a slow Emit slows the source. Run must still be
	// called: at shutdown it waits for the source to close and publishes
	// the open bars. Default nil: the sharded engine of Run, publishing to
	// Outputs.
	Emit Emitter
	// BBOInterval throttles tick.BBO records per symbol in event time: a
	// change of the best bid or offer is published at once if the symbol's
	// last BBO went out at least BBOInterval before; otherwise it is held
	// and published by the symbol's next book event that is, or at the end
	// of the stream, unless the touch is by then back to the BBO published
	// last. 0 publishes every change; negative publishes none.
	// Event time only, so a replay publishes the same BBOs. Default 0.
	BBOInterval time.Duration
}

// Limits enforced by validation.
const (
	MaxShards        = 256
	MaxSMA           = 1 << 20
	MaxWindowBuckets = 1 << 12
	maxSeries        = 16 // windows, bar intervals
	MaxBookOrders    = 1 << 30
)

// withDefaults returns c with zero fields set to their defaults. tableCap is
// the symbol table's capacity.
func (c Config) withDefaults(tableCap int) Config {
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.MaxSymbols == 0 {
		c.MaxSymbols = tableCap
	}
	if c.RingCapacity == 0 {
		c.RingCapacity = DefaultRingCapacity
	}
	if c.OutputCapacity == 0 {
		c.OutputCapacity = 1024
	}
	if c.Emit != nil { // the engine drains its own ring (Step)
		c.OutputCapacity, c.OutputBell = stepOutputs, nil
	}
	if c.SMA == 0 {
		c.SMA = 50
	}
	if c.Windows == nil {
		c.Windows = []time.Duration{time.Second, time.Minute}
	}
	if c.WindowBuckets == 0 {
		c.WindowBuckets = 20
	}
	if c.EMAHalfLife == 0 {
		c.EMAHalfLife = 10 * time.Second
	}
	if c.Bars == nil {
		c.Bars = []time.Duration{time.Second, time.Minute}
	}
	if c.BookOrders == 0 {
		c.BookOrders = 1 << 20
	}
	// Own copies: New sorts and extends them.
	c.Windows = slices.Clone(c.Windows)
	c.Bars = slices.Clone(c.Bars)
	c.Rules = slices.Clone(c.Rules)
	return c
}

// validate reports the first problem with c (after withDefaults).
func (c Config) validate() error {
	switch {
	case c.Shards < 1 || c.Shards > MaxShards:
		return fmt.Errorf("engine: shards %d not in 1..%d", c.Shards, MaxShards)
	case c.Emit != nil && c.Shards != 1:
		return fmt.Errorf("engine: an inline engine (Emit) is one shard, not %d", c.Shards)
	case c.MaxSymbols < 1:
		return fmt.Errorf("engine: max symbols %d must be ≥ 1", c.MaxSymbols)
	case !powerOfTwo(c.RingCapacity):
		return fmt.Errorf("engine: ring capacity %d is not a power of two in 2..%d", c.RingCapacity, ringbuf.MaxCapacity)
	case !powerOfTwo(c.OutputCapacity):
		return fmt.Errorf("engine: output capacity %d is not a power of two in 2..%d", c.OutputCapacity, ringbuf.MaxCapacity)
	case c.Wait > ringbuf.Park:
		return fmt.Errorf("engine: unknown wait strategy %d", c.Wait)
	case c.SMA < 1 || c.SMA > MaxSMA:
		return fmt.Errorf("engine: sma %d not in 1..%d", c.SMA, MaxSMA)
	case c.WindowBuckets < 1 || c.WindowBuckets > MaxWindowBuckets:
		return fmt.Errorf("engine: window buckets %d not in 1..%d", c.WindowBuckets, MaxWindowBuckets)
	case c.EMAHalfLife <= 0:
		return fmt.Errorf("engine: ema half-life %v must be > 0", c.EMAHalfLife)
	case len(c.Windows) == 0 || len(c.Windows) > maxSeries:
		return fmt.Errorf("engine: %d windows, want 1..%d", len(c.Windows), maxSeries)
	case len(c.Bars) == 0 || len(c.Bars) > maxSeries:
		return fmt.Errorf("engine: %d bar intervals, want 1..%d", len(c.Bars), maxSeries)
	case c.BookOrders < 1 || c.BookOrders > MaxBookOrders:
		return fmt.Errorf("engine: book orders %d not in 1..%d", c.BookOrders, MaxBookOrders)
	case len(c.Rules) > maxRules:
		return fmt.Errorf("engine: %d rules, at most %d", len(c.Rules), maxRules)
	}
	for i, w := range c.Windows {
		if err := c.checkWindow(w); err != nil {
			return fmt.Errorf("engine: window %v: %s", w, err)
		}
		if slices.Contains(c.Windows[:i], w) {
			return fmt.Errorf("engine: window %v listed twice", w)
		}
	}
	for i, b := range c.Bars {
		if b <= 0 {
			return fmt.Errorf("engine: bar interval %v must be > 0", b)
		}
		if slices.Contains(c.Bars[:i], b) {
			return fmt.Errorf("engine: bar interval %v listed twice", b)
		}
	}
	ids := make(map[string]bool, len(c.Rules))
	for i, r := range c.Rules {
		if err := c.checkRule(r, ids); err != nil {
			return &RuleError{Index: i, ID: r.ID, Err: err}
		}
		ids[r.ID] = true
	}
	return nil
}

// checkRule reports the first problem with r among c's rules, ids holding
// those of the rules before it.
func (c Config) checkRule(r RuleSpec, ids map[string]bool) error {
	if err := r.validate(); err != nil {
		return err
	}
	if ids[r.ID] {
		return errors.New("id used twice")
	}
	if r.Type == RuleMove || r.Type == RuleVolume {
		if err := c.checkWindow(r.Window); err != nil {
			return fmt.Errorf("window %v: %s", r.Window, err)
		}
	}
	if r.Type == RuleZScore {
		return c.checkZScore(r)
	}
	return nil
}

// checkZScore refuses a zscore rule that the z-score over c.SMA trades, in
// [−MaxZScore, MaxZScore], could never fire (K at or past the bound), or
// never re-arm once it has (its up side re-arms at z ≤ K − Hysteresis, its
// down side mirrored: a Hysteresis at or past K + the bound; see checkRearm
// for the other types, whose bounds need no Config).
func (c Config) checkZScore(r RuleSpec) error {
	zmax := MaxZScore(c.SMA)
	switch {
	case r.K >= zmax:
		return fmt.Errorf("k %v can never be reached: over sma %d trades |z| is at most (sma − 1)/√sma = %.4g", r.K, c.SMA, zmax)
	case r.Hysteresis >= r.K+zmax:
		return fmt.Errorf("hysteresis %v must be below k + (sma − 1)/√sma = %.4g: re-arming needs a z-score within k − hysteresis, and over sma %d trades |z| is at most %.4g", r.Hysteresis, r.K+zmax, c.SMA, zmax)
	}
	return nil
}

// MaxZScore is the largest |z| the z-score over sma trades can have, and so
// the bound a zscore rule's K must stay below: the last of N trades against
// their own mean and sample stddev is at most (N−1)/√N from the mean
// (Samuelson's inequality), reached when the N−1 before it are equal.
func MaxZScore(sma int) float64 { return float64(sma-1) / math.Sqrt(float64(sma)) }

func powerOfTwo(n int) bool { return n >= 2 && n <= ringbuf.MaxCapacity && n&(n-1) == 0 }

func (c Config) checkWindow(w time.Duration) error {
	if w <= 0 {
		return fmt.Errorf("must be > 0")
	}
	if w%time.Duration(c.WindowBuckets) != 0 {
		return fmt.Errorf("not a multiple of %d buckets in ns", c.WindowBuckets)
	}
	return nil
}

// DefaultRingCapacity is Config.RingCapacity when zero: 16,384 events
// (1 MiB) per input ring. With 4,096 a feed pump refilled its ring (and
// was woken for it) four times as often, and the pipelined engine ran
// ~14% slower (BenchmarkRecordingCostPipelined/engine built with the PGO
// profile, waiting with park: 6.85 against 7.94 ms per 200,000 trades);
// 65,536 gained nothing more.
const DefaultRingCapacity = 1 << 14

// plan is the validated configuration in the form the shards use.
type plan struct {
	cfg   Config
	wins  []int64 // window spans: cfg.Windows then rule windows, no repeats
	bars  []int64 // bar intervals, ascending (bars[0] drives tick.Stats)
	rules []rule
	emas  stats.Decays // EMA decays, one per distinct half-life: [0] is tick.Stats.EMA's
}

// newPlan applies defaults to c, validates it and compiles it.
func newPlan(c Config, syms *tick.SymbolTable) (*plan, error) {
	c = c.withDefaults(syms.Cap())
	if err := c.validate(); err != nil {
		return nil, err
	}
	p := &plan{cfg: c}
	var halfLives []time.Duration
	ema := func(h time.Duration) int { // index of h's EMA, shared by every user
		i := slices.Index(halfLives, h)
		if i < 0 {
			i = len(halfLives)
			halfLives = append(halfLives, h)
			p.emas.Append(stats.HalfLife(h))
		}
		return i
	}
	ema(c.EMAHalfLife)
	for _, w := range c.Windows {
		p.wins = append(p.wins, int64(w))
	}
	for _, b := range c.Bars {
		p.bars = append(p.bars, int64(b))
	}
	slices.Sort(p.bars)
	for i, r := range c.Rules {
		win := -1
		if r.Type == RuleMove || r.Type == RuleVolume {
			win = slices.Index(p.wins, int64(r.Window))
			if win < 0 {
				win = len(p.wins)
				p.wins = append(p.wins, int64(r.Window))
			}
		}
		fast, slow := -1, -1
		if r.Type == RuleCross {
			fast, slow = ema(r.Fast), ema(r.Slow)
		}
		p.rules = append(p.rules, compile(r, i, win, fast, slow))
	}
	return p, nil
}
