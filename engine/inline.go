package engine

import (
	"context"
	"fmt"

	"github.com/tickd/tickd/tick"
)

// Emitter takes the records of an inline engine (Config.Emit) on the
// goroutine that applied the events behind them: its source's while it
// runs, Run's for the bars flushed at shutdown. Calls never overlap.
// bus.Publisher is one.
type Emitter interface {
	// Emit takes one record, valid only during the call. It must not call
	// back into the engine.
	Emit(o *tick.Out)
	// EndBatch follows the records of each committed batch, and of the
	// final flush.
	EndBatch()
}

// inline is the state of an engine run inline (Config.Emit).
type inline struct {
	step *Step
	emit func(*tick.Out) // Config.Emit.Emit, bound once
	open *Input          // the source's Input, under Engine.mu; nil when none
}

// newInlineInput attaches the inline engine's one source. It fails while
// another is open, so its source closes its connection and reports why.
func (e *Engine) newInlineInput(source string) (*Input, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping.Load() {
		return nil, fmt.Errorf("engine: input %q: engine is shutting down", source)
	}
	if o := e.inline.open; o != nil {
		return nil, fmt.Errorf("engine: input %q refused: the inline engine takes one source at a time, and %q is open", source, o.source)
	}
	in := &Input{e: e, source: source, scratch: make([]tick.Event, scratchEvents), done: make(chan struct{})}
	e.inline.open = in
	return in, nil
}

// commitInline applies a committed batch on the source's goroutine and
// hands its records to the Emitter.
func (in *Input) commitInline(evs []tick.Event) {
	il := in.e.inline
	il.step.Process(evs, il.emit)
	in.e.p.cfg.Emit.EndBatch()
}

// closeInline detaches the inline source, so the next may attach, and
// tells a stopping Run it is gone.
func (in *Input) closeInline() {
	e := in.e
	e.mu.Lock()
	e.inline.open = nil
	e.mu.Unlock()
	close(in.done)
}

// runInline is Run for an inline engine: it waits for ctx, stops taking
// sources, waits for the open one to close (its Claim returns nil from
// then on), and publishes the open bars and held BBOs.
func (e *Engine) runInline(ctx context.Context) error {
	<-ctx.Done()
	e.mu.Lock()
	e.stopping.Store(true)
	open := e.inline.open
	e.mu.Unlock()
	if open != nil {
		<-open.done
	}
	e.inline.step.Flush(e.inline.emit)
	e.p.cfg.Emit.EndBatch()
	e.outs[0].Close()
	return nil
}
