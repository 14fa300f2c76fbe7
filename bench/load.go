package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// Load defaults.
const (
	DefaultRate                   = 100_000
	DefaultDuration               = 20 * time.Second
	DefaultWarmup                 = 2 * time.Second
	DefaultSymbols                = 32
	DefaultSignalRatio            = 0.1
	DefaultDrain                  = 2 * time.Second
	DefaultLevel       tick.Price = 100 * tick.PriceScale

	// RuleID is the id of the one price rule the load is designed for.
	RuleID = "bench_level"

	// maxBatch bounds the ticks sent in one Write (or published in one
	// loop) when the sender is behind: it catches up in bounded steps.
	maxBatch = 1024
)

// PriceRule is the rule a tickd under load must run: a price level with no
// hysteresis and no cooldown, both directions, so that every crossing the
// load makes fires exactly one signal.
func PriceRule(level tick.Price) engine.RuleSpec {
	return engine.RuleSpec{ID: RuleID, Type: engine.RulePrice, Dir: engine.DirBoth, Level: level}
}

// Pattern is the load RunLoad and RunInproc send: ticks round-robin over
// Symbols at Rate, a share SignalRatio of them crossing Level (and so
// firing PriceRule). Zero fields take the defaults above.
type Pattern struct {
	Rate        float64       // ticks per second, intended
	Duration    time.Duration // measured window
	Warmup      time.Duration // sent before the window, not recorded; negative: none
	Symbols     int           // ticks go round-robin over this many symbols
	SignalRatio float64       // share of ticks that cross Level and fire; 0..1
	Level       tick.Price    // the price rule's level (PriceRule)
}

func (p *Pattern) setDefaults() {
	p.Rate, p.Duration, p.Warmup = orF(p.Rate, DefaultRate), orD(p.Duration, DefaultDuration), orD(p.Warmup, DefaultWarmup)
	if p.Symbols == 0 {
		p.Symbols = DefaultSymbols
	}
	if p.SignalRatio == 0 {
		p.SignalRatio = DefaultSignalRatio
	}
	if p.Level == 0 {
		p.Level = DefaultLevel
	}
}

// LoadOptions configures RunLoad. Zero fields take the defaults above.
type LoadOptions struct {
	Pattern

	Addr string     // tickd's feed listener (native format); required
	Sub  *nats.Conn // the subscriber's connection to tickd's NATS server; required

	// Subject the signals are read from; default "tickd.signal.>".
	Subject string

	Format feed.Format // the feed listener's wire format; default native

	// Pace is how the sender waits for each tick's intended time. The
	// default, PaceSleep, sleeps until the next tick is due: time.Sleep is
	// ~1 ms granular, so ticks go out in ~1 ms batches, each tick's wait
	// counted in its latency. PaceYield yields (runtime.Gosched) between
	// checks of the clock, so each tick goes out close to its intended
	// time; but a yielding goroutine is always runnable, and with every P
	// busy the Go scheduler polls the network only from sysmon, every
	// ~10 ms: in-process, it slows the very sockets it measures. PaceSpin
	// checks the clock in a loop and never leaves the goroutine: exact, and
	// it keeps the sender's core (and caches) to itself.
	Pace Pace

	// Drain is how long to wait after the last tick for the signals still
	// expected; those that have not arrived by then are counted as dropped.
	Drain time.Duration

	// onRecv, if set, runs in the subscriber before each receive time is
	// taken: tests stall it to check that a stall shows as latency.
	onRecv func()
}

func (o LoadOptions) withDefaults() (LoadOptions, error) {
	if o.Subject == "" {
		o.Subject = "tickd.signal.>"
	}
	o.setDefaults()
	o.Drain = orD(o.Drain, DefaultDrain)
	switch {
	case o.Addr == "":
		return o, errors.New("bench: load: no feed address")
	case o.Sub == nil:
		return o, errors.New("bench: load: no NATS connection")
	case o.Level <= 2*tick.PriceScale:
		return o, fmt.Errorf("bench: load: level %v must be above 2", o.Level)
	case o.Format > feed.FormatJSON:
		return o, fmt.Errorf("bench: load: unknown format %v", o.Format)
	}
	if err := checkPace(o.Rate, o.Duration, o.Symbols, o.SignalRatio); err != nil {
		return o, err
	}
	return o, nil
}

func orF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orD(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Validate reports the first field of p out of range, reading every field
// as given: a zero Duration or Symbols is an error here, where the Run
// functions would take the default, so that a command's "-duration 0" is
// refused rather than run for DefaultDuration. A negative Warmup is an
// error too (Pattern's "none" is for callers, not users: they give 0).
// fullSpeed allows Rate 0 (InprocOptions.FullSpeed).
func (p Pattern) Validate(fullSpeed bool) error {
	rate := p.Rate
	if fullSpeed && rate == 0 {
		rate = 1 // not paced: any valid rate
	}
	if p.Warmup < 0 {
		return fmt.Errorf("bench: warmup %v must be ≥ 0", p.Warmup)
	}
	if err := checkPace(rate, p.Duration, p.Symbols, p.SignalRatio); err != nil {
		return err
	}
	if p.SignalRatio == 0 {
		return errors.New("bench: signal ratio 0 fires no signal: nothing to measure")
	}
	if warm, total := window(p.Rate, p.Warmup, p.Duration); !fullSpeed && firesBetween(warm, total, p.Symbols, p.SignalRatio) == 0 {
		return fmt.Errorf("bench: no tick of the window fires a signal (%d ticks, signal ratio %v; each symbol's first tick never fires): nothing to measure, raise the rate, duration or signal ratio",
			total-warm, p.SignalRatio)
	}
	return nil
}

func checkPace(rate float64, d time.Duration, symbols int, ratio float64) error {
	switch {
	case !(rate > 0) || rate > 1e8:
		return fmt.Errorf("bench: rate %v not in (0, 1e8]", rate)
	case d <= 0:
		return fmt.Errorf("bench: duration %v must be > 0", d)
	case symbols < 1 || symbols > 100_000:
		return fmt.Errorf("bench: symbols %d not in 1..100000", symbols)
	case !(ratio >= 0 && ratio <= 1):
		return fmt.Errorf("bench: signal ratio %v not in 0..1", ratio)
	}
	return nil
}

// LoadResult is what RunLoad measured.
type LoadResult struct {
	Side
	// MeanPayload is the mean size of the signal messages received, bytes:
	// the floor sends messages of this size.
	MeanPayload float64
}

// ticks is the deterministic load: tick i goes to symbol i mod n, and
// fires when the running count ⌊i·ratio⌋ steps up (after every symbol's
// first tick, which the rule only records). A tick that fires puts its
// symbol's price on the other side of the level; the others keep it where
// it was. So exactly the ticks fires says fire cross the level.
type ticks struct {
	names []string
	above []bool
	ratio float64
	level tick.Price
}

func newTicks(symbols int, ratio float64, level tick.Price) *ticks {
	t := &ticks{names: make([]string, symbols), above: make([]bool, symbols), ratio: ratio, level: level}
	for i := range t.names {
		t.names[i] = fmt.Sprintf("B%05d", i)
	}
	return t
}

// fires says whether tick i crosses the level.
func (t *ticks) fires(i int64) bool {
	if i < int64(len(t.names)) {
		return false
	}
	return math.Floor(float64(i+1)*t.ratio) != math.Floor(float64(i)*t.ratio)
}

// countFires returns how many of ticks [from, to) fire.
func (t *ticks) countFires(from, to int64) uint64 {
	return firesBetween(from, to, len(t.names), t.ratio)
}

// firesBetween is how many of ticks [from, to) fire over symbols at ratio
// (ticks.fires): ⌊i·ratio⌋ steps by at most one a tick, so the count
// telescopes to its difference at the ends.
func firesBetween(from, to int64, symbols int, ratio float64) uint64 {
	from = max(from, int64(symbols))
	if to <= from {
		return 0
	}
	return uint64(math.Floor(float64(to)*ratio) - math.Floor(float64(from)*ratio))
}

// window returns the ticks sent before the window (warm-up) and in all, as
// RunLoad, RunInproc and RunFloor number them.
func window(rate float64, warmup, d time.Duration) (warm, total int64) {
	warm = int64(warmup.Seconds() * rate)
	return warm, warm + max(int64(d.Seconds()*rate), 1)
}

// next returns tick i's symbol and price, and moves the symbol's side.
func (t *ticks) next(i int64) (sym int, p tick.Price) {
	sym = int(i % int64(len(t.names)))
	if t.fires(i) {
		t.above[sym] = !t.above[sym]
	}
	// A little movement that never reaches the level: 1.00..1.06 away.
	d := tick.PriceScale + tick.Price(i%7)*tick.PriceScale/100
	if t.above[sym] {
		return sym, t.level + d
	}
	return sym, t.level - d
}

// encoder writes ticks in one of the feed's formats, keeping the native
// format's sequence.
type encoder struct {
	f     feed.Format
	seq   uint64
	names []string
}

// start appends what a connection begins with: the native Hello and every
// Symbol frame, or the CSV header.
func (e *encoder) start(dst []byte) []byte {
	switch e.f {
	case feed.FormatNative:
		e.seq++
		dst = feed.AppendHello(dst, e.seq)
		for i, name := range e.names {
			e.seq++
			dst = feed.AppendSymbol(dst, e.seq, uint32(i), name)
		}
	case feed.FormatCSV:
		dst = feed.AppendCSVHeader(dst)
	}
	return dst
}

// trade appends tick i: a trade of 100 on symbol sym at px, event time ts.
func (e *encoder) trade(dst []byte, i int64, sym int, ts int64, px tick.Price) []byte {
	side := tick.Side(1 + i&1)
	switch e.f {
	case feed.FormatCSV:
		return feed.AppendCSV(dst, ts, e.names[sym], px, 100, side)
	case feed.FormatJSON:
		return feed.AppendJSON(dst, ts, e.names[sym], px, 100, side)
	}
	e.seq++
	return feed.AppendTrade(dst, e.seq, uint32(sym), ts, px, 100, side)
}

// pacer is the open-loop schedule (as wrk2's): message i is due at
// start + i/rate, whatever happened to the ones before it. Latency is
// measured from that intended time, so a stall anywhere (sender included)
// shows in every message it held back, not just in the one that met it.
type pacer struct {
	start   time.Time // monotonic
	startNs int64     // the same instant, Unix ns
	rate    float64
	total   int64
	pace    Pace
}

// Pace is how a sender waits until a tick is due (see LoadOptions.Pace).
type Pace uint8

// Pacing modes.
const (
	PaceSleep Pace = iota // time.Sleep: ~1 ms granular, the sender idle
	PaceYield             // runtime.Gosched between clock checks
	PaceSpin              // a loop on the clock, never leaving the goroutine
)

// ParsePace parses "sleep", "yield" or "spin".
func ParsePace(s string) (Pace, error) {
	for p, name := range paceNames {
		if s == name {
			return Pace(p), nil
		}
	}
	return 0, fmt.Errorf("bench: pace %q: want sleep, yield or spin", s)
}

var paceNames = [...]string{PaceSleep: "sleep", PaceYield: "yield", PaceSpin: "spin"}

func (p Pace) String() string {
	if int(p) < len(paceNames) {
		return paceNames[p]
	}
	return fmt.Sprintf("Pace(%d)", p)
}

func newPacer(rate float64, total int64, pace Pace) *pacer {
	now := time.Now()
	return &pacer{start: now, startNs: now.UnixNano(), rate: rate, total: total, pace: pace}
}

// intended is message i's intended send time, Unix ns.
func (p *pacer) intended(i int64) int64 { return p.startNs + int64(float64(i)*1e9/p.rate) }

// now is the time in Unix ns on the schedule's clock: the start's wall
// time plus the monotonic time since, as intended times are, so that a
// step of the wall clock during the run (NTP, an operator) moves no
// latency taken against them.
func (p *pacer) now() int64 { return p.startNs + int64(time.Since(p.start)) }

// due returns how many messages are due by now, at most total.
func (p *pacer) due() int64 {
	return min(int64(time.Since(p.start).Seconds()*p.rate)+1, p.total)
}

// wait idles until message i is due: it sleeps, or (yield, spin) yields
// or spins, and only sleeps when i is further away than time.Sleep's ~1 ms
// granularity.
func (p *pacer) wait(ctx context.Context, i int64) error {
	for {
		ahead := time.Duration(p.intended(i)-p.startNs) - time.Since(p.start)
		if ahead <= 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case p.pace == PaceSleep:
			time.Sleep(ahead)
		case ahead > 3*time.Millisecond:
			time.Sleep(ahead - 2*time.Millisecond)
		case p.pace == PaceYield:
			runtime.Gosched()
		}
	}
}

// recorder is the receiving side of a measurement: latencies of messages
// in the window, counted. Its record runs on one subscription goroutine;
// the mutex only orders it against the final read.
type recorder struct {
	clock *pacer // receive times are on its clock
	from  int64  // intended times before it are warm-up
	onRcv func()

	mu    sync.Mutex
	lat   latencies
	bytes uint64
	n     atomic.Uint64
	bad   atomic.Uint64 // payloads without a timestamp
}

func newRecorder(clock *pacer, from int64, onRcv func()) *recorder {
	return &recorder{clock: clock, from: from, onRcv: onRcv, lat: newLatencies()}
}

// record records a message intended at sent (Unix ns), of size bytes.
func (r *recorder) record(sent int64, size int) {
	if r.onRcv != nil {
		r.onRcv()
	}
	now := r.clock.now()
	if sent < r.from {
		return
	}
	r.mu.Lock()
	r.lat.add(now - sent)
	r.bytes += uint64(size)
	r.mu.Unlock()
	r.n.Add(1)
}

// waitFor waits until n messages are recorded, or for d.
func (r *recorder) waitFor(ctx context.Context, n uint64, d time.Duration) {
	deadline := time.Now().Add(d)
	for r.n.Load() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
}

// side returns the recorded side, once the subscription has stopped.
func (r *recorder) side(name string, sent, expected uint64, elapsed time.Duration) (Side, float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.n.Load()
	s := r.lat.side(name)
	s.Sent, s.Received, s.Elapsed = sent, got, elapsed
	if expected > got {
		s.Dropped = expected - got
	}
	s.Rate = achievedRate(sent, elapsed)
	mean := 0.0
	if got > 0 {
		mean = float64(r.bytes) / float64(got)
	}
	return s, mean
}

// achievedRate is the send rate of n messages whose first and last sends
// were elapsed apart: n−1 intervals, not n (one message alone, sent in
// a few ns, is no rate of 1e8/s). 0, unknown, below two messages.
func achievedRate(n uint64, elapsed time.Duration) float64 {
	if n < 2 || elapsed <= 0 {
		return 0
	}
	return float64(n-1) / elapsed.Seconds()
}

var tsEventKey = []byte(`"ts_event":`)

// tsEvent reads the ts_event of a tickd signal's JSON without decoding the
// rest: one search and a digit loop, no allocation.
func tsEvent(data []byte) (int64, bool) {
	i := bytes.Index(data, tsEventKey)
	if i < 0 {
		return 0, false
	}
	var v int64
	j := i + len(tsEventKey)
	start := j
	for ; j < len(data) && data[j] >= '0' && data[j] <= '9' && j-start < 19; j++ {
		v = v*10 + int64(data[j]-'0')
	}
	return v, j > start
}

// RunLoad sends the open-loop load to tickd's feed listener and measures,
// per signal received on the subscription, receive time − the intended send
// time of the tick that fired it (the signal's ts_event). Only ticks
// intended after the warm-up are measured; signals expected from them but
// not received within Drain after the last tick are dropped. Stopped by
// ctx before the last tick, it still awaits (for Drain at most) the
// signals of the ticks it sent, and returns what it measured of them with
// ctx's error: a partial result (see Result.Partial).
func RunLoad(ctx context.Context, o LoadOptions) (LoadResult, error) {
	o, err := o.withDefaults()
	if err != nil {
		return LoadResult{}, err
	}
	warm, total := window(o.Rate, o.Warmup, o.Duration)
	t := newTicks(o.Symbols, o.SignalRatio, o.Level)
	expected := t.countFires(warm, total)

	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: %w", err)
	}
	defer c.Close()

	// The pacer starts after the subscription and the connection are up;
	// the recorder learns its window start from it.
	var rec *recorder
	ready := make(chan struct{})
	sub, err := o.Sub.Subscribe(o.Subject, func(m *nats.Msg) {
		<-ready
		ts, ok := tsEvent(m.Data)
		if !ok {
			rec.bad.Add(1)
			return
		}
		rec.record(ts, len(m.Data))
	})
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1) // a slow subscriber queues, never drops
	if err := o.Sub.Flush(); err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: subscribe: %w", err)
	}

	enc := &encoder{f: o.Format, names: t.names}
	buf := enc.start(make([]byte, 0, maxBatch*128))
	if _, err := c.Write(buf); err != nil {
		return LoadResult{}, fmt.Errorf("bench: load: %w", err)
	}

	p := newPacer(o.Rate, total, o.Pace)
	rec = newRecorder(p, p.intended(warm), o.onRecv)
	close(ready)
	var firstAt, lastAt time.Time // sends of the first and last measured ticks
	var stopped error             // ctx's, if it ended the run before the last tick
	sent := int64(0)              // ticks written
	for sent < total {
		if stopped = p.wait(ctx, sent); stopped != nil {
			break
		}
		due := min(p.due(), sent+maxBatch)
		buf = buf[:0]
		i := sent
		for ; i < due; i++ {
			sym, px := t.next(i)
			buf = enc.trade(buf, i, sym, p.intended(i), px)
		}
		if _, err := c.Write(buf); err != nil {
			if stopped = ctx.Err(); stopped != nil {
				break // tickd stopped with the run
			}
			return LoadResult{}, fmt.Errorf("bench: load: %w", err)
		}
		sent = i
		if i > warm && firstAt.IsZero() {
			firstAt = time.Now()
		}
		lastAt = time.Now()
	}
	if stopped != nil {
		expected = t.countFires(warm, sent)
	}
	// Stopped, the ticks sent still get their drain: their signals are on
	// their way, not dropped.
	rec.waitFor(context.WithoutCancel(ctx), expected, o.Drain)
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return LoadResult{}, fmt.Errorf("bench: load: %w", err)
	}
	if n := rec.bad.Load(); n > 0 {
		return LoadResult{}, fmt.Errorf("bench: load: %d messages on %s without a ts_event", n, o.Subject)
	}
	s, mean := rec.side("tickd", uint64(max(sent-warm, 0)), expected, lastAt.Sub(firstAt))
	s.Drain = o.Drain
	return LoadResult{Side: s, MeanPayload: mean}, stopped
}
