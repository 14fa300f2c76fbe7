package feed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/feed/mold"
	"github.com/tickd/tickd/feed/soupbin"
	"github.com/tickd/tickd/tick"
)

const itchSourceID = 7

// itchSession builds a small but complete ITCH day: system events, a stock
// directory of three symbols, then rounds of adds, executes, cancels,
// replaces, deletes, trades and an ignored type, and the end-of-messages
// system event.
func itchSession(rounds int) [][]byte {
	var msgs [][]byte
	ts := uint64(9 * 3600 * 1e9)
	h := func(loc uint16) itch.Header { ts += 1000; return itch.Header{Locate: loc, Timestamp: ts} }
	add := func(b []byte) { msgs = append(msgs, b) }
	add(itch.AppendSystemEvent(nil, itch.SystemEvent{Header: h(0), EventCode: 'O'}))
	names := []string{"AAPL", "MSFT", "SPY"}
	for i, n := range names {
		add(itch.AppendStockDirectory(nil, itch.StockDirectory{Header: h(uint16(i + 1)), Stock: itch.MakeStock(n), RoundLotSize: 100}))
	}
	add(itch.AppendSystemEvent(nil, itch.SystemEvent{Header: h(0), EventCode: 'Q'}))
	ref := uint64(1000)
	for r := range rounds {
		loc := uint16(r%3 + 1)
		stock := itch.MakeStock(names[loc-1])
		px := tick.Price(int64(100+r%50) * 1e9)
		a, b := ref, ref+1
		ref += 3
		add(itch.AppendAddOrder(nil, itch.AddOrder{Header: h(loc), OrderRef: a, Side: 'B', Shares: 300, Stock: stock, Price: px}))
		add(itch.AppendAddOrder(nil, itch.AddOrder{Header: h(loc), OrderRef: b, Side: 'S', Shares: 200, Stock: stock, Price: px + 1e7}))
		add(itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: h(loc), OrderRef: a, Shares: 100, Match: uint64(r + 1)}))
		add(itch.AppendOrderCancel(nil, itch.OrderCancel{Header: h(loc), OrderRef: a, Shares: 50}))
		add(itch.AppendRegSHORestriction(nil, itch.RegSHORestriction{Header: h(loc), Stock: stock, RegSHOAction: '0'})) // ignored
		add(itch.AppendOrderReplace(nil, itch.OrderReplace{Header: h(loc), OrigRef: b, NewRef: b + 1, Shares: 150, Price: px + 2e7}))
		add(itch.AppendTrade(nil, itch.Trade{Header: h(loc), Side: 'B', Shares: 10, Stock: stock, Price: px, Match: uint64(1e6 + r)}))
		add(itch.AppendOrderDelete(nil, itch.OrderDelete{Header: h(loc), OrderRef: a}))
	}
	add(itch.AppendSystemEvent(nil, itch.SystemEvent{Header: h(0), EventCode: 'C'}))
	return msgs
}

// itchWant decodes msgs (numbered from 1) with a fresh Decoder, skipping the
// sequences in lost: what RunITCH must deliver, before its EndOfStream.
// TsRecv is zeroed: it is the arrival time.
func itchWant(t testing.TB, msgs [][]byte, lost func(seq uint64) bool) []tick.Event {
	t.Helper()
	d, err := itch.NewDecoder(itch.Options{Symbols: tick.NewSymbolTable(64), Source: itchSourceID})
	if err != nil {
		t.Fatal(err)
	}
	var out []tick.Event
	for i, m := range msgs {
		seq := uint64(i + 1)
		if lost != nil && lost(seq) {
			continue
		}
		var ev tick.Event
		if ok, _ := d.Decode(m, &ev); ok {
			ev.Seq, ev.TsRecv = seq, 0
			out = append(out, ev)
		}
	}
	return out
}

// checkITCHEvents compares what a sink got with want plus one EndOfStream.
func checkITCHEvents(t *testing.T, s *testSink, want []tick.Event, endSeq uint64) {
	t.Helper()
	got, closed := s.snapshot()
	if !closed {
		t.Error("sink not closed")
	}
	if len(got) != len(want)+1 {
		t.Fatalf("got %d events, want %d + EndOfStream", len(got), len(want))
	}
	for i := range want {
		g := got[i]
		if g.TsRecv == 0 {
			t.Fatalf("event %d: TsRecv not stamped", i)
		}
		g.TsRecv = 0
		if g != want[i] {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}
	if e := got[len(got)-1]; e.Kind != tick.KindEndOfStream || e.Seq != endSeq || e.Source != itchSourceID || e.TsEvent != want[len(want)-1].TsEvent {
		t.Fatalf("last event %+v, want EndOfStream at seq %d", e, endSeq)
	}
}

// errLog records OnError reports.
type errLog struct {
	mu   sync.Mutex
	errs []errReport
}

type errReport struct {
	source string
	off    int64
	seq    uint64
	err    error
}

func (l *errLog) onError(source string, off int64, seq uint64, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, errReport{source: source, off: off, seq: seq, err: err})
	l.mu.Unlock()
}

func (l *errLog) list() []errReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]errReport(nil), l.errs...)
}

// soupRig is a SoupBinTCP exchange on 127.0.0.1 serving a Store.
type soupRig struct {
	store *soupbin.Store
	srv   *soupbin.Server
	creds string // credentials file for the client
}

func newSoupRig(t *testing.T) *soupRig {
	t.Helper()
	st := soupbin.NewStore()
	srv, err := soupbin.NewServer(soupbin.ServerOptions{Store: st, Credentials: soupbin.Credentials{Username: "tickd", Password: "s3cret", Session: "ITCH1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("soupbin Serve: %v", err)
		}
	})
	creds := filepath.Join(t.TempDir(), "soup.creds")
	if err := os.WriteFile(creds, []byte("# test\nusername=tickd\npassword=s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &soupRig{store: st, srv: srv, creds: creds}
}

func itchOpts(l *errLog, reg *Registry) Options {
	return Options{Symbols: tick.NewSymbolTable(64), OnError: l.onError, Stats: reg,
		SourceID: func(string) uint16 { return itchSourceID }, ReconnectMin: 5 * time.Millisecond, ReconnectMax: 50 * time.Millisecond}
}

// runITCH starts RunITCH on rawURL; wait returns its result.
func runITCH(t *testing.T, ctx context.Context, rawURL string, ss *sinks, o Options) (wait func() error) {
	t.Helper()
	cfg, err := ParseITCHURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- RunITCH(ctx, cfg, ss.open, o) }()
	return func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("RunITCH did not return")
			return nil
		}
	}
}

func TestITCHSoupBin(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(40)
	for _, m := range msgs {
		r.store.Append(m)
	}
	r.store.End()
	// Credentials from the environment this time.
	t.Setenv(SoupBinEnvPrefix+"USERNAME", "tickd")
	t.Setenv(SoupBinEnvPrefix+"PASSWORD", "s3cret")
	t.Setenv(SoupBinEnvPrefix+"SESSION", "")
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	wait := runITCH(t, context.Background(), "soupbin://"+r.srv.Addr().String(), &ss, itchOpts(&log, &reg))
	if err := wait(); err != nil {
		t.Fatalf("RunITCH = %v, want nil at end of session", err)
	}
	if l := ss.list(); len(l) != 1 || l[0].name != "soupbin "+r.srv.Addr().String() {
		t.Fatalf("sinks %v, want one named after the server", len(l))
	}
	want := itchWant(t, msgs, nil)
	checkITCHEvents(t, ss.list()[0], want, uint64(len(msgs))+1)
	if errs := log.list(); len(errs) != 0 {
		t.Fatalf("errors reported: %v", errs)
	}
	tot := reg.Total()
	if tot.Frames != uint64(len(msgs)) || tot.Events != uint64(len(want))+1 || tot.Errors != 0 || tot.Gaps != 0 || tot.Bytes == 0 {
		t.Fatalf("stats %+v", tot)
	}
	if live, ended := reg.Sources(); len(live) != 0 || ended != 1 {
		t.Fatalf("registry: %d live, %d ended; want 0, 1", len(live), ended)
	}
}

func TestITCHSoupBinReconnect(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(300)
	third := len(msgs) / 3
	for _, m := range msgs[:third] {
		r.store.Append(m)
	}
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	wait := runITCH(t, context.Background(), "soupbin://"+r.srv.Addr().String()+"?creds="+r.creds+"&session=ITCH1", &ss, itchOpts(&log, &reg))
	// waitFor polls until the sink holds n events.
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if l := ss.list(); len(l) == 1 {
				if got, _ := l[0].snapshot(); len(got) >= n {
					return
				}
			}
		}
		t.Fatalf("sink did not reach %d events", n)
	}
	want := itchWant(t, msgs, nil)
	waitFor(len(itchWant(t, msgs[:third], nil)))
	r.srv.DropConnections() // between bursts
	for i, m := range msgs[third:] {
		r.store.Append(m)
		if i == third/2 {
			r.srv.DropConnections() // mid-stream
		}
	}
	r.store.End()
	if err := wait(); err != nil {
		t.Fatalf("RunITCH = %v", err)
	}
	if len(ss.list()) != 1 {
		t.Fatalf("%d sinks opened, want 1 across reconnects", len(ss.list()))
	}
	checkITCHEvents(t, ss.list()[0], want, uint64(len(msgs))+1)
	disc := 0
	for _, e := range log.list() {
		if !strings.Contains(e.err.Error(), "disconnected, reconnecting") {
			t.Errorf("unexpected report %+v", e)
		}
		disc++
	}
	if disc == 0 {
		t.Error("no disconnect reported")
	}
	if tot := reg.Total(); tot.Frames != uint64(len(msgs)) || tot.Gaps != 0 || tot.Errors != 0 {
		t.Fatalf("stats %+v", tot)
	}
}

func TestITCHSoupBinBadMessages(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(10)
	unknown := append([]byte{'z'}, make([]byte, 10)...)
	full := itch.AppendAddOrder(nil, itch.AddOrder{Header: itch.Header{Locate: 1, Timestamp: 1}, OrderRef: 9, Side: 'B', Shares: 1, Stock: itch.MakeStock("AAPL"), Price: 1e9})
	truncated := full[:20]
	badSide := append([]byte(nil), full...)
	badSide[19] = 'Q'
	mismatch := itch.AppendAddOrder(nil, itch.AddOrder{Header: itch.Header{Locate: 1, Timestamp: 1}, OrderRef: 9, Side: 'B', Shares: 1, Stock: itch.MakeStock("MSFT"), Price: 1e9})
	// Insert after the directory, at sequences 10, 20, 21 and 22.
	msgs = append(msgs[:9], append([][]byte{unknown}, msgs[9:]...)...)
	msgs = append(msgs[:19], append([][]byte{truncated, badSide, mismatch}, msgs[19:]...)...)
	for _, m := range msgs {
		r.store.Append(m)
	}
	r.store.End()
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	wait := runITCH(t, context.Background(), "soupbin://"+r.srv.Addr().String()+"?creds="+r.creds, &ss, itchOpts(&log, &reg))
	if err := wait(); err != nil {
		t.Fatalf("RunITCH = %v", err)
	}
	checkITCHEvents(t, ss.list()[0], itchWant(t, msgs, nil), uint64(len(msgs))+1)
	errs := log.list()
	wantErrs := []struct {
		seq uint64
		err error
	}{{10, itch.ReasonUnknownType}, {20, itch.ReasonBadLength}, {21, itch.ReasonBadSide}, {22, itch.ReasonStockMismatch}}
	if len(errs) != len(wantErrs) {
		t.Fatalf("reports %+v, want %d", errs, len(wantErrs))
	}
	for i, w := range wantErrs {
		e := errs[i]
		if e.source != "soupbin "+r.srv.Addr().String() || e.seq != w.seq || e.off != int64(w.seq) || !errors.Is(e.err, w.err) {
			t.Errorf("report %d = %+v, want seq %d %v", i, e, w.seq, w.err)
		}
	}
	// The mismatch names its locate and both stocks (AAPL has locate 1).
	var sm *itch.StockMismatchError
	if !errors.As(errs[3].err, &sm) || *sm != (itch.StockMismatchError{Type: 'A', Locate: 1, Stock: "MSFT", Announced: "AAPL"}) {
		t.Errorf("stock mismatch reported as %v, want it to name locate 1, MSFT and AAPL", errs[3].err)
	}
	tot := reg.Total()
	if tot.Errors != 4 || tot.ByReason[ReasonUnknownType] != 1 || tot.ByReason[ReasonBadLength] != 1 || tot.ByReason[ReasonBadSide] != 1 ||
		tot.ByReason[ReasonStockMismatch] != 1 || tot.Frames != uint64(len(msgs)) {
		t.Fatalf("stats %+v", tot)
	}
}

func TestITCHSoupBinCancel(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(5)
	for _, m := range msgs {
		r.store.Append(m)
	}
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	ctx, cancel := context.WithCancel(context.Background())
	wait := runITCH(t, ctx, "soupbin://"+r.srv.Addr().String()+"?creds="+r.creds, &ss, itchOpts(&log, &reg))
	want := itchWant(t, msgs, nil)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if l := ss.list(); len(l) == 1 {
			if got, _ := l[0].snapshot(); len(got) == len(want) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("events did not arrive")
		}
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("RunITCH after cancel = %v, want nil", err)
	}
	got, closed := ss.list()[0].snapshot()
	if !closed || len(got) != len(want) || got[len(got)-1].Kind == tick.KindEndOfStream {
		t.Fatalf("closed %v, %d events (want %d, no EndOfStream)", closed, len(got), len(want))
	}
}

func TestITCHSoupBinBadCredentials(t *testing.T) {
	r := newSoupRig(t)
	var ss sinks
	var log errLog
	// No creds file and no environment: fails before anything is opened.
	t.Setenv(SoupBinEnvPrefix+"USERNAME", "")
	cfg, err := ParseITCHURL("soupbin://" + r.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	err = RunITCH(context.Background(), cfg, ss.open, itchOpts(&log, nil))
	if err == nil || !strings.Contains(err.Error(), SoupBinEnvPrefix+"USERNAME") || len(ss.list()) != 0 {
		t.Fatalf("RunITCH without credentials = %v, %d sinks", err, len(ss.list()))
	}
	// Wrong password: the login is rejected, the sink closed, no retry.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("username=tickd\npassword=wrong\n"), 0o600)
	cfg.CredsFile = bad
	err = RunITCH(context.Background(), cfg, ss.open, itchOpts(&log, nil))
	var rej *soupbin.LoginRejectedError
	if !errors.As(err, &rej) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("RunITCH with a bad password = %v", err)
	}
	if l := ss.list(); len(l) != 1 {
		t.Fatal("sink not opened once")
	} else if _, closed := l[0].snapshot(); !closed {
		t.Fatal("sink not closed")
	}
}

// freeUDP returns a 127.0.0.1 port nothing listens on right now.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// hideStore hides sequences from..to from a rewind server.
type hideStore struct {
	mold.Store
	from, to uint64
}

func (h hideStore) Message(seq uint64) ([]byte, bool) {
	if seq >= h.from && seq <= h.to {
		return nil, false
	}
	return h.Store.Message(seq)
}

// runMold publishes msgs over MoldUDP64 with drop deciding lost packets
// (recovered from a rewind server that does not know the sequences hidden
// covers) into RunITCH, and returns after the end of the session.
func runMold(t *testing.T, msgs [][]byte, drop func(uint64, int) bool, hidden [2]uint64, log *errLog, reg *Registry) *testSink {
	t.Helper()
	const session = "ITCH01"
	store := soupbin.NewStore()
	for _, m := range msgs {
		store.Append(m)
	}
	rs, err := mold.NewRewindServer(mold.RewindOptions{Session: session, Store: hideStore{store, hidden[0], hidden[1]}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rsDone := make(chan error, 1)
	go func() { rsDone <- rs.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-rsDone; err != nil {
			t.Errorf("rewind Serve: %v", err)
		}
	}()
	line := freeUDP(t)
	cfg, err := ParseITCHURL("mold://" + line + "?rewind=" + rs.Addr().String() + "&session=" + session + "&seq=1")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var s *testSink
	open := func(name string) (Sink, error) {
		if name != "mold "+line {
			t.Errorf("source name %q", name)
		}
		s = &testSink{name: name, maxClaim: 5} // short claims: batches span several claims
		close(ready)
		return s, nil
	}
	done := make(chan error, 1)
	go func() { done <- RunITCH(context.Background(), cfg, open, itchOpts(log, reg)) }()
	select {
	case <-ready: // the line is bound
	case err := <-done:
		t.Fatalf("RunITCH = %v before opening its sink", err)
	}
	snd, err := mold.NewSender(mold.SenderOptions{Session: session, Addr: line, MaxPacket: 150, Drop: drop})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	for i, m := range msgs {
		if _, err := snd.Add(m); err != nil {
			t.Fatal(err)
		}
		if i%40 == 39 {
			time.Sleep(time.Millisecond) // pace: the kernel's buffer is not what should drop
		}
	}
	if err := snd.End(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunITCH = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("RunITCH did not end")
	}
	return s
}

func TestITCHMoldRecovers(t *testing.T) {
	msgs := itchSession(120)
	drops := 0
	drop := func(seq uint64, _ int) bool {
		if seq%5 == 1 || seq+20 > uint64(len(msgs)) { // scattered, and the tail
			drops++
			return true
		}
		return false
	}
	var (
		log errLog
		reg Registry
	)
	s := runMold(t, msgs, drop, [2]uint64{}, &log, &reg)
	if drops == 0 {
		t.Fatal("no packet dropped")
	}
	checkITCHEvents(t, s, itchWant(t, msgs, nil), uint64(len(msgs))+1)
	if errs := log.list(); len(errs) != 0 {
		t.Fatalf("reports %+v", errs)
	}
	if tot := reg.Total(); tot.Frames != uint64(len(msgs)) || tot.Gaps != 0 || tot.Missed != 0 || tot.Errors != 0 {
		t.Fatalf("stats %+v", tot)
	}
}

func TestITCHMoldGap(t *testing.T) {
	msgs := itchSession(30)
	const from, to = 40, 49
	drop := func(seq uint64, n int) bool { return seq <= to && seq+uint64(n) > from }
	var (
		log errLog
		reg Registry
	)
	s := runMold(t, msgs, drop, [2]uint64{from, to}, &log, &reg)
	// The rest of the dropped packets may be given up with 40..49: the
	// reported span says what was lost.
	errs := log.list()
	if len(errs) != 1 {
		t.Fatalf("reports %+v, want one gap", errs)
	}
	var ge *ITCHGapError
	if !errors.As(errs[0].err, &ge) || ge.First > from || ge.Last < to || errs[0].seq != ge.First || errs[0].source != s.name {
		t.Fatalf("report %+v, want a gap covering %d..%d", errs[0], from, to)
	}
	if !strings.Contains(ge.Error(), fmt.Sprintf("%d..%d lost", ge.First, ge.Last)) {
		t.Fatalf("gap error text %q", ge.Error())
	}
	lost := func(seq uint64) bool { return seq >= ge.First && seq <= ge.Last }
	checkITCHEvents(t, s, itchWant(t, msgs, lost), uint64(len(msgs))+1)
	if tot := reg.Total(); tot.Gaps != 1 || tot.Missed != ge.Last-ge.First+1 || tot.Frames != uint64(len(msgs))-tot.Missed {
		t.Fatalf("stats %+v", tot)
	}
}

func TestParseITCHURL(t *testing.T) {
	good := []struct {
		url  string
		want ITCHSourceConfig
	}{
		{"soupbin://127.0.0.1:9000", ITCHSourceConfig{Transport: "soupbin", Addr: "127.0.0.1:9000", Seq: 1}},
		{"soupbin://itch.example.com:26400?session=S0101&seq=0&creds=/etc/tickd/soup",
			ITCHSourceConfig{Transport: "soupbin", Addr: "itch.example.com:26400", Session: "S0101", Seq: 0, CredsFile: "/etc/tickd/soup"}},
		{"soupbin://[::1]:9000/", ITCHSourceConfig{Transport: "soupbin", Addr: "[::1]:9000", Seq: 1}},
		{"mold://239.1.1.1:26400", ITCHSourceConfig{Transport: "mold", Addr: "239.1.1.1:26400"}},
		{"mold://239.1.1.1:26400?b=239.1.1.2:26400&iface=eth1&rewind=10.0.0.5:26401&session=ITCH01&seq=7",
			ITCHSourceConfig{Transport: "mold", Addr: "239.1.1.1:26400", B: "239.1.1.2:26400", Iface: "eth1", Rewind: "10.0.0.5:26401", Session: "ITCH01", Seq: 7}},
	}
	for _, g := range good {
		c, err := ParseITCHURL(g.url)
		if err != nil || c != g.want {
			t.Errorf("ParseITCHURL(%q) = %+v, %v; want %+v", g.url, c, err, g.want)
			continue
		}
		if back, err := ParseITCHURL(c.String()); err != nil || back != c {
			t.Errorf("round trip of %q via %q = %+v, %v", g.url, c.String(), back, err)
		}
	}
	bad := []struct{ url, msg string }{
		{"soupbin://user:hunter2@127.0.0.1:9000", "must not carry user:password"},
		{"soupbin://user@127.0.0.1:9000", "must not carry user:password"},
		{"tcp://127.0.0.1:9000", "unknown scheme"},
		{"127.0.0.1:9000", "not a valid URL"},
		{"soupbin://u:hunter2@[::1", "not a valid URL"},
		{"", "unknown scheme"},
		{"soupbin://127.0.0.1", "HOST:PORT"},
		{"soupbin://:9000", "missing host"},
		{"soupbin://127.0.0.1:0", "bad port"},
		{"soupbin://127.0.0.1:99999", "bad port"},
		{"soupbin://127.0.0.1:9000/feed", "nothing after the port"},
		{"soupbin://127.0.0.1:9000?seq=-1", "not a sequence number"},
		{"soupbin://127.0.0.1:9000?session=ELEVENCHARS", "at most 10"},
		{"soupbin://127.0.0.1:9000?rewind=1.2.3.4:5", "unknown option"},
		{"soupbin://127.0.0.1:9000?password=x", "unknown option"},
		{"soupbin://127.0.0.1:9000?seq=1&seq=2", "exactly one"},
		{"mold://239.1.1.1:26400?creds=/x", "unknown option"},
		{"mold://239.1.1.1:26400?b=239.1.1.2", "b: want HOST:PORT"},
		{"mold://239.1.1.1:26400?rewind=", "exactly one non-empty"},
	}
	for _, b := range bad {
		_, err := ParseITCHURL(b.url)
		if err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("ParseITCHURL(%q) = %v, want an error with %q", b.url, err, b.msg)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// itchBench builds a session's handler state over a preallocated sink.
func itchBench(t testing.TB) (*itchRun, *discardSink, [][]byte) {
	o, err := Options{Symbols: tick.NewSymbolTable(64)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := &discardSink{slots: make([]tick.Event, maxClaim)}
	r := &itchRun{name: "bench", o: &o, sink: s, stop: func() {}}
	r.ctrs = o.Stats.register("bench", nil, 0)
	if r.dec, err = itch.NewDecoder(itch.Options{Symbols: o.Symbols}); err != nil {
		t.Fatal(err)
	}
	msgs := itchSession(200)
	for i, m := range msgs[:5] { // the directory: interning is once per name, not steady state
		r.handle(uint64(i+1), m)
	}
	r.batchEnd()
	return r, s, msgs[5:]
}

// perPacket is how many messages one SoupBin read or Mold datagram carries
// in the benchmarks (~1400 bytes of mixed messages).
const perPacket = 40

func TestITCHHandlerNoAlloc(t *testing.T) {
	r, s, msgs := itchBench(t)
	seq := uint64(100)
	allocs := testing.AllocsPerRun(50, func() {
		for i, m := range msgs {
			seq++
			r.handle(seq, m)
			if i%perPacket == perPacket-1 {
				r.batchEnd()
			}
		}
		r.batchEnd()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per session pass, want 0", allocs)
	}
	if s.n == 0 || r.stats.Errors != 0 {
		t.Fatalf("sink got %d events, %d errors", s.n, r.stats.Errors)
	}
}

// BenchmarkITCHHandler is RunITCH's per-message path: decode in place into a
// claimed slot, commit once per packet.
func BenchmarkITCHHandler(b *testing.B) {
	r, s, msgs := itchBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.handle(uint64(i+100), msgs[i%len(msgs)])
		if i%perPacket == perPacket-1 {
			r.batchEnd()
		}
	}
	r.batchEnd()
	sinkN = s.n
}

// BenchmarkITCHChannelBaseline is the naive path for comparison: a fresh
// Event per message, sent on a channel to a consumer goroutine.
func BenchmarkITCHChannelBaseline(b *testing.B) {
	_, _, msgs := itchBench(b)
	d, err := itch.NewDecoder(itch.Options{Symbols: tick.NewSymbolTable(64)})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range itchSession(1)[:5] {
		d.Decode(m, new(tick.Event))
	}
	ch := make(chan *tick.Event, 1024)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := new(tick.Event)
		if ok, _ := d.Decode(msgs[i%len(msgs)], ev); ok {
			ch <- ev
		}
	}
	close(ch)
	sinkN = <-done
}

// countingSink counts Claim and Commit calls; shutAfter > 0 makes Claim
// return nil (shutting down) from that call on.
type countingSink struct {
	*testSink
	claims, commits, shutAfter int
}

func (c *countingSink) Claim(n int) []tick.Event {
	c.claims++
	if c.shutAfter > 0 && c.claims >= c.shutAfter {
		return nil
	}
	return c.testSink.Claim(n)
}

func (c *countingSink) Commit(k int) { c.commits++; c.testSink.Commit(k) }

func TestITCHBatchesAndSinkShutdown(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(200)
	for _, m := range msgs {
		r.store.Append(m)
	}
	r.store.End()
	cfg, err := ParseITCHURL("soupbin://" + r.srv.Addr().String() + "?creds=" + r.creds)
	if err != nil {
		t.Fatal(err)
	}
	var log errLog
	var cs *countingSink
	open := func(name string) (Sink, error) { cs = &countingSink{testSink: &testSink{name: name}}; return cs, nil }
	if err := RunITCH(context.Background(), cfg, open, itchOpts(&log, nil)); err != nil {
		t.Fatal(err)
	}
	want := itchWant(t, msgs, nil)
	checkITCHEvents(t, cs.testSink, want, uint64(len(msgs))+1)
	// One commit per read burst (or per 256 slots), not per message.
	if cs.commits > len(want)/20 || cs.commits != cs.claims {
		t.Fatalf("%d commits and %d claims for %d events", cs.commits, cs.claims, len(want))
	}

	// A sink that shuts down ends the session quietly.
	open = func(name string) (Sink, error) {
		cs = &countingSink{testSink: &testSink{name: name}, shutAfter: 1}
		return cs, nil
	}
	if err := RunITCH(context.Background(), cfg, open, itchOpts(&log, nil)); err != nil {
		t.Fatalf("RunITCH with a shut sink = %v, want nil", err)
	}
	if got, closed := cs.snapshot(); !closed || len(got) != 0 || cs.commits != 0 {
		t.Fatalf("closed %v, %d events, %d commits", closed, len(got), cs.commits)
	}
}

// TestITCHMoldCommitsPerDatagram: a datagram's events reach the sink when
// the datagram is handled, not when slots run out or the session ends.
func TestITCHMoldCommitsPerDatagram(t *testing.T) {
	line := freeUDP(t)
	cfg, err := ParseITCHURL("mold://" + line + "?seq=1")
	if err != nil {
		t.Fatal(err)
	}
	var (
		ss  sinks
		log errLog
	)
	ready := make(chan struct{})
	open := func(name string) (Sink, error) { defer close(ready); return ss.open(name) }
	done := make(chan error, 1)
	go func() { done <- RunITCH(context.Background(), cfg, open, itchOpts(&log, nil)) }()
	<-ready
	snd, err := mold.NewSender(mold.SenderOptions{Session: "S1", Addr: line})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	msgs := itchSession(0)
	for _, m := range msgs[:4] {
		snd.Add(m)
	}
	snd.Flush()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _ := ss.list()[0].snapshot(); len(got) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the datagram's events were not committed")
		}
	}
	for _, m := range msgs[4:] {
		snd.Add(m)
	}
	snd.End()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkITCHEvents(t, ss.list()[0], itchWant(t, msgs, nil), uint64(len(msgs))+1)
}

// TestITCHSoupBinFirstLoginJump: a server that accepts the first login past
// the sequence asked for has lost what lies between; that is a gap as much
// as at a reconnect. Asking for live data only (seq=0) takes any start.
func TestITCHSoupBinFirstLoginJump(t *testing.T) {
	msgs := itchSession(5)
	t.Setenv(SoupBinEnvPrefix+"USERNAME", "tickd")
	for _, tc := range []struct {
		query string
		gaps  uint64
	}{{"", 1}, {"?seq=2", 1}, {"?seq=4", 0}, {"?seq=0", 0}} {
		addr := acceptAtServer(t, msgs, 4)
		var (
			ss  sinks
			log errLog
			reg Registry
		)
		if err := runITCH(t, context.Background(), "soupbin://"+addr+tc.query, &ss, itchOpts(&log, &reg))(); err != nil {
			t.Fatalf("%s: RunITCH = %v", tc.query, err)
		}
		tot, errs := reg.Total(), log.list()
		if tot.Gaps != tc.gaps || uint64(len(errs)) != tc.gaps {
			t.Fatalf("%q: stats %+v, reports %v: want %d gaps", tc.query, tot, errs, tc.gaps)
		}
		var ge *ITCHGapError
		if tc.gaps == 1 && (!errors.As(errs[0].err, &ge) || ge.Last != 3 || tot.Missed != ge.Last-ge.First+1) {
			t.Fatalf("%q: report %v, missed %d: want messages up to 3 lost", tc.query, errs[0].err, tot.Missed)
		}
	}
}

// acceptAtServer is a SoupBinTCP server that accepts one login at sequence
// first, whatever was asked, and sends msgs from there, then End of Session.
func acceptAtServer(t *testing.T, msgs [][]byte, first uint64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rd := soupbin.NewReader(c, 0)
		rd.Next() // the login request
		out := soupbin.AppendLoginAccepted(nil, "ITCH1", first)
		for _, m := range msgs[first-1:] {
			out = soupbin.AppendPacket(out, soupbin.TypeSequenced, m)
		}
		c.Write(soupbin.AppendPacket(out, soupbin.TypeEndOfSession, nil))
		rd.Next() // the logout
	}()
	return ln.Addr().String()
}

// TestITCHRefusedAfterShutdown: as for a tail, an ITCH session opened as a
// shutdown begins finds its sink refused, and stops without an error.
func TestITCHRefusedAfterShutdown(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "tickd")
	t.Setenv("TICKD_SOUPBIN_PASSWORD", "tickd")
	cfg, err := ParseITCHURL("soupbin://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	refused := func(source string) (Sink, error) {
		return nil, fmt.Errorf("engine: input %q: engine is shutting down", source)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := RunITCH(ctx, cfg, refused, Options{Symbols: tick.NewSymbolTable(8)}); err != nil {
		t.Errorf("stopped session, sink refused: %v, want nil", err)
	}
}

// TestITCHSoupBinNotStaleWhileHandingOn: a SoupBinTCP session whose burst
// waits for its sink (the engine behind: a full ring, or fused, the engine
// and publishing in the commit) is not silent meanwhile, and its silence
// counts from when the burst was handed on, not from its first message's
// arrival.
func TestITCHSoupBinNotStaleWhileHandingOn(t *testing.T) {
	for _, atCommit := range []bool{false, true} {
		t.Run(fmt.Sprintf("atCommit=%v", atCommit), func(t *testing.T) { testITCHSoupBinNotStaleWhileHandingOn(t, atCommit) })
	}
}

func testITCHSoupBinNotStaleWhileHandingOn(t *testing.T, atCommit bool) {
	r := newSoupRig(t)
	msgs := itchSession(4)
	for _, m := range msgs {
		r.store.Append(m)
	}
	var clock atomic.Int64
	clock.Store(1_000)
	sink := &fullSink{atCommit: atCommit, entered: make(chan struct{}, 1), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(sink.release) })
	var (
		log errLog
		reg Registry
	)
	o := itchOpts(&log, &reg)
	o.Clock = clock.Load
	cfg, err := ParseITCHURL("soupbin://" + r.srv.Addr().String() + "?creds=" + r.creds + "&session=ITCH1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunITCH(ctx, cfg, func(string) (Sink, error) { return sink, nil }, o) }()
	t.Cleanup(func() {
		release()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunITCH = %v", err)
		}
	})
	<-sink.entered // the burst, received at 1_000, waits for the sink

	w := StaleWatch{Reg: &reg, After: time.Second}
	blocked := 1_000 + int64(time.Hour)
	clock.Store(blocked)
	if got := w.Check(blocked, nil); len(got) != 0 {
		t.Fatalf("held up by the sink for an hour, reported: %+v", got)
	}
	release()
	waitFor(t, "the burst to be handed on", func() bool {
		live, _ := reg.Sources()
		return reg.Total().Frames == uint64(len(msgs)) && len(live) == 1 && !live[0].Handing
	})
	if got := w.Check(blocked+int64(time.Second), nil); len(got) != 0 {
		t.Fatalf("silent for exactly After since the burst was handed on, reported: %+v", got)
	}
	if got := w.Check(blocked+int64(2*time.Second), nil); len(got) != 1 || !got[0].Stale || got[0].Silent != 2*time.Second {
		t.Fatalf("silent 2s since the burst was handed on: %+v", got)
	}
}
