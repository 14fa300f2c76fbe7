package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

type (
	eventRing = ringbuf.Ring[tick.Event]
	outRing   = ringbuf.Ring[tick.Out]
	eventCons = ringbuf.Consumer[tick.Event]
)

// shardInput is one Input's ring as a shard consumes it.
type shardInput struct {
	cons *eventCons
	id   uint32 // the Input's id, stamped on the symbols its events feed
}

// Engine runs the shards. Create it with New, attach sources with NewInput
// (before or while it runs), consume Outputs, and Run it.
type Engine struct {
	p        *plan
	table    *tick.SymbolTable
	shards   []*shard
	outs     []*outRing
	dropped  atomic.Uint64 // events dropped by Drop inputs (Counters.Dropped)
	owners   *owners       // nil: every symbol is ours (Config.Partition)
	mu       sync.Mutex    // serialises attach, detach and the start of stopping
	inputIDs uint32        // the last Input id handed out, under mu (0 is a Step's)
	stopping atomic.Bool   // set once ctx is done: no new inputs, Claim returns nil
	running  atomic.Bool
	inline   *inline // Config.Emit: run on the source's goroutine; nil otherwise
}

// Counters are an engine's running totals, summed over its shards (each
// shard publishes its own once per batch).
type Counters struct {
	Events     uint64 // events taken off the input rings
	Trades     uint64 // trades applied to the statistics
	Signals    uint64 // rule firings published
	Bars       uint64 // bars published
	Stats      uint64 // tick.Stats snapshots published
	Rejected   uint64 // unknown symbol or kind, or a trade size negative or above tick.MaxQty
	OutOfOrder uint64 // trades earlier than their symbol's last, clamped to it
	Dropped    uint64 // events Drop inputs dropped because their ring was full
	NotOwned   uint64 // events of symbols another instance owns (Config.Partition), dropped unread

	BookEvents   uint64                  // L3 and venue events applied to the books
	BookRejected uint64                  // of those, rejected by the book (see Book)
	BBOs         uint64                  // tick.BBO records published
	Orders       uint64                  // live orders resting in the books now (a level, not a total)
	Book         [book.NumReasons]uint64 // the books' counters by book.Reason, summed over shards
}

// New returns an engine for cfg (defaults applied, then validated) over the
// symbols of syms, which the sources intern into.
func New(cfg Config, syms *tick.SymbolTable) (*Engine, error) {
	if syms == nil {
		return nil, errors.New("engine: nil symbol table")
	}
	p, err := newPlan(cfg, syms)
	if err != nil {
		return nil, err
	}
	c := p.cfg
	if err := c.Partition.validate(); err != nil {
		return nil, err
	}
	e := &Engine{p: p, table: syms, owners: newOwners(c.Partition, syms)}
	perShard := (c.MaxSymbols + c.Shards - 1) / c.Shards
	for range c.Shards {
		out, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: c.OutputCapacity, Wait: c.Wait, Bell: c.OutputBell})
		if err != nil {
			return nil, fmt.Errorf("engine: output ring: %w", err)
		}
		s := &shard{
			p:      p,
			table:  syms,
			nshInv: divInv(uint32(c.Shards)),
			syms:   make([]*symbol, perShard),
			out:    outbox{ring: out},
			bell:   ringbuf.NewBell(),
			rs:     newRuleScratch(len(p.rules)),
		}
		s.inputs.Store(new([]shardInput))
		e.shards = append(e.shards, s)
		e.outs = append(e.outs, out)
	}
	if c.Emit != nil {
		e.inline = &inline{step: newStep(e.shards[0]), emit: c.Emit.Emit}
	}
	return e, nil
}

// Config returns the configuration in effect: defaults applied, bar
// intervals as given (the engine sorts its own copy).
func (e *Engine) Config() Config {
	c := e.p.cfg
	c.Windows, c.Bars, c.Rules = slices.Clone(c.Windows), slices.Clone(c.Bars), slices.Clone(c.Rules)
	return c
}

// Rules returns the validated rules; tick.Signal.Rule indexes this slice.
func (e *Engine) Rules() []RuleSpec { return slices.Clone(e.p.cfg.Rules) }

// Outputs returns the output rings, one per shard, for the publisher: one
// consumer each. Run closes them when it ends. With Config.OutputBell they
// ring it on every Commit and on Close. An inline engine (Config.Emit)
// drains its ring itself: read only its cursors (Published, Released).
func (e *Engine) Outputs() []*ringbuf.Ring[tick.Out] { return slices.Clone(e.outs) }

// Counters returns the running totals.
func (e *Engine) Counters() Counters {
	var c Counters
	for _, s := range e.shards {
		s.addCounters(&c)
	}
	c.Dropped = e.dropped.Load()
	if e.owners != nil {
		c.NotOwned = e.owners.notOwned.Load()
	}
	return c
}

// NewInput attaches a new source to every shard and returns its Input,
// which blocks the source while the engine is behind (Block). It fails once
// the engine is shutting down.
func (e *Engine) NewInput(source string) (*Input, error) { return e.NewInputWith(source, Block) }

// NewInputWith is NewInput with the given backpressure policy.
//
// An inline engine (Config.Emit) takes one source at a time, and applies
// its events in Commit whatever bp says: the source waits for the engine.
func (e *Engine) NewInputWith(source string, bp Backpressure) (*Input, error) {
	if e.inline != nil {
		return e.newInlineInput(source)
	}
	c := e.p.cfg
	in := &Input{e: e, source: source, drop: bp == Drop}
	if in.drop {
		in.void = make([]tick.Event, scratchEvents)
	}
	for _, s := range e.shards {
		r, err := ringbuf.New[tick.Event](ringbuf.Options{Capacity: c.RingCapacity, Wait: c.Wait, Bell: s.inputBell()})
		if err != nil {
			return nil, fmt.Errorf("engine: input %q: %w", source, err)
		}
		in.rings = append(in.rings, r)
	}
	if len(e.shards) > 1 {
		in.scratch = make([]tick.Event, scratchEvents)
		in.dst = make([][]tick.Event, len(e.shards))
		in.used = make([]int, len(e.shards))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping.Load() {
		return nil, fmt.Errorf("engine: input %q: engine is shutting down", source)
	}
	e.inputIDs++ // 2^32 inputs before one repeats
	in.id = e.inputIDs
	for i, s := range e.shards {
		list := append(slices.Clone(*s.inputs.Load()), shardInput{in.rings[i].Consumer(0), in.id})
		s.inputs.Store(&list)
		s.bell.Ring() // the shard may be idle with the old list
	}
	return in, nil
}

// detach removes a closed and drained input ring from shard s.
func (e *Engine) detach(s *shard, c *eventCons) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := slices.DeleteFunc(slices.Clone(*s.inputs.Load()), func(x shardInput) bool { return x.cons == c })
	s.inputs.Store(&list)
}

// Run runs the shards until ctx is done and then shuts down: Claim returns
// nil from then on, and once every Input is Closed and drained each shard
// publishes its open bars (with their tick.Stats), closes its output ring
// and stops. Run then returns nil. Sources must Close their Inputs for Run
// to return. Run may be called once.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	if e.inline != nil {
		return e.runInline(ctx)
	}
	var wg sync.WaitGroup
	for _, s := range e.shards {
		wg.Go(func() { s.run(e) })
	}
	<-ctx.Done()
	e.mu.Lock()
	e.stopping.Store(true)
	e.mu.Unlock()
	for _, s := range e.shards {
		s.bell.Ring() // a parked shard must see stopping
	}
	wg.Wait()
	return nil
}
