package feed

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// TestStaleWatch: a connection that sends nothing past After is reported
// stale once, reported live once when a heartbeat arrives, and reported
// ended once when it ends while stale.
func TestStaleWatch(t *testing.T) {
	var clock atomic.Int64
	clock.Store(1_000)
	var ss sinks
	reg := new(Registry)
	l := serveTCP(t, ss.open, Options{
		Symbols: tick.NewSymbolTable(8), Stats: reg, Clock: clock.Load,
	})
	c := dialTCP(t, l)
	var enc NativeEncoder
	if _, err := c.Write(enc.Hello(nil)); err != nil {
		t.Fatal(err)
	}
	heardAt := func(want int64) bool {
		live, _ := reg.Sources()
		return len(live) == 1 && live[0].Heard == want
	}
	waitFor(t, "the hello", func() bool { return heardAt(1_000) && reg.Total().Frames == 1 })

	w := StaleWatch{Reg: reg, After: time.Second}
	if got := w.Check(1_000+int64(time.Second), nil); len(got) != 0 {
		t.Fatalf("silent exactly After: %+v", got)
	}
	now := 1_000 + int64(2*time.Second)
	got := w.Check(now, nil)
	if len(got) != 1 || !got[0].Stale || got[0].Silent != 2*time.Second || got[0].Source != "tcp "+l.Addr().String()+"<-"+c.LocalAddr().String() || w.Stale() != 1 {
		t.Fatalf("after 2s of silence: %+v (stale %d)", got, w.Stale())
	}
	if got := w.Check(now+1, nil); len(got) != 0 {
		t.Fatalf("still stale, reported again: %+v", got)
	}

	clock.Store(now + 5)
	if _, err := c.Write(enc.Heartbeat(nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the heartbeat", func() bool { return heardAt(now + 5) })
	got = w.Check(now+10, nil)
	if len(got) != 1 || got[0].Stale || w.Stale() != 0 {
		t.Fatalf("after a heartbeat: %+v (stale %d)", got, w.Stale())
	}

	if got := w.Check(now+10+int64(2*time.Second), nil); len(got) != 1 || !got[0].Stale {
		t.Fatalf("silent again: %+v", got)
	}
	c.Close()
	waitFor(t, "the connection to end", func() bool { live, _ := reg.Sources(); return len(live) == 0 })
	// A stale source that ends is reported once as ended, then forgotten.
	if got := w.Check(now+int64(time.Hour), nil); len(got) != 1 || !got[0].Ended || got[0].Stale || w.Stale() != 0 {
		t.Fatalf("an ended source: %+v (stale %d)", got, w.Stale())
	}
	if got := w.Check(now+int64(time.Hour)+1, nil); len(got) != 0 {
		t.Fatalf("an ended source reported again: %+v", got)
	}
	if got := (&StaleWatch{Reg: reg}).Check(now, nil); got != nil {
		t.Fatalf("After 0 watches: %+v", got)
	}
}

// TestStaleWatchChurnReportsNoFalseStale checks a watch as fast as it can
// while connections open and close: a source caught between its start and
// its first receive time must not be reported silent since the epoch.
func TestStaleWatchChurnReportsNoFalseStale(t *testing.T) {
	var ss sinks
	reg := new(Registry)
	l := serveTCP(t, ss.open, Options{Symbols: tick.NewSymbolTable(8), Stats: reg})
	w := &StaleWatch{Reg: reg, After: time.Hour} // no source here is silent that long
	done := make(chan struct{})
	checked := make(chan []SourceState)
	go func() {
		var got []SourceState
		for {
			select {
			case <-done:
				checked <- got
				return
			default:
				got = w.Check(time.Now().UnixNano(), got)
			}
		}
	}()
	for range 2000 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	close(done)
	if got := <-checked; len(got) > 0 {
		t.Fatalf("%d false reports under churn, the first %+v", len(got), got[0])
	}
}

// fullSink is a testSink whose engine is behind: Claim (a full ring) or,
// with atCommit, Commit (-fused: the engine runs and publishes in it) waits
// until release is closed, after telling entered.
type fullSink struct {
	testSink
	atCommit bool
	entered  chan struct{}
	release  chan struct{}
}

func (s *fullSink) Claim(n int) []tick.Event {
	if !s.atCommit {
		s.hold()
	}
	return s.testSink.Claim(n)
}

func (s *fullSink) Commit(k int) {
	if s.atCommit {
		s.hold()
	}
	s.testSink.Commit(k)
}

func (s *fullSink) hold() {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
}

// TestStaleWatchNotWhileHandingOn: a connection whose batch waits for a
// full sink (the engine behind) is not waiting for its peer, so however long
// that takes it is not stale, and its silence counts from when the batch
// was handed on, not from when it arrived.
func TestStaleWatchNotWhileHandingOn(t *testing.T) {
	var clock atomic.Int64
	clock.Store(1_000)
	sink := &fullSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	reg := new(Registry)
	l := serveTCP(t, func(string) (Sink, error) { return sink, nil }, Options{
		Symbols: tick.NewSymbolTable(8), Stats: reg, Clock: clock.Load,
	})
	release := sync.OnceFunc(func() { close(sink.release) })
	t.Cleanup(release) // before the listener's: a failed test must not leave the read waiting
	c := dialTCP(t, l)
	var enc NativeEncoder
	if _, err := c.Write(enc.Hello(nil)); err != nil {
		t.Fatal(err)
	}
	<-sink.entered // the hello, read at 1_000, waits for the sink

	w := StaleWatch{Reg: reg, After: time.Second}
	blocked := 1_000 + int64(time.Hour)
	clock.Store(blocked)
	if got := w.Check(blocked, nil); len(got) != 0 {
		t.Fatalf("held up by the sink for an hour, reported: %+v", got)
	}
	release()
	waitFor(t, "the hello to be handed on", func() bool { return reg.Total().Frames == 1 })
	if got := w.Check(blocked+int64(time.Second), nil); len(got) != 0 {
		t.Fatalf("silent for exactly After since the batch was handed on, reported: %+v", got)
	}
	if got := w.Check(blocked+int64(2*time.Second), nil); len(got) != 1 || !got[0].Stale || got[0].Silent != 2*time.Second {
		t.Fatalf("silent 2s since the batch was handed on: %+v", got)
	}
}
