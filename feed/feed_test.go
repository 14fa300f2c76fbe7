package feed

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tickd/tickd/tick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSink is a slice-backed Sink. maxClaim > 0 caps the slots per Claim, to
// exercise short claims.
type testSink struct {
	name     string
	maxClaim int

	mu     sync.Mutex
	slots  []tick.Event
	events []tick.Event
	closed bool
}

func (s *testSink) Claim(n int) []tick.Event {
	if s.maxClaim > 0 {
		n = min(n, s.maxClaim)
	}
	if cap(s.slots) < n {
		s.slots = make([]tick.Event, n)
	}
	return s.slots[:n]
}

func (s *testSink) Commit(k int) {
	s.mu.Lock()
	s.events = append(s.events, s.slots[:k]...)
	s.mu.Unlock()
}

func (s *testSink) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *testSink) snapshot() ([]tick.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tick.Event(nil), s.events...), s.closed
}

// sinks opens one testSink per source and remembers them in order.
type sinks struct {
	mu  sync.Mutex
	all []*testSink
}

func (ss *sinks) open(source string) (Sink, error) {
	s := &testSink{name: source}
	ss.mu.Lock()
	ss.all = append(ss.all, s)
	ss.mu.Unlock()
	return s, nil
}

func (ss *sinks) list() []*testSink {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]*testSink(nil), ss.all...)
}

// total counts the events delivered to every sink.
func (ss *sinks) total() int {
	n := 0
	for _, s := range ss.list() {
		ev, _ := s.snapshot()
		n += len(ev)
	}
	return n
}

// report is one OnError call.
type report struct {
	source string
	offset int64
	seq    uint64
	err    error
}

func (r report) String() string {
	return fmt.Sprintf("%s@%d#%d: %v", r.source, r.offset, r.seq, r.err)
}

// reports collects OnError calls.
type reports struct {
	mu  sync.Mutex
	all []report
}

func (rs *reports) onError(source string, offset int64, seq uint64, err error) {
	rs.mu.Lock()
	rs.all = append(rs.all, report{source, offset, seq, err})
	rs.mu.Unlock()
}

func (rs *reports) list() []report {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]report(nil), rs.all...)
}

// waitFor polls cond until it holds; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// decodeAll feeds chunks to a fresh Decoder as a source would: pending bytes
// are kept and prefixed to the next chunk; claims are at most claim slots.
// At the end the remainder is flushed.
func decodeAll(t testing.TB, d *Decoder, claim int, chunks ...[]byte) ([]tick.Event, error) {
	t.Helper()
	var (
		pending []byte
		out     []tick.Event
		dst     = make([]tick.Event, claim)
	)
	for _, c := range chunks {
		pending = append(pending, c...)
		for d.ready(pending) {
			n, used, err := d.Decode(dst, pending)
			if used < 0 || used > len(pending) || n < 0 || n > len(dst) {
				t.Fatalf("Decode returned n=%d consumed=%d for %d bytes, %d slots", n, used, len(pending), len(dst))
			}
			out = append(out, dst[:n]...)
			pending = pending[used:]
			if err != nil {
				return out, err
			}
			if used == 0 && n == 0 {
				t.Fatalf("ready but nothing consumed: %q", pending)
			}
		}
	}
	n := d.Flush(dst[:1], pending)
	return append(out, dst[:n]...), nil
}

func newTestDecoder(t testing.TB, f Format, rs *reports, mod func(*Options)) *Decoder {
	t.Helper()
	o := Options{Format: f, Symbols: tick.NewSymbolTable(64)}
	if rs != nil {
		o.OnError = rs.onError
	}
	if mod != nil {
		mod(&o)
	}
	d, err := NewDecoder("test", 7, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOptionsValidate(t *testing.T) {
	syms := tick.NewSymbolTable(4)
	bad := []Options{
		{},
		{Symbols: syms, Format: 9},
		{Symbols: syms, MaxFrame: 10},
		{Symbols: syms, MaxFrame: 1 << 21},
		{Symbols: syms, MaxFrame: 4096, ReadBuffer: 4097},
		{Symbols: syms, MaxConns: -1},
		{Symbols: syms, ReconnectMin: time.Second, ReconnectMax: time.Millisecond},
	}
	for i, o := range bad {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("case %d: %+v validated", i, o)
		}
	}
	o, err := Options{Symbols: syms, MaxFrame: 1 << 20}.withDefaults()
	if err != nil || o.ReadBuffer != 2<<20 || o.MaxConns != DefaultMaxConns || o.Stats == nil || o.Clock == nil {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatNative, FormatCSV, FormatJSON} {
		g, err := ParseFormat(f.String())
		if err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), g, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := Reason(1); r < NumReasons; r++ {
		if seen[r.String()] || r.Error() == "" || r.String() == "" {
			t.Errorf("reason %d: name %q, text %q", r, r.String(), r.Error())
		}
		seen[r.String()] = true
	}
	var err error = ReasonBadPrice
	if !errors.Is(fmt.Errorf("x: %w", err), ReasonBadPrice) {
		t.Error("errors.Is does not see a wrapped Reason")
	}
}

func TestRegistry(t *testing.T) {
	var r Registry
	a := r.register("a", nil, 0)
	b := r.register("b", func(string) uint16 { return 42 }, 0)
	if a.ID() != 1 || b.ID() != 42 || a.Source() != "a" {
		t.Fatalf("ids %d %d", a.ID(), b.ID())
	}
	sa := Stats{Frames: 3, Bytes: 100, Events: 2, Errors: 1, Gaps: 1, Missed: 4}
	sa.ByReason[ReasonBadQty] = 1
	a.publish(&sa)
	b.publish(&Stats{Frames: 1, Events: 1})
	if got := a.Snapshot(); got != sa {
		t.Fatalf("snapshot %+v, want %+v", got, sa)
	}
	r.unregister(a)
	r.unregister(a) // twice is harmless
	tot := r.Total()
	if tot.Frames != 4 || tot.Events != 3 || tot.ByReason[ReasonBadQty] != 1 || tot.Missed != 4 {
		t.Fatalf("total %+v", tot)
	}
	live, ended := r.Sources()
	if len(live) != 1 || live[0].Source != "b" || ended != 1 {
		t.Fatalf("sources %+v, ended %d", live, ended)
	}
}
