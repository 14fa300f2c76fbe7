package engine

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sec = int64(1_000_000_000)

// t0 is an event time on a minute boundary, so bars and buckets align.
const t0 = int64(1_700_000_040) * sec

// newTestEngine returns an engine over a fresh table holding names.
func newTestEngine(t testing.TB, cfg Config, names ...string) (*Engine, *tick.SymbolTable) {
	t.Helper()
	syms := tick.NewSymbolTable(1024)
	for _, n := range names {
		if _, err := syms.Intern(n); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(cfg, syms)
	if err != nil {
		t.Fatal(err)
	}
	return e, syms
}

// px returns a Price from a float (test data only).
func px(f float64) tick.Price {
	p, _ := tick.PriceFromFloat(f)
	return p
}

func trade(sym tick.SymbolID, t int64, p float64, q int64) tick.Event {
	return tick.Event{Kind: tick.KindTrade, Symbol: sym, TsEvent: t, TsRecv: t + 1, Price: px(p), Qty: q}
}

// drain takes every record committed to out so far (one consumer, this
// goroutine).
func drain(out *outRing) []tick.Out {
	c := out.Consumer(0)
	var got []tick.Out
	for {
		b := c.Poll()
		if len(b) == 0 {
			return got
		}
		got = append(got, b...)
		c.Release(len(b))
	}
}

// only returns the records of kind k.
func only(outs []tick.Out, k tick.OutKind) []tick.Out {
	var r []tick.Out
	for _, o := range outs {
		if o.Kind == k {
			r = append(r, o)
		}
	}
	return r
}
