package examples

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait on another process or goroutine: a hang guard
// for a loaded machine, not a timing assertion.
const waitFor = 60 * time.Second

// t0 is the script's start: 2023-11-14 22:13:20 UTC, on a second boundary
// so that the 1s bar starts there.
const t0 = int64(1_700_000_000_000_000_000)

// published is one message as it went over NATS.
type published struct {
	Subject string
	Data    []byte
	Fields  map[string]json.RawMessage
}

// live is a real tickd publishing path: an embedded NATS server listening
// on a random 127.0.0.1 port, an engine with one price rule (brk_up: BRK.A
// crosses 412 upwards) and 1s bars, and a bus.Publisher draining it. A raw
// subscriber keeps every payload exactly as published.
type live struct {
	url  string
	syms *tick.SymbolTable
	in   *engine.Input

	mu   sync.Mutex
	got  map[string][]published // by "kind"
	more chan struct{}
}

func startLive(t *testing.T) *live {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	l := &live{url: srv.ClientURL(), syms: tick.NewSymbolTable(16), got: map[string][]published{},
		more: make(chan struct{}, 1)}

	level, err := tick.ParsePrice("412")
	if err != nil {
		t.Fatal(err)
	}
	rule := engine.RuleSpec{ID: "brk_up", Type: engine.RulePrice, Symbols: []string{"BRK.A"}, Dir: engine.DirUp, Level: level}
	// Park, not spin: the machine running the tests is small and shared.
	bell := ringbuf.NewBell()
	eng, err := engine.New(engine.Config{Wait: ringbuf.Park, OutputBell: bell, Bars: []time.Duration{time.Second},
		Rules: []engine.RuleSpec{rule}, BookOrders: 1024, RingCapacity: 64, OutputCapacity: 64}, l.syms)
	if err != nil {
		t.Fatal(err)
	}
	typ, params, names := rule.Info()
	info := bus.RuleInfo{ID: rule.ID, Type: typ, ValueNames: names}
	for _, p := range params {
		info.Params = append(info.Params, bus.Param{Name: p[0], Value: p[1]})
	}
	pubConn, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pubConn.Close)
	pub, err := bus.NewPublisher(pubConn, l.syms, []bus.RuleInfo{info},
		bus.PublisherOptions{ID: "examples-test", Wait: ringbuf.Park, Bell: bell})
	if err != nil {
		t.Fatal(err)
	}
	if l.in, err = eng.NewInput("examples test"); err != nil {
		t.Fatal(err)
	}

	rawConn, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rawConn.Close)
	if _, err := rawConn.Subscribe(bus.Subjects{}.All(), l.record); err != nil {
		t.Fatal(err)
	}
	if err := rawConn.Flush(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- eng.Run(ctx) })
	wg.Go(func() { errs <- pub.Run(eng.Outputs()) })
	t.Cleanup(func() {
		cancel()
		l.in.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
	return l
}

func (l *live) record(m *nats.Msg) {
	p := published{Subject: m.Subject, Data: m.Data}
	var kind string
	if json.Unmarshal(m.Data, &p.Fields) != nil || json.Unmarshal(p.Fields["kind"], &kind) != nil {
		kind = "not json"
	}
	l.mu.Lock()
	l.got[kind] = append(l.got[kind], p)
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// wait returns the messages published so far, once there are at least
// want[kind] of each kind.
func (l *live) wait(t *testing.T, want map[string]int) map[string][]published {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		l.mu.Lock()
		done := true
		for kind, n := range want {
			done = done && len(l.got[kind]) >= n
		}
		if done {
			got := make(map[string][]published, len(l.got))
			for k, v := range l.got {
				got[k] = append([]published(nil), v...)
			}
			l.mu.Unlock()
			return got
		}
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("published by now: %d kinds %v; want at least %v", len(l.got), l.got, want)
		}
	}
}

// playScript feeds the engine BRK.A orders and trades that publish, in
// order: two BBOs (a bid, then both sides), a brk_up signal at
// 412.123456789 (nine decimals: a float64 would show its binary rounding
// in arithmetic), and the first 1s bar with its stats snapshot.
func (l *live) playScript(t *testing.T) {
	t.Helper()
	brk, err := l.syms.Intern("BRK.A")
	if err != nil {
		t.Fatal(err)
	}
	px := func(s string) tick.Price {
		p, err := tick.ParsePrice(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ms := func(n int64) int64 { return t0 + n*int64(time.Millisecond) }
	evs := []tick.Event{
		{Kind: tick.KindAdd, Symbol: brk, TsEvent: ms(1), OrderRef: 1, Side: tick.SideBuy, Price: px("412.25"), Qty: 300},
		{Kind: tick.KindAdd, Symbol: brk, TsEvent: ms(2), OrderRef: 2, Side: tick.SideSell, Price: px("412.75"), Qty: 100},
		{Kind: tick.KindTrade, Symbol: brk, TsEvent: ms(10), Price: px("411.9"), Qty: 100},
		{Kind: tick.KindTrade, Symbol: brk, TsEvent: ms(100), Price: px("412.123456789"), Qty: 200}, // crosses 412: signal
		{Kind: tick.KindTrade, Symbol: brk, TsEvent: ms(1100), Price: px("412.5"), Qty: 50},         // closes the first 1s bar
	}
	for i := range evs {
		evs[i].TsRecv = time.Now().UnixNano()
		evs[i].Seq = uint64(i + 1)
	}
	for len(evs) > 0 {
		slots := l.in.Claim(len(evs))
		if slots == nil {
			t.Fatal("the engine stopped taking events")
		}
		k := copy(slots, evs)
		l.in.Commit(k)
		evs = evs[k:]
	}
}

// scriptKinds is how many messages of each kind playScript publishes.
var scriptKinds = map[string]int{"bbo": 2, "signal": 1, "bar": 1, "stats": 1}

// scriptLines is what both example subscribers print for playScript's
// messages with their BBO option on: the same format in Go and in Node.
// A signal's values are float64 (a price among them the float64 nearest
// its decimal), its price the exact decimal.
var scriptLines = []string{
	"BBO    22:13:20.001000 BRK.A bid=412.25 x 300 (1) ask=- x 0 (0)",
	"BBO    22:13:20.002000 BRK.A bid=412.25 x 300 (1) ask=412.75 x 100 (1) spread=0.5",
	"SIGNAL 22:13:20.100000 BRK.A brk_up up price=412.123456789 level=412 prev_price=411.9 price=412.123456789",
	"BAR    22:13:20.000000 BRK.A 1s O=411.9 H=412.123456789 L=411.9 C=412.123456789 V=300 VWAP=412.048971193 n=2",
}
