// Command cacheprobe tells whether the machine is in a quiet or a slow
// phase before benchmarks run on it. On a shared VM the last-level cache
// is shared with the host's other guests, so work that lives in it (a
// large order book, a ring's slots crossing cores) slows down when they
// get busy, whatever tickd does. Each round it times, on one CPU, a
// register-only loop (the core's own speed) and the walks of
// bench.CacheProbe, which `tickd bench` also takes before and after a run:
// one within L2 and one over -llc bytes (default 16 MiB). A last-level
// walk several times its quiet value means the cache is being shared;
// compare benchmark figures only within one phase.
//
//	go run ./scripts/cacheprobe -rounds 10 -every 2s
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/tickd/tickd/bench"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds to run")
	every := flag.Duration("every", time.Second, "pause between rounds")
	llc := flag.Int("llc", bench.ProbeBytes, "bytes of the last-level walk")
	flag.Parse()
	if *rounds < 1 || *llc < 1<<20 {
		fmt.Fprintln(os.Stderr, "cacheprobe: -rounds must be ≥ 1 and -llc ≥ 1 MiB")
		os.Exit(2)
	}
	runtime.LockOSThread()
	p := bench.NewProber(bench.ProbeL2Bytes, *llc)
	fmt.Printf("%-8s  %10s  %14s  %15s\n", "time", "alu ns/it", "l2 walk ns", "llc walk ns")
	for r := range *rounds {
		if r > 0 {
			time.Sleep(*every)
		}
		const n = 50_000_000
		t0 := time.Now()
		x := aluLoop(n)
		alu := float64(time.Since(t0).Nanoseconds()) / n
		c := p.Probe()
		fmt.Printf("%-8s  %10.3f  %14.2f  %15.2f\n", time.Now().Format("15:04:05"), alu, c.L2WalkNs, c.LLCWalkNs)
		runtime.KeepAlive(x)
	}
}

// aluLoop is an xorshift: three dependent register operations a step.
func aluLoop(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
