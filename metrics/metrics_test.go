package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/engine"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/ringbuf"
	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond until it holds; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// value returns the value of the family's metric whose labels include
// want (name=value pairs), summing matches; a histogram gives its count.
// ok is false when no metric matches.
func value(t *testing.T, g prometheus.Gatherer, family string, want ...string) (v float64, ok bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(want); i += 2 {
				if !hasLabel(m, want[i], want[i+1]) {
					continue metric
				}
			}
			ok = true
			switch {
			case m.Counter != nil:
				v += m.Counter.GetValue()
			case m.Gauge != nil:
				v += m.Gauge.GetValue()
			case m.Histogram != nil:
				v += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return v, ok
}

func hasLabel(m *dto.Metric, name, val string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == val {
			return true
		}
	}
	return false
}

// TestObserver counts each kind under its label and records latencies, and
// does so without allocating (it runs in the publisher loop).
func TestObserver(t *testing.T) {
	o := NewObserver([]string{"up", "down"}, []time.Duration{time.Second, time.Minute})
	reg := prometheus.NewRegistry()
	if err := o.Register(reg); err != nil {
		t.Fatal(err)
	}
	const recv, pub, done = int64(1_000_000), int64(1_250_000), int64(1_252_000) // 250 µs, 2 µs
	outs := []tick.Out{
		{Kind: tick.OutSignal, Signal: tick.Signal{Rule: 1, TsRecv: recv}},
		{Kind: tick.OutSignal, Signal: tick.Signal{Rule: 1, TsRecv: recv}},
		{Kind: tick.OutSignal, Signal: tick.Signal{Rule: 7, TsRecv: recv}}, // unknown rule: latency only
		{Kind: tick.OutBar, Bar: tick.Bar{Interval: int64(time.Minute), TsRecv: recv}},
		{Kind: tick.OutBar, Bar: tick.Bar{Interval: int64(time.Hour), TsRecv: recv}}, // not configured
		{Kind: tick.OutBBO, BBO: tick.BBO{TsRecv: recv}},
		{Kind: tick.OutStats},
		{Kind: tick.OutSignal, Signal: tick.Signal{Rule: 0}}, // no ts_recv: counted, no latency
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range outs {
			o.Observe(&outs[i], pub, done)
		}
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %.1f times per round", allocs)
	}
	rounds := 101.0 // AllocsPerRun's warm-up run, then 100
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"tickd_signals_published_total", []string{"rule", "up"}, rounds},
		{"tickd_signals_published_total", []string{"rule", "down"}, 2 * rounds},
		{"tickd_bars_published_total", []string{"interval", "1m"}, rounds},
		{"tickd_bars_published_total", []string{"interval", "1s"}, 0},
		{"tickd_tick_to_publish_seconds", []string{"kind", "signal"}, 3 * rounds},
		{"tickd_tick_to_publish_seconds", []string{"kind", "bar"}, 2 * rounds},
		{"tickd_tick_to_publish_seconds", []string{"kind", "bbo"}, rounds},
		{"tickd_publish_duration_seconds", nil, 8 * rounds},
	} {
		if v, ok := value(t, reg, c.family, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.family, c.labels, v, ok, c.want)
		}
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "tickd_tick_to_publish_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean < 249e-6 || mean > 251e-6 {
				t.Errorf("mean tick to publish %v s, want 250 µs", mean)
			}
		}
	}
}

func TestSourceGroup(t *testing.T) {
	listen := "127.0.0.1:7000"
	g := SourceGroup(func() string { return listen })
	for src, want := range map[string]string{
		"tcp 127.0.0.1:7000<-127.0.0.1:51234": "tcp listen 127.0.0.1:7000",
		"tcp 127.0.0.1:7000<-10.0.0.9:40000":  "tcp listen 127.0.0.1:7000",
		"tcp 127.0.0.1:51999<-127.0.0.1:7100": "tcp dial 127.0.0.1:7100",
		"soupbin 127.0.0.1:9000":              "soupbin 127.0.0.1:9000",
		"/var/feed/ticks.csv":                 "/var/feed/ticks.csv",
	} {
		if got := g(src); got != want {
			t.Errorf("%q: %q, want %q", src, got, want)
		}
	}
	listen = ""
	if got := g("tcp 127.0.0.1:7000<-127.0.0.1:51234"); got != "tcp dial 127.0.0.1:51234" {
		t.Errorf("without a listener: %q", got)
	}
}

// discard is a feed.Sink that drops what it is given.
type discard struct{ slots []tick.Event }

func (d *discard) Claim(n int) []tick.Event {
	if len(d.slots) < n {
		d.slots = make([]tick.Event, n)
	}
	return d.slots[:n]
}
func (d *discard) Commit(int) {}
func (d *discard) Close()     {}

// TestReadinessDial: a dialed feed is ready while its connection is up,
// and not before or after; NATS down is named.
func TestReadinessDial(t *testing.T) {
	server, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := server.Addr().String()
	reg := &feed.Registry{Group: SourceGroup(func() string { return "" })}
	natsUp := true
	var mu sync.Mutex
	r := &Readiness{NATS: func() bool { mu.Lock(); defer mu.Unlock(); return natsUp },
		Feeds: reg, Group: reg.Group, Dials: []string{addr}}
	ctx, cancel := context.WithCancel(context.Background())
	notReady := func() string { return strings.Join(r.NotReady(ctx), "; ") }
	if got := notReady(); got != "feed dial "+addr+": not connected" {
		t.Fatalf("before dialing: %q", got)
	}
	dialed := make(chan error, 1)
	go func() {
		dialed <- feed.DialTCP(ctx, addr, func(string) (feed.Sink, error) { return new(discard), nil },
			feed.Options{Symbols: tick.NewSymbolTable(8), Stats: reg, ReconnectMin: 10 * time.Millisecond})
	}()
	conn, err := server.Accept()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dialed feed to be ready", func() bool { return notReady() == "" })
	mu.Lock()
	natsUp = false
	mu.Unlock()
	if got := notReady(); got != "nats: not connected" {
		t.Errorf("NATS down: %q", got)
	}
	mu.Lock()
	natsUp = true
	mu.Unlock()
	server.Close()
	conn.Close()
	waitFor(t, "the dropped feed to be not ready", func() bool { return notReady() == "feed dial "+addr+": not connected" })
	cancel()
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
}

// TestCollectorAndHandler runs an engine fed by a real TCP feed, a
// publisher on an embedded NATS server with the Observer, and scrapes the
// handler over HTTP.
func TestCollectorAndHandler(t *testing.T) {
	syms := tick.NewSymbolTable(64)
	bell := ringbuf.NewBell()
	eng, err := engine.New(engine.Config{Wait: ringbuf.Park, OutputBell: bell, Bars: []time.Duration{time.Second},
		Rules: []engine.RuleSpec{{ID: "above_100", Type: engine.RulePrice, Level: 100 * tick.PriceScale}}}, syms)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bus.StartServer(bus.ServerOptions{DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	obs := NewObserver([]string{"above_100"}, []time.Duration{time.Second})
	pub, err := bus.NewPublisher(nc, syms, []bus.RuleInfo{{ID: "above_100", Type: "price"}},
		bus.PublisherOptions{Wait: ringbuf.Park, Bell: bell, Observe: obs.Observe})
	if err != nil {
		t.Fatal(err)
	}
	var listener *feed.TCPListener
	feeds := &feed.Registry{Group: SourceGroup(func() string { return listener.Addr().String() })}
	listener, err = feed.NewTCPListener("127.0.0.1:0", func(s string) (feed.Sink, error) { return eng.NewInput(s) },
		feed.Options{Symbols: syms, Stats: feeds})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := obs.Register(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(NewCollector(Sources{Engine: eng, Feeds: feeds, Listener: listener, Publisher: pub, Symbols: syms,
		NATS: func() (bool, uint64) { return nc.IsConnected(), nc.Stats().Reconnects }, Version: "test"}))
	ready := &Readiness{NATS: nc.IsConnected, Feeds: feeds, Group: feeds.Group}
	web := httptest.NewServer(Handler(reg, ready.NotReady, func(err error) { t.Errorf("scrape: %v", err) }))
	defer web.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { listener.Serve(ctx) })
	wg.Go(func() { eng.Run(ctx) })
	wg.Go(func() { pub.Run(eng.Outputs()) })
	defer func() { cancel(); wg.Wait() }()

	c, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	const sec = int64(time.Second)
	for i, p := range []float64{99, 101, 99, 101, 99, 101} { // five crossings, up and down
		price, _ := tick.PriceFromFloat(p)
		b = enc.Trade(b, "ACME", int64(i)*sec/2, price, 10, tick.SideBuy)
	}
	late, _ := tick.PriceFromFloat(101)
	b = enc.Trade(b, "ACME", sec, late, 10, tick.SideBuy) // before the last (2.5 s): out of order, no crossing
	b = enc.Trade(b, "ACME", 0, 0, 10, tick.SideBuy)      // zero price: rejected as price_not_positive
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	group := "tcp listen " + listener.Addr().String()
	waitFor(t, "five signals published, the late trade applied", func() bool {
		v, _ := value(t, reg, "tickd_signals_published_total", "rule", "above_100")
		n, _ := value(t, reg, "tickd_feed_messages_total") // the feed publishes its counters after handing on the batch
		late, _ := value(t, reg, "tickd_engine_out_of_order_total")
		return v == 5 && n == 10 && late == 1
	})
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"tickd_feed_messages_total", []string{"source", group}, 10}, // hello, symbol, 8 trades
		{"tickd_feed_decode_errors_total", []string{"reason", "price_not_positive"}, 1},
		{"tickd_feed_decode_errors_total", []string{"reason", "bad_qty"}, 0},
		{"tickd_engine_events_total", nil, 7},
		{"tickd_engine_out_of_order_total", nil, 1},
		{"tickd_publish_messages_total", []string{"kind", "signal"}, 5},
		{"tickd_tick_to_publish_seconds", []string{"kind", "signal"}, 5},
		{"tickd_symbols", nil, 1},
		{"tickd_symbols_capacity", nil, 64},
		{"tickd_nats_connected", nil, 1},
		{"tickd_feed_connections_refused_total", nil, 0},
		{"tickd_feed_connections_evicted_total", nil, 0},
		{"tickd_ring_dropped_total", []string{"ring", "engine_input"}, 0},
		{"tickd_build_info", []string{"version", "test"}, 1},
	} {
		if v, ok := value(t, reg, c.family, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.family, c.labels, v, ok, c.want)
		}
	}
	for _, f := range []string{"tickd_ring_depth", "tickd_book_orders", "tickd_book_events_total", "tickd_feed_bytes_total",
		"tickd_feed_gaps_total", "tickd_publish_errors_total", "tickd_publish_dropped_total", "tickd_nats_reconnects_total",
		"tickd_publish_duration_seconds", "tickd_bars_published_total"} {
		if _, ok := value(t, reg, f); !ok {
			t.Errorf("family %s missing", f)
		}
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `tickd_signals_published_total{rule="above_100"} 5`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	nc.Close()
	if code, body := get("/readyz"); code != 503 || body != "not ready: nats: not connected\n" {
		t.Errorf("/readyz with NATS closed: %d %q", code, body)
	}
}

// TestServe serves until its context ends, then returns nil.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, Handler(prometheus.NewRegistry(), func(context.Context) []string { return nil }, nil))
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkObserve is the Observer's cost per published record: a signal
// (rule counter, both histograms).
func BenchmarkObserve(b *testing.B) {
	out := tick.Out{Kind: tick.OutSignal, Signal: tick.Signal{Rule: 1, TsRecv: 1_000_000}}
	b.Run("observer", func(b *testing.B) {
		o := NewObserver([]string{"r0", "r1"}, []time.Duration{time.Second})
		b.ReportAllocs()
		for i := int64(0); b.Loop(); i++ {
			o.Observe(&out, 1_250_000+i%1000, 1_252_000+i%1000)
		}
	})
	// Baseline: the naive way, a label lookup per record on CounterVec and
	// HistogramVec (a hash of the label values and a map read each time).
	b.Run("naive-vec-lookup", func(b *testing.B) {
		sig := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s_total"}, []string{"rule"})
		lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "l_seconds"}, []string{"kind"})
		pub := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "p_seconds"}, []string{"kind"})
		rules := []string{"r0", "r1"}
		b.ReportAllocs()
		for i := int64(0); b.Loop(); i++ {
			sig.WithLabelValues(rules[out.Signal.Rule]).Inc()
			lat.WithLabelValues("signal").Observe(float64(1_250_000+i%1000-out.Signal.TsRecv) / 1e9)
			pub.WithLabelValues("signal").Observe(float64(2_000) / 1e9)
		}
	})
}

// TestReadinessITCH: an ITCH session is ready once logged in, and says so
// when not running or not logged in.
func TestReadinessITCH(t *testing.T) {
	srv, err := soupbin.NewServer(soupbin.ServerOptions{Store: soupbin.NewStore(),
		Credentials: soupbin.Credentials{Username: "u", Password: "p", Session: "S1"}})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(srvCtx) }()
	t.Setenv(feed.SoupBinEnvPrefix+"USERNAME", "u")
	t.Setenv(feed.SoupBinEnvPrefix+"PASSWORD", "p")
	reg := &feed.Registry{Group: SourceGroup(func() string { return "" })}
	r := &Readiness{Feeds: reg, Group: reg.Group, ITCH: 1}
	ctx, cancel := context.WithCancel(context.Background())
	notReady := func() string { return strings.Join(r.NotReady(ctx), "; ") }
	if got := notReady(); got != "feed: 0 of 1 ITCH sessions running" {
		t.Fatalf("before the session: %q", got)
	}
	cfg, err := feed.ParseITCHURL("soupbin://" + srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- feed.RunITCH(ctx, cfg, func(string) (feed.Sink, error) { return new(discard), nil },
			feed.Options{Symbols: tick.NewSymbolTable(8), Stats: reg, ReconnectMin: 10 * time.Millisecond})
	}()
	waitFor(t, "the session to log in", func() bool { return notReady() == "" })
	stopSrv()
	if err := <-srvDone; err != nil {
		t.Fatal(err)
	}
	want := "feed soupbin " + srv.Addr().String() + ": not logged in"
	waitFor(t, "the session to be not ready", func() bool { return notReady() == want })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The ended session's SoupBinTCP counters stay in /metrics: they only grow.
	preg := prometheus.NewRegistry()
	preg.MustRegister(NewCollector(Sources{Feeds: reg}))
	fams, err := preg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	soup := 0
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "tickd_soupbin_") {
			soup += len(f.GetMetric())
		}
	}
	if soup != 2 {
		t.Errorf("%d SoupBinTCP series after the session ended, want 2", soup)
	}
}

// TestCollectorInvalidUTF8Source: a source whose name is not UTF-8 (a
// tailed file's path may be any bytes) is scraped with U+FFFD in its label,
// as the logs print it, instead of failing the scrape and losing every
// family collected after it.
func TestCollectorInvalidUTF8Source(t *testing.T) {
	feeds := &feed.Registry{Group: SourceGroup(func() string { return "" })}
	c := feeds.Register("tails/bad\xffname.csv", nil, 0)
	defer feeds.Unregister(c)
	c.Publish(&feed.Stats{Frames: 3, Bytes: 75})
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(Sources{Feeds: feeds, Symbols: tick.NewSymbolTable(4), Version: "test"}))
	web := httptest.NewServer(Handler(reg, func(context.Context) []string { return nil }, func(err error) { t.Errorf("scrape: %v", err) }))
	defer web.Close()
	resp, err := http.Get(web.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tickd_feed_messages_total{source="tails/bad` + "\uFFFD" + `name.csv"} 3`, "tickd_symbols 0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("scrape lacks %q:\n%s", want, b)
		}
	}
}

// TestHandlerNilNotReady: a Handler without a readiness check answers
// /readyz "ready" rather than failing the request on a nil func.
func TestHandlerNilNotReady(t *testing.T) {
	web := httptest.NewServer(Handler(prometheus.NewRegistry(), nil, nil))
	defer web.Close()
	resp, err := http.Get(web.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ready\n" {
		t.Fatalf("/readyz: %d %q, want 200 \"ready\\n\"", resp.StatusCode, body)
	}
}

// TestCollectorRecorder: the -record writer's stalls and the reads its
// capture lost are scraped while tickd runs, not only logged at exit.
func TestCollectorRecorder(t *testing.T) {
	rec, err := replay.NewRecorder(replay.RecorderOptions{Dir: t.TempDir(), Format: "native"})
	if err != nil {
		t.Fatal(err)
	}
	rec.Stop()
	if err := rec.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.Open(1, "tcp a<-b") // after Stop: lost, and counted
	rec.Data(1, 1, []byte("x"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(Sources{Recorder: rec, Version: "test"}))
	for family, want := range map[string]float64{"tickd_record_dropped_total": 2, "tickd_record_stalls_total": 0} {
		if v, ok := value(t, reg, family); !ok || v != want {
			t.Errorf("%s = %v (reported: %v), want %v", family, v, ok, want)
		}
	}
}

// TestCollectorDescribesWhatItCollects: every family the Collector sends
// is one its Describe announced, as a pedantic registry checks (a
// listener's evicted connections were collected but not described).
func TestCollectorDescribesWhatItCollects(t *testing.T) {
	syms := tick.NewSymbolTable(4)
	feeds := &feed.Registry{Group: SourceGroup(func() string { return "" })}
	listener, err := feed.NewTCPListener("127.0.0.1:0", func(string) (feed.Sink, error) { return nil, errors.New("no sink") },
		feed.Options{Symbols: syms, Stats: feeds})
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(Sources{Feeds: feeds, Listener: listener, Symbols: syms, Version: "test",
		NATS: func() (bool, uint64) { return true, 0 }}))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
}
