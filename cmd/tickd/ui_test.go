package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
)

// TestDashboardInChromium runs `tickd demo -ui 127.0.0.1:0` (embedded NATS,
// the simulated exchange over TCP, the engine) and opens the dashboard in
// headless Chromium. It waits for the page to show, for the symbol it
// picked, a last price that a NATS subscriber of its own saw published,
// with a chart of several points and some candles drawn, a watchlist of
// every symbol, and ticks flowing in; then it saves a screenshot: in the test's artifact
// directory (go test -artifacts keeps it), and at $TICKD_UI_SCREENSHOT too
// when that is set.
func TestDashboardInChromium(t *testing.T) {
	const width, height = 1400, 900
	browser := startHeadless(t, width, height)

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	demoDone := make(chan error, 1)
	go func() {
		demoDone <- runDemo(ctx, []string{"-ui", "127.0.0.1:0", "-nats-listen", "127.0.0.1:0", "-plain",
			"-symbols", "6", "-rate", "1500"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if err := <-demoDone; err != nil {
			t.Errorf("demo: %v\n%s", err, stderr.String())
		}
	}()

	dashURL := waitMatch(t, &stdout, &stderr, demoDone, regexp.MustCompile(`dashboard: (http://\S+)`))
	natsURL := waitMatch(t, &stdout, &stderr, demoDone, regexp.MustCompile(`embedded (nats://\S+)`))

	// What NATS carries: every last price published, by symbol.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	published := map[string]map[string]bool{}
	sub, err := bus.Subscribe(nc, bus.Subjects{}.AllStats(), func(m bus.Message) {
		if s, ok := m.(*bus.Stats); ok {
			mu.Lock()
			if published[s.Symbol] == nil {
				published[s.Symbol] = map[string]bool{}
			}
			published[s.Symbol][s.Last.String()] = true
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	checkAssets(t, dashURL)

	session, err := browser.open(dashURL, width, height)
	if err != nil {
		t.Fatal(err)
	}
	type pageState struct {
		Sym, Picker, Price, Conn, Ticks string
		Points, Candles, Watch          int
	}
	const probe = `document.readyState !== "complete" ? null : ({
		sym: document.getElementById("q-sym").textContent,
		picker: document.getElementById("symbol").value,
		price: document.getElementById("q-last").dataset.price || "",
		conn: document.getElementById("conn").dataset.state,
		ticks: document.getElementById("m-ticks").textContent,
		points: +document.getElementById("chart").dataset.points,
		candles: +document.getElementById("chart").dataset.candles,
		watch: document.querySelectorAll("#watch tbody tr").length,
	})`
	// waitPage polls the page until ok says it shows what it should.
	waitPage := func(what string, ok func(st pageState, ticks float64, seen bool) bool) pageState {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var st pageState // zero until the page has loaded
			if err := browser.eval(session, probe, &st); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			seen := published[st.Sym][st.Price]
			mu.Unlock()
			ticks, _ := strconv.ParseFloat(strings.ReplaceAll(st.Ticks, ",", ""), 64)
			if ok(st, ticks, seen) {
				t.Logf("%s: %+v", what, st)
				return st
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: not in 90s: %+v (NATS carried %d prices of %s)\nstderr:\n%s",
					what, st, len(published[st.Sym]), st.Sym, stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// A few seconds of chart (one point a second per symbol) make a
	// screenshot worth a look.
	first := waitPage("live page", func(st pageState, ticks float64, seen bool) bool {
		return seen && st.Points >= 4 && st.Candles > 0 && st.Conn == "live" && ticks > 0 && st.Watch == 6
	})

	png, err := browser.screenshot(session)
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	paths := []string{filepath.Join(t.ArtifactDir(), "dashboard.png")}
	if p := os.Getenv("TICKD_UI_SCREENSHOT"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}

	// Another symbol from the watchlist: the page follows it.
	const other = "AAD"
	if first.Sym == other {
		t.Fatalf("the page opened on %s already", other)
	}
	var clicked bool
	if err := browser.eval(session, `(() => { const r = document.querySelector('#watch tr[data-sym="`+other+`"]'); if (r) r.click(); return !!r; })()`, &clicked); err != nil || !clicked {
		t.Fatalf("click %s in the watchlist: %v, found %v", other, err, clicked)
	}
	waitPage("after picking "+other, func(st pageState, _ float64, seen bool) bool {
		return st.Sym == other && st.Picker == other && seen && st.Points > 0 && st.Conn == "live"
	})
}

// waitMatch waits for re to match the demo's output and returns its first group.
func waitMatch(t *testing.T, stdout, stderr *syncBuffer, done <-chan error, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended before printing %s: %v\n%s", re, err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not print %s in 30s:\n%s\n%s", re, stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAssets fetches the page and what it links: all served here, nothing
// from elsewhere (the dashboard works offline).
func checkAssets(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"", "static/app.js", "static/app.css"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET /%s: %s, %d bytes", path, resp.Status, len(body))
		}
		if path == "" && !strings.Contains(string(body), `src="/static/app.js"`) {
			t.Fatalf("GET /: no script tag:\n%s", body)
		}
		for _, far := range []string{"http://", "https://", "//cdn"} {
			if strings.Contains(string(body), far) {
				t.Errorf("GET /%s refers to %q: the dashboard must load nothing from elsewhere", path, far)
			}
		}
	}
}

// TestDemoDashboardPortTaken: the demo's default dashboard address taken,
// the demo still starts, on a free port, and says where.
func TestDemoDashboardPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out, errb syncBuffer
	err = runDemo(context.Background(), []string{"-duration", "1s", "-plain", "-nats-listen", "off", "-ui", l.Addr().String()}, &out, &errb)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	m := regexp.MustCompile(`dashboard: http://(\S+)/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no dashboard address printed:\n%s", out.String())
	}
	if m[1] == l.Addr().String() {
		t.Fatalf("dashboard claims the taken address %s", m[1])
	}
	if !strings.Contains(errb.String(), "dashboard address taken") {
		t.Errorf("the fallback is not logged:\n%s", errb.String())
	}
}

// startMustFail starts a pipeline with serve's defaults and args that
// must fail to start, and returns why. Its context stays live until the
// test ends, so what the failure alone must stop is tested.
func startMustFail(t *testing.T, args ...string) error {
	t.Helper()
	cfg, err := serveDefaults(args...)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(io.Discard, "warn", false)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := startPipeline(ctx, &cfg, log)
	if err == nil {
		cancel()
		p.Wait()
		t.Fatalf("started with %q", args)
	}
	return err
}

// TestServeDashboardPortTaken: serve's -ui is an explicit choice, so a
// taken address fails the start, naming the dashboard.
func TestServeDashboardPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = startMustFail(t, "-feed-listen", "127.0.0.1:0", "-nats-listen", "off", "-ui", l.Addr().String())
	if !strings.HasPrefix(err.Error(), "ui: ") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("error does not name the dashboard and its address: %v", err)
	}
}

// TestDashboardStopsWhenStartFails: a start that fails after the dashboard
// is up (here: the feed port is taken) closes NATS without cancelling ctx;
// the dashboard notices and stops serving.
func TestDashboardStopsWhenStartFails(t *testing.T) {
	feed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	uiAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMustFail(t, "-feed-listen", feed.Addr().String(), "-nats-listen", "off", "-ui", uiAddr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", uiAddr)
		if err != nil {
			break // stopped
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("dashboard still serving on %s 30s after the start failed", uiAddr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsClosedWhenStartFails: the metrics port, bound early, is
// released by a start that fails later (here: the feed port is taken).
func TestMetricsClosedWhenStartFails(t *testing.T) {
	feed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMustFail(t, "-feed-listen", feed.Addr().String(), "-nats-listen", "off", "-metrics", addr)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the metrics port is still held after the failed start: %v", err)
	}
	l.Close()
}
