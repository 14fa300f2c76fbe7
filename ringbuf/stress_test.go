package ringbuf

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/tick"
)

// check is the value the stress producer stores beside each sequence number,
// so that a slot overwritten or torn while being read is caught too.
func check(seq uint64) int64 { return int64(seq*0x9E3779B97F4A7C15 ^ seq>>7) }

// stress sends n events through a ring with two consumers. The producer
// reserves random batch sizes and sometimes commits only part of them; each
// consumer takes batches by Wait or Poll and releases them in random
// pieces. Every consumer must see 0..n-1 exactly once, in order.
func stress(t *testing.T, w WaitStrategy, n uint64, capacity, maxBatch int) {
	const consumers = 2
	r := newRing[tick.Event](t, Options{Capacity: capacity, Consumers: consumers, Wait: w})
	var wg sync.WaitGroup
	errs := make(chan string, consumers)
	for ci := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(ci)+1, 0xC0FFEE))
			c := r.Consumer(ci)
			var next uint64
			for {
				var b []tick.Event
				if rng.IntN(4) == 0 {
					b = c.Poll() // may be empty; fall through to Wait
				}
				if len(b) == 0 {
					var ok bool
					if b, ok = c.Wait(); !ok {
						break
					}
				}
				for i := range b {
					if b[i].Seq != next || b[i].Qty != check(next) {
						errs <- "consumer " + string(rune('0'+ci)) + ": want seq " + itoa(next) + ", got " + itoa(b[i].Seq)
						return
					}
					next++
				}
				// Release in one to three pieces.
				for left := len(b); left > 0; {
					k := left
					if left > 1 && rng.IntN(3) == 0 {
						k = 1 + rng.IntN(left-1)
					}
					c.Release(k)
					left -= k
				}
			}
			if next != n {
				errs <- "consumer " + string(rune('0'+ci)) + ": saw " + itoa(next) + " events, want " + itoa(n)
			}
		}()
	}
	rng := rand.New(rand.NewPCG(42, 0xBEEF))
	for seq := uint64(0); seq < n; {
		s := r.Reserve(1 + rng.IntN(maxBatch))
		if len(s) == 0 {
			t.Fatal("Reserve returned no slots on an open ring")
		}
		s = s[:min(uint64(len(s)), n-seq)]
		for i := range s {
			s[i] = tick.Event{Seq: seq + uint64(i), Qty: check(seq + uint64(i))}
		}
		k := len(s)
		if k > 1 && rng.IntN(8) == 0 {
			k = 1 + rng.IntN(k-1) // commit part; the rest is reserved again
		}
		r.Commit(k)
		seq += uint64(k)
	}
	r.Close()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		if v /= 10; v == 0 {
			return string(b[i:])
		}
	}
}

// TestStress moves 100M events (1M under the race detector or with
// -short) through a two-consumer ring under the default strategy, and
// shorter runs under the others. make test runs it without -race for the
// full count.
func TestStress(t *testing.T) {
	full := uint64(100_000_000)
	if raceEnabled {
		full = 1_000_000
	}
	if testing.Short() {
		full = min(full, 1_000_000)
	}
	cases := []struct {
		w           WaitStrategy
		n           uint64
		cap, maxBat int
	}{
		{SpinYield, full, 1024, 64},
		{Park, full / 10, 256, 32},
		// Three spinners on two cores is what the package doc warns
		// against; it must still be correct, but it is slow.
		{Spin, full / 100, 1024, 64},
		{SpinYield, full / 1000, 4, 8}, // tiny ring: mostly full, gate refreshed constantly
	}
	for _, c := range cases {
		t.Run(c.w.String()+"/cap"+itoa(uint64(c.cap)), func(t *testing.T) {
			start := time.Now()
			stress(t, c.w, c.n, c.cap, c.maxBat)
			t.Logf("%d events in %v (%.1f ns/event)", c.n, time.Since(start).Round(time.Millisecond),
				float64(time.Since(start).Nanoseconds())/float64(c.n))
		})
	}
}
