// Command schedtrace summarises a Go execution trace (go test -trace) by
// goroutine: time running, runnable (ready but without a P), in system
// calls and waiting, with how long the runnable spells were. Goroutines are
// named by the first tickd (non-runtime, non-sync) function that started
// them, and summed by name, so an engine shard made afresh for every
// benchmark op counts as one.
//
// With -focus, it also lists what ran during the focused goroutines'
// runnable spells longer than -min: who held the Ps they were waiting for.
//
//	go test -run '^$' -bench 'RecordingCostPipelined/engine\+recorder-direct$' \
//	    -benchtime 30x -trace /tmp/rec.trace ./replay/
//	cd scripts/schedtrace && go run . -focus 'Engine\).Run' /tmp/rec.trace
//
// It is a module of its own (golang.org/x/exp/trace), outside tickd's build.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// spell is a span of time a goroutine spent in one state.
type spell struct {
	from, to trace.Time
	name     string
	state    trace.GoState
}

// totals is what one name's goroutines spent in each state.
type totals struct {
	name                     string
	run, runnable, sys, wait time.Duration
	spells                   int           // runnable spells
	longest                  time.Duration // longest runnable spell
	decades                  [6]int        // runnable spells <1µs, <10µs, <100µs, <1ms, <10ms, longer
}

// goroutine is one goroutine's name and when it entered its current state.
type goroutine struct {
	name  string
	since trace.Time
}

func main() {
	focus := flag.String("focus", "", "regexp of goroutine names whose long runnable spells to explain")
	minWait := flag.Duration("min", 10*time.Microsecond, "runnable spells shorter than this are not explained")
	top := flag.Int("top", 8, "names to list, by time running and in system calls")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: schedtrace [-focus RE] [-min D] [-top N] TRACE")
		os.Exit(2)
	}
	var focusRE *regexp.Regexp
	if *focus != "" {
		focusRE = regexp.MustCompile(*focus)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		fail(err)
	}

	gs := map[trace.GoID]*goroutine{}
	sums := map[string]*totals{}
	var busy, waits []spell // spells running or in a syscall; focused runnable spells
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(err)
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		from, _ := st.Goroutine()
		g := gs[id]
		if g == nil {
			g = &goroutine{}
			gs[id] = g
			g.name = nameOf(st.Stack, ev.Stack(), from == trace.GoNotExist)
		}
		if g.since != 0 {
			s := spell{g.since, ev.Time(), g.name, from}
			t := sums[g.name]
			if t == nil {
				t = &totals{name: g.name}
				sums[g.name] = t
			}
			t.add(s)
			switch {
			case from == trace.GoRunning || from == trace.GoSyscall:
				busy = append(busy, s)
			case from == trace.GoRunnable && focusRE != nil && focusRE.MatchString(g.name) && s.length() >= *minWait:
				waits = append(waits, s)
			}
		}
		g.since = ev.Time()
	}

	list := make([]*totals, 0, len(sums))
	for _, t := range sums {
		list = append(list, t)
	}
	slices.SortFunc(list, func(a, b *totals) int { return cmp.Compare(b.run+b.sys, a.run+a.sys) })
	fmt.Printf("%-9s %-9s %-8s %-10s %-38s %-9s %-10s %s\n", "running", "runnable", "spells", "longest", "spells <1µs <10µs <100µs <1ms <10ms more", "syscall", "waiting", "goroutine")
	for _, t := range list[:min(*top, len(list))] {
		fmt.Printf("%-9s %-9s %-8d %-10s %-38s %-9s %-10s %s\n", ms(t.run), ms(t.runnable), t.spells, t.longest.Round(time.Microsecond),
			fmt.Sprint(t.decades), ms(t.sys), ms(t.wait), t.name)
	}
	if focusRE != nil {
		explain(waits, busy, *minWait)
	}
}

// explain prints, for the focused runnable spells, how long each other
// name was running or in a system call during them.
func explain(waits, busy []spell, minWait time.Duration) {
	var total time.Duration
	during := map[string]time.Duration{}
	for _, w := range waits {
		total += w.length()
		for _, b := range busy {
			if lo, hi := max(b.from, w.from), min(b.to, w.to); hi > lo {
				k := b.name
				if b.state == trace.GoSyscall {
					k += " (in a system call)"
				}
				during[k] += time.Duration(hi - lo)
			}
		}
	}
	fmt.Printf("\n%d runnable spells of the focused goroutines of %v or more, %s in all; meanwhile:\n", len(waits), minWait, ms(total))
	keys := make([]string, 0, len(during))
	for k := range during {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(during[b], during[a]) })
	for _, k := range keys {
		if during[k] >= total/50 {
			fmt.Printf("  %-9s %s\n", ms(during[k]), k)
		}
	}
}

func (s spell) length() time.Duration { return time.Duration(s.to - s.from) }

func (t *totals) add(s spell) {
	d := s.length()
	switch s.state {
	case trace.GoRunning:
		t.run += d
	case trace.GoRunnable:
		t.runnable += d
		t.spells++
		t.longest = max(t.longest, d)
		i := 0
		for x := time.Microsecond; d >= x && i < len(t.decades)-1; x *= 10 {
			i++
		}
		t.decades[i]++
	case trace.GoSyscall:
		t.sys += d
	case trace.GoWaiting:
		t.wait += d
	}
}

// nameOf names a goroutine: a runtime goroutine (a GC worker, the
// sweeper) by its function, any other by the first frame outside the
// runtime and sync packages of the stack that started it (so the shard an
// engine starts through a WaitGroup is named by the engine's function).
// Goroutines that were running when the trace began are named by their
// own stack.
func nameOf(own, starter trace.Stack, created bool) string {
	start := ""
	for f := range own.Frames() {
		start = f.Func
		break
	}
	if strings.HasPrefix(start, "runtime.") || !created {
		starter = own
	}
	for f := range starter.Frames() {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "sync.") {
			return strings.TrimPrefix(f.Func, "github.com/tickd/tickd/")
		}
	}
	return start
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "schedtrace:", err)
	os.Exit(1)
}
