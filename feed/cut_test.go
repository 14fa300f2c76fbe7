package feed

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// TestTCPCutAndResend cuts a native feed connection 20 times at random byte
// offsets (mid-frame as a rule) and reconnects, resending from the first
// trade not completely written before the cut, behind a fresh Hello and
// fresh Symbol definitions. Every trade (identified by qty = its index)
// must reach the sinks exactly once: the decoder drops the torn frame at
// EOF, and nothing that was written whole is lost.
func TestTCPCutAndResend(t *testing.T) {
	const (
		trades = 20000
		cuts   = 20
	)
	syms := []string{"AAA", "BB.B", "CCCC", "D", "EE"}
	var ss sinks
	var rs reports
	table := tick.NewSymbolTable(16)
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{
		Symbols: table, OnError: rs.onError, ReadBuffer: 4096, MaxFrame: 256,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()

	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	// encode returns the stream of one connection starting at trade from,
	// and ends[i] = the offset just past trade from+i.
	encode := func(from int) (b []byte, ends []int) {
		var e NativeEncoder
		b = e.Hello(nil)
		for i := from; i < trades; i++ {
			b = e.Trade(b, syms[i%len(syms)], int64(i+1), tick.Price(1e9+i), int64(i+1), tick.SideBuy)
			ends = append(ends, len(b))
		}
		return b, ends
	}
	next, tornMid := 0, 0
	for c := 0; c <= cuts; c++ {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b, ends := encode(next)
		cut := len(b)
		if c < cuts {
			// A random offset within the next ~1/(cuts-c+1) of what is left,
			// so the cuts spread over the whole stream.
			span := len(b) / (cuts - c + 1)
			cut = 1 + rng.IntN(max(span, 2)-1)
		}
		// Odd-sized writes, so frames straddle reads on the other side too.
		for off := 0; off < cut; {
			k := min(cut-off, 1+rng.IntN(3000))
			if _, err := conn.Write(b[off : off+k]); err != nil {
				t.Fatal(err)
			}
			off += k
		}
		conn.Close() // an orderly FIN: every byte written reaches the listener
		whole := 0   // trades written completely
		for whole < len(ends) && ends[whole] <= cut {
			whole++
		}
		if c < cuts && (whole == len(ends) || ends[whole]-TradeFrameSize < cut) {
			tornMid++ // the cut tore a trade frame (or a symbol frame before it)
		}
		next += whole
	}
	if next != trades {
		t.Fatalf("sender thinks %d of %d trades were sent", next, trades)
	}
	countTrades := func() (n int, seen []int) {
		seen = make([]int, trades+1)
		for _, s := range ss.list() {
			ev, _ := s.snapshot()
			for _, e := range ev {
				if e.Kind == tick.KindTrade {
					n++
					// A wrong symbol (a stale local index) counts as a miss.
					if e.Qty >= 1 && e.Qty <= trades && table.Name(e.Symbol) == syms[(e.Qty-1)%int64(len(syms))] {
						seen[e.Qty]++
					}
				}
			}
		}
		return n, seen
	}
	waitFor(t, "every trade", func() bool { n, _ := countTrades(); return n >= trades })
	time.Sleep(20 * time.Millisecond) // let a doubled trade, if any, arrive
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	n, seen := countTrades()
	if n != trades {
		t.Errorf("%d trades delivered, want %d", n, trades)
	}
	for q := 1; q <= trades; q++ {
		if seen[q] != 1 {
			t.Fatalf("trade %d delivered %d times", q, seen[q])
		}
	}
	if got := len(ss.list()); got != cuts+1 {
		t.Errorf("%d connections served, want %d", got, cuts+1)
	}
	t.Logf("%d trades over %d connections, %d cuts tore a frame, %d decoder reports", trades, cuts+1, tornMid, len(rs.list()))
	if tornMid == 0 {
		t.Error("no cut tore a frame: the test did not test resending")
	}
}
