package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/tick"
)

// playSink is a slice-backed feed.Sink that records what it is given.
type playSink struct {
	name   string
	mu     sync.Mutex
	slots  []tick.Event
	events []tick.Event
	closed bool
	claims int
	first  time.Time // of the first Commit of an event
}

func (s *playSink) Claim(n int) []tick.Event {
	if cap(s.slots) < n {
		s.slots = make([]tick.Event, n)
	}
	s.mu.Lock()
	s.claims++
	s.mu.Unlock()
	return s.slots[:n]
}

func (s *playSink) Commit(k int) {
	s.mu.Lock()
	if k > 0 && s.first.IsZero() {
		s.first = time.Now()
	}
	s.events = append(s.events, s.slots[:k]...)
	s.mu.Unlock()
}

func (s *playSink) Close() { s.mu.Lock(); s.closed = true; s.mu.Unlock() }

func (s *playSink) snapshot() ([]tick.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events), s.closed
}

// playSinks opens one playSink per source.
type playSinks struct {
	mu  sync.Mutex
	all []*playSink
}

func (ss *playSinks) open(name string) (feed.Sink, error) {
	s := &playSink{name: name}
	ss.mu.Lock()
	ss.all = append(ss.all, s)
	ss.mu.Unlock()
	return s, nil
}

func (ss *playSinks) list() []*playSink {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return slices.Clone(ss.all)
}

func (ss *playSinks) total() int {
	n := 0
	for _, s := range ss.list() {
		ev, _ := s.snapshot()
		n += len(ev)
	}
	return n
}

var t0 = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC).UnixNano()

// nativeStream is a native connection: hello, n trades of sym (qty 1..n,
// event times step apart from t0), and an End frame if end.
func nativeStream(sym string, n int, step time.Duration, end bool) []byte {
	var e feed.NativeEncoder
	b := e.Hello(nil)
	for i := 1; i <= n; i++ {
		b = e.Trade(b, sym, t0+int64(i)*int64(step), tick.Price(100+i%7)*1e9, int64(i), tick.Side(i%3))
	}
	if end {
		b = e.End(b, t0+int64(n+1)*int64(step))
	}
	return b
}

// csvLines is n CSV trades of sym, step apart in event time from t0.
func csvLines(sym string, n int, step time.Duration) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		b = feed.AppendCSV(b, t0+int64(i)*int64(step), sym, tick.Price(100+i%7)*1e9, int64(i), tick.SideBuy)
	}
	return b
}

// decodeStream decodes a whole stream with a fresh feed.Decoder: what a
// player must deliver, TsRecv aside.
func decodeStream(t testing.TB, f feed.Format, syms *tick.SymbolTable, id uint16, b []byte) []tick.Event {
	t.Helper()
	d, err := feed.NewDecoder("want", id, feed.Options{Format: f, Symbols: syms})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]tick.Event, len(b)/8+2)
	n, c, err := d.Decode(dst, b)
	if err != nil {
		t.Fatal(err)
	}
	n += d.Flush(dst[n:n+1], b[c:])
	return dst[:n]
}

// chunks splits b into uneven reads, as a socket gives them.
func chunks(b []byte, seed int) [][]byte {
	var out [][]byte
	for i := 0; len(b) > 0; i++ {
		n := min(len(b), 1+(i*7919+seed*104729)%1500)
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func noRecv(ev []tick.Event) []tick.Event {
	ev = slices.Clone(ev)
	for i := range ev {
		ev[i].TsRecv = 0
	}
	return ev
}

func play(t *testing.T, inputs []string, o PlayerOptions) (*playSinks, *Player) {
	t.Helper()
	ss := &playSinks{}
	if o.Symbols == nil {
		o.Symbols = tick.NewSymbolTable(64)
	}
	o.Open = ss.open
	p, err := NewPlayer(inputs, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ss, p
}

// TestPlayCaptureNative records two interleaved native connections in
// uneven reads (one ends with an End frame, one does not) and checks that
// each is played into its own sink exactly as a decoder of the whole stream
// gives it, the second ended with one EndOfStream.
func TestPlayCaptureNative(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.tcap")
	w, err := Create(path, WriterOptions{Format: "native", BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	a, b := nativeStream("AAA", 3000, time.Millisecond, true), nativeStream("BBB", 2000, time.Millisecond, false)
	ca, cb := chunks(a, 1), chunks(b, 2)
	w.Open(3, "tcp a")
	w.Open(9, "tcp b")
	recv := t0
	for i := 0; i < max(len(ca), len(cb)); i++ {
		recv += 1000
		if i < len(ca) {
			w.Data(3, recv, ca[i])
		}
		if i < len(cb) {
			w.Data(9, recv, cb[i])
		}
	}
	w.Close(3, recv+1)
	w.Close(9, recv+2)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	syms := tick.NewSymbolTable(64)
	ss, p := play(t, []string{path}, PlayerOptions{Symbols: syms})
	l := ss.list()
	if len(l) != 2 || l[0].name != "tcp a" || l[1].name != "tcp b" {
		t.Fatalf("sinks %d", len(l))
	}
	wantA := decodeStream(t, feed.FormatNative, syms, 3, a)
	wantB := append(decodeStream(t, feed.FormatNative, syms, 9, b), tick.Event{Kind: tick.KindEndOfStream, Source: 9})
	wantB[len(wantB)-1].TsEvent = wantB[len(wantB)-2].TsEvent
	for i, want := range [][]tick.Event{wantA, wantB} {
		got, closed := l[i].snapshot()
		if !closed {
			t.Errorf("sink %d not closed", i)
		}
		if !slices.Equal(noRecv(got), noRecv(want)) {
			t.Fatalf("sink %s: %d events, want %d (or they differ)\nlast got %+v\nlast want %+v", l[i].name, len(got), len(want), got[len(got)-1], want[len(want)-1])
		}
		for _, e := range got {
			if e.TsRecv == 0 {
				t.Fatal("TsRecv not stamped")
			}
		}
	}
	pr := p.Progress()
	if pr.Messages != uint64(len(ca)+len(cb)) || pr.Bytes != uint64(len(a)+len(b)) || pr.Events != uint64(len(wantA)+len(wantB)) || !pr.Done || pr.Fraction() != 1 {
		t.Fatalf("progress %+v", pr)
	}
	if pr.End != recv+2 && pr.End != recv {
		t.Errorf("progress End %d, want the capture's last receive time %d", pr.End, recv)
	}
}

// itchMessages is a small ITCH session: a directory, adds, an execution,
// a trade, spread over span in event time.
func itchMessages(n int, span time.Duration) [][]byte {
	var msgs [][]byte
	ts := uint64(9*3600) * 1e9
	step := uint64(span) / uint64(n)
	h := func(loc uint16) itch.Header { ts += step; return itch.Header{Locate: loc, Timestamp: ts} }
	names := []string{"AAPL", "MSFT"}
	for i, nm := range names {
		msgs = append(msgs, itch.AppendStockDirectory(nil, itch.StockDirectory{Header: h(uint16(i + 1)), Stock: itch.MakeStock(nm), RoundLotSize: 100}))
	}
	for i := range n {
		loc := uint16(i%2 + 1)
		st := itch.MakeStock(names[loc-1])
		msgs = append(msgs, itch.AppendAddOrder(nil, itch.AddOrder{Header: h(loc), OrderRef: uint64(i + 1), Side: 'B', Shares: 100, Stock: st, Price: tick.Price(int64(100+i%5) * 1e9)}))
		if i%3 == 0 {
			msgs = append(msgs, itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: h(loc), OrderRef: uint64(i + 1), Shares: 10, Match: uint64(i)}))
		}
		if i%4 == 0 {
			msgs = append(msgs, itch.AppendTrade(nil, itch.Trade{Header: h(loc), Side: 'S', Shares: 5, Stock: st, Price: tick.Price(101e9), Match: uint64(1e6 + i)}))
		}
	}
	return msgs
}

// itchDecode decodes msgs as one session and appends its EndOfStream.
func itchDecode(t testing.TB, syms *tick.SymbolTable, src uint16, msgs [][]byte) []tick.Event {
	t.Helper()
	d, err := itch.NewDecoder(itch.Options{Symbols: syms, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	var out []tick.Event
	for _, m := range msgs {
		var ev tick.Event
		if ok, _ := d.Decode(m, &ev); ok {
			out = append(out, ev)
		}
	}
	var end tick.Event
	d.EndOfStream(&end)
	return append(out, end)
}

// TestPlayITCH plays the same ITCH session as a capture (one message per
// Data record), as a plain daily file and as a gzipped one.
func TestPlayITCH(t *testing.T) {
	dir := t.TempDir()
	msgs := itchMessages(500, time.Second)
	cpath := filepath.Join(dir, "itch.tcap")
	w, err := Create(cpath, WriterOptions{Format: "itch", Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(4, "soupbin 127.0.0.1:1")
	var file []byte
	for i, m := range msgs {
		w.Data(4, t0+int64(i), m)
		file = itch.AppendFramed(file, m)
	}
	w.Close(4, t0+int64(len(msgs)))
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "day.itch")
	os.WriteFile(plain, file, 0o600)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(file)
	zw.Close()
	gzPath := filepath.Join(dir, "day.itch.gz")
	os.WriteFile(gzPath, gz.Bytes(), 0o600)

	for _, tc := range []struct {
		path string
		src  uint16
	}{{cpath, 4}, {plain, 1}, {gzPath, 1}} {
		syms := tick.NewSymbolTable(64)
		ss, p := play(t, []string{tc.path}, PlayerOptions{Symbols: syms})
		want := itchDecode(t, syms, tc.src, msgs)
		l := ss.list()
		if len(l) != 1 {
			t.Fatalf("%s: %d sinks", tc.path, len(l))
		}
		got, closed := l[0].snapshot()
		if !closed || !slices.Equal(noRecv(got), noRecv(want)) {
			t.Fatalf("%s: %d events, want %d (or they differ); closed %v", tc.path, len(got), len(want), closed)
		}
		if pr := p.Progress(); pr.Messages != uint64(len(msgs)) || pr.Events != uint64(len(want)) {
			t.Fatalf("%s: progress %+v", tc.path, pr)
		}
	}
}

// TestPlayTextFiles plays CSV, JSON and native files, several in a row.
func TestPlayTextFiles(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, append(feed.AppendCSVHeader(nil), csvLines("CSV", 300, time.Millisecond)...), 0o600)
	var js []byte
	for i := 1; i <= 200; i++ {
		js = feed.AppendJSON(js, t0+int64(i), "JSN", 5e9, int64(i), tick.SideSell)
	}
	js = js[:len(js)-1] // an unterminated last line still counts
	jsPath := filepath.Join(dir, "b.jsonl")
	os.WriteFile(jsPath, js, 0o600)
	natPath := filepath.Join(dir, "c.native")
	nat := nativeStream("NAT", 5000, time.Microsecond, true)
	os.WriteFile(natPath, nat, 0o600)

	syms := tick.NewSymbolTable(64)
	ss, p := play(t, []string{csvPath, jsPath, natPath}, PlayerOptions{Symbols: syms})
	if k := p.Kinds(); !slices.Equal(k, []InputKind{InputCSV, InputJSON, InputNative}) {
		t.Fatalf("kinds %v", k)
	}
	l := ss.list()
	if len(l) != 3 {
		t.Fatalf("%d sinks", len(l))
	}
	for i, c := range []struct {
		f    feed.Format
		data []byte
		n    int
	}{{feed.FormatCSV, append(feed.AppendCSVHeader(nil), csvLines("CSV", 300, time.Millisecond)...), 300}, {feed.FormatJSON, js, 200}, {feed.FormatNative, nat, 5000}} {
		want := decodeStream(t, c.f, syms, 1, c.data)
		if c.f != feed.FormatNative {
			want = append(want, tick.Event{Kind: tick.KindEndOfStream, Source: 1, TsEvent: want[len(want)-1].TsEvent})
		}
		got, closed := l[i].snapshot()
		if !closed || !slices.Equal(noRecv(got), noRecv(want)) || len(got) != c.n+1 {
			t.Fatalf("%s: %d events, want %d (or they differ)", l[i].name, len(got), len(want))
		}
	}
}

// TestPlayPacing: a 1 s span at speed 10 takes about 0.1 s, at max far
// less; the events arrive in many batches, not one.
func TestPlayPacing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "span.csv")
	os.WriteFile(path, csvLines("PCE", 2000, 500*time.Microsecond), 0o600) // 1 s of event time
	start10 := time.Now()
	ss, _ := play(t, []string{path}, PlayerOptions{Speed: 10})
	el10 := time.Since(start10)
	start := time.Now()
	play(t, []string{path}, PlayerOptions{})
	elMax := time.Since(start)
	t.Logf("speed 10: %v, max: %v", el10, elMax)
	if el10 < 85*time.Millisecond || el10 > time.Second {
		t.Errorf("speed 10 over a 1 s span took %v, want ~100ms", el10)
	}
	if elMax >= el10/2 {
		t.Errorf("max took %v, not much faster than speed 10 (%v)", elMax, el10)
	}
	if n := ss.total(); n != 2001 {
		t.Fatalf("%d events", n)
	}
	if first := ss.list()[0].first.Sub(start10); first > el10/3 {
		t.Errorf("the first events were handed on %v into a %v replay: a paced replay must not hold them back", first, el10)
	}
}

// TestPlayPacingFromFirstKept: the wait between the first two messages
// kept is paced too, for an ITCH file (event time) and a capture (receive
// time): 2 s apart at speed 10 take 0.2 s.
func TestPlayPacingFromFirstKept(t *testing.T) {
	dir := t.TempDir()
	trade := func(sec uint64) []byte {
		return itch.AppendTrade(nil, itch.Trade{Header: itch.Header{Locate: 1, Timestamp: (9*3600 + sec) * 1e9}, Side: 'B', Shares: 5, Stock: itch.MakeStock("PCE"), Price: 10e9, Match: sec})
	}
	itchPath := filepath.Join(dir, "two.itch")
	if err := os.WriteFile(itchPath, itch.AppendFramed(itch.AppendFramed(nil, trade(0)), trade(2)), 0o600); err != nil {
		t.Fatal(err)
	}
	capPath := filepath.Join(dir, "two.cap")
	w, err := Create(capPath, WriterOptions{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(1, "tail")
	w.Data(1, t0, csvLines("PCE", 1, time.Millisecond))
	w.Data(1, t0+2e9, csvLines("PCE", 1, time.Millisecond))
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{itchPath, capPath} {
		start := time.Now()
		ss, _ := play(t, []string{path}, PlayerOptions{Speed: 10})
		if el := time.Since(start); el < 180*time.Millisecond {
			t.Errorf("%s: two messages 2 s apart took %v at speed 10, want 0.2 s", filepath.Base(path), el)
		}
		if n := ss.total(); n != 3 {
			t.Errorf("%s: %d events, want 2 and the EndOfStream", filepath.Base(path), n)
		}
	}
}

// TestPlayPauseStep starts paused, steps, pauses again, resumes.
func TestPlayPauseStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(path, csvLines("PSE", 1000, time.Millisecond), 0o600)
	ss := &playSinks{}
	p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: ss.open, Paused: true, Speed: 100})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if n := ss.total(); n != 0 || !p.Progress().Paused {
		t.Fatalf("paused player delivered %d events", n)
	}
	p.Step(3)
	waitFor(t, func() bool { return ss.total() == 3 })
	time.Sleep(30 * time.Millisecond)
	if n := ss.total(); n != 3 {
		t.Fatalf("step 3 delivered %d events", n)
	}
	p.Step(2)
	waitFor(t, func() bool { return ss.total() == 5 })
	p.Resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ev, _ := ss.list()[0].snapshot()
	if len(ev) != 1001 || ev[4].Qty != 5 || ev[999].Qty != 1000 {
		t.Fatalf("%d events after resume", len(ev))
	}
	if pr := p.Progress(); !pr.Done || pr.Paused || pr.Messages != 1000 {
		t.Fatalf("progress %+v", pr)
	}
}

// TestPlayCancel: a paused or sleeping player returns ctx's error.
func TestPlayCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.csv")
	os.WriteFile(path, csvLines("SLW", 10, time.Hour), 0o600)
	ss := &playSinks{}
	p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: ss.open, Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Run(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Run = %v", err)
	}
	ev, closed := ss.list()[0].snapshot()
	if len(ev) != 2 || ev[1].Kind != tick.KindEndOfStream || !closed {
		t.Fatalf("got %d events (closed %v), want the first trade and an EndOfStream", len(ev), closed)
	}
}

// TestPlayFilters keeps From..To and the named symbols only; both ends
// are kept (the trades at From and at To are of kept symbols).
func TestPlayFilters(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	for i := 1; i <= 300; i++ {
		sym := []string{"AAA", "BBB", "CCC"}[i%3]
		b = feed.AppendCSV(b, t0+int64(i)*int64(time.Millisecond), sym, 10e9, int64(i), tick.SideBuy)
	}
	path := filepath.Join(dir, "f.csv")
	os.WriteFile(path, b, 0o600)
	from, to := t0+99*int64(time.Millisecond), t0+200*int64(time.Millisecond)
	syms := tick.NewSymbolTable(8)
	ss, p := play(t, []string{path}, PlayerOptions{Symbols: syms, From: from, To: to, Only: []string{"AAA", "CCC"}})
	ev, _ := ss.list()[0].snapshot()
	var want []int64
	for i := 99; i <= 200; i++ {
		if i%3 != 1 {
			want = append(want, int64(i))
		}
	}
	var got []int64
	for _, e := range ev[:len(ev)-1] {
		got = append(got, e.Qty)
		if n := syms.Name(e.Symbol); n == "BBB" {
			t.Fatal("BBB not filtered")
		}
	}
	if !slices.Equal(got, want) || ev[len(ev)-1].Kind != tick.KindEndOfStream {
		t.Fatalf("kept %v\nwant %v", got, want)
	}
	if pr := p.Progress(); pr.Messages != 300 || pr.Events != uint64(len(want)+1) {
		t.Fatalf("progress %+v", pr)
	}
}

func TestNewPlayerRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.csv")
	os.WriteFile(path, nil, 0o600)
	ss := &playSinks{}
	syms := tick.NewSymbolTable(8)
	for i, c := range []struct {
		in []string
		o  PlayerOptions
	}{
		{nil, PlayerOptions{Symbols: syms, Open: ss.open}},
		{[]string{path}, PlayerOptions{Open: ss.open}},
		{[]string{path}, PlayerOptions{Symbols: syms}},
		{[]string{path}, PlayerOptions{Symbols: syms, Open: ss.open, Speed: -1}},
		{[]string{path}, PlayerOptions{Symbols: syms, Open: ss.open, From: 10, To: 5}},
		{[]string{filepath.Join(dir, "missing")}, PlayerOptions{Symbols: syms, Open: ss.open}},
	} {
		if _, err := NewPlayer(c.in, c.o); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	// From equal to To is one instant, not a mistake.
	if _, err := NewPlayer([]string{path}, PlayerOptions{Symbols: syms, Open: ss.open, From: 5, To: 5}); err != nil {
		t.Errorf("From = To refused: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// closingSink shuts down (Claim gives nil) after a few claims, as an
// engine.Input does when the engine stops.
type closingSink struct {
	playSink
	left int
}

func (s *closingSink) Claim(n int) []tick.Event {
	if s.left == 0 {
		return nil
	}
	s.left--
	return s.playSink.Claim(n)
}

// TestPlaySinkShutdown: when a Sink shuts down the player stops, returns
// nil and still closes every Sink it opened.
func TestPlaySinkShutdown(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, csvLines("AAA", 5000, time.Millisecond), 0o600)
	itchPath := filepath.Join(dir, "b.itch")
	var file []byte
	for _, m := range itchMessages(3000, time.Second) {
		file = itch.AppendFramed(file, m)
	}
	os.WriteFile(itchPath, file, 0o600)
	for _, path := range []string{csvPath, itchPath} {
		var sinks []*closingSink
		open := func(name string) (feed.Sink, error) {
			s := &closingSink{playSink: playSink{name: name}, left: 3}
			sinks = append(sinks, s)
			return s, nil
		}
		p, err := NewPlayer([]string{path, path}, PlayerOptions{Symbols: tick.NewSymbolTable(64), Open: open})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatalf("%s: Run = %v, want nil when the sink shuts down", path, err)
		}
		if len(sinks) != 1 {
			t.Fatalf("%s: %d sinks opened, want 1 (the replay stops at the first)", path, len(sinks))
		}
		ev, closed := sinks[0].snapshot()
		if !closed || len(ev) == 0 || len(ev) > 3*claimBatch {
			t.Fatalf("%s: sink closed %v with %d events", path, closed, len(ev))
		}
	}
}

// TestPlayPauseWhileWaiting pauses a paced replay during its wait for the
// next message: nothing more is played until Resume.
func TestPlayPauseWhileWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gap.csv")
	var b []byte
	b = feed.AppendCSV(b, t0, "GAP", 1e9, 1, tick.SideBuy)
	b = feed.AppendCSV(b, t0+int64(time.Millisecond), "GAP", 1e9, 2, tick.SideBuy)
	b = feed.AppendCSV(b, t0+int64(200*time.Millisecond), "GAP", 1e9, 3, tick.SideBuy)
	os.WriteFile(path, b, 0o600)
	ss := &playSinks{}
	p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: ss.open, Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	waitFor(t, func() bool { return ss.total() == 2 }) // the third is 200 ms away
	p.Pause()
	time.Sleep(300 * time.Millisecond)
	if n := ss.total(); n != 2 {
		t.Fatalf("paused during the wait, yet %d events were played", n)
	}
	p.Resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := ss.total(); n != 4 {
		t.Fatalf("%d events after resume, want 3 + EndOfStream", n)
	}
}

// corruptCapture writes lines as a CSV capture of one source in 4 KiB
// blocks and flips a byte at each 1/parts of the file but its ends: parts-1
// corrupt blocks in the middle.
func corruptCapture(t *testing.T, lines []byte, parts int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.tcap")
	w, err := Create(path, WriterOptions{Format: "csv", BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(1, "tail a")
	for i, c := range chunks(lines, 3) {
		w.Data(1, t0+int64(i), c)
	}
	w.Close(1, t0+1e9)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < parts; i++ {
		b[i*len(b)/parts] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlayReportsCorruptBlock: a block corrupted in the middle of a
// capture (found while reading, not at open) is reported through OnError,
// and the blocks after it still play.
func TestPlayReportsCorruptBlock(t *testing.T) {
	path := corruptCapture(t, csvLines("AAA", 5000, time.Millisecond), 2)
	var mu sync.Mutex
	var damaged []error
	ss, _ := play(t, []string{path}, PlayerOptions{OnError: func(_ string, off int64, _ uint64, err error) {
		if errors.Is(err, ErrCorrupt) && off > 0 {
			mu.Lock()
			damaged = append(damaged, err)
			mu.Unlock()
		}
	}})
	if len(damaged) != 1 {
		t.Fatalf("%d corrupt-block reports, want 1: %v", len(damaged), damaged)
	}
	if n := ss.total(); n < 4000 || n >= 5001 {
		t.Fatalf("%d events played around one lost 4 KiB block of 5000 lines", n)
	}
}

// TestPlayCountsDamageAndRejects: every damaged block of a capture goes to
// OnDamage once, with its offset, and is counted; so are the lines the
// decoders reject.
func TestPlayCountsDamageAndRejects(t *testing.T) {
	path := corruptCapture(t, append(csvLines("AAA", 5000, time.Millisecond), "bad line\nworse,line\n"...), 3)
	var offsets []int64
	_, p := play(t, []string{path}, PlayerOptions{OnDamage: func(f string, d Damage) {
		if f != path || !errors.Is(d.Err, ErrCorrupt) {
			t.Errorf("damage %s %v", f, d)
		}
		offsets = append(offsets, d.Offset)
	}})
	if len(offsets) != 2 || offsets[0] == offsets[1] {
		t.Fatalf("damage reported at %v, want two blocks", offsets)
	}
	// A lost block cuts a line or two: they are rejected too.
	if pr := p.Progress(); pr.Damaged != 2 || pr.Rejected < 2 || pr.Rejected > 6 {
		t.Fatalf("progress counts %d damaged blocks and %d rejected lines, want 2 and the 2 bad lines and any cut by the damage", pr.Damaged, pr.Rejected)
	}
}

// TestPlayGzipTextFiles: CSV, JSON and native files play gzipped as plain.
func TestPlayGzipTextFiles(t *testing.T) {
	dir := t.TempDir()
	var js []byte
	for i := 1; i <= 100; i++ {
		js = feed.AppendJSON(js, t0+int64(i), "JSN", 5e9, int64(i), tick.SideSell)
	}
	for _, c := range []struct {
		name string
		f    feed.Format
		data []byte
	}{{"a.csv.gz", feed.FormatCSV, csvLines("CSV", 300, time.Millisecond)}, {"b.json.gz", feed.FormatJSON, js}, {"c.native.gz", feed.FormatNative, nativeStream("NAT", 500, time.Microsecond, true)}} {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(c.data)
		zw.Close()
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, gz.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		syms := tick.NewSymbolTable(64)
		ss, p := play(t, []string{path}, PlayerOptions{Symbols: syms})
		want := decodeStream(t, c.f, syms, 1, c.data)
		got, _ := ss.list()[0].snapshot()
		if len(got) < len(want) || !slices.Equal(noRecv(got[:len(want)]), noRecv(want)) || p.Progress().Rejected != 0 {
			t.Errorf("%s: %d events, want %d (or they differ); %d rejected", c.name, len(got), len(want), p.Progress().Rejected)
		}
	}
}

// TestPlayGzipTextFileCutShort: a gzipped tick file whose gzip stream ends
// early (a partial copy) fails naming the file and why, and what of it was
// played, not with a bare "unexpected EOF"; what precedes the cut plays.
func TestPlayGzipTextFileCutShort(t *testing.T) {
	data := csvLines("CSV", 20000, time.Millisecond)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	path := filepath.Join(t.TempDir(), "a.csv.gz")
	if err := os.WriteFile(path, gz.Bytes()[:gz.Len()/2], 0o600); err != nil {
		t.Fatal(err)
	}
	ss := &playSinks{}
	p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: tick.NewSymbolTable(64), Open: ss.open})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	if !errors.Is(err, ErrGzipTruncated) || !strings.HasPrefix(err.Error(), "replay: "+path+": gzip stream ends early: the compressed file is truncated (its first ") {
		t.Fatalf("%v, want the file and ErrGzipTruncated", err)
	}
	if got, _ := ss.list()[0].snapshot(); len(got) == 0 {
		t.Error("nothing before the cut played")
	}
}

// TestPlayGzipTextFileTrailingGarbage: a whole gzip file with a byte or a
// few after it (a newline appended) plays whole, its unterminated last
// line too, and fails on those bytes as trailing garbage, not as a file
// cut short; two gzip members, one after the other, play as one file.
func TestPlayGzipTextFileTrailingGarbage(t *testing.T) {
	data := csvLines("CSV", 2000, time.Millisecond)
	member := func(b []byte) []byte {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(b)
		zw.Close()
		return gz.Bytes()
	}
	half := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	for _, c := range []struct {
		name    string
		file    []byte
		wantErr error
	}{
		{"newline after", append(member(data), '\n'), ErrGzipTrailingGarbage},
		{"nine bytes after", append(member(data), "123456789"...), ErrGzipTrailingGarbage},
		{"newline after an unterminated last line", append(member(data[:len(data)-1]), '\n'), ErrGzipTrailingGarbage},
		{"two members", append(member(data[:half]), member(data[half:])...), nil},
	} {
		path := filepath.Join(t.TempDir(), "a.csv.gz")
		if err := os.WriteFile(path, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		ss := &playSinks{}
		p, err := NewPlayer([]string{path}, PlayerOptions{Symbols: tick.NewSymbolTable(64), Open: ss.open})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); !errors.Is(err, c.wantErr) || errors.Is(err, ErrGzipTruncated) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
		got, _ := ss.list()[0].snapshot()
		if trades := countKind(got, tick.KindTrade); trades != 2000 {
			t.Errorf("%s: %d trades played, want the file's 2000", c.name, trades)
		}
	}
}

// TestDetectInputDirectory: a directory is refused, pointing at its captures.
func TestDetectInputDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := DetectInput(dir)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), filepath.Join(dir, "*.cap")) {
		t.Fatalf("DetectInput(dir) = %v", err)
	}
	if _, err := NewPlayer([]string{dir}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: (&playSinks{}).open}); err == nil {
		t.Fatal("NewPlayer took a directory")
	}
}

// TestDetectInputIndex: a capture's sidecar index, which DIR/* passes along
// with the captures, is refused by its magic, pointing at the captures; it
// is not played as an ITCH file.
func TestDetectInputIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.cap")
	w := writeCapture(t, path, []Record{{Kind: KindOpen, Source: 1, Name: "s"}, {Kind: KindData, Source: 1, Recv: t0, Bytes: []byte("x")}},
		WriterOptions{Format: "native"})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	_, err := DetectInput(indexPath(path))
	if err == nil || !strings.Contains(err.Error(), "is the sidecar index of a capture") ||
		!strings.Contains(err.Error(), filepath.Join(filepath.Dir(path), "*.cap")) {
		t.Fatalf("DetectInput(%s) = %v", indexPath(path), err)
	}
	if _, err := NewPlayer([]string{path, indexPath(path)}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: (&playSinks{}).open}); err == nil {
		t.Fatal("NewPlayer took an index file")
	}
}

// TestDetectInputGzippedCapture: a capture or its index gzipped (for an
// archive) is refused by the magic it holds, saying to gunzip it: it was
// taken for an ITCH file, whose framing it lost at offset 0, and played
// nothing.
func TestDetectInputGzippedCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.cap")
	w := writeCapture(t, path, []Record{{Kind: KindOpen, Source: 1, Name: "s"}, {Kind: KindData, Source: 1, Recv: t0, Bytes: []byte("x")}},
		WriterOptions{Format: "native"})
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, indexPath(path)} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(b)
		zw.Close()
		if err := os.WriteFile(f+".gz", gz.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := DetectInput(f + ".gz"); !errors.Is(err, ErrGzippedCapture) || !strings.Contains(err.Error(), f+".gz") {
			t.Errorf("DetectInput(%s.gz) = %v, want ErrGzippedCapture naming it", f, err)
		}
		if _, err := NewPlayer([]string{f + ".gz"}, PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: (&playSinks{}).open}); err == nil {
			t.Errorf("NewPlayer took %s.gz", f)
		}
	}
}

// TestPlayerRefusesCapturesOutOfOrder: one directory's captures (one
// recorder's rotated files) given out of recording order, or twice, are
// refused before anything plays, naming both files; each file's sources
// would otherwise not go on from the file before. Captures of different
// directories may come in any order.
func TestPlayerRefusesCapturesOutOfOrder(t *testing.T) {
	capture := func(dir string, start time.Time) string {
		path := filepath.Join(dir, start.UTC().Format("tickd-20060102T150405.000000000.cap"))
		w := writeCapture(t, path, []Record{{Kind: KindOpen, Source: 1, Name: "s"}}, WriterOptions{Format: "native", Start: start})
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	dir, other := t.TempDir(), t.TempDir()
	start := time.Unix(0, t0)
	a, b := capture(dir, start), capture(dir, start.Add(time.Second))
	elsewhere := capture(other, start.Add(-time.Hour))
	opts := PlayerOptions{Symbols: tick.NewSymbolTable(8), Open: (&playSinks{}).open}
	for _, c := range []struct {
		inputs []string
		bad    bool
	}{
		{[]string{a, b}, false},
		{[]string{a, b, elsewhere}, false},
		{[]string{b, a}, true},
		{[]string{a, b, a}, true},
		{[]string{a, a}, true},
	} {
		_, err := NewPlayer(c.inputs, opts)
		if !c.bad {
			if err != nil {
				t.Errorf("%v: %v", c.inputs, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "is given after") || !strings.Contains(err.Error(), "in name order") {
			t.Errorf("%v: %v, want captures out of order refused", c.inputs, err)
		}
	}
}

// TestPlayCaptureMaxAhead: with MaxAhead, a capture's tick whose event
// time is more than MaxAhead past the receive time recorded with its read
// is rejected, as the live session's decoder (feed.Options.MaxAhead)
// rejected it, though it lies in the past of the replay's own clock; a line
// split across two reads is checked against the second's receive time, as
// live. A CSV file, which has no receive times, is taken as it is.
func TestPlayCaptureMaxAhead(t *testing.T) {
	dir := t.TempDir()
	line := func(ts int64, qty int64) []byte {
		return feed.AppendCSV(nil, ts, "AHD", 100*tick.PriceScale, qty, tick.SideBuy)
	}
	split := line(t0+9*int64(time.Hour), 4)
	capPath := filepath.Join(dir, "ahead.cap")
	w, err := Create(capPath, WriterOptions{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(1, "tail")
	w.Data(1, t0, line(t0+int64(time.Second), 1))
	w.Data(1, t0+1000, line(t0+2*int64(time.Hour), 2)) // 2 h past its read
	w.Data(1, t0+3*int64(time.Hour), line(t0+3*int64(time.Hour), 3))
	w.Data(1, t0+3*int64(time.Hour)+1, split[:10])
	w.Data(1, t0+10*int64(time.Hour), split[10:]) // decoded with this read: 1 h before it
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	filePath := filepath.Join(dir, "future.csv") // year 2262: far past any clock
	if err := os.WriteFile(filePath, line(math.MaxInt64-1, 7), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		maxAhead time.Duration
		want     []int64
	}{
		{capPath, time.Hour, []int64{1, 3, 4}},
		{capPath, 0, []int64{1, 2, 3, 4}},
		{filePath, time.Hour, []int64{7}},
	} {
		var rs []error
		ss, p := play(t, []string{c.path}, PlayerOptions{MaxAhead: c.maxAhead,
			OnError: func(_ string, _ int64, _ uint64, err error) { rs = append(rs, err) }})
		var got []int64
		for _, s := range ss.list() {
			ev, _ := s.snapshot()
			for _, e := range ev {
				if e.Kind == tick.KindTrade {
					got = append(got, e.Qty)
				}
			}
		}
		wantRejected := len([]int64{1, 2, 3, 4}) - len(c.want)
		if c.path == filePath {
			wantRejected = 0
		}
		if !slices.Equal(got, c.want) || p.Progress().Rejected != uint64(wantRejected) || len(rs) != wantRejected {
			t.Fatalf("%s, MaxAhead %v: qtys %v, rejected %d %v; want %v", filepath.Base(c.path), c.maxAhead, got, p.Progress().Rejected, rs, c.want)
		}
		for _, err := range rs {
			if !errors.Is(err, feed.ReasonTimeAhead) {
				t.Fatalf("report %v, want %v", err, feed.ReasonTimeAhead)
			}
		}
	}
}

// countKind is how many of evs are of kind k.
func countKind(evs []tick.Event, k tick.Kind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}
