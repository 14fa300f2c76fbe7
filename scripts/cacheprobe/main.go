// Command cacheprobe tells whether the machine is in a quiet or a slow
// phase before benchmarks run on it. On a shared VM the last-level cache
// is shared with the host's other guests, so work that lives in it (a
// large order book, a ring's slots crossing cores) slows down when they
// get busy, whatever tickd does. Each round it times, on one CPU:
//
//   - alu: a register-only loop (the core's own speed);
//   - chase-l2: a dependent random walk over an array that fits in L2;
//   - chase-llc: the same over an array of -llc bytes (default 16 MiB,
//     half of this machine's 32 MiB L3), one cache miss per step once it
//     falls out of L2.
//
// and prints nanoseconds per step (alu: per iteration). A chase-llc that
// is several times its quiet value means the cache is being shared; run
// benchmarks whose figures are to be compared in the same phase.
//
//	go run ./scripts/cacheprobe -rounds 10 -every 2s
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds to run")
	every := flag.Duration("every", time.Second, "pause between rounds")
	llc := flag.Int("llc", 16<<20, "bytes walked by chase-llc")
	flag.Parse()
	if *rounds < 1 || *llc < 1<<20 {
		fmt.Fprintln(os.Stderr, "cacheprobe: -rounds must be ≥ 1 and -llc ≥ 1 MiB")
		os.Exit(2)
	}
	runtime.LockOSThread()
	l2 := newChase(256 << 10)
	big := newChase(*llc)
	fmt.Printf("%-8s  %10s  %14s  %15s\n", "time", "alu ns/it", "chase-l2 ns", "chase-llc ns")
	for r := range *rounds {
		if r > 0 {
			time.Sleep(*every)
		}
		a := timeIt(aluLoop, 50_000_000)
		c2 := timeIt(l2.walk, 5_000_000)
		cl := timeIt(big.walk, 2_000_000)
		fmt.Printf("%-8s  %10.3f  %14.2f  %15.2f\n", time.Now().Format("15:04:05"), a, c2, cl)
	}
	runtime.KeepAlive(sink)
}

// sink keeps the loops' results observable.
var sink uint64

// timeIt returns the nanoseconds per step of f over n steps.
func timeIt(f func(n int) uint64, n int) float64 {
	t0 := time.Now()
	sink += f(n)
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
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

// chase is one random cycle through an array: each step loads the index
// of the next, so no two loads overlap.
type chase []uint32

func newChase(bytes int) chase {
	n := bytes / 4
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	r := uint64(1)
	for i := n - 1; i > 0; i-- { // Fisher–Yates with a fixed LCG: the same walk every run
		r = r*6364136223846793005 + 1442695040888963407
		j := int((r >> 33) % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	c := make(chase, n)
	for i := range perm {
		c[perm[i]] = perm[(i+1)%n]
	}
	c.walk(n) // fault the pages in and warm the cache once
	return c
}

func (c chase) walk(n int) uint64 {
	i := uint32(0)
	for range n {
		i = c[i]
	}
	return uint64(i)
}
