package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickd/tickd/bus"
)

// serve runs a Server for h on a real socket until the test ends.
func serve(t *testing.T, h *Hub) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

// sseReader reads the update events of one stream.
type sseReader struct {
	body io.ReadCloser
	r    *bufio.Reader
}

func openStream(t *testing.T, url string) *sseReader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("GET %s: %s %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{body: resp.Body, r: bufio.NewReaderSize(resp.Body, 1<<20)}
}

// next returns the data of the next update event.
func (s *sseReader) next() (update, error) {
	var u update
	event := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return u, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: ") && event == "update":
			err := json.Unmarshal([]byte(line[len("data: "):]), &u)
			return u, err
		}
	}
}

// TestStreamRateBound feeds the Hub as fast as it takes messages while a
// browser-like reader counts events: at most one per Interval reaches it
// (the bound only gets easier to meet on a slow machine), far fewer than
// the messages, and yet no point is lost: the events carry every one.
func TestStreamRateBound(t *testing.T) {
	const (
		interval = 50 * time.Millisecond
		messages = 20000 // fewer than the ring holds, so the reader never falls behind it
	)
	w := newWireMaker(t)
	h := NewHub(Options{Interval: interval, Points: 1 << 15})
	h.Handle(w.stats("AAA", t0, "100", 100))
	_, url := serve(t, h)

	start := time.Now()
	stream := openStream(t, url+"/events?symbol=AAA")
	feederDone := make(chan struct{})
	go func() {
		defer close(feederDone)
		for i := int64(1); i < messages; i++ {
			h.Handle(w.stats("AAA", t0+i*1e6, "100", 100))
		}
	}()
	events, points := 0, 0
	for points < messages {
		u, err := stream.next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		points += len(u.Points)
	}
	elapsed := time.Since(start)
	<-feederDone
	if points != messages {
		t.Fatalf("events carried %d points, the hub took %d", points, messages)
	}
	if bound := int(elapsed/interval) + 2; events > bound {
		t.Errorf("%d events in %v: more than one per %v (bound %d)", events, elapsed, interval, bound)
	}
	if messages < 4*events {
		t.Errorf("%d messages in %d events: not coalesced", messages, events)
	}
	t.Logf("%d messages in %d events over %v", messages, events, elapsed)
}

// TestStreamQuietWhenIdle: a stream with nothing new sends nothing after
// its first event (until the first refresh, refreshEvery away).
func TestStreamQuietWhenIdle(t *testing.T) {
	w := newWireMaker(t)
	h := NewHub(Options{Interval: 10 * time.Millisecond})
	h.Handle(w.stats("AAA", t0, "100", 100))
	s, url := serve(t, h)
	stream := openStream(t, url+"/events")
	if u, err := stream.next(); err != nil || u.Sym != "AAA" || len(u.Points) != 1 {
		t.Fatalf("first event %+v, %v", u, err)
	}
	// Some twenty ticks of the stream's clock (fewer on a loaded machine,
	// which only makes the assertion easier): none may send.
	time.Sleep(200 * time.Millisecond)
	if n := s.Events(); n != 1 {
		t.Fatalf("%d events sent with nothing new, want the first only", n)
	}
	h.Handle(w.stats("AAA", t0+1e9, "101", 101))
	if u, err := stream.next(); err != nil || len(u.Points) != 1 || *u.Points[0][1] != 101 || u.Reset {
		t.Fatalf("after a new message: %+v, %v", u, err)
	}
}

// TestStreamRefreshAfterFeedStops: when the Hub goes quiet, a stream still
// gets an event every refreshEvery while the rates fall, so the page's
// throughput does not stay at its last rate; then it goes quiet.
func TestStreamRefreshAfterFeedStops(t *testing.T) {
	w := newWireMaker(t)
	var events uint64 = 1000
	h := NewHub(Options{Interval: 10 * time.Millisecond, Counters: func() Counters { return Counters{Events: events} }})
	h.Handle(w.stats("AAA", t0, "100", 100))
	s, url := serve(t, h)
	stream := openStream(t, url+"/events")
	if _, err := stream.next(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * refreshEvery)
	for s.Events() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Events(); n < 2 {
		t.Fatalf("%d events in %v after the Hub went quiet: the rates shown are frozen", n, 3*refreshEvery)
	}
	u, err := stream.next()
	if err != nil {
		t.Fatal(err)
	}
	if r := u.Rates["ticks"]; len(u.Points) != 0 || r == nil || *r != 0 {
		t.Errorf("refresh: %d points, ticks rate %v; want none new and 0 a second", len(u.Points), r)
	}
}

// TestStreamLimitAndShutdown: streams past MaxClients are refused, and
// Serve ends open streams when its context is done.
func TestStreamLimitAndShutdown(t *testing.T) {
	h := NewHub(Options{MaxClients: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- NewServer(h).Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/events"
	first := openStream(t, url)
	if _, err := first.next(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second stream: %s, want 503", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := first.next(); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stream after shutdown: %v, want it ended", err)
	}
}

// TestPageAndAssets: the page, its script and style are served from the
// binary, with a policy that lets nothing load from elsewhere.
func TestPageAndAssets(t *testing.T) {
	_, url := serve(t, NewHub(Options{}))
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<canvas id="chart"`},
		{"/static/app.js", "text/javascript", "new EventSource("},
		{"/static/app.css", "text/css", "--bg:"},
		{"/api/update?symbol=X", "application/json", `"sym":"X","known":false`},
	} {
		resp, err := http.Get(url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) ||
			!strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %s %q, body has %q: %v", c.path, resp.Status, resp.Header.Get("Content-Type"), c.contains, strings.Contains(string(body), c.contains))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
	}
	resp, err := http.Get(url + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %s", resp.Status)
	}
}

// TestHubSubscribe: over a real embedded NATS server, the Hub takes what
// is published on the four subject trees under its prefix, and nothing else.
func TestHubSubscribe(t *testing.T) {
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
	h := NewHub(Options{Prefix: "desk"})
	subs, err := h.Subscribe(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}()
	w := newWireMaker(t)
	publish := func(subject string, data []byte) {
		if err := nc.Publish(subject, data); err != nil {
			t.Fatal(err)
		}
	}
	publish("desk.stats.AAA", w.statsJSON("AAA", t0, "12.5", 12))
	publish("tickd.stats.BBB", w.statsJSON("BBB", t0, "1", 1)) // another prefix
	publish("desk.status", []byte(`{"kind":"status"}`))        // not a market-data tree
	publish("desk.bar.1s.AAA", []byte(`not json`))             // counted as invalid
	publish("desk.stats.CCC", w.statsJSON("CCC", t0, "7.25", 7))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(h.Symbols()) < 2 || h.version.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %v after 30s", h.Symbols())
		}
		time.Sleep(5 * time.Millisecond)
	}
	u := readUpdate(t, h, &cursor{symbol: "CCC"})
	if got := h.Symbols(); len(got) != 2 || got[0] != "AAA" || got[1] != "CCC" || u.Quote["last"] != "7.25" {
		t.Fatalf("symbols %v, CCC quote %v", got, u.Quote)
	}
	if *u.Rates["invalid"] != 1 || *u.Rates["received"] != 3 {
		t.Errorf("received %v, invalid %v; want 3 and 1", *u.Rates["received"], *u.Rates["invalid"])
	}
}
