package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/internal/cycles"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// InprocOptions configures RunInproc. Zero fields take the load's defaults.
type InprocOptions struct {
	Pattern                        // Rate is open loop, unless FullSpeed
	FullSpeed bool                 // ignore Rate: feed ticks as fast as the engine takes them
	Format    feed.Format          // of the frames or lines decoded; default native
	Pace      Pace                 // as LoadOptions.Pace
	Wait      ringbuf.WaitStrategy // of the engine's rings and of the consumer; default SpinYield
	// Fused runs decode and engine on one goroutine (engine.Step, as
	// `tickd replay` does): no ring between them, and latency ends when
	// the signal is enqueued for the publisher.
	Fused bool

	// afterBatch, if set, runs in the producer after each batch it fed
	// with the ticks sent in the window so far: tests stop a run there.
	afterBatch func(sent uint64)
}

func (o InprocOptions) withDefaults() (InprocOptions, error) {
	o.setDefaults()
	if o.Wait == 0 {
		o.Wait = ringbuf.SpinYield
	}
	switch {
	case o.Level <= 2*tick.PriceScale:
		return o, fmt.Errorf("bench: inproc: level %v must be above 2", o.Level)
	case o.Format > feed.FormatJSON:
		return o, fmt.Errorf("bench: inproc: unknown format %v", o.Format)
	}
	return o, checkPace(o.Rate, o.Duration, o.Symbols, o.SignalRatio)
}

// inprocBatch is how many ticks the full-speed producer decodes per Claim,
// as a feed connection's read batch would hold.
const inprocBatch = 256

// RunInproc measures tickd's core without a network: native frames are
// decoded by a feed.Decoder straight into the slots of an engine Input (as
// a feed connection does), one engine shard runs PriceRule, and the
// output ring is consumed here in place of the publisher. Latency is, per
// signal, the time its consumer saw it − its TsRecv (stamped just before
// the decode): decode → rules → signal enqueued and seen, two hand-offs
// between cores. With Fused, the decode and the engine share the
// producer's goroutine and latency ends as the signal is enqueued. The
// ticks are those of RunLoad, open-loop at Rate, or back to back with
// FullSpeed. Both ends are stamped with the time-stamp counter (package
// cycles): a clock_gettime costs as much as what is timed. Stopped by ctx
// before its end, it returns what it measured until then with ctx's
// error: a partial result.
func RunInproc(ctx context.Context, o InprocOptions) (Side, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Side{}, err
	}
	cycles.Calibrate()
	syms := tick.NewSymbolTable(o.Symbols + 16)
	dec, err := feed.NewDecoder("bench", 1, feed.Options{Format: o.Format, Symbols: syms})
	if err != nil {
		return Side{}, fmt.Errorf("bench: inproc: %w", err)
	}
	warm, total := window(o.Rate, o.Warmup, o.Duration)
	p := newPacer(o.Rate, total, o.Pace)
	from := p.intended(warm) // window start; also with FullSpeed
	if o.FullSpeed {
		from = p.startNs + int64(o.Warmup)
	}
	lat := newLatencies()
	var got uint64
	var r producerResult
	if o.Fused {
		r, err = runFused(ctx, o, p, from, dec, syms, func(s *tick.Signal) {
			lat.add(cycles.Nanos() - s.TsRecv)
			got++
		})
	} else {
		r, got, err = runPipelined(ctx, o, p, from, dec, syms, &lat)
	}
	stopped := ctx.Err() // cancelled mid-run: what was measured is returned with it
	if err != nil && (stopped == nil || !errors.Is(err, stopped)) {
		return Side{}, err
	}
	if st := dec.Stats(); st.Errors > 0 {
		return Side{}, fmt.Errorf("bench: inproc: %d frames rejected by the decoder", st.Errors)
	}
	s := lat.side("inproc")
	s.Sent, s.Received, s.Elapsed = r.sent, got, r.elapsed
	if r.expected > got {
		s.Dropped = r.expected - got
	}
	s.Rate = achievedRate(r.sent, r.elapsed)
	return s, err
}

// runPipelined runs the engine on its own goroutine, fed through an Input,
// and consumes its output ring here, recording each signal in the window.
func runPipelined(ctx context.Context, o InprocOptions, p *pacer, from int64, dec *feed.Decoder, syms *tick.SymbolTable, lat *latencies) (producerResult, uint64, error) {
	// The consumer idles on the output ring's Bell, as the publisher does,
	// so that under Park every commit wakes it; as serve, no Bell (and no
	// fence per commit) when nothing parks.
	var bell *ringbuf.Bell
	if o.Wait == ringbuf.Park {
		bell = ringbuf.NewBell()
	}
	eng, err := engine.New(engine.Config{Shards: 1, Wait: o.Wait, Rules: []engine.RuleSpec{PriceRule(o.Level)},
		Bars: []time.Duration{time.Hour}, OutputBell: bell}, syms)
	if err != nil {
		return producerResult{}, 0, fmt.Errorf("bench: inproc: %w", err)
	}
	in, err := eng.NewInput("bench")
	if err != nil {
		return producerResult{}, 0, fmt.Errorf("bench: inproc: %w", err)
	}
	cons := eng.Outputs()[0].Consumer(0)

	// The engine stops once the producer is done, interrupted too, so that
	// every tick it sent is decoded and its signal counted.
	ectx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(ectx) }()
	prod := make(chan producerResult, 1)
	go func() {
		r := produce(ctx, o, p, from, dec, in)
		in.Close()
		stop() // the engine drains the input, then closes its output ring
		prod <- r
	}()

	// The publisher's role: poll the output ring and stamp each batch once.
	var got uint64
	idler := ringbuf.NewIdler(o.Wait, bell)
	for {
		batch := cons.Poll()
		if len(batch) == 0 {
			if cons.Closed() && len(cons.Poll()) == 0 {
				break
			}
			idler.Idle()
			continue
		}
		idler.Reset()
		now := cycles.Nanos()
		for i := range batch {
			if s := &batch[i].Signal; batch[i].Kind == tick.OutSignal && s.TsEvent >= from {
				lat.add(now - s.TsRecv)
				got++
			}
		}
		cons.Release(len(batch))
	}
	r := <-prod
	if err := <-engDone; err != nil {
		return r, got, fmt.Errorf("bench: inproc: %w", err)
	}
	return r, got, r.err
}

// runFused decodes into an engine.Step on this goroutine and calls signal
// with each signal in the window as it is enqueued.
func runFused(ctx context.Context, o InprocOptions, p *pacer, from int64, dec *feed.Decoder, syms *tick.SymbolTable, signal func(*tick.Signal)) (producerResult, error) {
	st, err := engine.NewStep(engine.Config{Rules: []engine.RuleSpec{PriceRule(o.Level)}, Bars: []time.Duration{time.Hour}}, syms)
	if err != nil {
		return producerResult{}, fmt.Errorf("bench: inproc: %w", err)
	}
	sink := &stepSink{st: st, slots: make([]tick.Event, inprocBatch), emit: func(out *tick.Out) {
		if out.Kind == tick.OutSignal && out.Signal.TsEvent >= from {
			signal(&out.Signal)
		}
	}}
	r := produce(ctx, o, p, from, dec, sink)
	return r, r.err
}

// stepSink is a feed sink that runs each committed batch through a Step.
type stepSink struct {
	st    *engine.Step
	slots []tick.Event
	emit  func(*tick.Out)
}

func (s *stepSink) Claim(n int) []tick.Event { return s.slots[:max(1, min(n, len(s.slots)))] }
func (s *stepSink) Commit(k int)             { s.st.Process(s.slots[:k], s.emit) }

// batchSink is where produce decodes to: an engine Input or a stepSink.
type batchSink interface {
	Claim(n int) []tick.Event
	Commit(k int)
}

type producerResult struct {
	sent, expected uint64 // in the window
	elapsed        time.Duration
	err            error
}

// produce encodes the ticks and decodes them into in, batch by batch, as
// a feed connection's read loop does.
func produce(ctx context.Context, o InprocOptions, p *pacer, from int64, dec *feed.Decoder, in batchSink) (r producerResult) {
	t := newTicks(o.Symbols, o.SignalRatio, o.Level)
	enc := &encoder{f: o.Format, names: t.names}
	buf := enc.start(make([]byte, 0, maxBatch*128))
	if !feedAll(dec, in, buf) {
		r.err = stoppedEarly(ctx)
		return r
	}
	end := p.start.Add(o.Warmup + o.Duration)
	var firstAt, lastAt time.Time
	defer func() { r.elapsed = lastAt.Sub(firstAt) }() // stopped early too: what was sent, in what time
	for i := int64(0); ; {
		var due int64
		var ts int64 // FullSpeed: the batch's event time
		if o.FullSpeed {
			if !time.Now().Before(end) {
				break
			}
			if ctx.Err() != nil {
				r.err = ctx.Err()
				return r
			}
			due, ts = i+inprocBatch, time.Now().UnixNano()
		} else {
			if i >= p.total {
				break
			}
			if err := p.wait(ctx, i); err != nil {
				r.err = err
				return r
			}
			due = min(p.due(), i+maxBatch)
		}
		buf = buf[:0]
		for ; i < due; i++ {
			sym, px := t.next(i)
			if !o.FullSpeed {
				ts = p.intended(i)
			}
			if ts >= from {
				r.sent++
				if t.fires(i) {
					r.expected++
				}
			}
			buf = enc.trade(buf, i, sym, ts, px)
		}
		dec.SetRecvTime(cycles.Nanos())
		if !feedAll(dec, in, buf) {
			r.err = stoppedEarly(ctx)
			return r
		}
		if r.sent > 0 && firstAt.IsZero() {
			firstAt = time.Now()
		}
		lastAt = time.Now()
		if o.afterBatch != nil {
			o.afterBatch(r.sent)
		}
	}
	return r
}

// stoppedEarly is why the engine stopped taking input before the run's
// end: the run was cancelled (Ctrl-C), which the engine sees too, or it
// failed.
func stoppedEarly(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("bench: inproc: engine stopped early")
}

// feedAll decodes every frame or line of buf into in (buf ends with a
// whole one); false if in shut down.
func feedAll(dec *feed.Decoder, in batchSink, buf []byte) bool {
	for off := 0; off < len(buf); {
		// A trade is ~41 bytes native, ~40 to ~90 as text: enough slots.
		slots := in.Claim(min((len(buf)-off)/32+1, inprocBatch))
		if slots == nil {
			return false
		}
		n, c, err := dec.Decode(slots, buf[off:])
		in.Commit(n)
		if err != nil || c == 0 {
			return false
		}
		off += c
	}
	return true
}

// ClockFloor is what the in-process figures' clock adds to them: n
// intervals between two back-to-back stamps (cycles.Nanos, as RunInproc
// takes them), as a Side named "clock". Read it as the floor of the
// inproc figures, the way the bare-NATS floor is read end to end.
func ClockFloor(n int) Side {
	cycles.Calibrate()
	lat := newLatencies()
	for range n {
		a := cycles.Nanos()
		b := cycles.Nanos()
		lat.add(b - a)
	}
	s := lat.side("clock")
	s.Sent, s.Received = uint64(n), uint64(n)
	return s
}
