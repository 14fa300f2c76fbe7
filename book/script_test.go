package book

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tickd/tickd/tick"
)

// Book scripts (testdata/*.txt): one command per line, '#' starts a comment.
//
//	dir SYM LOT                      directory (creates the book)
//	add REF SYM B|S PRICE QTY        exec REF QTY        execp|execnp REF QTY PRICE
//	cancel REF QTY                   delete REF          replace OLD NEW PRICE QTY
//	trade|cross SYM PRICE QTY        broken SYM MATCH    state SYM C        system C
//	expect bid|ask SYM PRICE SHARES ORDERS | none
//	expect depth SYM B|S [PRICE:SHARES[:ORDERS] ...]   (the whole side, best first)
//	expect queue SYM B|S PRICE [REF ...]               (FIFO order)
//	expect count REASON N | crossed N | locked N | unknown N (sum of unknown_*)
//	expect flags F,F,... | -          (flags of the last event: book bbo trade
//	                                   printable crossed locked rejected)
//	expect trade PRICE QTY | reason NAME               (of the last event)
//	expect last SYM PRICE QTY | volume SYM N | trades SYM N | broken SYM N
//	expect mid|spread SYM PRICE|none | imbalance SYM LEVELS VALUE|none
//	expect state SYM C | halted SYM true|false | lot SYM N | nobook SYM
//	expect orders N | order REF SYM B|S PRICE QTY | order REF none
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) < 10 {
		t.Fatalf("want >= 10 scripts, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type script struct {
	b    *Books
	syms *tick.SymbolTable
	last Result
}

func runScript(t *testing.T, path string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b, err := New(Options{ExpectedOrders: 4, Symbols: 2, LevelsPerSide: 1}) // tiny: exercise growth
	if err != nil {
		t.Fatal(err)
	}
	s := &script{b: b, syms: tick.NewSymbolTable(64)}
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if err := s.do(f); err != nil {
			t.Fatalf("%s:%d: %s: %v", path, line, strings.TrimSpace(text), err)
		}
	}
	if err := b.checkAll(); err != nil {
		t.Fatalf("%s: end: %v", path, err)
	}
}

func (s *script) sym(name string) tick.SymbolID {
	id, err := s.syms.Intern(name)
	if err != nil {
		panic(err)
	}
	return id
}

func num(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("bad number %q", v))
	}
	return n
}

func price(v string) tick.Price {
	p, err := tick.ParsePrice(v)
	if err != nil {
		panic(fmt.Sprintf("bad price %q", v))
	}
	return p
}

func side(v string) tick.Side {
	switch v {
	case "B":
		return tick.SideBuy
	case "S":
		return tick.SideSell
	}
	return tick.SideNone
}

var flagNames = []string{"book", "bbo", "trade", "printable", "crossed", "locked", "rejected"}

func flagString(f Flags) string {
	var parts []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func reasonByName(n string) (Reason, bool) {
	for r := Reason(0); r < reasonCount; r++ {
		if r.String() == n {
			return r, true
		}
	}
	return 0, false
}

func (s *script) do(f []string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	ev := tick.Event{}
	a := func(i int) string {
		if i >= len(f) {
			panic("missing argument")
		}
		return f[i]
	}
	switch f[0] {
	case "dir":
		ev = tick.Event{Kind: tick.KindDirectory, Symbol: s.sym(a(1)), Qty: num(a(2))}
	case "add":
		ev = tick.Event{Kind: tick.KindAdd, OrderRef: uint64(num(a(1))), Symbol: s.sym(a(2)), Side: side(a(3)), Price: price(a(4)), Qty: num(a(5))}
	case "exec":
		ev = tick.Event{Kind: tick.KindExecute, OrderRef: uint64(num(a(1))), Qty: num(a(2))}
	case "execp", "execnp":
		k := tick.KindExecutePrice
		if f[0] == "execnp" {
			k = tick.KindExecuteNoPrint
		}
		ev = tick.Event{Kind: k, OrderRef: uint64(num(a(1))), Qty: num(a(2)), Price: price(a(3))}
	case "cancel":
		ev = tick.Event{Kind: tick.KindCancel, OrderRef: uint64(num(a(1))), Qty: num(a(2))}
	case "delete":
		ev = tick.Event{Kind: tick.KindDelete, OrderRef: uint64(num(a(1)))}
	case "replace":
		ev = tick.Event{Kind: tick.KindReplace, OrderRef: uint64(num(a(1))), NewRef: uint64(num(a(2))), Price: price(a(3)), Qty: num(a(4))}
	case "trade", "cross":
		k := tick.KindTrade
		if f[0] == "cross" {
			k = tick.KindCrossTrade
		}
		ev = tick.Event{Kind: k, Symbol: s.sym(a(1)), Price: price(a(2)), Qty: num(a(3))}
	case "broken":
		ev = tick.Event{Kind: tick.KindBrokenTrade, Symbol: s.sym(a(1)), NewRef: uint64(num(a(2)))}
	case "state":
		ev = tick.Event{Kind: tick.KindTradingState, Symbol: s.sym(a(1)), Qty: int64(a(2)[0])}
	case "system":
		ev = tick.Event{Kind: tick.KindSystem, Qty: int64(a(1)[0])}
	case "expect":
		return s.expect(f[1:])
	default:
		return fmt.Errorf("unknown command %q", f[0])
	}
	s.last = s.b.Apply(&ev)
	return s.b.checkAll()
}

func want[T comparable](got, exp T) error {
	if got != exp {
		return fmt.Errorf("got %v, want %v", got, exp)
	}
	return nil
}

func (s *script) book(name string) *Book {
	bk := s.b.Book(s.sym(name))
	if bk == nil {
		panic("no book " + name)
	}
	return bk
}

func (s *script) expect(f []string) error {
	switch f[0] {
	case "bid", "ask":
		bk := s.book(f[1])
		l, ok := bk.BestBid()
		if f[0] == "ask" {
			l, ok = bk.BestAsk()
		}
		if f[2] == "none" {
			return want(ok, false)
		}
		return want(fmt.Sprint(ok, l), fmt.Sprint(true, Level{price(f[2]), num(f[3]), int(num(f[4]))}))
	case "depth":
		bk := s.book(f[1])
		buf := make([]Level, 64)
		n := bk.Depth(side(f[2]), buf)
		if n != bk.Levels(side(f[2])) {
			return fmt.Errorf("depth %d of %d levels", n, bk.Levels(side(f[2])))
		}
		var got, exp []string
		for i, l := range buf[:n] {
			g := fmt.Sprintf("%s:%d:%d", l.Price, l.Shares, l.Orders)
			if i+3 < len(f) && strings.Count(f[i+3], ":") == 1 { // orders not given: not compared
				g = fmt.Sprintf("%s:%d", l.Price, l.Shares)
			}
			got = append(got, g)
		}
		for _, w := range f[3:] {
			p := strings.Split(w, ":")
			e := fmt.Sprintf("%s:%d", price(p[0]), num(p[1]))
			if len(p) > 2 {
				e += ":" + p[2]
			}
			exp = append(exp, e)
		}
		return want(strings.Join(got, " "), strings.Join(exp, " "))
	case "queue":
		q := s.b.Queue(s.sym(f[1]), side(f[2]), price(f[3]), nil)
		return want(fmt.Sprint(q), fmt.Sprint(f[4:]))
	case "count", "crossed", "locked", "unknown":
		var got uint64
		n := f[len(f)-1]
		switch f[0] {
		case "count":
			r, ok := reasonByName(f[1])
			if !ok {
				return fmt.Errorf("no counter %q", f[1])
			}
			got = s.b.Count(r)
		case "crossed":
			got = s.b.Count(ReasonCrossed)
		case "locked":
			got = s.b.Count(ReasonLocked)
		default:
			for _, r := range []Reason{ReasonUnknownExecute, ReasonUnknownCancel, ReasonUnknownDelete, ReasonUnknownReplace} {
				got += s.b.Count(r)
			}
		}
		return want(got, uint64(num(n)))
	case "flags":
		return want(flagString(s.last.Flags), f[1])
	case "trade":
		return want(fmt.Sprint(s.last.Price, s.last.Qty), fmt.Sprint(price(f[1]), num(f[2])))
	case "reason":
		return want(s.last.Reason.String(), f[1])
	case "last":
		p, q := s.book(f[1]).LastTrade()
		return want(fmt.Sprint(p, q), fmt.Sprint(price(f[2]), num(f[3])))
	case "volume":
		return want(s.book(f[1]).Volume(), num(f[2]))
	case "trades":
		return want(s.book(f[1]).Trades(), uint64(num(f[2])))
	case "broken":
		return want(s.book(f[1]).BrokenTrades(), uint64(num(f[2])))
	case "mid", "spread":
		bk := s.book(f[1])
		p, ok := bk.Mid()
		if f[0] == "spread" {
			p, ok = bk.Spread()
		}
		if f[2] == "none" {
			return want(ok, false)
		}
		return want(fmt.Sprint(ok, p), fmt.Sprint(true, price(f[2])))
	case "imbalance":
		v, ok := s.book(f[1]).Imbalance(int(num(f[2])))
		if f[3] == "none" {
			return want(ok, false)
		}
		w, err := strconv.ParseFloat(f[3], 64)
		if err != nil || !ok || math.Abs(v-w) > 1e-9 {
			return fmt.Errorf("imbalance %v %v, want %s", v, ok, f[3])
		}
		return nil
	case "state":
		st := s.book(f[1]).TradingState()
		if f[2] == "none" {
			return want(st, 0)
		}
		return want(string(st), f[2])
	case "halted":
		return want(fmt.Sprint(s.book(f[1]).Halted()), f[2])
	case "lot":
		return want(s.book(f[1]).RoundLot(), num(f[2]))
	case "nobook":
		return want(s.b.Book(s.sym(f[1])) == nil, true)
	case "orders":
		return want(s.b.Orders(), int(num(f[1])))
	case "order":
		o, ok := s.b.Order(uint64(num(f[1])))
		if f[2] == "none" {
			return want(ok, false)
		}
		return want(fmt.Sprint(ok, o), fmt.Sprint(true, OrderInfo{s.sym(f[2]), side(f[3]), price(f[4]), num(f[5])}))
	}
	return fmt.Errorf("unknown expectation %q", f[0])
}
