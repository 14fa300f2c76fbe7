package bus

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
	"github.com/tickd/tickd/tick/tickdec"
)

// collector subscribes to everything under the default prefix.
type collector struct {
	mu   sync.Mutex
	msgs []Message
	more chan struct{}
}

func collect(t *testing.T, nc *nats.Conn) *collector {
	t.Helper()
	c := &collector{more: make(chan struct{}, 1)}
	sub, err := Subscribe(nc, Subjects{}.All(), func(m Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		select {
		case c.more <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil { // the server has the subscription
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return c
}

// wait returns the messages once n have arrived; it fails the test if they
// do not within a generous bound (a hang guard, not a timing assertion).
func (c *collector) wait(t *testing.T, n int) []Message {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.msgs)
		c.mu.Unlock()
		if got >= n {
			c.mu.Lock()
			defer c.mu.Unlock()
			return append([]Message(nil), c.msgs...)
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("received %d of %d messages", got, n)
		}
	}
}

// expected returns what a subscriber should decode from o (Seq, TsPub and
// Subject left zero) and the subject it should arrive on.
func (f *fixture) expected(o *tick.Out) (Message, string) {
	var sj Subjects
	switch o.Kind {
	case tick.OutSignal:
		s, r := &o.Signal, f.rules[o.Signal.Rule]
		m := &Signal{Publisher: "test-pub", Symbol: f.syms.Name(s.Symbol), Rule: r.ID, Type: r.Type,
			Dir: Direction(s.Dir), TsEvent: s.TsEvent, TsRecv: s.TsRecv, Price: tickdec.ToDecimal(s.Price),
			Params: map[string]string{}, Values: map[string]float64{}}
		for _, p := range r.Params {
			m.Params[p.Name] = p.Value
		}
		for i, n := range r.ValueNames {
			if n != "" {
				m.Values[n] = s.Values[i]
			}
		}
		return m, sj.Signal(m.Symbol, r.ID)
	case tick.OutBar:
		b := &o.Bar
		m := &Bar{Publisher: "test-pub", Symbol: f.syms.Name(b.Symbol), Interval: time.Duration(b.Interval),
			Start: b.Start, Open: tickdec.ToDecimal(b.Open), High: tickdec.ToDecimal(b.High),
			Low: tickdec.ToDecimal(b.Low), Close: tickdec.ToDecimal(b.Close), VWAP: tickdec.ToDecimal(b.VWAP),
			Volume: b.Volume, Count: int64(b.Count), TsRecv: b.TsRecv}
		return m, sj.Bar(m.Interval, m.Symbol)
	case tick.OutBBO:
		q := &o.BBO
		m := &BBO{Publisher: "test-pub", Symbol: f.syms.Name(q.Symbol), TsEvent: q.TsEvent, TsRecv: q.TsRecv,
			BidSize: q.BidShares, AskSize: q.AskShares, BidOrders: int64(q.BidOrders), AskOrders: int64(q.AskOrders)}
		if q.BidShares != 0 || q.BidOrders != 0 {
			m.Bid = decimal.NullDecimal{Decimal: tickdec.ToDecimal(q.Bid), Valid: true}
		}
		if q.AskShares != 0 || q.AskOrders != 0 {
			m.Ask = decimal.NullDecimal{Decimal: tickdec.ToDecimal(q.Ask), Valid: true}
		}
		return m, sj.BBO(m.Symbol)
	default:
		s := &o.Stats
		m := &Stats{Publisher: "test-pub", Symbol: f.syms.Name(s.Symbol), TsEvent: s.TsEvent,
			Last: tickdec.ToDecimal(s.Last), SMA: s.SMA, EMA: s.EMA, VWAP: s.VWAP, Mean: s.Mean,
			StdDev: s.StdDev, ZScore: s.ZScore, Min: tickdec.ToDecimal(s.Min), Max: tickdec.ToDecimal(s.Max),
			Count: s.Count, Volume: s.Volume}
		return m, sj.Stats(m.Symbol)
	}
}

// records makes n output records for ring r: a mix of every kind, symbol
// and rule, each tagged with r and its index so order can be checked.
func (f *fixture) records(r, n int) []tick.Out {
	syms := []tick.SymbolID{f.aapl, f.brk, f.quote}
	out := make([]tick.Out, n)
	for i := range out {
		o := &out[i]
		ts := int64(1_700_000_000_000_000_000 + r*1_000_000 + i)
		sym := syms[i%len(syms)]
		px := tick.Price(100_000_000_000 + int64(i)*1_000_001)
		switch i % 4 {
		case 0:
			o.Kind = tick.OutSignal
			o.Signal = tick.Signal{TsEvent: ts, TsRecv: ts + 5, Symbol: sym, Rule: uint16(i % len(f.rules)),
				Dir: int8(1 - 2*(i%2)), Price: px, Values: [3]float64{float64(i) + 0.25, -float64(r), 1e-9}}
		case 1:
			o.Kind = tick.OutBar
			iv := []int64{int64(time.Second), int64(time.Minute), int64(250 * time.Millisecond)}[i%3]
			o.Bar = tick.Bar{Symbol: sym, Count: uint32(i), Interval: iv, Start: (ts/iv + int64(i)) * iv, Open: px,
				High: px + 7, Low: px - 7, Close: px + 1, VWAP: px + 3, Volume: int64(i) * 100, TsRecv: ts}
		case 2:
			o.Kind = tick.OutStats
			o.Stats = tick.Stats{Symbol: sym, TsEvent: ts, Last: px, SMA: 100.5, EMA: float64(i) / 3,
				VWAP: 99.75, Mean: 100, StdDev: 0.5, ZScore: -1.25, Min: px - 1000, Max: px + 1000,
				Count: int64(i), Volume: int64(i) * 10}
		default:
			// Both sides, then no ask, no bid, an empty book; stale
			// prices on empty sides must not be published.
			o.Kind = tick.OutBBO
			o.BBO = tick.BBO{Symbol: sym, TsEvent: ts, TsRecv: ts + 5, Bid: px, BidShares: int64(i) * 100,
				BidOrders: uint32(i%7 + 1), Ask: px + 10_000_000, AskShares: int64(i) + 1, AskOrders: 1}
			switch i / 4 % 4 {
			case 1:
				o.BBO.AskShares, o.BBO.AskOrders = 0, 0
			case 2:
				o.BBO.BidShares, o.BBO.BidOrders = 0, 0
			case 3:
				o.BBO.AskShares, o.BBO.AskOrders, o.BBO.BidShares, o.BBO.BidOrders = 0, 0, 0, 0
			}
		}
	}
	return out
}

// produce writes recs into ring in batches of up to 7 slots, then closes it.
func produce(ring *ringbuf.Ring[tick.Out], recs []tick.Out) {
	for len(recs) > 0 {
		slots := ring.Reserve(7)
		k := copy(slots, recs)
		ring.Commit(k)
		recs = recs[k:]
	}
	ring.Close()
}

func TestPublisherRunEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     ringbuf.WaitStrategy
		withBell bool
	}{
		{"yield-no-bell", ringbuf.SpinYield, false},
		{"park-bell", ringbuf.Park, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rings, perRing = 3, 500
			f := newFixture(t)
			s := startServer(t, ServerOptions{DontListen: true})
			col := collect(t, connect(t, s))
			p, err := NewPublisher(connect(t, s), f.syms, f.rules, PublisherOptions{ID: "test-pub", Wait: tc.wait})
			if err != nil {
				t.Fatal(err)
			}
			outs := make([]*ringbuf.Ring[tick.Out], rings)
			recs := make([][]tick.Out, rings)
			for i := range outs {
				ro := ringbuf.Options{Capacity: 64}
				if tc.withBell {
					ro.Bell = p.Bell()
				}
				if outs[i], err = ringbuf.New[tick.Out](ro); err != nil {
					t.Fatal(err)
				}
				recs[i] = f.records(i, perRing)
			}
			var wg sync.WaitGroup
			for i := range outs {
				wg.Go(func() { produce(outs[i], recs[i]) })
			}
			if err := p.Run(outs); err != nil {
				t.Fatal(err)
			}
			wg.Wait()

			got := col.wait(t, rings*perRing)
			if len(got) != rings*perRing {
				t.Fatalf("received %d messages, want %d", len(got), rings*perRing)
			}
			next := make([]int, rings) // next expected record per ring
			for i, m := range got {
				pub, seq := m.Origin()
				if pub != "test-pub" || seq != uint64(i+1) {
					t.Fatalf("message %d: origin (%q, %d), want seq %d", i, pub, seq, i+1)
				}
				r, subj := ringOf(m)
				if r < 0 || r >= rings || next[r] >= perRing {
					t.Fatalf("message %d %+v: bad ring %d", i, m, r)
				}
				want, wantSubj := f.expected(&recs[r][next[r]])
				next[r]++
				if subj != wantSubj {
					t.Errorf("message %d: subject %q, want %q", i, subj, wantSubj)
				}
				if g, w := normalize(m), normalize(want); g != w {
					t.Fatalf("message %d (ring %d, record %d):\n got %s\nwant %s", i, r, next[r]-1, g, w)
				}
			}
			c := p.Counters()
			if c.Signals+c.Bars+c.Stats+c.BBOs != rings*perRing || c.BBOs != rings*(perRing/4) ||
				c.Errors != 0 || c.Invalid != 0 || c.Bytes == 0 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

// ringOf recovers the ring a test record came from (its timestamp tag) and
// the subject the message arrived on.
func ringOf(m Message) (int, string) {
	var ts int64
	var subj string
	switch m := m.(type) {
	case *Signal:
		ts, subj = m.TsEvent, m.Subject
	case *Bar:
		ts, subj = m.TsRecv, m.Subject
	case *Stats:
		ts, subj = m.TsEvent, m.Subject
	case *BBO:
		ts, subj = m.TsEvent, m.Subject
	default:
		return -1, ""
	}
	return int((ts - 1_700_000_000_000_000_000) / 1_000_000), subj
}

// normalize prints a message without its per-publish fields; fmt prints
// decimals via String, so equal values print the same whatever their scale.
func normalize(m Message) string {
	switch m := m.(type) {
	case *Signal:
		c := *m
		c.Seq, c.TsPub, c.Subject = 0, 0, ""
		return fmt.Sprintf("%+v", c)
	case *Bar:
		c := *m
		c.Seq, c.TsPub, c.Subject = 0, 0, ""
		return fmt.Sprintf("%+v", c)
	case *Stats:
		c := *m
		c.Seq, c.TsPub, c.Subject = 0, 0, ""
		return fmt.Sprintf("%+v", c)
	case *BBO:
		c := *m
		c.Seq, c.TsPub, c.Subject = 0, 0, ""
		return fmt.Sprintf("%+v", c)
	}
	return fmt.Sprintf("%#v", m)
}

func TestPublisherInvalidRecords(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{DontListen: true})
	col := collect(t, connect(t, s))
	p, err := NewPublisher(connect(t, s), f.syms, f.rules, PublisherOptions{ID: "test-pub"})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	good := f.records(0, 4)
	recs := []tick.Out{
		{Kind: tick.OutNone},
		good[0],
		{Kind: tick.OutSignal, Signal: tick.Signal{Symbol: f.aapl, Rule: uint16(len(f.rules))}}, // no such rule
		good[1],
		{Kind: tick.OutStats, Stats: tick.Stats{Symbol: 999}}, // no such symbol
		{Kind: tick.OutBar, Bar: tick.Bar{Symbol: f.aapl}},    // no interval
		{Kind: 42}, // no such kind
		good[2],
		{Kind: tick.OutBBO, BBO: tick.BBO{Symbol: 999}}, // no such symbol
		good[3],
	}
	produce(ring, recs)
	if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
		t.Fatal(err)
	}
	got := col.wait(t, 4)
	for i, m := range got {
		if _, seq := m.Origin(); seq != uint64(i+1) {
			t.Errorf("message %d has seq %d: invalid records must not use up a seq", i, seq)
		}
	}
	if c := p.Counters(); c.Invalid != 6 || c.Signals != 1 || c.Bars != 1 || c.Stats != 1 || c.BBOs != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestPublisherClosedConnection(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{DontListen: true})
	nc := connect(t, s)
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.ID(), "-") {
		t.Errorf("default ID %q, want host-pid", p.ID())
	}
	nc.Close()
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	go produce(ring, f.records(0, 20)) // more than the ring holds: Run must keep draining
	err = p.Run([]*ringbuf.Ring[tick.Out]{ring})
	if !errors.Is(err, nats.ErrConnectionClosed) || !strings.HasPrefix(err.Error(), "bus: publishes lost (publish_errors 20, publish_dropped 0 ") {
		t.Fatalf("Run: %v", err)
	}
	if c := p.Counters(); c.Errors != 20 || c.Signals+c.Bars+c.Stats+c.BBOs != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestPublisherOptions(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{DontListen: true})
	nc := connect(t, s)
	for _, o := range []PublisherOptions{{Prefix: "a..b"}, {Consumer: -1}, {Wait: 9}, {FlushTimeout: -1}} {
		if _, err := NewPublisher(nc, f.syms, f.rules, o); err == nil || !strings.HasPrefix(err.Error(), "bus: ") {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	if _, err := NewPublisher(nil, f.syms, f.rules, PublisherOptions{}); err == nil {
		t.Error("nil connection accepted")
	}
	if _, err := NewPublisher(nc, f.syms, []RuleInfo{{ID: "x"}, {ID: "x"}}, PublisherOptions{}); err == nil {
		t.Error("duplicate rule ids accepted")
	}
	p, err := NewPublisher(nc, f.syms, f.rules, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(nil); err != nil { // nothing to drain: returns after the flush
		t.Fatal(err)
	}
	if err := p.Run([]*ringbuf.Ring[tick.Out]{nil}); err == nil {
		t.Error("nil ring accepted")
	}
}

// TestPublisherPrefix checks that a custom prefix reaches the subjects.
func TestPublisherPrefix(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{DontListen: true})
	sub := connect(t, s)
	ss, err := sub.SubscribeSync("prod.md.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPublisher(connect(t, s), f.syms, f.rules, PublisherOptions{Prefix: "prod.md"})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 8})
	produce(ring, f.records(0, 4))
	if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
		t.Fatal(err)
	}
	want := []string{"prod.md.signal.AAPL.brk_up", "prod.md.bar.1m.BRK_A", `prod.md.stats.Q"T\S`, "prod.md.bbo.AAPL"}
	for _, w := range want {
		m, err := ss.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != w {
			t.Errorf("subject %q, want %q", m.Subject, w)
		}
	}
}

// TestPublisherBBO publishes BBOs through Run to an embedded server and reads
// them over TCP as raw NATS messages: the subject is the sanitized symbol's,
// the JSON carries null for an empty side, and it decodes to the record.
func TestPublisherBBO(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, ServerOptions{Port: RandomPort})
	tcp, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	ss, err := tcp.SubscribeSync(Subjects{}.AllBBOs())
	if err != nil {
		t.Fatal(err)
	}
	if err := tcp.Flush(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPublisher(connect(t, s), f.syms, f.rules, PublisherOptions{ID: "test-pub"})
	if err != nil {
		t.Fatal(err)
	}
	both := f.bbo() // BRK.A
	noAsk := tick.BBO{Symbol: f.quote, TsEvent: 11, TsRecv: 12, Bid: 99_000_000_001, BidShares: 5,
		BidOrders: 1, Ask: 123, AskShares: 0, AskOrders: 0}
	ring, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	produce(ring, []tick.Out{
		{Kind: tick.OutBBO, BBO: both},
		{Kind: tick.OutStats, Stats: f.stats()}, // another kind between: not on tickd.bbo.>
		{Kind: tick.OutBBO, BBO: noAsk},
	})
	if err := p.Run([]*ringbuf.Ring[tick.Out]{ring}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		subj, payload string // payload without ts_pub, which is the publish time
		seq           uint64
		rec           tick.BBO
	}{
		{"tickd.bbo.BRK_A", `{"kind":"bbo","publisher":"test-pub","seq":1,"symbol":"BRK.A",` +
			`"ts_event":1700000000000000000,"ts_recv":1700000000000001000,"bid":"412.5","ask":"412.510000001",` +
			`"bid_size":300,"ask_size":1200,"bid_orders":2,"ask_orders":3}`, 1, both},
		{`tickd.bbo.Q"T\S`, `{"kind":"bbo","publisher":"test-pub","seq":3,"symbol":"Q\"T\\S",` +
			`"ts_event":11,"ts_recv":12,"bid":"99.000000001","ask":null,` +
			`"bid_size":5,"ask_size":0,"bid_orders":1,"ask_orders":0}`, 3, noAsk},
	} {
		msg, err := ss.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Subject != c.subj {
			t.Errorf("subject %q, want %q", msg.Subject, c.subj)
		}
		i := strings.Index(string(msg.Data), `,"ts_pub":`)
		j := strings.Index(string(msg.Data), `,"bid":`)
		if i < 0 || j < i {
			t.Fatalf("payload %s", msg.Data)
		}
		if got := string(msg.Data[:i]) + string(msg.Data[j:]); got != c.payload {
			t.Errorf("payload\n%s\nwant (ts_pub aside)\n%s", msg.Data, c.payload)
		}
		m, err := Decode(msg)
		if err != nil {
			t.Fatal(err)
		}
		q, ok := m.(*BBO)
		if !ok {
			t.Fatalf("decoded %T", m)
		}
		out := tick.Out{Kind: tick.OutBBO, BBO: c.rec}
		want, _ := f.expected(&out)
		if q.Seq != c.seq || q.Subject != c.subj || normalize(q) != normalize(want) {
			t.Errorf("decoded\n%+v\nwant\n%+v", q, want)
		}
	}
	if c := p.Counters(); c.BBOs != 2 || c.Stats != 1 || c.Invalid != 0 || c.Errors != 0 {
		t.Errorf("counters %+v", c)
	}
}
