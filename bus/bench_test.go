package bus

import (
	"encoding/json"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
	"github.com/tickd/tickd/tick/tickdec"
)

var sink []byte

// The encoding/json baselines: what a naive publisher would marshal, with
// decimal prices and maps for parameters and values.
type stdSignal struct {
	Kind      string             `json:"kind"`
	Publisher string             `json:"publisher"`
	Seq       uint64             `json:"seq"`
	Symbol    string             `json:"symbol"`
	Rule      string             `json:"rule"`
	Type      string             `json:"type"`
	Dir       string             `json:"dir"`
	TsEvent   int64              `json:"ts_event"`
	TsRecv    int64              `json:"ts_recv"`
	TsPub     int64              `json:"ts_pub"`
	Price     decimal.Decimal    `json:"price"`
	Params    map[string]string  `json:"params"`
	Values    map[string]float64 `json:"values"`
}

type stdBar struct {
	Kind       string          `json:"kind"`
	Publisher  string          `json:"publisher"`
	Seq        uint64          `json:"seq"`
	Symbol     string          `json:"symbol"`
	Interval   string          `json:"interval"`
	IntervalNs int64           `json:"interval_ns"`
	Start      int64           `json:"start"`
	Open       decimal.Decimal `json:"open"`
	High       decimal.Decimal `json:"high"`
	Low        decimal.Decimal `json:"low"`
	Close      decimal.Decimal `json:"close"`
	Volume     int64           `json:"volume"`
	VWAP       decimal.Decimal `json:"vwap"`
	Count      uint32          `json:"count"`
	TsRecv     int64           `json:"ts_recv"`
	TsPub      int64           `json:"ts_pub"`
}

func BenchmarkEncodeSignal(b *testing.B) {
	f := newFixture(b)
	sig := f.signal()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		b.SetBytes(int64(len(f.enc.AppendSignalJSON(nil, 1, 1, &sig))))
		for i := 0; b.Loop(); i++ {
			buf = f.enc.AppendSignalJSON(buf[:0], uint64(i), int64(i), &sig)
		}
		sink = buf
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		r := f.rules[sig.Rule]
		var n int
		for i := 0; b.Loop(); i++ {
			v := stdSignal{Kind: "signal", Publisher: "h-1", Seq: uint64(i), Symbol: f.syms.Name(sig.Symbol),
				Rule: r.ID, Type: r.Type, Dir: "up", TsEvent: sig.TsEvent, TsRecv: sig.TsRecv, TsPub: int64(i),
				Price: tickdec.ToDecimal(sig.Price), Params: make(map[string]string, len(r.Params)),
				Values: make(map[string]float64, 3)}
			for _, p := range r.Params {
				v.Params[p.Name] = p.Value
			}
			for k, name := range r.ValueNames {
				if name != "" {
					v.Values[name] = sig.Values[k]
				}
			}
			sink, _ = json.Marshal(&v)
			n = len(sink)
		}
		b.SetBytes(int64(n))
	})
}

func BenchmarkEncodeBar(b *testing.B) {
	f := newFixture(b)
	bar := f.bar()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		b.SetBytes(int64(len(f.enc.AppendBarJSON(nil, 1, 1, &bar))))
		for i := 0; b.Loop(); i++ {
			buf = f.enc.AppendBarJSON(buf[:0], uint64(i), int64(i), &bar)
		}
		sink = buf
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; b.Loop(); i++ {
			v := stdBar{Kind: "bar", Publisher: "h-1", Seq: uint64(i), Symbol: f.syms.Name(bar.Symbol),
				Interval: FormatInterval(time.Duration(bar.Interval)), IntervalNs: bar.Interval, Start: bar.Start,
				Open: tickdec.ToDecimal(bar.Open), High: tickdec.ToDecimal(bar.High), Low: tickdec.ToDecimal(bar.Low),
				Close: tickdec.ToDecimal(bar.Close), Volume: bar.Volume, VWAP: tickdec.ToDecimal(bar.VWAP),
				Count: bar.Count, TsRecv: bar.TsRecv, TsPub: int64(i)}
			sink, _ = json.Marshal(&v)
			n = len(sink)
		}
		b.SetBytes(int64(n))
	})
}

func BenchmarkEncodeStats(b *testing.B) {
	f := newFixture(b)
	st := f.stats()
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(f.enc.AppendStatsJSON(nil, 1, 1, &st))))
	for i := 0; b.Loop(); i++ {
		buf = f.enc.AppendStatsJSON(buf[:0], uint64(i), int64(i), &st)
	}
	sink = buf
}

// stdBBO is the baseline for BBOs: nil prices marshal as null.
type stdBBO struct {
	Kind      string           `json:"kind"`
	Publisher string           `json:"publisher"`
	Seq       uint64           `json:"seq"`
	Symbol    string           `json:"symbol"`
	TsEvent   int64            `json:"ts_event"`
	TsRecv    int64            `json:"ts_recv"`
	TsPub     int64            `json:"ts_pub"`
	Bid       *decimal.Decimal `json:"bid"`
	Ask       *decimal.Decimal `json:"ask"`
	BidSize   int64            `json:"bid_size"`
	AskSize   int64            `json:"ask_size"`
	BidOrders uint32           `json:"bid_orders"`
	AskOrders uint32           `json:"ask_orders"`
}

func BenchmarkEncodeBBO(b *testing.B) {
	f := newFixture(b)
	q := f.bbo()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		b.SetBytes(int64(len(f.enc.AppendBBOJSON(nil, 1, 1, &q))))
		for i := 0; b.Loop(); i++ {
			buf = f.enc.AppendBBOJSON(buf[:0], uint64(i), int64(i), &q)
		}
		sink = buf
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		side := func(p tick.Price, shares int64, orders uint32) *decimal.Decimal {
			if shares == 0 && orders == 0 {
				return nil
			}
			d := tickdec.ToDecimal(p)
			return &d
		}
		var n int
		for i := 0; b.Loop(); i++ {
			v := stdBBO{Kind: "bbo", Publisher: "h-1", Seq: uint64(i), Symbol: f.syms.Name(q.Symbol),
				TsEvent: q.TsEvent, TsRecv: q.TsRecv, TsPub: int64(i),
				Bid: side(q.Bid, q.BidShares, q.BidOrders), Ask: side(q.Ask, q.AskShares, q.AskOrders),
				BidSize: q.BidShares, AskSize: q.AskShares, BidOrders: q.BidOrders, AskOrders: q.AskOrders}
			sink, _ = json.Marshal(&v)
			n = len(sink)
		}
		b.SetBytes(int64(n))
	})
}

// benchBus is an in-process server with a publishing connection and,
// optionally, a subscriber that counts what it drains.
type benchBus struct {
	pub  *nats.Conn
	recv atomic.Uint64
}

// window bounds how far the publisher may run ahead of the subscriber, so
// the server never cuts the subscriber off as a slow consumer.
const window = 1 << 14

func newBenchBus(b *testing.B, subscribe bool) *benchBus {
	b.Helper()
	s := startServer(b, ServerOptions{DontListen: true})
	bb := &benchBus{pub: connect(b, s)}
	if subscribe {
		nc := connect(b, s)
		sub, err := nc.Subscribe("tickd.>", func(*nats.Msg) { bb.recv.Add(1) })
		if err != nil {
			b.Fatal(err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			b.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	return bb
}

// throttle waits while the subscriber is more than window messages behind.
func (bb *benchBus) throttle(sent uint64) {
	for sent > bb.recv.Load()+window {
		runtime.Gosched()
	}
}

// drain waits until the subscriber has all sent messages.
func (bb *benchBus) drain(b *testing.B, sent uint64) {
	deadline := time.Now().Add(time.Minute)
	for bb.recv.Load() < sent {
		if time.Now().After(deadline) {
			b.Fatalf("subscriber got %d of %d", bb.recv.Load(), sent)
		}
		runtime.Gosched()
	}
}

// BenchmarkPublish publishes signals through Publisher.publish (encode,
// cached subject, nc.Publish) to an in-process server, whose allocations
// count too: "pub-only" has no subscriber, and its 1 alloc/op is the
// server's (nats-server's processInboundClientMsg, in a -memprofile of it);
// the publisher's own path allocates nothing. "pub+sub" has one draining,
// whose nats.go delivery allocates per message (counted here too).
// The baselines publish a pre-encoded payload: bare, with a Content-Type
// header (PublishMsg), and with nc.Flush after every 64 messages.
func BenchmarkPublish(b *testing.B) {
	f := newFixture(b)
	sig := tick.Out{Kind: tick.OutSignal, Signal: f.signal()}
	payload := f.enc.AppendSignalJSON(nil, 1, 1, &sig.Signal)
	const subj = "tickd.signal.BRK_A.brk_up"
	for _, bc := range []struct {
		name         string
		sub, observe bool
	}{{"pub-only", false, false}, {"pub+sub", true, false}, {"pub-only+observe", false, true}} {
		sub := bc.sub
		b.Run(bc.name, func(b *testing.B) {
			bb := newBenchBus(b, sub)
			opts := PublisherOptions{ID: "bench"}
			var observed, lat atomic.Int64
			if bc.observe { // what a metrics hook does: a few atomic adds
				opts.Observe = func(o *tick.Out, pubNs, doneNs int64) {
					observed.Add(1)
					lat.Add(doneNs - pubNs)
				}
			}
			p, err := NewPublisher(bb.pub, f.syms, f.rules, opts)
			if err != nil {
				b.Fatal(err)
			}
			p.publish(&sig) // warm the subject cache
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				p.publish(&sig)
				if sub && i%1024 == 0 {
					bb.throttle(uint64(i + 1))
				}
			}
			if sub {
				bb.drain(b, uint64(b.N+1))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			if c := p.Counters(); c.Errors != 0 {
				b.Fatalf("errors: %+v", c)
			}
			if bc.observe && observed.Load() != int64(b.N)+1 {
				b.Fatalf("Observe called %d times for %d publishes", observed.Load(), b.N+1)
			}
		})
	}
	b.Run("baseline-bare", func(b *testing.B) {
		benchRaw(b, payload, func(nc *nats.Conn, i int) error { return nc.Publish(subj, payload) })
	})
	b.Run("baseline-header", func(b *testing.B) {
		msg := nats.NewMsg(subj)
		msg.Header.Set("Content-Type", ContentTypeJSON)
		msg.Data = payload
		benchRaw(b, payload, func(nc *nats.Conn, i int) error { return nc.PublishMsg(msg) })
	})
	b.Run("baseline-flush64", func(b *testing.B) {
		benchRaw(b, payload, func(nc *nats.Conn, i int) error {
			if err := nc.Publish(subj, payload); err != nil || i%64 != 0 {
				return err
			}
			return nc.Flush()
		})
	})
}

func benchRaw(b *testing.B, payload []byte, pub func(*nats.Conn, int) error) {
	bb := newBenchBus(b, false)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; b.Loop(); i++ {
		if err := pub(bb.pub, i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRun measures the whole path: a producer goroutine fills two
// output rings, Run fans in, encodes and publishes, a subscriber drains.
func BenchmarkRun(b *testing.B) {
	f := newFixture(b)
	recs := f.records(0, 4*64) // signals, bars, stats and BBOs, every symbol and rule
	bb := newBenchBus(b, true)
	p, err := NewPublisher(bb.pub, f.syms, f.rules, PublisherOptions{ID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var outs []*ringbuf.Ring[tick.Out]
	for range 2 {
		r, err := ringbuf.New[tick.Out](ringbuf.Options{Capacity: 4096, Bell: p.Bell()})
		if err != nil {
			b.Fatal(err)
		}
		outs = append(outs, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sent := 0
		for sent < b.N {
			r := outs[sent/64%2]
			slots := r.Reserve(min(64, b.N-sent))
			k := copy(slots, recs[sent%len(recs):])
			r.Commit(k)
			sent += k
			bb.throttle(uint64(sent))
		}
		for _, r := range outs {
			r.Close()
		}
	}()
	if err := p.Run(outs); err != nil {
		b.Fatal(err)
	}
	<-done
	bb.drain(b, uint64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublishLatency publishes one message at a time and waits until
// the subscriber has it: ns/op is publish-to-delivery latency when idle.
// "flusher" leaves the write to nats.go's flusher goroutine (what Run does);
// "flush" calls nc.Flush (a PING/PONG round trip) after each publish.
func BenchmarkPublishLatency(b *testing.B) {
	f := newFixture(b)
	sig := f.signal()
	payload := f.enc.AppendSignalJSON(nil, 1, 1, &sig)
	for _, flush := range []bool{false, true} {
		b.Run(map[bool]string{false: "flusher", true: "flush"}[flush], func(b *testing.B) {
			bb := newBenchBus(b, true)
			b.ReportAllocs()
			for i := uint64(1); b.Loop(); i++ {
				if err := bb.pub.Publish("tickd.x", payload); err != nil {
					b.Fatal(err)
				}
				if flush {
					if err := bb.pub.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				for bb.recv.Load() < i {
					runtime.Gosched()
				}
			}
		})
	}
}
