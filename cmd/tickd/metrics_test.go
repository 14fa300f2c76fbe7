package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/mold"
	"github.com/tickd/tickd/tick"
)

// metricsFamilies are the families `tickd serve -metrics` must expose.
var metricsFamilies = []string{
	"tickd_feed_messages_total", "tickd_feed_bytes_total", "tickd_feed_events_total",
	"tickd_feed_decode_errors_total", "tickd_feed_gaps_total", "tickd_feed_gap_messages_total",
	"tickd_feed_connections_refused_total", "tickd_feed_connections_evicted_total",
	"tickd_engine_events_total", "tickd_engine_rejected_total", "tickd_engine_out_of_order_total", "tickd_ring_depth", "tickd_ring_dropped_total",
	"tickd_book_orders", "tickd_book_events_total", "tickd_symbols", "tickd_symbols_capacity",
	"tickd_signals_published_total", "tickd_bars_published_total", "tickd_publish_messages_total",
	"tickd_publish_bytes_total", "tickd_publish_errors_total", "tickd_publish_dropped_total",
	"tickd_nats_reconnects_total", "tickd_nats_connected",
	"tickd_tick_to_publish_seconds", "tickd_publish_duration_seconds", "tickd_build_info",
}

// scrape is one /metrics exposition: the families seen and each sample's
// value by its full name with labels.
type scrape struct {
	families map[string]bool
	samples  map[string]float64
}

func getMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	s := scrape{families: map[string]bool{}, samples: map[string]float64{}}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			s.families[strings.Fields(f)[0]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: bad sample %q", url, line)
		}
		s.samples[line[:i]] = v
	}
	return s
}

// sum adds the samples of a name (any labels) whose labels contain all of has.
func (s scrape) sum(name string, has ...string) float64 {
	var v float64
sample:
	for k, x := range s.samples {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		for _, h := range has {
			if !strings.Contains(k, h) {
				continue sample
			}
		}
		v += x
	}
	return v
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pollStatus polls url until it answers code, and returns the body.
func pollStatus(t *testing.T, url string, code int) string {
	t.Helper()
	return pollStatusSaying(t, url, code, "")
}

// pollStatusSaying polls url until it answers code with a body holding
// want (a 503 may first give another reason: a source still starting), and
// returns the body.
func pollStatusSaying(t *testing.T, url string, code int, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, body := getStatus(t, url)
		if got == code && strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d %q, want %d %q", url, got, body, code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeMetrics runs a pipeline with -metrics 127.0.0.1:0, an external
// NATS server, a feed it dials and one that connects to its listener; it
// scrapes /metrics over HTTP while ticks flow and checks /readyz as the
// dialed feed and then NATS go away.
func TestServeMetrics(t *testing.T) {
	natsSrv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	defer natsSrv.Shutdown()
	exchange, err := net.Listen("tcp", "127.0.0.1:0") // the feed tickd dials
	if err != nil {
		t.Fatal(err)
	}
	defer exchange.Close()
	cfg, err := serveDefaults("-feed-listen", "127.0.0.1:0", "-feed-dial", exchange.Addr().String(),
		"-nats-url", natsSrv.ClientURL(), "-metrics", "127.0.0.1:0", "-bars", "1s")
	if err != nil {
		t.Fatal(err)
	}
	cfg.rules = []ruleConfig{{ID: "above_100", Type: "price", Level: "100"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, logs := startLoggedPipeline(t, ctx, &cfg)
	base := "http://" + p.MetricsAddr().String()
	if !strings.Contains(logs.String(), base+"/metrics") {
		t.Errorf("metrics address not logged:\n%s", logs)
	}
	if code, body := getStatus(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %q", code, body)
	}
	dialed, err := exchange.Accept()
	if err != nil {
		t.Fatal(err)
	}
	pollStatus(t, base+"/readyz", 200)

	// Each feed has its symbol, whose ticks alternate around 100: every
	// tick after a symbol's first is a signal.
	type feedConn struct {
		c    net.Conn
		enc  feed.NativeEncoder
		sym  string
		sent int
	}
	sent := 0
	send := func(f *feedConn, n int) {
		t.Helper()
		var b []byte
		if f.sent == 0 {
			b = f.enc.Hello(nil)
		}
		for range n {
			b = f.enc.Trade(b, f.sym, time.Now().UnixNano(), tick.Price(99+2*(f.sent%2))*tick.PriceScale, 10, tick.SideBuy)
			f.sent++
			sent++
		}
		if _, err := f.c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	dialFeed := &feedConn{c: dialed, sym: "DIAL"}
	listenFeed := &feedConn{c: dialEventually(t, p.FeedAddr().String()), sym: "LSTN"}
	defer listenFeed.c.Close()
	send(dialFeed, 50)
	send(listenFeed, 50)

	var first scrape
	deadline := time.Now().Add(20 * time.Second)
	for first.sum("tickd_engine_events_total") != float64(sent) {
		if time.Now().After(deadline) {
			t.Fatalf("the first ticks never reached the engine: %v", first.samples)
		}
		first = getMetrics(t, base+"/metrics")
	}
	for _, f := range metricsFamilies {
		if !first.families[f] {
			t.Errorf("family %s missing", f)
		}
	}
	for _, src := range []string{`source="tcp dial ` + exchange.Addr().String() + `"`, `source="tcp listen ` + p.FeedAddr().String() + `"`} {
		if _, ok := first.samples["tickd_feed_messages_total{"+src+"}"]; !ok {
			t.Errorf("no tickd_feed_messages_total{%s} in %v", src, first.samples)
		}
	}
	if first.sum("tickd_build_info", `version="`+version+`"`) != 1 {
		t.Errorf("tickd_build_info: %v", first.samples)
	}

	// More ticks: messages in, signals out and the latency count move.
	send(dialFeed, 100)
	send(listenFeed, 100)
	var second scrape
	deadline = time.Now().Add(20 * time.Second)
	for {
		second = getMetrics(t, base+"/metrics")
		moved := second.sum("tickd_feed_messages_total") > first.sum("tickd_feed_messages_total") &&
			second.sum("tickd_signals_published_total", `rule="above_100"`) > first.sum("tickd_signals_published_total", `rule="above_100"`) &&
			second.sum("tickd_tick_to_publish_seconds_count", `kind="signal"`) > first.sum("tickd_tick_to_publish_seconds_count", `kind="signal"`)
		if moved && second.sum("tickd_engine_events_total") == float64(sent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters did not move: first %v\nsecond %v", first.samples, second.samples)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for second.sum("tickd_signals_published_total") != float64(sent-2) && time.Now().Before(deadline) {
		second = getMetrics(t, base+"/metrics") // the last signals may still be on their way
	}
	if got := second.sum("tickd_signals_published_total"); got != float64(sent-2) {
		t.Errorf("%v signals for %d alternating ticks of two symbols", got, sent)
	}
	if second.sum("tickd_publish_duration_seconds_count") == 0 || second.sum("tickd_nats_connected") != 1 {
		t.Errorf("publish histogram or NATS state: %v", second.samples)
	}

	// The dialed feed goes away: not ready, and it says which.
	exchange.Close()
	dialed.Close()
	if body := pollStatus(t, base+"/readyz", 503); !strings.Contains(body, "feed dial "+exchange.Addr().String()) {
		t.Errorf("/readyz body %q does not name the dialed feed", body)
	}
	// NATS goes away: named too.
	natsSrv.Shutdown()
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, body := getStatus(t, base+"/readyz")
		if strings.Contains(body, "nats: not connected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said NATS is down: %q", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := getMetrics(t, base+"/metrics"); s.sum("tickd_nats_connected") != 0 {
		t.Errorf("tickd_nats_connected with NATS down: %v", s.sum("tickd_nats_connected"))
	}
	cancel()
	err = p.Wait() // the final flush fails: NATS is down
	if err != nil && !strings.Contains(err.Error(), "flush") {
		t.Errorf("Wait: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("metrics server still up after Wait")
	}
}

// TestMetricsDefaultBars: with no bar intervals configured, the engine's
// default ones (1s, 1m) are counted in tickd_bars_published_total.
func TestMetricsDefaultBars(t *testing.T) {
	cfg, err := serveDefaults("-feed-listen", "127.0.0.1:0", "-nats-listen", "off", "-metrics", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := startPipeline(ctx, &cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.FeedAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	var enc feed.NativeEncoder
	ts := time.Now().UnixNano()
	b := enc.Hello(nil)
	b = enc.Trade(b, "BAR", ts, 100*tick.PriceScale, 10, tick.SideBuy)
	b = enc.End(b, ts) // publishes the open 1s and 1m bars
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.Close()
	url := "http://" + p.MetricsAddr().String() + "/metrics"
	want := []string{`tickd_bars_published_total{interval="1s"}`, `tickd_bars_published_total{interval="1m"}`}
	var s scrape
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s = getMetrics(t, url)
		if s.samples[want[0]] == 1 && s.samples[want[1]] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one bar of each default interval: %v = %v, %v = %v", want[0], s.samples[want[0]], want[1], s.samples[want[1]])
		}
	}
	cancel()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestDemoMetrics: with its -metrics port taken, the demo serves metrics on
// another port and prints where.
func TestDemoMetrics(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(context.Background(), []string{"-duration", "3s", "-plain", "-nats-listen", "off",
			"-metrics", taken.Addr().String()}, &out, &errb)
	}()
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" {
		for _, line := range strings.Split(out.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "metrics: "); ok {
				url = u
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics line:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.Contains(url, taken.Addr().String()) || !strings.HasSuffix(url, "/metrics") {
		t.Errorf("metrics URL %q (port %s was taken)", url, taken.Addr())
	}
	if s := getMetrics(t, url); !s.families["tickd_build_info"] {
		t.Errorf("%s: no tickd_build_info", url)
	}
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
}

// TestReadyzFailedTail: a native tail that loses its framing stops, and
// /readyz then says so, naming the stage (QA: it stayed "ready" with no
// feed). A tail path that is a directory fails at start.
func TestReadyzFailedTail(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/b.native"
	var e feed.NativeEncoder
	b := e.Trade(e.Hello(nil), "ORCL", 1, 100e9, 1, 0)
	b = append(b, 0x60, 0xea, 3) // length 60000: framing lost
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := serveDefaults("-feed-listen", "", "-feed-tail", path, "-nats-listen", "off", "-metrics", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := startPipeline(ctx, &cfg, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	body := pollStatus(t, "http://"+p.MetricsAddr().String()+"/readyz", 503)
	if !strings.Contains(body, "not ready: stage failed: feed tail "+path+": ") || !strings.Contains(body, "framing lost") {
		t.Errorf("/readyz body %q", body)
	}
	cancel()
	p.Wait()

	cfg, err = serveDefaults("-feed-listen", "", "-feed-tail", dir, "-nats-listen", "off")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startPipeline(context.Background(), &cfg, zerolog.New(io.Discard)); err == nil ||
		!strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("a directory to tail: %v", err)
	}
}

// TestServeRejectsTimeAhead: by default (-feed-max-ahead 1h) a tick stamped
// two hours past its arrival is rejected, counted as time_ahead and logged,
// and the ticks around it are applied; -feed-max-ahead 0 takes it.
func TestServeRejectsTimeAhead(t *testing.T) {
	for _, c := range []struct {
		flag       string
		events, ah float64
	}{{"1h", 2, 1}, {"0", 3, 0}} {
		cfg, err := serveDefaults("-feed-listen", "127.0.0.1:0", "-feed-format", "csv", "-nats-listen", "off",
			"-metrics", "127.0.0.1:0", "-feed-max-ahead", c.flag)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		p, logs := startLoggedPipeline(t, ctx, &cfg)
		conn := dialEventually(t, p.FeedAddr().String())
		now := time.Now().UnixNano()
		var b []byte
		for i, ts := range []int64{now, now + int64(2*time.Hour), now + int64(time.Second)} {
			b = feed.AppendCSV(b, ts, "AHD", 100*tick.PriceScale, int64(i+1), tick.SideBuy)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		base := "http://" + p.MetricsAddr().String() + "/metrics"
		// The feed publishes its counters after handing the batch on, so the
		// engine's count can show first: wait for both.
		var s scrape
		for deadline := time.Now().Add(20 * time.Second); s.sum("tickd_engine_events_total") != c.events ||
			s.sum("tickd_feed_decode_errors_total", `reason="time_ahead"`) != c.ah; {
			if time.Now().After(deadline) {
				t.Fatalf("-feed-max-ahead %s: engine events %v, time_ahead %v; want %v and %v", c.flag,
					s.sum("tickd_engine_events_total"), s.sum("tickd_feed_decode_errors_total", `reason="time_ahead"`), c.events, c.ah)
			}
			s = getMetrics(t, base)
		}
		if got := s.sum("tickd_feed_decode_errors_total", `reason="time_ahead"`); got != c.ah || s.sum("tickd_feed_decode_errors_total") != c.ah {
			t.Errorf("-feed-max-ahead %s: %v time_ahead, %v decode errors; want %v", c.flag, got, s.sum("tickd_feed_decode_errors_total"), c.ah)
		}
		conn.Close()
		cancel()
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		if tot := p.feedStats.Total(); float64(tot.ByReason[feed.ReasonTimeAhead]) != c.ah || float64(tot.Errors) != c.ah {
			t.Errorf("-feed-max-ahead %s: at exit %d time_ahead, %d decode errors; want %v", c.flag, tot.ByReason[feed.ReasonTimeAhead], tot.Errors, c.ah)
		}
		// The report says how far ahead, of what, and the limit.
		said := "event time " + time.Unix(0, now+int64(2*time.Hour)).UTC().Format(time.RFC3339Nano)
		if logged := strings.Contains(logs.String(), said) && strings.Contains(logs.String(), "past its receive time") &&
			strings.Contains(logs.String(), "more than MaxAhead 1h0m0s"); logged != (c.ah > 0) {
			t.Errorf("-feed-max-ahead %s: logged %q %v:\n%s", c.flag, said, logged, logs)
		}
	}
}

// startMoldSession runs serve on a MoldUDP64 line of its own, for session,
// with -feed-stale 300ms and metrics on, until the test ends; it returns
// the line's address and the metrics server's base URL.
func startMoldSession(t *testing.T, session string) (line, base string) {
	t.Helper()
	line = freeUDP(t)
	cfg, err := serveDefaults("-feed-listen", "", "-nats-listen", "off", "-metrics", "127.0.0.1:0",
		"-feed-format", "itch", "-feed-dial", "mold://"+line+"?session="+session, "-feed-stale", "300ms")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := startPipeline(ctx, &cfg, zerolog.New(io.Discard))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); p.Wait() })
	return line, "http://" + p.MetricsAddr().String()
}

// TestITCHSilentNotReady: a MoldUDP64 session that hears nothing, not even
// the heartbeat its exchange sends every second, for -feed-stale is not
// ready (both lines are dead; there is no connection that would drop), and
// is ready again once heartbeats come.
func TestITCHSilentNotReady(t *testing.T) {
	line, base := startMoldSession(t, "SILENT")
	url := base + "/readyz"
	pollStatusSaying(t, url, 503, "not ready: feed mold "+line+": nothing received for ")
	beat(t, "SILENT", line)
	pollStatus(t, url, 200)
}

// TestITCHOtherSessionNotReady: a MoldUDP64 session hearing only another
// session's datagrams (an exchange restarted under a new session, a
// sender of the wrong feed) hears nothing of its own: they are dropped, so
// after -feed-stale it is not ready, as a silent one is, and ready once its
// own session's heartbeats come.
func TestITCHOtherSessionNotReady(t *testing.T) {
	line, base := startMoldSession(t, "MINE")
	url := base + "/readyz"
	beat(t, "OTHER", line)
	pollStatusSaying(t, url, 503, "not ready: feed mold "+line+": nothing received for ")
	// Why is on /metrics: the datagrams that come are another session's.
	_, metrics := getStatus(t, base+"/metrics")
	wrong := regexp.MustCompile(`tickd_mold_wrong_session_datagrams_total\{source="mold ` + regexp.QuoteMeta(line) + `"\} [1-9]`)
	if !wrong.MatchString(metrics) {
		t.Fatalf("/metrics counts no datagram of another session:\n%s", metrics)
	}
	beat(t, "MINE", line)
	pollStatus(t, url, 200)
}

// beat sends session's MoldUDP64 heartbeats to line every 50 ms until the
// test ends.
func beat(t *testing.T, session, line string) {
	s, err := mold.NewSender(mold.SenderOptions{Session: session, Addr: line})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped; tick.Stop(); s.Close() })
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				s.Heartbeat()
			}
		}
	}()
}
