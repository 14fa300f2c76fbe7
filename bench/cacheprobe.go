package bench

import (
	"math"
	"time"
)

// CacheProbe is how fast this process walked memory at one moment: the
// nanoseconds per step of a dependent random walk over an array that fits
// in L2 and over one of ProbeBytes, which on most machines lives in the
// last-level cache. On a shared VM that cache is shared with the host's
// other guests, so the second figure moves with their load (several-fold
// within seconds) while the first does not. A run's latencies move with
// it too: a report carries a probe from before and after the run, so that
// two runs can be compared only when their probes agree.
type CacheProbe struct {
	L2Bytes   int     `json:"l2_bytes"`    // size of the L2 walk's array
	L2WalkNs  float64 `json:"l2_walk_ns"`  // ns per step of its walk
	LLCBytes  int     `json:"llc_bytes"`   // size of the last-level walk's array
	LLCWalkNs float64 `json:"llc_walk_ns"` // ns per step of its walk
}

// ProbeBytes is the size of the last-level walk: 16 MiB, half the L3 of
// the machines tickd is developed on, so a quiet phase holds all of it.
const ProbeBytes = 16 << 20

// ProbeL2Bytes is the size of the L2 walk.
const ProbeL2Bytes = 256 << 10

// Prober holds the two walks' arrays (ProbeBytes and 256 KiB), built once.
type Prober struct {
	l2, llc walk
}

// NewProber builds the walks over l2Bytes and llcBytes (each at least
// 4 KiB). It takes tens of milliseconds and llcBytes of memory.
func NewProber(l2Bytes, llcBytes int) *Prober {
	return &Prober{l2: newWalk(max(l2Bytes, 4096)), llc: newWalk(max(llcBytes, 4096))}
}

// NewDefaultProber is NewProber over 256 KiB and ProbeBytes.
func NewDefaultProber() *Prober { return NewProber(ProbeL2Bytes, ProbeBytes) }

// Probe times each walk (the L2 one eight times around, the larger one
// its first 2M steps at most) after walking the same steps once untimed,
// so that what it measures is whether the cache keeps the array, not
// whether something else had just evicted it. It takes up to a second.
func (p *Prober) Probe() CacheProbe {
	nL2, nLLC := 8*len(p.l2), min(len(p.llc), 2<<20)
	p.l2.steps(nL2)
	l2 := p.l2.time(nL2)
	p.llc.steps(nLLC)
	return CacheProbe{L2Bytes: 4 * len(p.l2), L2WalkNs: l2, LLCBytes: 4 * len(p.llc), LLCWalkNs: p.llc.time(nLLC)}
}

// spread returns how many times slower the slower of two probes walked the
// last-level array than the faster: 1 when they agree, 0 when either has
// no figure.
func spread(a, b CacheProbe) float64 {
	lo, hi := min(a.LLCWalkNs, b.LLCWalkNs), max(a.LLCWalkNs, b.LLCWalkNs)
	if lo <= 0 || math.IsNaN(hi) {
		return 0
	}
	return hi / lo
}

// walk is one random cycle through all its entries: each holds the index
// of the next, so each step's load waits for the one before it.
type walk []uint32

func newWalk(bytes int) walk {
	n := bytes / 4
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	r := uint64(1)
	for i := n - 1; i > 0; i-- { // Fisher–Yates with a fixed LCG: the same cycle every time
		r = r*6364136223846793005 + 1442695040888963407
		j := int((r >> 33) % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	w := make(walk, n)
	for i := range order {
		w[order[i]] = order[(i+1)%n]
	}
	w.steps(n) // fault the pages in
	return w
}

// steps walks n steps from entry 0 and returns where it ended.
func (w walk) steps(n int) uint32 {
	i := uint32(0)
	for range n {
		i = w[i]
	}
	return i
}

// time returns the nanoseconds per step of n steps (NaN if the walk
// leaves the array, which it cannot: the check keeps its result used).
func (w walk) time(n int) float64 {
	t0 := time.Now()
	if end := w.steps(n); int(end) >= len(w) {
		return math.NaN()
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}
