package ringbuf

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var strategies = []WaitStrategy{Spin, SpinYield, Park}

func newRing[T any](t testing.TB, o Options) *Ring[T] {
	t.Helper()
	r, err := New[T](o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// put reserves exactly len(vals) slots (the caller keeps them contiguous),
// writes vals and commits them.
func put(t testing.TB, r *Ring[int], vals ...int) {
	t.Helper()
	s := r.TryReserve(len(vals))
	if len(s) != len(vals) {
		t.Fatalf("TryReserve(%d) = %d slots", len(vals), len(s))
	}
	copy(s, vals)
	r.Commit(len(s))
}

func seq(from, n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = from + i
	}
	return v
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mustPanic runs f and fails unless it panics with a "ringbuf: " message.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		s, _ := v.(string)
		if !strings.HasPrefix(s, "ringbuf: ") {
			t.Errorf("%s: recovered %v, want a ringbuf panic", what, v)
		}
	}()
	f()
}

func TestOptions(t *testing.T) {
	r := newRing[int](t, Options{})
	if r.Cap() != DefaultCapacity || len(r.cons) != 1 || r.wait != SpinYield || r.bell != nil {
		t.Errorf("defaults: cap %d consumers %d wait %v", r.Cap(), len(r.cons), r.wait)
	}
	for _, o := range []Options{{Capacity: 1}, {Capacity: 2, Consumers: MaxConsumers}, {Capacity: MaxCapacity >> 10, Wait: Park}} {
		if _, err := New[byte](o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{Capacity: 3}, "not a power of two"},
		{Options{Capacity: 4097}, "not a power of two"},
		{Options{Capacity: -4}, "capacity -4"},
		{Options{Capacity: MaxCapacity * 2}, "capacity"},
		{Options{Consumers: -1}, "consumers -1"},
		{Options{Consumers: MaxConsumers + 1}, "consumers"},
		{Options{Wait: Park + 1}, "wait strategy"},
	}
	for _, c := range bad {
		_, err := New[int](c.o)
		if !errors.Is(err, ErrOptions) || !strings.HasPrefix(err.Error(), "ringbuf: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want ErrOptions mentioning %q", c.o, err, c.want)
		}
	}
}

func TestWaitStrategyText(t *testing.T) {
	for _, w := range strategies {
		got, err := ParseWaitStrategy(w.String())
		if err != nil || got != w {
			t.Errorf("ParseWaitStrategy(%q) = %v, %v", w.String(), got, err)
		}
	}
	if w, err := ParseWaitStrategy(""); err != nil || w != SpinYield {
		t.Errorf(`ParseWaitStrategy("") = %v, %v; want the default`, w, err)
	}
	if _, err := ParseWaitStrategy("sleep"); err == nil || !strings.HasPrefix(err.Error(), "ringbuf: ") {
		t.Errorf(`ParseWaitStrategy("sleep") err = %v`, err)
	}
	if s := WaitStrategy(0).String(); s != "yield" {
		t.Errorf("zero String = %q, want the default's", s)
	}
	if s := WaitStrategy(9).String(); s != "wait(9)" {
		t.Errorf("String = %q", s)
	}
}

func TestWrapBatchesShorter(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 8})
	c := r.Consumer(0)
	put(t, r, seq(0, 6)...)
	if b := c.Poll(); !equal(b, seq(0, 6)) {
		t.Fatalf("Poll = %v", b)
	}
	c.Release(6)
	// 6 committed and released: the next Reserve stops at the wrap.
	s := r.Reserve(5)
	if len(s) != 2 {
		t.Fatalf("Reserve(5) at slot 6 of 8 = %d slots, want 2", len(s))
	}
	copy(s, []int{6, 7})
	r.Commit(2)
	s = r.Reserve(5)
	if len(s) != 5 {
		t.Fatalf("Reserve(5) after the wrap = %d slots, want 5", len(s))
	}
	copy(s, seq(8, 5))
	r.Commit(5)
	// The consumer's batch also stops at the wrap, then continues.
	if b, ok := c.Wait(); !ok || !equal(b, []int{6, 7}) {
		t.Fatalf("Wait = %v %v, want [6 7]", b, ok)
	}
	c.Release(2)
	if b, ok := c.Wait(); !ok || !equal(b, seq(8, 5)) {
		t.Fatalf("Wait = %v %v, want 8..12", b, ok)
	}
	c.Release(5)
	if b := c.Poll(); b != nil {
		t.Fatalf("Poll on empty = %v", b)
	}
}

func TestReserveClamps(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 4})
	if s := r.Reserve(0); len(s) != 1 {
		t.Errorf("Reserve(0) = %d slots, want 1", len(s))
	}
	if s := r.Reserve(-3); len(s) != 1 {
		t.Errorf("Reserve(-3) = %d slots, want 1", len(s))
	}
	if s := r.Reserve(100); len(s) != 4 {
		t.Errorf("Reserve(100) = %d slots, want 4", len(s))
	}
	r.Commit(0) // nothing published
	if b := r.Consumer(0).Poll(); b != nil {
		t.Errorf("Poll after Commit(0) = %v", b)
	}
}

func TestCommitPartial(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 8})
	c := r.Consumer(0)
	s := r.Reserve(4)
	copy(s, seq(0, 4))
	r.Commit(1)
	if b := c.Poll(); !equal(b, []int{0}) {
		t.Fatalf("after Commit(1): %v", b)
	}
	c.Release(1)
	r.Commit(2) // the next two of the same reservation
	if b := c.Poll(); !equal(b, []int{1, 2}) {
		t.Fatalf("after Commit(2): %v", b)
	}
	mustPanic(t, "Commit beyond the reservation", func() { r.Commit(2) })
	mustPanic(t, "Commit(-1)", func() { r.Commit(-1) })
	// A new Reserve hands out the uncommitted slot again.
	s = r.Reserve(8)
	if len(s) != 5 || s[0] != 3 {
		t.Fatalf("Reserve after partial Commit = %v", s)
	}
	s[0] = 30
	r.Commit(1)
	c.Release(2)
	if b := c.Poll(); !equal(b, []int{30}) {
		t.Fatalf("Poll = %v", b)
	}
}

func TestReleasePartial(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 4})
	c := r.Consumer(0)
	put(t, r, seq(0, 4)...)
	if r.TryReserve(1) != nil {
		t.Fatal("TryReserve on a full ring returned slots")
	}
	b := c.Poll()
	c.Release(1)
	c.Release(2) // the two after it
	mustPanic(t, "Release beyond the batch", func() { c.Release(2) })
	mustPanic(t, "Release(-1)", func() { c.Release(-1) })
	if b := c.Poll(); !equal(b, []int{3}) {
		t.Fatalf("Poll after releasing 3 of %v = %v", b, b)
	}
	s := r.TryReserve(4)
	if len(s) != 3 {
		t.Fatalf("TryReserve(4) with 3 released = %d slots", len(s))
	}
	// Poll again without Release returns the same slot.
	if b := c.Poll(); !equal(b, []int{3}) {
		t.Fatalf("second Poll = %v", b)
	}
	_ = b
}

func TestTryReserveFull(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 2})
	put(t, r, 1, 2)
	if s := r.TryReserve(1); s != nil {
		t.Fatalf("TryReserve on full = %v", s)
	}
	c := r.Consumer(0)
	c.Poll()
	c.Release(1)
	if s := r.TryReserve(2); len(s) != 1 {
		t.Fatalf("TryReserve(2) with one free = %d slots", len(s))
	}
}

func TestConsumersSeeEverything(t *testing.T) {
	const n, consumers = 1000, 3
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			r := newRing[int](t, Options{Capacity: 16, Consumers: consumers, Wait: w})
			var wg sync.WaitGroup
			got := make([][]int, consumers)
			for i := range consumers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := r.Consumer(i)
					for {
						b, ok := c.Wait()
						if !ok {
							return
						}
						got[i] = append(got[i], b...)
						c.Release(len(b))
					}
				}()
			}
			for i := 0; i < n; {
				s := r.Reserve(min(1+i%7, n-i))
				for j := range s {
					s[j] = i + j
				}
				r.Commit(len(s))
				i += len(s)
			}
			r.Close()
			wg.Wait()
			for i := range consumers {
				if !equal(got[i], seq(0, n)) {
					t.Errorf("consumer %d saw %d items, want 0..%d in order", i, len(got[i]), n-1)
				}
				if !r.Consumer(i).Closed() {
					t.Errorf("consumer %d not Closed after draining", i)
				}
			}
		})
	}
}

func TestGatedOnSlowest(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 4, Consumers: 2})
	fast, slow := r.Consumer(0), r.Consumer(1)
	put(t, r, 0, 1, 2, 3)
	fast.Release(len(fast.Poll()))
	if s := r.TryReserve(1); s != nil {
		t.Fatalf("producer not gated on the slow consumer: got %d slots", len(s))
	}
	if r.Len() != 4 {
		t.Errorf("Len = %d, want 4 (the slow consumer's backlog)", r.Len())
	}
	slow.Poll()
	slow.Release(2)
	if s := r.TryReserve(4); len(s) != 2 {
		t.Fatalf("after the slow consumer released 2: %d slots, want 2", len(s))
	}
}

func TestConsumerRange(t *testing.T) {
	r := newRing[int](t, Options{Consumers: 2})
	mustPanic(t, "Consumer(2)", func() { r.Consumer(2) })
	mustPanic(t, "Consumer(-1)", func() { r.Consumer(-1) })
}

func TestClose(t *testing.T) {
	r := newRing[int](t, Options{Capacity: 8, Consumers: 2})
	put(t, r, 1, 2, 3)
	r.Reserve(2) // reserved but never committed: lost at Close
	r.Close()
	r.Close() // idempotent
	if !r.Closed() {
		t.Error("Closed() = false")
	}
	if s := r.Reserve(1); s != nil {
		t.Errorf("Reserve after Close = %v", s)
	}
	if s := r.TryReserve(1); s != nil {
		t.Errorf("TryReserve after Close = %v", s)
	}
	c := r.Consumer(0)
	if c.Closed() {
		t.Error("consumer Closed before draining")
	}
	b, ok := c.Wait()
	if !ok || !equal(b, []int{1, 2, 3}) {
		t.Fatalf("Wait after Close = %v %v, want the committed rest", b, ok)
	}
	c.Release(1)
	if c.Closed() {
		t.Error("consumer Closed with 2 unreleased")
	}
	if b, ok := c.Wait(); !ok || !equal(b, []int{2, 3}) {
		t.Fatalf("Wait = %v %v", b, ok)
	}
	c.Release(2)
	if b, ok := c.Wait(); ok || b != nil {
		t.Fatalf("Wait after drain = %v %v, want nil false", b, ok)
	}
	if !c.Closed() || r.Consumer(1).Closed() {
		t.Errorf("Closed: drained %v, undrained %v", c.Closed(), r.Consumer(1).Closed())
	}
}

// waitUntil yields until cond holds; the test's timeout bounds it.
func waitUntil(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

// TestParkWakeups drives each park path deterministically: it waits until
// the waiter has armed its parker (it is parked or about to be) and only then
// makes the condition true, so the wake-up, not a poll, must release it.
func TestParkWakeups(t *testing.T) {
	t.Run("consumer on Commit", func(t *testing.T) {
		r := newRing[int](t, Options{Capacity: 4, Wait: Park})
		c := r.Consumer(0)
		got := make(chan []int)
		go func() {
			b, _ := c.Wait()
			got <- append([]int(nil), b...)
		}()
		waitUntil(func() bool { return r.sleepers.Load() == 1 })
		put(t, r, 7)
		if b := <-got; !equal(b, []int{7}) {
			t.Errorf("woken consumer got %v", b)
		}
	})
	t.Run("consumer on Close", func(t *testing.T) {
		r := newRing[int](t, Options{Capacity: 4, Wait: Park})
		done := make(chan bool)
		go func() {
			_, ok := r.Consumer(0).Wait()
			done <- ok
		}()
		waitUntil(func() bool { return r.sleepers.Load() == 1 })
		r.Close()
		if <-done {
			t.Error("Wait on a closed empty ring returned ok")
		}
	})
	t.Run("producer on Release", func(t *testing.T) {
		r := newRing[int](t, Options{Capacity: 2, Wait: Park})
		put(t, r, 1, 2)
		got := make(chan int)
		go func() { got <- len(r.Reserve(2)) }()
		waitUntil(func() bool { return r.prod.armed.Load() == 1 })
		c := r.Consumer(0)
		c.Poll()
		c.Release(1)
		if n := <-got; n != 1 {
			t.Errorf("woken producer got %d slots, want 1", n)
		}
	})
	t.Run("producer on Close", func(t *testing.T) {
		r := newRing[int](t, Options{Capacity: 1, Wait: Park})
		put(t, r, 1)
		got := make(chan []int)
		go func() { got <- r.Reserve(1) }()
		waitUntil(func() bool { return r.prod.armed.Load() == 1 })
		r.Close()
		if s := <-got; s != nil {
			t.Errorf("Reserve woken by Close = %v, want nil", s)
		}
	})
}

// TestCloseUnblocks checks that Close ends waits under every strategy.
func TestCloseUnblocks(t *testing.T) {
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			r := newRing[int](t, Options{Capacity: 1, Consumers: 2, Wait: w})
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, ok := r.Consumer(i).Wait(); ok {
						t.Errorf("consumer %d: Wait on closed empty ring ok", i)
					}
				}()
			}
			r.Close()
			wg.Wait()
		})
	}
}

func TestBell(t *testing.T) {
	b := NewBell()
	b.Ring() // nobody parked: no token
	if len(b.p.ch) != 0 {
		t.Fatal("Ring with no waiter left a token")
	}
	r := newRing[int](t, Options{Capacity: 4, Bell: b})
	b.p.arm()
	put(t, r, 1)
	if b.p.armed.Load() != 0 || len(b.p.ch) != 1 {
		t.Fatal("Commit did not ring an armed Bell")
	}
	<-b.p.ch
	b.p.arm()
	r.Close()
	if len(b.p.ch) != 1 {
		t.Fatal("Close did not ring an armed Bell")
	}
}

// TestIdlerParkProtocol checks the two-step park: the first Idle at the
// park stage only arms, Reset disarms, and a sleep ends on a Ring.
func TestIdlerParkProtocol(t *testing.T) {
	b := NewBell()
	i := NewIdler(Park, b)
	for !i.armed {
		i.Idle() // spins and yields, then arms without sleeping
	}
	if b.p.armed.Load() != 1 {
		t.Fatal("Idler armed but the Bell is not")
	}
	i.Reset()
	if i.armed || b.p.armed.Load() != 0 {
		t.Fatal("Reset left the Bell armed")
	}
	for !i.armed {
		i.Idle()
	}
	done := make(chan struct{})
	go func() {
		i.Idle() // sleeps until rung
		close(done)
	}()
	b.Ring()
	<-done
	mustPanic(t, "Park without a Bell", func() { NewIdler(Park, nil) })
	NewIdler(0, nil).Idle() // SpinYield needs no Bell
}

// TestFanIn has one goroutine consume several rings that share a Bell.
func TestFanIn(t *testing.T) {
	const rings, n = 3, 20000
	for _, w := range strategies {
		t.Run(w.String(), func(t *testing.T) {
			b := NewBell()
			rs := make([]*Ring[int], rings)
			for i := range rs {
				rs[i] = newRing[int](t, Options{Capacity: 64, Wait: w, Bell: b})
			}
			var wg sync.WaitGroup
			for i, r := range rs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for v := 0; v < n; {
						s := r.Reserve(min(1+(v+i)%5, n-v))
						for j := range s {
							s[j] = v + j
						}
						r.Commit(len(s))
						v += len(s)
						if v%1000 < 5 {
							runtime.Gosched() // give the Idler reasons to park
						}
					}
					r.Close()
				}()
			}
			next := make([]int, rings)
			idle := NewIdler(w, b)
			for closed := 0; closed < rings; {
				found, closedNow := 0, 0
				for i, r := range rs {
					c := r.Consumer(0)
					batch := c.Poll()
					for _, v := range batch {
						if v != next[i] {
							t.Fatalf("ring %d: got %d, want %d", i, v, next[i])
						}
						next[i]++
					}
					c.Release(len(batch))
					found += len(batch)
					if c.Closed() {
						closedNow++
					}
				}
				closed = closedNow
				if found > 0 {
					idle.Reset()
				} else if closed < rings {
					idle.Idle()
				}
			}
			wg.Wait()
			for i := range next {
				if next[i] != n {
					t.Errorf("ring %d: %d items, want %d", i, next[i], n)
				}
			}
		})
	}
}

// TestNoAllocs runs under the race detector too: CI runs every test with
// -race only, and the race runtime allocates nothing on these paths.
func TestNoAllocs(t *testing.T) {
	r := newRing[[64]byte](t, Options{Capacity: 64})
	c := r.Consumer(0)
	allocs := testing.AllocsPerRun(1000, func() {
		s := r.Reserve(8)
		s[0][0] = 1
		r.Commit(len(s))
		b, _ := c.Wait()
		c.Release(len(b))
		r.TryReserve(1)
		r.Commit(0)
		c.Poll()
	})
	if allocs != 0 {
		t.Errorf("hot path allocates %v per run", allocs)
	}
}

// TestNewIdlerRefusesBadStrategy: NewIdler refuses at once what would
// otherwise fail hundreds of idle rounds later on a nil Bell: an unknown
// strategy (which New refuses in Options too), or Park without a Bell.
func TestNewIdlerRefusesBadStrategy(t *testing.T) {
	mustPanic(t, "NewIdler(9, nil)", func() { NewIdler(9, nil) })
	mustPanic(t, "NewIdler(9, bell)", func() { NewIdler(9, NewBell()) })
	mustPanic(t, "NewIdler(Park, nil)", func() { NewIdler(Park, nil) })
}
