package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// TestPartitionOf checks the table in PartitionOf's doc comment.
func TestPartitionOf(t *testing.T) {
	for _, c := range []struct {
		name       string
		m2, m3, m4 int
	}{{"AAPL", 1, 1, 3}, {"AMZN", 1, 0, 3}, {"BRK.A", 1, 0, 3}, {"IBM", 1, 2, 1}, {"META", 0, 1, 0}, {"NVDA", 0, 1, 2}, {"QQQ", 0, 2, 2}} {
		if got := [3]int{PartitionOf(c.name, 2), PartitionOf(c.name, 3), PartitionOf(c.name, 4)}; got != [3]int{c.m2, c.m3, c.m4} {
			t.Errorf("%s: %v, want %d %d %d", c.name, got, c.m2, c.m3, c.m4)
		}
	}
	if PartitionOf("AAPL", 1) != 0 || PartitionOf("AAPL", 0) != 0 {
		t.Error("one partition must own everything")
	}
}

func TestPartitionValidate(t *testing.T) {
	for _, p := range []Partition{{3, 3}, {-1, 2}, {0, -1}, {1, 0}} {
		if _, err := New(Config{Partition: p}, tick.NewSymbolTable(8)); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// TestPartitionSplitsSymbols runs three partitions of one feed (trades and
// L3 orders of 12 symbols, with system and end-of-stream events) and checks
// that each keeps exactly the symbols PartitionOf names, counts the rest
// as not owned, and that together they cover every symbol once.
func TestPartitionSplitsSymbols(t *testing.T) {
	const nsym, count = 12, 3
	var names []string
	for i := range nsym {
		names = append(names, fmt.Sprintf("S%02d", i))
	}
	trades := genStream(1, 0, nsym, 4000)
	var evs []tick.Event
	evs = append(evs, tick.Event{Kind: tick.KindSystem, Qty: 'O'})
	for i, ev := range trades {
		evs = append(evs, ev)
		if i%10 == 0 { // an order that rests, then leaves
			ref := uint64(i + 1)
			evs = append(evs,
				tick.Event{Kind: tick.KindAdd, Symbol: ev.Symbol, TsEvent: ev.TsEvent, OrderRef: ref, Side: tick.SideBuy, Price: ev.Price - px(1), Qty: 100},
				tick.Event{Kind: tick.KindDelete, Symbol: ev.Symbol, TsEvent: ev.TsEvent, OrderRef: ref})
		}
	}
	evs = append(evs, tick.Event{Kind: tick.KindEndOfStream})
	owner := map[tick.SymbolID]int{}
	for shards := 1; shards <= 2; shards++ {
		for idx := range count {
			t.Run(fmt.Sprintf("shards=%d/part=%d", shards, idx), func(t *testing.T) {
				e, syms := newTestEngine(t, Config{Shards: shards, Partition: Partition{idx, count}, Bars: []time.Duration{time.Second}}, names...)
				results := collect(e)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error)
				go func() { done <- e.Run(ctx) }()
				in, err := e.NewInput("feed")
				if err != nil {
					t.Fatal(err)
				}
				feed(in, evs)
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				var mine []tick.Event
				var notOwned, books uint64
				for _, ev := range evs {
					switch {
					case ev.Kind == tick.KindSystem || ev.Kind == tick.KindEndOfStream:
						mine = append(mine, ev)
					case PartitionOf(syms.Name(ev.Symbol), count) != idx:
						notOwned++
					default:
						mine = append(mine, ev)
						if ev.Kind != tick.KindTrade {
							books++
						}
					}
				}
				got := map[tick.SymbolID][]tick.Bar{}
				for _, recs := range results() {
					for _, o := range only(recs, tick.OutBar) {
						got[o.Bar.Symbol] = append(got[o.Bar.Symbol], o.Bar)
					}
				}
				want := refBars(slices.DeleteFunc(slices.Clone(mine), func(ev tick.Event) bool { return ev.Kind != tick.KindTrade }), int64(time.Second))
				if len(got) != len(want) {
					t.Fatalf("bars of %d symbols, want %d", len(got), len(want))
				}
				for id, w := range want {
					if !slices.Equal(got[id], w) {
						t.Fatalf("symbol %d: %d bars, want %d", id, len(got[id]), len(w))
					}
					if prev, ok := owner[id]; ok && shards == 1 {
						t.Fatalf("symbol %d owned by partitions %d and %d", id, prev, idx)
					}
					owner[id] = idx
				}
				c := e.Counters()
				// (Each engine shard counts the end of stream.)
				if c.NotOwned != notOwned || c.Events != uint64(len(mine)+shards-1) || c.BookEvents != books || c.Rejected != 0 || c.BookRejected != 0 {
					t.Fatalf("counters %+v; want %d not owned, %d events, %d book events", c, notOwned, len(mine), books)
				}
			})
		}
	}
	if len(owner) != nsym {
		t.Errorf("%d of %d symbols owned", len(owner), nsym)
	}
}

// TestPartitionFilterAllocs: the filter allocates nothing, its decisions
// made (the first sight of a symbol only reads its name).
func TestPartitionFilterAllocs(t *testing.T) {
	syms := tick.NewSymbolTable(64)
	evs := make([]tick.Event, 64)
	for i := range evs {
		id, _ := syms.Intern(fmt.Sprintf("S%d", i%20))
		evs[i] = trade(id, t0, 100, 1)
	}
	o := newOwners(Partition{1, 2}, syms)
	batch := make([]tick.Event, len(evs))
	if a := testing.AllocsPerRun(100, func() {
		copy(batch, evs)
		o.keep(batch)
	}); a != 0 {
		t.Errorf("%.1f allocs per batch", a)
	}
}

// TestPartitionKeepsBadIDs: IDs the symbol table never issued, in its
// range or past it (the first past the last word of ownership bits among
// them), are kept for the engine to reject, not dropped as another
// instance's (nor, past the bits, read out of range).
func TestPartitionKeepsBadIDs(t *testing.T) {
	syms := tick.NewSymbolTable(32) // two words of bits
	for _, p := range []Partition{{0, 2}, {1, 2}} {
		o := newOwners(p, syms)
		for _, id := range []tick.SymbolID{5, 31, 32, 1 << 20} {
			if !o.owns(id) {
				t.Errorf("partition %d/%d: id %d never issued was dropped", p.Index, p.Count, id)
			}
		}
	}
}

// TestStepRefusesPartition: a Step, which has no Input to drop the other
// instances' events, refuses a partitioned Config rather than applying
// every symbol's events as if it owned them all.
func TestStepRefusesPartition(t *testing.T) {
	syms := tick.NewSymbolTable(16)
	if _, err := NewStep(Config{Partition: Partition{Index: 1, Count: 2}}, syms); err == nil || !strings.Contains(err.Error(), "partition (1/2)") {
		t.Fatalf("NewStep with Partition 1/2: %v, want a refusal", err)
	}
	if _, err := NewStep(Config{Partition: Partition{Index: 0, Count: 1}}, syms); err != nil {
		t.Fatalf("NewStep with one partition (owns everything): %v", err)
	}
}
