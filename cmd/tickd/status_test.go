package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// startQuietPipeline starts a pipeline with serve's defaults and args,
// logging only to the test on failure, and drains it at the test's end.
func startQuietPipeline(t *testing.T, args ...string) *pipeline {
	t.Helper()
	cfg, err := serveDefaults(args...)
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
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := p.Wait(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// TestLossesReported: events a Drop input loses while the engine is
// behind are counted, and a status event on tickd.status reports them.
func TestLossesReported(t *testing.T) {
	p := startQuietPipeline(t, "-feed-listen", "", "-nats-listen", "off", "-ring-size", "2", "-wait", "park")
	sub, err := p.nc.SubscribeSync("tickd.status")
	if err != nil {
		t.Fatal(err)
	}
	dropped := outrunEngine(t, p)
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

// TestFeedGapReported: ITCH messages lost for good (a MoldUDP64 line
// dropping packets, no rewind server) are lost data like any other: a
// status event on tickd.status says how many, so a subscriber of the books'
// BBOs learns that they were built across a gap.
func TestFeedGapReported(t *testing.T) {
	line := freeUDP(t)
	p := startQuietPipeline(t, "-feed-listen", "", "-nats-listen", "off", "-feed-format", "itch",
		"-feed-dial", "mold://"+line+"?seq=1", "-udp-backpressure", "block")
	sub, err := p.nc.SubscribeSync("tickd.status")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var genErr syncBuffer
	if err := runGen(ctx, []string{"-format", "itch", "-to", "mold://" + line, "-drop", "0.2", "-count", "2000",
		"-seed", "3", "-unpaced", "-linger", "0s"}, io.Discard, &genErr); err != nil {
		t.Fatalf("gen: %v\n%s", err, genErr.String())
	}
	var ev statusEvent
	for ev.FeedLost == 0 {
		msg, err := sub.NextMsg(5 * statusInterval)
		if err != nil {
			t.Fatalf("no status event for the feed's lost messages (%d lost so far): %v", p.feedStats.Total().Missed, err)
		}
		ev = statusEvent{}
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatal(err)
		}
		checkStatusSchema(t, msg.Data)
	}
	if ev.Kind != "status" || ev.NewFeedLost == 0 || ev.FeedLost > p.feedStats.Total().Missed {
		t.Fatalf("status %+v; the feed counts %d lost", ev, p.feedStats.Total().Missed)
	}
}

// outrunEngine feeds p's engine (-ring-size 2) through a Drop input that
// never waits until the engine has dropped events, and returns how many.
func outrunEngine(t *testing.T, p *pipeline) uint64 {
	t.Helper()
	in, err := p.eng.NewInputWith("udp test", engine.Drop)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.syms.Intern("AAA")
	if err != nil {
		t.Fatal(err)
	}
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
	return dropped
}

// TestDrainedLogsDropped: the summary at shutdown counts the events a Drop
// input lost, beside the other losses (publish_dropped), so the last line
// of a run says what it lost.
func TestDrainedLogsDropped(t *testing.T) {
	cfg, err := serveDefaults("-feed-listen", "", "-nats-listen", "off", "-ring-size", "2", "-wait", "park")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log, err := newLogger(&logs, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := startPipeline(ctx, &cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	outrunEngine(t, p)
	cancel()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`"dropped":%d`, p.eng.Counters().Dropped)
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "tickd drained") && !strings.Contains(line, want) {
			t.Errorf("the drained line does not say %s:\n%s", want, line)
		}
	}
	if !strings.Contains(logs.String(), "tickd drained") {
		t.Errorf("no drained line:\n%s", logs.String())
	}
}

// TestStaleFeedReported: a feed connection silent past -feed-stale is
// reported stale on tickd.status, live again when a heartbeat arrives, and
// ended when it closes while stale.
func TestStaleFeedReported(t *testing.T) {
	p := startQuietPipeline(t, "-feed-listen", "127.0.0.1:0", "-nats-listen", "off", "-feed-stale", "1500ms")
	sub, err := p.nc.SubscribeSync("tickd.status")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.FeedAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var enc feed.NativeEncoder
	if _, err := c.Write(enc.Trade(enc.Hello(nil), "AAA", 1, tick.PriceScale, 1, tick.SideBuy)); err != nil {
		t.Fatal(err)
	}
	source := "tcp " + p.FeedAddr().String() + "<-" + c.LocalAddr().String()
	next := func(state string) feedStatusEvent {
		t.Helper()
		for {
			msg, err := sub.NextMsg(10 * statusInterval)
			if err != nil {
				t.Fatalf("no %q feed event: %v", state, err)
			}
			var ev feedStatusEvent
			if err := json.Unmarshal(msg.Data, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Kind == "feed" {
				checkKindSchema(t, "feed", msg.Data)
				if !bytes.Contains(msg.Data, []byte(`"source":"`+source+`"`)) {
					t.Fatalf("feed event %s: want the source as %q, unescaped", msg.Data, source)
				}
				if ev.State != state || ev.Source != source || ev.Publisher != p.pub.ID() {
					t.Fatalf("feed event %+v, want %q of %q", ev, state, source)
				}
				return ev
			}
		}
	}
	if ev := next("stale"); ev.SilentNs <= int64(1500*time.Millisecond) {
		t.Fatalf("stale after %v of silence", time.Duration(ev.SilentNs))
	}
	// Heartbeats more often than -feed-stale: live at the next check.
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				if _, err := c.Write(enc.Heartbeat(nil)); err != nil {
					return
				}
			}
		}
	}()
	next("live")
	close(done)
	// Stale again, then the connection closes: "ended", so that a
	// subscriber can drop it (QA: it stayed stale forever).
	next("stale")
	c.Close()
	if ev := next("ended"); ev.SilentNs <= int64(1500*time.Millisecond) {
		t.Fatalf("ended after %v of silence", time.Duration(ev.SilentNs))
	}
}
