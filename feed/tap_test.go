package feed

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// tapLog records what a Tap is told, per source id.
type tapLog struct {
	mu     sync.Mutex
	names  map[uint16]string
	data   map[uint16][][]byte
	recv   map[uint16][]int64
	opens  map[uint16]int
	closes map[uint16]int
	order  []string // "open"/"data"/"close" per source, to check the life cycle
}

func newTapLog() *tapLog {
	return &tapLog{names: map[uint16]string{}, data: map[uint16][][]byte{}, recv: map[uint16][]int64{},
		opens: map[uint16]int{}, closes: map[uint16]int{}}
}

func (l *tapLog) Open(src uint16, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names[src] = name
	l.opens[src]++
	l.order = append(l.order, fmt.Sprintf("open %d", src))
}

func (l *tapLog) Data(src uint16, recv int64, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opens[src] == l.closes[src] {
		panic("tap: Data on a source that is not open")
	}
	l.data[src] = append(l.data[src], bytes.Clone(b))
	l.recv[src] = append(l.recv[src], recv)
}

func (l *tapLog) Close(src uint16, recv int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closes[src]++
	l.order = append(l.order, fmt.Sprintf("close %d", src))
}

// sources returns the ids seen, sorted.
func (l *tapLog) sources() []uint16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []uint16
	for id := range l.names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestTapTCPSeesDecoderBytes sends native streams over several connections
// in uneven writes and checks that the tap saw, per source, exactly the
// bytes sent, and that decoding the tapped chunks gives the events the sink got.
func TestTapTCPSeesDecoderBytes(t *testing.T) {
	const conns, perConn = 3, 2000
	var ss sinks
	tap := newTapLog()
	syms := tick.NewSymbolTable(64)
	clock := int64(0)
	var clockMu sync.Mutex
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{Symbols: syms, Tap: tap, ReadBuffer: 700, MaxFrame: 256,
		Clock: func() int64 { clockMu.Lock(); defer clockMu.Unlock(); clock++; return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	sent := map[string][]byte{} // by the client's local address
	for i := range conns {
		stream := connStream(fmt.Sprintf("S%d", i), perConn)
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sent[c.LocalAddr().String()] = stream
		for b := stream; len(b) > 0; {
			n := min(len(b), 1+len(b)%997)
			if _, err := c.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
		c.Close()
	}
	waitFor(t, "connections closed", func() bool {
		tap.mu.Lock()
		defer tap.mu.Unlock()
		n := 0
		for _, c := range tap.closes {
			n += c
		}
		return n == conns
	})
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	ids := tap.sources()
	if len(ids) != conns {
		t.Fatalf("tap saw %d sources, want %d", len(ids), conns)
	}
	for _, id := range ids {
		name := tap.names[id]
		var got []byte
		for _, c := range tap.data[id] {
			got = append(got, c...)
		}
		var want []byte
		for remote, s := range sent {
			if bytes.HasSuffix([]byte(name), []byte("<-"+remote)) {
				want = s
			}
		}
		if want == nil {
			t.Fatalf("tap source %d named %q matches no connection", id, name)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("source %q: tap saw %d bytes, %d were sent (or they differ)", name, len(got), len(want))
		}
		if tap.opens[id] != 1 || tap.closes[id] != 1 {
			t.Fatalf("source %q: %d opens, %d closes", name, tap.opens[id], tap.closes[id])
		}
		if !slices.IsSorted(tap.recv[id]) || tap.recv[id][0] == 0 {
			t.Fatalf("source %q: receive times %v not from the clock", name, tap.recv[id][:3])
		}
		// The decoder fed with the tapped chunks yields what the sink got,
		// TsRecv included: the tap's recv is the one stamped on the events.
		var sink *testSink
		for _, s := range ss.list() {
			if s.name == name {
				sink = s
			}
		}
		live, _ := sink.snapshot()
		d := newTestDecoder(t, FormatNative, nil, func(o *Options) { o.Symbols = syms })
		replayed := replayChunks(t, d, tap.data[id], tap.recv[id])
		for i := range replayed {
			replayed[i].Source = live[0].Source
		}
		if !slices.Equal(replayed, live) {
			t.Fatalf("source %q: decoding the tapped bytes gave %d events, the sink got %d (or they differ)", name, len(replayed), len(live))
		}
	}
}

// replayChunks decodes chunks as a pump does: pending bytes carried over,
// each chunk's events stamped with its receive time.
func replayChunks(t *testing.T, d *Decoder, chunks [][]byte, recv []int64) []tick.Event {
	t.Helper()
	var pending []byte
	var out []tick.Event
	dst := make([]tick.Event, 64)
	for i, c := range chunks {
		d.SetRecvTime(recv[i])
		pending = append(pending, c...)
		for d.ready(pending) {
			n, used, err := d.Decode(dst, pending)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, dst[:n]...)
			pending = pending[used:]
		}
	}
	n := d.Flush(dst[:1], pending)
	return append(out, dst[:n]...)
}

// TestTapTail checks a tailed file's tap: the bytes of the file, and a
// Close + Open when the file is truncated and read again.
func TestTapTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "1,AAA,10,1\n2,AAA,10,2\n")
	tap := newTapLog()
	r := startTail(t, path, func(o *Options) { o.Tap = tap })
	r.qtys(2)
	appendFile(t, path, "3,AAA,10,3\n")
	r.qtys(3)
	r.stop()
	ids := tap.sources()
	if len(ids) != 1 {
		t.Fatalf("tap saw sources %v", ids)
	}
	var got []byte
	for _, c := range tap.data[ids[0]] {
		got = append(got, c...)
	}
	if string(got) != "1,AAA,10,1\n2,AAA,10,2\n3,AAA,10,3\n" || tap.names[ids[0]] != path {
		t.Fatalf("tap %q saw %q", tap.names[ids[0]], got)
	}
	if tap.opens[ids[0]] != 1 || tap.closes[ids[0]] != 1 {
		t.Fatalf("%d opens, %d closes", tap.opens[ids[0]], tap.closes[ids[0]])
	}
}

// TestTapTailFromEndKeepsHeader: a CSV file followed from its end, whose
// header (skipped with the rest of what it held) names the columns in
// another order, is tapped with that header first, so that its capture
// decodes to the trades the tail decoded; without it a player read size as
// price.
func TestTapTailFromEndKeepsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "ts,symbol,size,price\n1,AAA,5,10\n")
	tap := newTapLog()
	r := startTail(t, path, func(o *Options) { o.Tap = tap; o.FromEnd = true })
	for k := 100; r.ss.total() == 0; k++ { // lines appended before the tail opened the file are skipped
		if k == 10000 {
			t.Fatal("no line arrived")
		}
		appendFile(t, path, fmt.Sprintf("%d,AAA,%d,1%d\n", k, k, k))
		time.Sleep(2 * time.Millisecond)
	}
	r.stop()
	ids := tap.sources()
	if len(ids) != 1 || len(tap.data[ids[0]]) == 0 || string(tap.data[ids[0]][0]) != "ts,symbol,size,price,side\n" {
		t.Fatalf("tap saw %v: %v", ids, tap.data)
	}
	live, _ := r.ss.list()[0].snapshot()
	replayed := replayChunks(t, newTestDecoder(t, FormatCSV, nil, nil), tap.data[ids[0]], tap.recv[ids[0]])
	if len(replayed) != len(live) {
		t.Fatalf("capture decodes to %d trades, the tail gave %d", len(replayed), len(live))
	}
	for i := range live {
		if replayed[i].Qty != live[i].Qty || replayed[i].Price != live[i].Price || live[i].Qty < 100 {
			t.Fatalf("trade %d: capture %+v, tail %+v", i, replayed[i], live[i])
		}
	}
}

// TestTapITCH checks that an ITCH session's tap sees every message, one
// Data per message, between one Open and one Close.
func TestTapITCH(t *testing.T) {
	r := newSoupRig(t)
	msgs := itchSession(30)
	for _, m := range msgs {
		r.store.Append(m)
	}
	r.store.End()
	var (
		ss  sinks
		log errLog
		reg Registry
	)
	tap := newTapLog()
	o := itchOpts(&log, &reg)
	o.Tap = tap
	wait := runITCH(t, context.Background(), "soupbin://"+r.srv.Addr().String()+"?creds="+r.creds, &ss, o)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	got := tap.data[itchSourceID]
	if len(got) != len(msgs) {
		t.Fatalf("tap saw %d messages, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Fatalf("message %d: tap %x, sent %x", i+1, got[i], msgs[i])
		}
	}
	if want := []string{fmt.Sprintf("open %d", itchSourceID), fmt.Sprintf("close %d", itchSourceID)}; !slices.Equal(tap.order, want) {
		t.Fatalf("life cycle %v, want %v", tap.order, want)
	}
	// Events carry the receive time the tap was given for their message.
	ev, _ := ss.list()[0].snapshot()
	recvs := map[int64]bool{}
	for _, r := range tap.recv[itchSourceID] {
		recvs[r] = true
	}
	for _, e := range ev[:len(ev)-1] {
		if !recvs[e.TsRecv] {
			t.Fatalf("event %+v: TsRecv not among the tap's receive times", e)
		}
	}
}

// nopTap counts what it is told.
type nopTap struct{ bytes int }

func (t *nopTap) Open(uint16, string)              {}
func (t *nopTap) Data(_ uint16, _ int64, b []byte) { t.bytes += len(b) }
func (t *nopTap) Close(uint16, int64)              {}

// BenchmarkPumpNativeTap is BenchmarkPumpNative with a Tap that only counts:
// the hook's cost per read (one interface call per 64 KiB).
func BenchmarkPumpNativeTap(b *testing.B) {
	tap := &nopTap{}
	benchPumpNative(b, tap)
	if tap.bytes < b.N*TradeFrameSize {
		b.Fatalf("tap saw %d bytes", tap.bytes)
	}
}

// TestTapTailTruncate: a truncated file is read again from 0, so the tap
// sees the source closed and opened again there (a player restarts its
// decoder, as the tail did).
func TestTapTailTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.csv")
	appendFile(t, path, "1,A,1,1\n2,A,1,2\n3,A,1,3\n")
	tap := newTapLog()
	r := startTail(t, path, func(o *Options) { o.Tap = tap })
	equalQtys(t, r.qtys(3), 1, 2, 3)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "4,A,1,4\n")
	equalQtys(t, r.qtys(4), 1, 2, 3, 4)
	r.stop()
	id := tap.sources()[0]
	if want := []string{"open 1", "close 1", "open 1", "close 1"}; !slices.Equal(tap.order, want) || id != 1 {
		t.Fatalf("life cycle %v, want %v", tap.order, want)
	}
	var got []byte
	for _, c := range tap.data[id] {
		got = append(got, c...)
	}
	if string(got) != "1,A,1,1\n2,A,1,2\n3,A,1,3\n4,A,1,4\n" {
		t.Fatalf("tap saw %q", got)
	}
}

// TestTapStopsWhereTheSinkShutDown: a read the sink refuses as it shuts
// down (Claim gives nil) is tapped only as far as it was applied, so that
// decoding the tapped bytes gives exactly the events the sink got: a replay
// of the capture must apply what the live session did. The sink refuses a
// whole read, or the rest of one after a short claim.
func TestTapStopsWhereTheSinkShutDown(t *testing.T) {
	stream := connStream("PIPE", 3000)
	for _, shutAfter := range []int{2, 7, 12} {
		tap := newTapLog()
		syms := tick.NewSymbolTable(64)
		sink := &countingSink{testSink: &testSink{maxClaim: 10}, shutAfter: shutAfter}
		err := ReadStream("pipe", &splitReader{b: stream, max: 997}, sink,
			Options{Symbols: syms, Tap: tap, ReadBuffer: 1024, MaxFrame: 256, Clock: func() int64 { return 42 }})
		if err != nil {
			t.Fatal(err)
		}
		live, _ := sink.snapshot()
		d := newTestDecoder(t, FormatNative, nil, func(o *Options) { o.Symbols = syms })
		replayed := replayChunks(t, d, tap.data[1], tap.recv[1])
		for i := range replayed {
			replayed[i].Source = live[0].Source
		}
		if len(live) == 0 || !slices.Equal(replayed, live) {
			t.Fatalf("sink shut at claim %d: decoding the tapped bytes gave %d events, the sink got %d (or they differ)",
				shutAfter, len(replayed), len(live))
		}
	}
}

// TestTapITCHStopsWhereTheSinkShutDown: an ITCH message the sink refuses
// as it shuts down is not tapped.
func TestTapITCHStopsWhereTheSinkShutDown(t *testing.T) {
	r := newSoupRig(t)
	for _, m := range itchSession(30) {
		r.store.Append(m)
	}
	r.store.End()
	cfg, err := ParseITCHURL("soupbin://" + r.srv.Addr().String() + "?creds=" + r.creds)
	if err != nil {
		t.Fatal(err)
	}
	var log errLog
	tap := newTapLog()
	o := itchOpts(&log, nil)
	o.Tap = tap
	open := func(name string) (Sink, error) {
		return &countingSink{testSink: &testSink{name: name}, shutAfter: 1}, nil
	}
	if err := RunITCH(context.Background(), cfg, open, o); err != nil {
		t.Fatal(err)
	}
	if got := tap.data[itchSourceID]; len(got) != 0 {
		t.Fatalf("tap saw %d messages the shut sink never got", len(got))
	}
}

// TestSourceIDsWrapPastLiveSources connects a source that stays, then, with
// the ids about to wrap past 65535, a second one: it must not be handed the
// first one's id, which the tap (the recorder) tells their bytes apart by.
func TestSourceIDsWrapPastLiveSources(t *testing.T) {
	var ss sinks
	tap := newTapLog()
	reg := &Registry{}
	l, err := NewTCPListener("127.0.0.1:0", ss.open, Options{Symbols: tick.NewSymbolTable(64), Tap: tap, Stats: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	opened := func(n int) func() bool {
		return func() bool { live, _ := reg.Sources(); return len(live) == n }
	}
	long, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	waitFor(t, "the long-lived source", opened(1))
	reg.mu.Lock()
	reg.nextID = math.MaxUint16 // as after 65535 connections: the next wraps to 1
	reg.mu.Unlock()
	short, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	waitFor(t, "the second source", opened(2))
	live, _ := reg.Sources()
	if live[0].ID == live[1].ID {
		t.Fatalf("sources %q and %q both live with id %d", live[0].Source, live[1].Source, live[0].ID)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	for id, n := range tap.opens {
		if n != 1 {
			t.Fatalf("tap: source id %d opened %d times, with none closed", id, n)
		}
	}
}
