package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
)

// subRun is a `tickd sub` running against a test server.
type subRun struct {
	out, errb syncBuffer
	done      chan struct{} // closed when runSub has returned err
	err       error
}

// startSub runs `tickd sub -nats-url url args...` until the test ends, and
// returns once its subscription is registered with srv.
func startSub(t *testing.T, srv *bus.Server, args ...string) *subRun {
	t.Helper()
	subs := srv.NATS().NumSubscriptions()
	ctx, cancel := context.WithCancel(context.Background())
	r := &subRun{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = runSub(ctx, append([]string{"-nats-url", srv.ClientURL()}, args...), &r.out, &r.errb)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	waitUntil(t, "sub to subscribe", 10*time.Second, func() bool { return srv.NATS().NumSubscriptions() > subs })
	return r
}

// waitLines waits until sub has printed n lines, and returns them.
func (r *subRun) waitLines(t *testing.T, n int) []string {
	t.Helper()
	waitUntil(t, "sub's lines", 10*time.Second, func() bool { return strings.Count(r.out.String(), "\n") >= n })
	return strings.Split(strings.TrimSuffix(r.out.String(), "\n"), "\n")
}

// startTestServer starts a NATS server on port (bus.RandomPort: any) that
// accepts only users, if any are given, and stops it at the test's end.
func startTestServer(t *testing.T, port int, users ...bus.User) *bus.Server {
	t.Helper()
	srv, err := bus.StartServer(bus.ServerOptions{Port: port, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// publishJSON publishes v as JSON on subject from a connection of its own.
func publishJSON(t *testing.T, srv *bus.Server, subject string, v any) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(subject, b); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestSubPrintsStatusEvents: the loss and feed events serve publishes on
// tickd.status (its own structs, marshalled as it does) are printed as
// STATUS and FEED lines, not as INVALID.
func TestSubPrintsStatusEvents(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	sub := startSub(t, srv)
	ts := time.Date(2026, 1, 2, 14, 30, 1, 0, time.UTC).UnixNano()
	publishJSON(t, srv, "tickd.status", statusEvent{Kind: "status", Publisher: "host-1", TsPub: ts,
		Dropped: 5120, NewDropped: 120, PublishDropped: 3, NewPublishDropped: 3, FeedLost: 40, NewFeedLost: 12})
	publishJSON(t, srv, "tickd.status", feedStatusEvent{Kind: "feed", Publisher: "host-1", TsPub: ts,
		Source: "tcp 127.0.0.1:7000<-127.0.0.1:5000", State: "stale", SilentNs: int64(1934 * time.Millisecond)})
	got := sub.waitLines(t, 2)
	want := []string{
		"STATUS 14:30:01.000 host-1 lost data: dropped=5120 (+120) publish_dropped=3 (+3) feed_lost=40 (+12)",
		"FEED   14:30:01.000 tcp 127.0.0.1:7000<-127.0.0.1:5000 stale silent=1.9s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sub printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSubPrintsPricesUnrounded: a bar's VWAP is an exact decimal like its
// OHLC and is printed whole; statistics and signal values keep the digits
// of a sub-penny price and of a price to the cent.
func TestSubPrintsPricesUnrounded(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	sub := startSub(t, srv)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for subject, data := range map[string]string{
		"tickd.bar.1s.PNY": `{"kind":"bar","publisher":"p","seq":1,"symbol":"PNY","interval":"1s","interval_ns":1000000000,` +
			`"start":1700000000000000000,"open":"0.0001","high":"0.00013","low":"0.0001","close":"0.00012","volume":300,` +
			`"vwap":"0.000123456","count":2,"ts_recv":1,"ts_pub":2}`,
		"tickd.stats.PNY": `{"kind":"stats","publisher":"p","seq":2,"symbol":"PNY","ts_event":1700000000999000000,"ts_pub":2,` +
			`"last":"0.00012","sma":0.000123456,"ema":null,"vwap":0.000123456,"mean":0.000123,"stddev":0.00001,"zscore":0.5,` +
			`"min":"0.0001","max":"0.00013","count":2,"volume":300}`,
		"tickd.signal.AAPL.move_1pct": `{"kind":"signal","publisher":"p","seq":3,"symbol":"AAPL","rule":"move_1pct","type":"move",` +
			`"dir":"up","ts_event":1700000000100000000,"ts_recv":1,"ts_pub":2,"price":"219.25","params":{},` +
			`"values":{"price":219.25,"ref_price":217.05,"move_pct":1.0136}}`,
	} {
		if err := nc.Publish(subject, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sub.waitLines(t, 3), "\n")
	for _, want := range []string{"VWAP=0.000123456 n=2", "sma=0.000123456 ema=null vwap=0.000123456 sd=1e-05",
		"move_pct=1.0136 ref_price=217.05"} {
		if !strings.Contains(got, want) {
			t.Errorf("sub printed\n%s\nwant it to contain %q", got, want)
		}
	}
}

// TestSubSkipsControlRequests: a `tickd replay` is steered by requests on
// <prefix>.control.replay, which a <prefix>.> subscriber receives too; sub
// does not print them, under the default prefix or another one, while a
// malformed message elsewhere is still INVALID.
func TestSubSkipsControlRequests(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	for _, prefix := range []string{"tickd", "prod.md"} {
		sub := startSub(t, srv, "-subject-prefix", prefix)
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []struct{ subject, data string }{
			{prefix + ".control.replay", "pause"},
			{prefix + ".control.replay", "step 100"},
			{prefix + ".bar.1s.AAPL", "not json"},
		} {
			if err := nc.Publish(m.subject, []byte(m.data)); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		nc.Close()
		got := sub.waitLines(t, 1)
		if len(got) != 1 || !strings.HasPrefix(got[0], `INVALID bus: decode message on "`+prefix+`.bar.1s.AAPL"`) {
			t.Errorf("prefix %s: sub printed\n%s\nwant only the malformed bar", prefix, strings.Join(got, "\n"))
		}
	}
	if err := runSub(context.Background(), []string{"-subject-prefix", "a..b"}, &syncBuffer{}, &syncBuffer{}); err == nil {
		t.Error("an invalid -subject-prefix accepted")
	}
}

// TestSubShowsUnknownKinds: a kind a later tickd publishes is printed as
// it came, UNKNOWN, not as an INVALID (damaged) message.
func TestSubShowsUnknownKinds(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	sub := startSub(t, srv)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const later = `{"kind":"heartbeat","publisher":"p","ts_pub":1}`
	if err := nc.Publish("tickd.status", []byte(later)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := sub.waitLines(t, 1); len(got) != 1 || got[0] != "UNKNOWN tickd.status "+later {
		t.Errorf("sub printed\n%s\nwant UNKNOWN tickd.status %s", strings.Join(got, "\n"), later)
	}
}

// TestSubReconnects: sub says on stderr when its server goes away and when
// it is back, resumes printing after the restart, and, when the restarted
// server refuses it for good (it now requires a login), exits with an error
// instead of waiting silently.
func TestSubReconnects(t *testing.T) {
	port := freePort(t)
	srv := startTestServer(t, port)
	sub := startSub(t, srv, "-subject", "tickd.status")
	waitStderr := func(what string) {
		t.Helper()
		waitUntil(t, "sub to say "+what, 15*time.Second, func() bool { return strings.Contains(sub.errb.String(), what) })
	}
	srv.Shutdown()
	waitStderr("tickd sub: NATS disconnected")
	srv = startTestServer(t, port)
	waitStderr(fmt.Sprintf("tickd sub: NATS reconnected to nats://127.0.0.1:%d", port))
	// The server's own subscriptions (60 on a fresh one) made a count > 0
	// true at once, and a publish racing sub's resent SUB was lost.
	waitUntil(t, "sub to subscribe again", 10*time.Second, func() bool {
		return srv.NATS().GlobalAccount().SubscriptionInterest("tickd.status")
	})
	publishJSON(t, srv, "tickd.status", feedStatusEvent{Kind: "feed", Publisher: "p", Source: "tail x", State: "live"})
	if got := sub.waitLines(t, 1); !strings.Contains(got[0], "FEED") {
		t.Errorf("after the restart sub printed %q", got)
	}

	srv.Shutdown()
	startTestServer(t, port, bus.User{Name: "u", Password: "secret-password"})
	select {
	case <-sub.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("sub still running against a server that refuses it\nstderr:\n%s", sub.errb.String())
	}
	if sub.err == nil || !strings.Contains(sub.err.Error(), "NATS connection closed for good") || !strings.Contains(strings.ToLower(sub.err.Error()), "authorization") {
		t.Errorf("sub returned %v", sub.err)
	}
	if !strings.Contains(sub.errb.String(), "tickd sub: NATS error: ") {
		t.Errorf("the refused logins are not on sub's stderr:\n%s", sub.errb.String())
	}
}

// TestSubStopsWhenOutputFails: with nowhere to write (here a pipe whose
// reader has gone, as `tickd sub > fifo` after the reader quits; a full
// disk is the same), sub exits with the write error instead of reading
// and discarding messages forever.
func TestSubStopsWhenOutputFails(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	pw := readerlessPipe(t)
	subs := srv.NATS().NumSubscriptions()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- runSub(ctx, []string{"-nats-url", srv.ClientURL()}, pw, &errb) }()
	waitUntil(t, "sub to subscribe", 10*time.Second, func() bool { return srv.NATS().NumSubscriptions() > subs })
	publishJSON(t, srv, "tickd.status", statusEvent{Kind: "status", Publisher: "host-1", TsPub: 1, Dropped: 1, NewDropped: 1})
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "writing the output") || !errors.Is(err, syscall.EPIPE) {
			t.Errorf("sub ended with %v, want the write error (EPIPE)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sub still running 10 s after its output failed")
	}
}

// TestSubRefusesNegativeCount: -count -1 printed until interrupted, as 0
// does; it is refused naming the flag, before connecting.
func TestSubRefusesNegativeCount(t *testing.T) {
	err := runSub(context.Background(), []string{"-count", "-1", "-nats-url", "nats://127.0.0.1:1"}, &syncBuffer{}, &syncBuffer{})
	if want := "-count -1: want 0 (until interrupted) or more"; err == nil || err.Error() != want {
		t.Errorf("sub -count -1: %v, want %q", err, want)
	}
}

// TestSubRefusesFlagsBeforeConnecting: a combination of -queue, -js-stream,
// -js-since and -js-seq sub cannot read with is named before sub connects,
// so that with no server up (or one refusing the login) the mistake is not
// hidden behind the connection's error.
func TestSubRefusesFlagsBeforeConnecting(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)) // nothing listens
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-js-stream", "TICKD"}, "-js-stream needs -js-since or -js-seq"},
		{[]string{"-js-seq", "1", "-queue", "q"}, "-queue reads live messages"},
		{[]string{"-js-seq", "5", "-js-since", "2026-01-02T00:00:00Z"}, "-js-since and -js-seq: give one"},
		{[]string{"-js-since", "yesterday"}, `js-since "yesterday": want RFC 3339`},
		{[]string{"-js-stream", "TICKD.x", "-js-seq", "1"}, `-js-stream "TICKD.x": a stream's name has no whitespace`},
		{[]string{"-queue", "a b"}, `-queue "a b": a queue group's name has no whitespace`},
	} {
		err := runSub(context.Background(), append([]string{"-nats-url", url}, c.args...), io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("sub %v: %v, want %s...", c.args, err, c.want)
		}
	}
}
