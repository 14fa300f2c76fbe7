package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWalkIsOneCycle: the walk visits every entry once before it comes
// back to the start, so a probe reads the whole array, not a short loop
// in it that the cache would hold.
func TestWalkIsOneCycle(t *testing.T) {
	for _, bytes := range []int{4096, 64 << 10, 1 << 20} {
		w := newWalk(bytes)
		seen := make([]bool, len(w))
		i := uint32(0)
		for step := range len(w) {
			if seen[i] {
				t.Fatalf("%d bytes: entry %d visited twice, at step %d of %d", bytes, i, step, len(w))
			}
			seen[i] = true
			i = w[i]
		}
		if i != 0 {
			t.Fatalf("%d bytes: after %d steps the walk is at %d, not back at 0", bytes, len(w), i)
		}
	}
}

func TestProbe(t *testing.T) {
	c := NewProber(16<<10, 1<<20).Probe()
	if c.L2Bytes != 16<<10 || c.LLCBytes != 1<<20 {
		t.Fatalf("sizes %d and %d", c.L2Bytes, c.LLCBytes)
	}
	for _, v := range []float64{c.L2WalkNs, c.LLCWalkNs} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Fatalf("probe %+v: a walk took no time or no number", c)
		}
	}
}

func TestSpreadOfProbes(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want float64
	}{{10, 25, 2.5}, {25, 10, 2.5}, {30, 30, 1}, {0, 30, 0}} {
		if got := spread(CacheProbe{LLCWalkNs: c.a}, CacheProbe{LLCWalkNs: c.b}); got != c.want {
			t.Errorf("spread(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestReportCarriesCacheProbes: the probes appear in the report and in
// result.json, the report warns when they differ by 1.5x or more, and a
// run without probes shows neither.
func TestReportCarriesCacheProbes(t *testing.T) {
	probe := func(llc float64) CacheProbe {
		return CacheProbe{L2Bytes: 256 << 10, L2WalkNs: 3.2, LLCBytes: 16 << 20, LLCWalkNs: llc}
	}
	for _, c := range []struct {
		name  string
		cache CachePhase
		lines []string
		warn  bool
	}{
		{"steady", CachePhase{probe(27), probe(31)},
			[]string{"cache:    random walk over 16 MiB: 27.0 ns a step before the run, 31.0 after (over 256 KiB: 3.2 and 3.2)"}, false},
		{"moved", CachePhase{probe(27), probe(116)}, []string{"27.0 ns a step before the run, 116.0 after"}, true},
		{"none", CachePhase{}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := reportTestResult(t, "inproc")
			r.Cache = c.cache
			dir := t.TempDir()
			var term bytes.Buffer
			if err := WriteReport(dir, r, &term); err != nil {
				t.Fatal(err)
			}
			out := term.String()
			for _, l := range c.lines {
				if !strings.Contains(out, l) {
					t.Errorf("report lacks %q:\n%s", l, out)
				}
			}
			if got := strings.Contains(out, "cache:"); got != (c.cache != CachePhase{}) {
				t.Errorf("cache line present %v:\n%s", got, out)
			}
			if got := strings.Contains(out, "changed 4.3x during the run"); got != c.warn {
				t.Errorf("warning present %v, want %v:\n%s", got, c.warn, out)
			}
			b, err := os.ReadFile(filepath.Join(dir, ReportJSON))
			if err != nil {
				t.Fatal(err)
			}
			var got jsonResult
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if c.cache == (CachePhase{}) {
				if got.Cache != nil || bytes.Contains(b, []byte(`"cache"`)) {
					t.Fatalf("result.json has a cache without probes: %s", b)
				}
				return
			}
			if got.Cache == nil || *got.Cache != c.cache {
				t.Fatalf("result.json cache %+v, want %+v", got.Cache, c.cache)
			}
		})
	}
}
