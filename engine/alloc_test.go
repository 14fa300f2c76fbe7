package engine

import (
	"testing"

	"github.com/tickd/tickd/tick"
)

// TestTradeNoAllocs: once a symbol exists, a trade allocates nothing,
// whether it closes bars, fires signals or neither.
func TestTradeNoAllocs(t *testing.T) {
	e, _ := newTestEngine(t, Config{Rules: DefaultRules(), SMA: 20}, "AAPL")
	s := e.shards[0]
	c := s.out.ring.Consumer(0)
	ts, i := t0, 0
	batch := make([]tick.Event, 1)
	feed := func() {
		i++
		ts += sec / 3 // bars close every few trades
		p := 99.0
		if i%2 == 0 {
			p = 101 // crosses level_100 both ways
		}
		batch[0] = trade(0, ts, p, int64(1+i%7*100))
		s.process(batch)
		for b := c.Poll(); len(b) > 0; b = c.Poll() {
			c.Release(len(b))
		}
	}
	for range 100 { // the symbol's state is allocated on its first trade
		feed()
	}
	if a := testing.AllocsPerRun(1000, feed); a != 0 {
		t.Fatalf("%v allocations per trade", a)
	}
	if n := e.Counters(); n.Signals == 0 || n.Bars == 0 {
		t.Fatalf("no signals or bars: %+v", n)
	}
}
