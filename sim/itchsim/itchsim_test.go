package itchsim

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// stream runs a whole session and returns every message framed, plus the generator.
func stream(t testing.TB, cfg Config) ([]byte, *Generator) {
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out, msg []byte
	for {
		var ok bool
		msg, ok = g.Next(msg[:0])
		if !ok {
			break
		}
		out = itch.AppendFramed(out, msg)
	}
	return out, g
}

func TestItchDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Messages: 50_000, LiveOrders: 5000}
	a, _ := stream(t, cfg)
	b, _ := stream(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("same config gave different streams")
	}
	cfg.Seed = 8
	c, _ := stream(t, cfg)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same stream")
	}
}

func TestItchConfigErrors(t *testing.T) {
	for _, c := range []Config{{Rate: -1}, {Count: -1}, {Symbols: []string{"TOOLONGNAME"}}, {LiveOrders: -5}, {Messages: -1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

// TestItchConsistentBook decodes a session, builds L3 books from it and checks
// the stream is what a real feed would be: every message valid, no unknown
// references, no overfills, books rarely crossed, live orders near target.
func TestItchConsistentBook(t *testing.T) {
	const live = 100_000
	n := int64(2_000_000)
	if testing.Short() {
		n = 300_000
	}
	g, err := New(Config{Seed: 3, Messages: n, LiveOrders: live})
	if err != nil {
		t.Fatal(err)
	}
	syms := tick.NewSymbolTable(64)
	dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
	if err != nil {
		t.Fatal(err)
	}
	books, err := book.New(book.Options{ExpectedOrders: 2 * live, Symbols: 64})
	if err != nil {
		t.Fatal(err)
	}
	var (
		msg                 []byte
		ev                  tick.Event
		first, last         byte
		lastTs              int64
		count, crossedAfter int64
		inside, atTouch     int64
		above, below        int64
	)
	for {
		var ok bool
		msg, ok = g.Next(msg[:0])
		if !ok {
			break
		}
		count++
		if int(itch.MsgLen[msg[0]]) != len(msg) {
			t.Fatalf("message %d type %c: length %d, spec %d", count, msg[0], len(msg), itch.MsgLen[msg[0]])
		}
		if g.Timestamp() < lastTs {
			t.Fatalf("message %d: timestamp went back", count)
		}
		lastTs = g.Timestamp()
		if msg[0] == 'S' {
			if first == 0 {
				first = msg[11]
			}
			last = msg[11]
		}
		wrote, err := dec.Decode(msg, &ev)
		if err != nil {
			t.Fatalf("message %d (%c): %v", count, msg[0], err)
		}
		if wrote && msg[0] == 'P' {
			// Where did the non-displayed trade print against the displayed book?
			if bk := books.Book(ev.Symbol); bk != nil {
				bid, okb := bk.BestBid()
				ask, oka := bk.BestAsk()
				switch {
				case !okb || !oka:
				case ev.Price > ask.Price:
					above++
				case ev.Price < bid.Price:
					below++
				case ev.Price > bid.Price && ev.Price < ask.Price:
					inside++
				default:
					atTouch++
				}
			}
		}
		if wrote {
			books.Apply(&ev)
		}
		if count == n/2 {
			if o := books.Orders(); o < live*8/10 || o > live*12/10 {
				t.Errorf("mid-session live orders %d, want near %d", o, live)
			}
		}
	}
	if first != 'O' || last != 'C' {
		t.Errorf("session starts with S %c and ends with S %c", first, last)
	}
	c := dec.Counters()
	if c.Rejected() != 0 {
		t.Errorf("decoder rejected %d messages: %v", c.Rejected(), c.ByReason)
	}
	bc := books.Counters()
	for _, r := range []book.Reason{book.ReasonUnknownExecute, book.ReasonUnknownCancel, book.ReasonUnknownDelete,
		book.ReasonUnknownReplace, book.ReasonDuplicateRef, book.ReasonBadOrder, book.ReasonBadSymbol, book.ReasonOverfill} {
		if bc[r] != 0 {
			t.Errorf("book counter %v = %d, want 0", r, bc[r])
		}
	}
	st := g.Stats()
	if st.Live != books.Orders() {
		t.Errorf("generator thinks %d live orders, book has %d", st.Live, books.Orders())
	}
	crossedAfter = int64(bc[book.ReasonCrossed])
	if crossedAfter > count/10000 {
		t.Errorf("books became crossed %d times in %d messages", crossedAfter, count)
	}
	if st.Halts == 0 || st.TradeThroughs == 0 {
		t.Errorf("halts %d, trade-throughs %d: want some of each", st.Halts, st.TradeThroughs)
	}
	for _, typ := range []byte("AFEXDUPCQ") {
		if st.ByType[typ] == 0 {
			t.Errorf("no %c messages", typ)
		}
	}
	if inside < 2*atTouch || inside < 50*(above+below) || above == 0 || below == 0 {
		t.Errorf("P trades: %d inside the spread, %d at the touch, %d above the ask, %d below the bid", inside, atTouch, above, below)
	}
	t.Logf("P trades: %d inside, %d at touch, %d through (above %d, below %d)", inside, atTouch, above+below, above, below)
	if !testing.Short() && st.ByType['B'] == 0 {
		t.Error("no broken trades")
	}
	t.Logf("%d msgs, live %d peak %d, crossed %d locked %d, halts %d, through %d, by type A%d F%d D%d U%d X%d E%d C%d P%d Q%d B%d H%d",
		count, st.Live, st.PeakLive, bc[book.ReasonCrossed], bc[book.ReasonLocked], st.Halts, st.TradeThroughs,
		st.ByType['A'], st.ByType['F'], st.ByType['D'], st.ByType['U'], st.ByType['X'], st.ByType['E'], st.ByType['C'],
		st.ByType['P'], st.ByType['Q'], st.ByType['B'], st.ByType['H'])
}

// TestItchEnd checks End closes an unlimited session with M E C.
func TestItchEnd(t *testing.T) {
	g, err := New(Config{Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	var msg []byte
	for range 1000 {
		msg, _ = g.Next(msg[:0])
	}
	g.End()
	var codes []byte
	for {
		var ok bool
		msg, ok = g.Next(msg[:0])
		if !ok {
			break
		}
		if msg[0] != 'S' {
			t.Fatalf("after End: %c message", msg[0])
		}
		codes = append(codes, msg[11])
	}
	if string(codes) != "MEC" {
		t.Fatalf("closing events %q, want MEC", codes)
	}
	if _, ok := g.Next(nil); ok {
		t.Fatal("Next after S C returned a message")
	}
}

func BenchmarkNext(b *testing.B) {
	g, err := New(Config{LiveOrders: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	for range 2_000_000 { // warm up past the ramp to LiveOrders
		buf, _ = g.Next(buf[:0])
	}
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf, _ = g.Next(buf[:0])
		n += int64(len(buf))
	}
	b.SetBytes(n / int64(b.N))
}

// BenchmarkNaiveAdd is the baseline: an add message built through fmt and a
// fresh slice per message, as a quick script would.
func BenchmarkNaiveAdd(b *testing.B) {
	b.ReportAllocs()
	var n int64
	for i := range b.N {
		s := fmt.Sprintf("A%04x%04x%012x%016x%s%08x%-8s%08x", 1, 0, i, i, "B", 100, "AAA", 1000000)
		msg := []byte(s)
		n += int64(len(msg))
	}
	b.SetBytes(n / int64(max(b.N, 1)))
}
