package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

// fanIn consumes every output ring of e from one goroutine that parks on
// bell when all are empty, as bus.Publisher does with Wait: ringbuf.Park,
// and calls each for every record in order. The returned func waits until
// Run has closed and the goroutine drained every ring.
func fanIn(e *Engine, bell *ringbuf.Bell, each func(shard int, o *tick.Out)) (wait func()) {
	outs := e.Outputs()
	cons := make([]*ringbuf.Consumer[tick.Out], len(outs))
	for i, r := range outs {
		cons[i] = r.Consumer(0)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		idler := ringbuf.NewIdler(ringbuf.Park, bell)
		for open := len(cons); open > 0; {
			found := false
			for i, c := range cons {
				if c == nil {
					continue
				}
				b := c.Poll()
				if len(b) == 0 {
					if c.Closed() {
						cons[i] = nil
						open--
					}
					continue
				}
				for j := range b {
					each(i, &b[j])
				}
				c.Release(len(b))
				found = true
			}
			if found {
				idler.Reset()
			} else if open > 0 {
				idler.Idle()
			}
		}
	}()
	return func() { <-done }
}

// TestOutputBell: a publisher-style consumer parked on Config.OutputBell
// receives every record of every shard.
func TestOutputBell(t *testing.T) {
	for _, wait := range []ringbuf.WaitStrategy{ringbuf.SpinYield, ringbuf.Park} {
		t.Run(wait.String(), func(t *testing.T) {
			const inputs, symsPer = 2, 4
			var names []string
			for i := range inputs * symsPer {
				names = append(names, fmt.Sprintf("S%02d", i))
			}
			bell := ringbuf.NewBell()
			e, _ := newTestEngine(t, Config{Shards: 2, RingCapacity: 64, OutputCapacity: 64, Wait: wait,
				OutputBell: bell, Rules: benchRules}, names...)
			var mu sync.Mutex // fanIn's goroutine writes, the test reads after wait
			got := map[tick.SymbolID][]tick.Bar{}
			var n int
			waitOut := fanIn(e, bell, func(shard int, o *tick.Out) {
				mu.Lock()
				defer mu.Unlock()
				n++
				if o.Kind == tick.OutBar && o.Bar.Interval == int64(time.Second) {
					got[o.Bar.Symbol] = append(got[o.Bar.Symbol], o.Bar)
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- e.Run(ctx) }()
			var all []tick.Event
			var wg sync.WaitGroup
			for i := range inputs {
				evs := genStream(uint64(i), tick.SymbolID(i*symsPer), symsPer, 3000)
				all = append(all, evs...)
				in, err := e.NewInput(fmt.Sprintf("src%d", i))
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() { feed(in, evs) })
			}
			wg.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			waitOut()

			mu.Lock()
			defer mu.Unlock()
			c := e.Counters()
			if want := c.Bars + c.Stats + c.Signals; uint64(n) != want || c.Trades != uint64(len(all)) {
				t.Fatalf("received %d records, want %d (counters %+v)", n, want, c)
			}
			want := refBars(all, int64(time.Second))
			if len(got) != len(want) {
				t.Fatalf("bars for %d symbols, want %d", len(got), len(want))
			}
			for id, w := range want {
				if !slices.Equal(got[id], w) {
					t.Fatalf("symbol %d: %d bars, want %d", id, len(got[id]), len(w))
				}
			}
		})
	}
}

// TestOutputBellWakes checks, on synctest's fake clock, that the commits
// wake the parked consumer: in lockstep, each trade closes a bar and the
// test waits for the consumer to receive it before sending the next. Fake
// time only passes when every goroutine is blocked, so no step may need a
// timer to end; a consumer woken by its park timeout instead of the Bell
// would move the clock.
func TestOutputBellWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bell := ringbuf.NewBell()
		e, _ := newTestEngine(t, Config{Shards: 2, Wait: ringbuf.Park, OutputBell: bell,
			Bars: []time.Duration{time.Second}}, "A", "B")
		bars := make(chan tick.Bar, 4)
		waitOut := fanIn(e, bell, func(_ int, o *tick.Out) {
			if o.Kind == tick.OutBar {
				bars <- o.Bar
			}
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		in, err := e.NewInput("src")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // everyone parked

		start := time.Now()
		for i := range int64(40) {
			sym := tick.SymbolID(i % 2)
			slots := in.Claim(1)
			slots[0] = trade(sym, t0+i*sec, 100, 1) // opens a bar, closing the symbol's last
			in.Commit(1)
			if i < 2 {
				continue
			}
			if b := <-bars; b.Symbol != sym || b.Start != t0+(i-2)*sec {
				t.Fatalf("step %d: bar %+v", i, b)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("fake clock moved %v: a step waited for a park timeout, not the Bell", d)
		}
		in.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		waitOut()
		if n := len(bars); n != 2 { // the shutdown flushes each symbol's open bar
			t.Fatalf("%d bars after shutdown, want 2", n)
		}
	})
}
