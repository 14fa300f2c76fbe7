package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/tick"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// dialEventually connects to addr, waiting for the server to come up.
func dialEventually(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := dialRetry(context.Background(), addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startLoggedPipeline starts serve's pipeline on cfg under ctx, logging
// JSON lines to the buffer it returns.
func startLoggedPipeline(t *testing.T, ctx context.Context, cfg *serveConfig) (*pipeline, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	p, err := startPipeline(ctx, cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	return p, logs
}

// readerlessPipe is the write end of a pipe whose reader has gone: every
// write to it fails with EPIPE, as to a full disk.
func readerlessPipe(t *testing.T) *os.File {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	t.Cleanup(func() { pw.Close() })
	return pw
}

var t0 = time.Date(2026, 1, 2, 14, 30, 0, 0, time.UTC).UnixNano()

func ms(n int64) int64 { return t0 + n*int64(time.Millisecond) }

func px(s string) tick.Price { p, _ := tick.ParsePrice(s); return p }

// serveYAML writes yaml to a config file and runs `tickd serve -config`
// on it until ctx is done; it returns serve's result and its log.
func serveYAML(ctx context.Context, t *testing.T, yaml string) (<-chan error, *syncBuffer) {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "tickd.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	served := make(chan error, 1)
	go func() { served <- runServe(ctx, []string{"-config", cfgPath}, os.Stdout, log) }()
	return served, log
}

// connectNATS connects to url, retrying while the server comes up; the
// caller closes the connection.
func connectNATS(t *testing.T, url string, log *syncBuffer) *nats.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(url)
		if err == nil {
			return nc
		}
		if time.Now().After(deadline) {
			t.Fatalf("NATS never came up: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeEndToEnd sends a scripted tick sequence over a real TCP socket into
// `tickd serve` (embedded NATS on a real port, config from a YAML file) and
// checks every bar and signal a real NATS client receives over TCP: with the
// engine and publisher on goroutines of their own, and fused onto the feed
// connection's goroutine (-fused), which refuses a second connection while
// the first is open; and with the same stream published as one NATS
// message to the subject -feed-nats subscribes to.
func TestServeEndToEnd(t *testing.T) {
	t.Run("rings", func(t *testing.T) { testServeEndToEnd(t, false, false) })
	t.Run("fused", func(t *testing.T) { testServeEndToEnd(t, true, false) })
	t.Run("nats", func(t *testing.T) { testServeEndToEnd(t, false, true) })
}

func testServeEndToEnd(t *testing.T, fused, viaNATS bool) {
	feedPort, natsPort := freePort(t), freePort(t)
	feedNATS := ""
	if viaNATS {
		feedNATS = "feed-nats: ticks.in"
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served, stderr := serveYAML(ctx, t, fmt.Sprintf(`
feed-listen: 127.0.0.1:%d
nats-listen: 127.0.0.1:%d
publisher-id: e2e
fused: %v
bars: [1s, 1m]
rules:
  - id: above_100
    type: price
    symbols: [TEST]
    dir: up
    level: "100.00"
    hysteresis: 0.5
%s
`, feedPort, natsPort, fused, feedNATS))

	// A real NATS client over TCP, subscribed before any tick is sent.
	nc := connectNATS(t, fmt.Sprintf("nats://127.0.0.1:%d", natsPort), stderr)
	defer nc.Close()
	msgs := make(chan *nats.Msg, 100)
	for _, subj := range []string{"tickd.signal.>", "tickd.bar.>"} {
		if _, err := nc.ChanSubscribe(subj, msgs); err != nil {
			t.Fatal(err)
		}
	}
	nc.Flush()

	sentAt := time.Now().UnixNano()
	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	b = enc.Trade(b, "TEST", ms(100), px("99.50"), 100, tick.SideBuy)
	b = enc.Trade(b, "TEST", ms(200), px("100.25"), 200, tick.SideBuy) // crosses 100 up: signal 1
	b = enc.Trade(b, "BRK.A", ms(300), px("50"), 10, tick.SideSell)
	b = enc.Trade(b, "TEST", ms(500), px("99.80"), 100, tick.SideSell)  // back under 100, not under 99.5: not re-armed
	b = enc.Trade(b, "TEST", ms(600), 0, 100, tick.SideSell)            // bad: zero price, skipped and counted
	b = enc.Trade(b, "TEST", ms(700), px("100.10"), 100, tick.SideBuy)  // no signal: not re-armed
	b = enc.Trade(b, "TEST", ms(1200), px("99.40"), 300, tick.SideSell) // re-arms; closes TEST's first 1s bar
	b = enc.Trade(b, "TEST", ms(1500), px("100.50"), 100, tick.SideBuy) // crosses 100 up: signal 2
	b = enc.End(b, ms(1500))                                            // end of session: open bars published
	if viaNATS {                                                        // subscribed once serve says it runs
		waitUntil(t, "tickd running", 10*time.Second, func() bool { return strings.Contains(stderr.String(), "tickd running") })
		if err := nc.Publish("ticks.in", b); err != nil {
			t.Fatal(err)
		}
	} else {
		c := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", feedPort))
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}

	got := map[string][]map[string]any{}
	var seqs []int64
	n := 0
	for n < 7 {
		select {
		case m := <-msgs:
			var v map[string]any
			dec := json.NewDecoder(bytes.NewReader(m.Data))
			dec.UseNumber() // ns timestamps need all 19 digits
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %v: %s", m.Subject, err, m.Data)
			}
			got[m.Subject] = append(got[m.Subject], v)
			seq, _ := v["seq"].(json.Number).Int64()
			seqs = append(seqs, seq)
			n++
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of 7 messages: %v\nlog:\n%s", n, got, stderr)
		}
	}
	if fused { // the inline engine takes one connection at a time
		c2 := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", feedPort))
		c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a second feed connection while the first is open: read %v, want it closed", err)
		}
		c2.Close()
	}
	// Nothing more may come.
	select {
	case m := <-msgs:
		t.Fatalf("unexpected extra message %s: %s", m.Subject, m.Data)
	case <-time.After(300 * time.Millisecond):
	}
	recvAfter := time.Now().UnixNano()

	checkTimes := func(subj string, v map[string]any) {
		t.Helper()
		recv, _ := v["ts_recv"].(json.Number).Int64()
		pub, _ := v["ts_pub"].(json.Number).Int64()
		if recv < sentAt || pub < recv || pub > recvAfter {
			t.Errorf("%s: ts_recv %d ts_pub %d not within the run [%d, %d]", subj, recv, pub, sentAt, recvAfter)
		}
		delete(v, "ts_recv")
		delete(v, "ts_pub")
		delete(v, "seq")
	}
	sig := got["tickd.signal.TEST.above_100"]
	if len(sig) != 2 {
		t.Fatalf("want 2 signals on tickd.signal.TEST.above_100, got %v", got)
	}
	params := map[string]any{"level": "100", "dir": "up", "hysteresis": "0.5", "cooldown": "0s", "symbols": "TEST"}
	wantSig := []map[string]any{
		{"kind": "signal", "publisher": "e2e", "symbol": "TEST", "rule": "above_100", "type": "price", "dir": "up", "ts_event": ms(200),
			"price": "100.25", "params": params, "values": map[string]any{"price": 100.25, "level": 100.0, "prev_price": 99.5}},
		{"kind": "signal", "publisher": "e2e", "symbol": "TEST", "rule": "above_100", "type": "price", "dir": "up", "ts_event": ms(1500),
			"price": "100.5", "params": params, "values": map[string]any{"price": 100.5, "level": 100.0, "prev_price": 99.4}},
	}
	for i := range sig {
		checkTimes("signal", sig[i])
		if !jsonEqual(sig[i], wantSig[i]) {
			t.Errorf("signal %d:\n got %v\nwant %v", i, sig[i], wantSig[i])
		}
	}
	bar := func(sym, iv string, start int64, o, h, l, c string, vol, count int, vwap string) map[string]any {
		return map[string]any{"kind": "bar", "publisher": "e2e", "symbol": sym, "interval": iv, "start": start,
			"open": o, "high": h, "low": l, "close": c, "volume": float64(vol), "count": float64(count), "vwap": vwap}
	}
	wantBars := map[string][]map[string]any{
		"tickd.bar.1s.TEST": {
			bar("TEST", "1s", t0, "99.5", "100.25", "99.5", "100.1", 500, 4, "99.98"),
			bar("TEST", "1s", ms(1000), "99.4", "100.5", "99.4", "100.5", 400, 2, "99.675"),
		},
		"tickd.bar.1m.TEST":  {bar("TEST", "1m", t0, "99.5", "100.5", "99.4", "100.5", 900, 6, "99.844444444")},
		"tickd.bar.1s.BRK_A": {bar("BRK.A", "1s", t0, "50", "50", "50", "50", 10, 1, "50")},
		"tickd.bar.1m.BRK_A": {bar("BRK.A", "1m", t0, "50", "50", "50", "50", 10, 1, "50")},
	}
	for subj, want := range wantBars {
		if len(got[subj]) != len(want) {
			t.Errorf("%s: got %d bars, want %d: %v", subj, len(got[subj]), len(want), got[subj])
			continue
		}
		for i := range want {
			checkTimes(subj, got[subj][i])
			delete(got[subj][i], "interval_ns")
			if !jsonEqual(got[subj][i], want[i]) {
				t.Errorf("%s bar %d:\n got %v\nwant %v", subj, i, got[subj][i], want[i])
			}
		}
	}
	seen := map[int64]bool{}
	for _, s := range seqs {
		if seen[s] || s < 1 {
			t.Errorf("seq %v repeated or invalid in %v", s, seqs)
		}
		seen[s] = true
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not drain and exit after cancel")
	}
	log := stderr.String()
	if !strings.Contains(log, "bad input skipped") || !strings.Contains(log, "price") {
		t.Errorf("bad tick not logged with its reason:\n%s", log)
	}
	if !strings.Contains(log, `"feed_errors":1`) {
		t.Errorf("bad tick not counted once:\n%s", log)
	}
	if want := fmt.Sprintf(`"fused":%v`, fused); !strings.Contains(log, want) {
		t.Errorf("startup log without %s:\n%s", want, log)
	}
	if fused && !strings.Contains(log, "connection refused") {
		t.Errorf("second connection not reported:\n%s", log)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
