package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// TestShardITCHOrders splits a simulated ITCH session between two
// partitions and checks that each publishes, for the symbols it owns,
// exactly as many signals, bars and BBOs as one engine taking the whole
// session, and nothing for the others: their orders never reach its books
// (a stray execution or delete would be rejected there), and are counted
// as not owned.
func TestShardITCHOrders(t *testing.T) {
	msgs := itchFile(t, "-count", "12000", "-seed", "5", "-symbols", "6", "-live-orders", "2000")
	cfg, err := serveDefaults("-feed-format", "itch", "-feed-dial", "soupbin://127.0.0.1:1", "-book-orders", "65536", "-bars", "1s")
	if err != nil {
		t.Fatal(err)
	}
	ecfg, err := cfg.engineConfig()
	if err != nil {
		t.Fatal(err)
	}
	ref := itchReference(t, ecfg, msgs)
	want := map[string]int{} // "kind symbol" → records
	for _, s := range ref.signals {
		want["signal "+strings.Fields(s)[0]]++
	}
	for _, b := range ref.bars {
		want["bar "+strings.Fields(b)[0]]++
	}
	for sym, b := range ref.bbos {
		want["bbo "+sym] = len(b)
	}
	if len(ref.signals) == 0 || len(ref.bbos) < 4 {
		t.Fatalf("the session is too tame: %d signals, BBOs of %d symbols", len(ref.signals), len(ref.bbos))
	}

	covered := 0
	for idx := range 2 {
		syms := tick.NewSymbolTable(1024)
		dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
		if err != nil {
			t.Fatal(err)
		}
		var evs []tick.Event
		for _, m := range msgs {
			var ev tick.Event
			if ok, err := dec.Decode(m, &ev); err != nil {
				t.Fatal(err)
			} else if ok {
				evs = append(evs, ev)
			}
		}
		var end tick.Event
		dec.EndOfStream(&end)
		evs = append(evs, end)
		var notOwned uint64
		for _, ev := range evs {
			if ev.Kind != tick.KindSystem && ev.Kind != tick.KindEndOfStream && engine.PartitionOf(syms.Name(ev.Symbol), 2) != idx {
				notOwned++
			}
		}

		pcfg := ecfg
		pcfg.Partition = engine.Partition{Index: idx, Count: 2}
		e, err := engine.New(pcfg, syms)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, r := range e.Outputs() {
			wg.Go(func() {
				c := r.Consumer(0)
				for {
					b, ok := c.Wait()
					if !ok {
						return
					}
					mu.Lock()
					for i := range b {
						switch o := &b[i]; o.Kind {
						case tick.OutSignal:
							got["signal "+syms.Name(o.Signal.Symbol)]++
						case tick.OutBar:
							got["bar "+syms.Name(o.Bar.Symbol)]++
						case tick.OutBBO:
							got["bbo "+syms.Name(o.BBO.Symbol)]++
						}
					}
					mu.Unlock()
					c.Release(len(b))
				}
			})
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		in, err := e.NewInput("itch")
		if err != nil {
			t.Fatal(err)
		}
		for rest := evs; len(rest) > 0; {
			slots := in.Claim(64)
			k := copy(slots, rest)
			in.Commit(k)
			rest = rest[k:]
		}
		in.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		for key, n := range want {
			sym := strings.Fields(key)[1]
			owned := engine.PartitionOf(sym, 2) == idx
			switch {
			case owned && got[key] != n:
				t.Errorf("partition %d: %s: %d records, want %d", idx, key, got[key], n)
			case !owned && got[key] != 0:
				t.Errorf("partition %d: %s: %d records of a symbol it does not own", idx, key, got[key])
			case owned:
				covered++
			}
		}
		c := e.Counters()
		if c.NotOwned != notOwned || c.BookRejected != 0 || c.Rejected != 0 {
			t.Errorf("partition %d: counters %+v; want %d not owned, no rejects", idx, c, notOwned)
		}
		t.Logf("partition %d: %d events, %d not owned, %d book events, %d signals", idx, c.Events, c.NotOwned, c.BookEvents, c.Signals)
	}
	if covered != len(want) {
		t.Errorf("the partitions cover %d of %d (kind, symbol) pairs", covered, len(want))
	}
}
