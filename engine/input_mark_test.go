package engine

import (
	"context"
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestInputCommittedConsumed: a mark taken after a Commit is consumed only
// once the shards have processed the events, and by then the signals they
// produced are already in the output rings (what the Kafka source's
// published barrier relies on).
func TestInputCommittedConsumed(t *testing.T) {
	rules := []RuleSpec{{ID: "up", Type: RulePrice, Dir: DirUp, Level: px(100), Hysteresis: 0.5}}
	e, syms := newTestEngine(t, Config{Shards: 2, Rules: rules}, "A", "B")
	in, err := e.NewInput("k")
	if err != nil {
		t.Fatal(err)
	}
	if pos := in.Committed(nil); len(pos) != 2 || !in.Consumed(pos) {
		t.Fatalf("fresh input: mark %v consumed %v, want two zeros, consumed", pos, in.Consumed(pos))
	}
	a, _ := syms.LookupString("A")
	b, _ := syms.LookupString("B")
	evs := []tick.Event{trade(a, t0, 99, 1), trade(b, t0, 99, 1), trade(a, t0+sec, 101, 1), trade(b, t0+sec, 101, 1)}
	slots := in.Claim(len(evs))
	if len(slots) != len(evs) {
		t.Fatalf("claimed %d slots", len(slots))
	}
	copy(slots, evs)
	in.Commit(len(evs))
	pos := in.Committed(nil)
	if pos[0]+pos[1] != 4 {
		t.Fatalf("mark %v after 4 events", pos)
	}
	if in.Consumed(pos) {
		t.Fatal("consumed before the engine ran")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	waitConsumed(t, in, pos)
	signals := 0
	for _, out := range e.Outputs() {
		signals += len(only(drain(out), tick.OutSignal))
	}
	if signals != 2 {
		t.Errorf("%d signals in the output rings once consumed, want 2", signals)
	}
	cancel()
	in.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
