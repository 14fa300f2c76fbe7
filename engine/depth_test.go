package engine

import (
	"context"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// TestDepthsAndOrders: events committed before the engine runs wait in the
// input ring (Depths), the records they make wait in the output ring until
// consumed, and Counters.Orders is the orders left resting.
func TestDepthsAndOrders(t *testing.T) {
	e, _ := newTestEngine(t, Config{}, "AAA")
	in, err := e.NewInput("test")
	if err != nil {
		t.Fatal(err)
	}
	evs := []tick.Event{
		add(1, 0, 1, tick.SideBuy, 10, 100),
		add(2, 0, 2, tick.SideSell, 11, 100),
		add(3, 0, 3, tick.SideBuy, 9, 100),
		{Kind: tick.KindDelete, Symbol: 0, TsEvent: t0 + 4e6, OrderRef: 3},
	}
	slots := in.Claim(len(evs))
	copy(slots, evs)
	in.Commit(len(evs))
	if d, o := e.Depths(); d != len(evs) || o != 0 {
		t.Fatalf("before running: depths %d, %d", d, o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	// Orders is stored after BookEvents and BBOs in a batch's publish.
	for c := e.Counters(); c.BookEvents != uint64(len(evs)) || c.Orders != 2; c = e.Counters() {
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v", e.Counters())
		}
		time.Sleep(time.Millisecond)
	}
	c := e.Counters()
	in0, out := e.Depths()
	if in0 != 0 || out == 0 || uint64(out) != c.BBOs {
		t.Errorf("depths %d, %d (BBOs %d)", in0, out, c.BBOs)
	}
	drain(e.Outputs()[0])
	if _, out := e.Depths(); out != 0 {
		t.Errorf("output depth %d after draining", out)
	}
	in.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
