package main

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/tick"
)

// TestLossesReported: events a Drop input loses while the engine is
// behind are counted, and a status event on tickd.status reports them.
func TestLossesReported(t *testing.T) {
	cfg, err := serveDefaults("-feed-listen", "", "-nats-listen", "off", "-ring-size", "2", "-wait", "park")
	if err != nil {
		t.Fatal(err)
	}
	log, err := newLogger(io.Discard, "warn", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := p.Wait(); err != nil {
			t.Error(err)
		}
	}()
	sub, err := p.nc.SubscribeSync("tickd.status")
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.eng.NewInputWith("udp test", engine.Drop)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.syms.Intern("AAA")
	if err != nil {
		t.Fatal(err)
	}
	// A 2-slot ring and a producer that never waits: the engine falls behind.
	for i := 0; p.eng.Counters().Dropped == 0 && i < 10_000_000; i++ {
		slots := in.Claim(256)
		for k := range slots {
			slots[k] = tick.Event{Kind: tick.KindTrade, Symbol: id, TsEvent: int64(i), Price: tick.PriceScale, Qty: 1}
		}
		in.Commit(len(slots))
	}
	in.Close()
	dropped := p.eng.Counters().Dropped
	if dropped == 0 {
		t.Fatal("nothing dropped: the test could not outrun the engine")
	}
	msg, err := sub.NextMsg(3 * statusInterval)
	if err != nil {
		t.Fatalf("no status event: %v", err)
	}
	var ev statusEvent
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Kind != "status" || ev.Dropped < dropped || ev.NewDropped == 0 || ev.TsPub == 0 {
		t.Fatalf("status %+v, %d dropped before it", ev, dropped)
	}
	checkStatusSchema(t, msg.Data)
}
