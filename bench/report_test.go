package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func reportTestResult(t testing.TB, mode string) *Result {
	t.Helper()
	r := &Result{
		Settings: Settings{Rate: 20000, Duration: 10 * time.Second, Warmup: 2 * time.Second, Symbols: 100,
			SignalRatio: 0.01, Format: "itch", Wait: "spin", NATS: "embedded", Mode: mode},
		Machine: Machine{CPU: "Test CPU", Cores: 2, GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", Host: "box"},
		Start:   time.Date(2026, 11, 23, 23, 0, 0, 123, time.UTC),
	}
	if mode == "inproc" {
		r.Sides = []Side{{Name: "inproc", Hist: hgrmKnownHist(t), Sent: 100004, Received: 100004, Rate: 20000.4, Elapsed: 5 * time.Second}}
		return r
	}
	s := plotTwoSides(t)
	s[0].Dropped, s[0].Rate, s[0].Elapsed = 7, 19876.4, 10*time.Second
	s[1].Rate, s[1].Elapsed = 20000, 10*time.Second
	r.Sides = s
	return r
}

func reportDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names // ReadDir sorts by name
}

func TestWriteReportE2E(t *testing.T) {
	r := reportTestResult(t, "e2e")
	dir := filepath.Join(t.TempDir(), "new", "dir") // created by WriteReport
	var term bytes.Buffer
	if err := WriteReport(dir, r, &term); err != nil {
		t.Fatal(err)
	}
	want := []string{"floor.hgrm", "latency.png", "latency.svg", "report.txt", "result.json", "tickd.hgrm"}
	if got := reportDirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(txt) != term.String() {
		t.Fatalf("report.txt differs from the terminal:\n%s\n---\n%s", txt, term.String())
	}
	out := term.String()
	t.Logf("\n%s", out)
	tickd, floor := r.Sides[0].Hist, r.Sides[1].Hist
	for _, want := range []string{"p50", "p90", "p99", "p99.9", "p99.99", "max", "rate/s", "sent", "received", "drops",
		"rate 20000/s", "duration 10s", "warmup 2s", "Test CPU, 2 cores, linux/amd64, go1.26.0, host box",
		fmtMicros(tickd.ValueAtQuantile(99)), fmtMicros(floor.ValueAtQuantile(99)), "7 (0.035%)", "  19876  "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	var ratioLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "tickd/floor") {
			ratioLine = l
		}
	}
	wantP50 := float64(tickd.ValueAtQuantile(50)) / float64(floor.ValueAtQuantile(50))
	if !strings.Contains(ratioLine, strconv.FormatFloat(wantP50, 'f', 2, 64)+"x") {
		t.Fatalf("ratio row %q lacks p50 ratio %.2fx", ratioLine, wantP50)
	}

	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got jsonResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Settings != r.Settings || got.Machine != r.Machine || got.Start != "2026-11-23T23:00:00.000000123Z" {
		t.Fatalf("json head: %+v %+v %q", got.Settings, got.Machine, got.Start)
	}
	if len(got.Sides) != 2 || got.Sides[0].Name != "tickd" || got.Sides[1].Name != "floor" {
		t.Fatalf("json sides %+v", got.Sides)
	}
	for i, s := range got.Sides {
		h := r.Sides[i].Hist
		if s.P99Ns != h.ValueAtQuantile(99) || s.P50Ns != h.ValueAtQuantile(50) || s.P999Ns != h.ValueAtQuantile(99.9) ||
			s.P9999Ns != h.ValueAtQuantile(99.99) || s.P90Ns != h.ValueAtQuantile(90) || s.MaxNs != h.Max() || s.MinNs != h.Min() ||
			s.Count != h.TotalCount() || s.MeanNs != h.Mean() || s.StdDevNs != h.StdDev() {
			t.Fatalf("json side %d: %+v", i, s)
		}
		if s.Sent != r.Sides[i].Sent || s.Received != r.Sides[i].Received || s.Dropped != r.Sides[i].Dropped ||
			s.Rate != r.Sides[i].Rate || s.ElapsedNs != int64(r.Sides[i].Elapsed) || s.Hgrm != s.Name+".hgrm" {
			t.Fatalf("json side %d counters: %+v", i, s)
		}
	}
	if got.Ratios == nil || got.Ratios.P50 != wantP50 ||
		got.Ratios.P99 != float64(tickd.ValueAtQuantile(99))/float64(floor.ValueAtQuantile(99)) {
		t.Fatalf("ratios %+v, want p50 %v", got.Ratios, wantP50)
	}

	// The .hgrm files are the sides' distributions.
	f, err := os.Open(filepath.Join(dir, "floor.hgrm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, sum, err := ParseHgrm(f)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalCount != floor.TotalCount() || sum.Max != float64(floor.Max())/1000 {
		t.Fatalf("floor.hgrm footer %+v", sum)
	}
}

func TestWriteReportInproc(t *testing.T) {
	r := reportTestResult(t, "inproc")
	dir := t.TempDir()
	var term bytes.Buffer
	if err := WriteReport(dir, r, &term); err != nil {
		t.Fatal(err)
	}
	want := []string{"inproc.hgrm", "latency.png", "latency.svg", "report.txt", "result.json"}
	if got := reportDirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if strings.Contains(term.String(), "tickd/floor") {
		t.Fatal("ratio row without a floor side")
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"ratios"`)) {
		t.Fatal("result.json has ratios without a floor side")
	}
	var got jsonResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Sides) != 1 || got.Sides[0].P99Ns != r.Sides[0].Hist.ValueAtQuantile(99) || got.Sides[0].Count != 100004 {
		t.Fatalf("json sides %+v", got.Sides)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "latency.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte(">inproc<")) {
		t.Fatal("svg lacks the inproc side")
	}
}

func TestWriteReportOnlyTickd(t *testing.T) {
	r := reportTestResult(t, "e2e")
	r.Sides = r.Sides[:1]
	r.Sides[0].Hist = nil // recorded nothing
	var term bytes.Buffer
	if err := WriteReport(t.TempDir(), r, &term); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(term.String(), "tickd/floor") {
		t.Fatal("ratio row without a floor side")
	}
	if !strings.Contains(term.String(), "tickd ") || !strings.Contains(term.String(), "  -  ") {
		t.Fatalf("empty side not shown with dashes:\n%s", term.String())
	}
}

func TestWriteReportRejects(t *testing.T) {
	dir := t.TempDir()
	if err := WriteReport(dir, nil, nil); err == nil {
		t.Fatal("nil result accepted")
	}
	for _, name := range []string{"", "../x", "a/b", ".hidden"} {
		r := reportTestResult(t, "inproc")
		r.Sides[0].Name = name
		if err := WriteReport(dir, r, nil); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
			t.Fatalf("side name %q: err %v", name, err)
		}
	}
	r := reportTestResult(t, "e2e")
	r.Sides[1].Name = "tickd"
	if err := WriteReport(dir, r, nil); err == nil {
		t.Fatal("repeated side name accepted")
	}
	if len(reportDirNames(t, dir)) != 0 {
		t.Fatal("files written for a rejected result")
	}
	// A file where the directory should be.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(filepath.Join(file, "sub"), reportTestResult(t, "inproc"), nil); err == nil {
		t.Fatal("report into a path under a file succeeded")
	}
}

// TestPlotTitleRate: the plot's title gives the tick rate as ticks/s (the
// floor carries messages at the signal rate, a share of it), and -inproc's
// rate 0 as full speed.
func TestPlotTitleRate(t *testing.T) {
	for rate, want := range map[float64]string{20000: "tickd bench e2e: latency by percentile at 20000 ticks/s",
		0: "tickd bench e2e: latency by percentile at full speed"} {
		if got := plotTitle(&Result{Settings: Settings{Mode: "e2e", Rate: rate}}); got != want {
			t.Errorf("rate %v: title %q, want %q", rate, got, want)
		}
	}
}

// Each percentile of the report is the nearest rank: of n distinct
// latencies 1..n ns (exact in the histogram below 2048), the q-th
// percentile is ⌈q·n⌉ ns, for every n, whatever the fraction of q·n.
func TestReportPercentilesAreNearestRank(t *testing.T) {
	h := NewHistogram()
	for n := int64(1); n < 2048; n++ {
		_ = h.RecordValue(n)
		f := sideFigures(Side{Name: "tickd"}, h)
		for i, got := range f.percentiles()[:len(reportQuantiles)] {
			ppm := int64(reportQuantiles[i].q * 1e4) // 99.99 → 999900: exact in float
			if want := (ppm*n + 999_999) / 1_000_000; got != want {
				t.Fatalf("%d latencies 1..%d ns: %s %d ns, want %d", n, n, reportQuantiles[i].name, got, want)
			}
		}
	}
}

// A tail just over the share a percentile leaves above it is in that
// percentile, in result.json as in report.txt: 11 stalls of 100 ms in 1060
// latencies (1.04%) are the p99, and the one slowest of 6000 is the
// p99.99 (0.6 of them may lie above it: none).
func TestReportTailIsInItsPercentile(t *testing.T) {
	for _, c := range []struct {
		fast, slow int64
		slowNs     int64
		field      string
		col        int // its column in the table, the side's name left out
	}{
		{1049, 11, 100_000_000, "p99_ns", 2},
		{5999, 1, 5_000_000, "p9999_ns", 4},
	} {
		h := NewHistogram()
		_ = h.RecordValues(10_000, c.fast)
		_ = h.RecordValues(c.slowNs, c.slow)
		n := uint64(c.fast + c.slow)
		side, _, txt := writeE2EReport(t, Side{Name: "tickd", Hist: h, Sent: n, Received: n})
		want := h.Max() // the slow latency's bucket
		if got := side[c.field].(float64); int64(got) != want {
			t.Errorf("%d at 10 µs and %d at %d ns: %s %v, want %d", c.fast, c.slow, c.slowNs, c.field, int64(got), want)
		}
		row := strings.Fields(strings.Split(string(txt), "\ntickd ")[1])
		if row[c.col] != fmtMicros(want) {
			t.Errorf("report.txt's %s is %s µs, want %s:\n%s", c.field, row[c.col], fmtMicros(want), txt)
		}
	}
}

// A latency the histogram cannot hold (negative after a clock step, or
// over its minute) is recorded at the bound and counted, and the report
// says how many, in result.json and in report.txt.
func TestReportCountsClampedLatencies(t *testing.T) {
	p := newPacer(1000, 3, PaceSleep)
	rec := newRecorder(p, 0, nil)
	now := p.now()
	rec.record(now-int64(2*time.Minute), 100) // a stall of two minutes
	rec.record(now+int64(time.Hour), 100)     // sent "in the future": the clock stepped back
	rec.record(now-int64(time.Millisecond), 100)
	s, _ := rec.side("tickd", 3, 3, time.Second)
	if s.Hist.TotalCount() != 3 || s.Hist.Max() < int64(time.Minute)-int64(time.Minute)/1000 {
		t.Fatalf("histogram: %d latencies, max %d ns; want 3, the longest at a minute", s.Hist.TotalCount(), s.Hist.Max())
	}
	side, js, txt := writeE2EReport(t, s)
	if got, ok := side["clamped"].(float64); !ok || got != 2 {
		t.Errorf("result.json: clamped %v, want 2:\n%s", side["clamped"], js)
	}
	for _, want := range []string{"histogram: 1ns to 1m0s at 3 significant digits", "tickd: 2 of its 3 latencies were outside 1ns..1m0s"} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("report.txt lacks %q:\n%s", want, txt)
		}
	}
}

// A directory reused for a run of another mode holds that run's files
// only: the end-to-end run's tickd.hgrm and floor.hgrm go when an
// in-process report replaces its result.json; files not of a report stay.
func TestWriteReportRemovesStaleHgrms(t *testing.T) {
	dir := t.TempDir()
	if err := WriteReport(dir, reportTestResult(t, "e2e"), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.hgrm"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(dir, reportTestResult(t, "inproc"), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"inproc.hgrm", "latency.png", "latency.svg", "mine.hgrm", "report.txt", "result.json"}
	if got := reportDirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
}

// Drops of a side with a drain are expected messages not received by
// then: lost, or late beyond it. The report says so, and how much of the
// tail they would be, since a stall longer than the drain at the end of a
// run shows there and not in the percentiles.
func TestReportSaysDropsMayBeLate(t *testing.T) {
	h := NewHistogram()
	_ = h.RecordValues(200_000, 5974)
	s := Side{Name: "tickd", Hist: h, Sent: 60000, Received: 5974, Dropped: 26, Drain: 2 * time.Second}
	_, js, txt := writeE2EReport(t, s)
	want := "tickd: the 26 dropped were not received within 2s of the last send, lost or later than that, and are not in the latencies: counted as late, the slowest 0.433% would be over 2s\n"
	if !strings.Contains(string(txt), want) {
		t.Errorf("report.txt lacks %q:\n%s", want, txt)
	}
	if !bytes.Contains(js, []byte(`"drain_ns": 2000000000`)) {
		t.Errorf("result.json has no drain_ns:\n%s", js)
	}
}

// writeE2EReport writes the report of an end-to-end run of side s to a
// fresh directory and returns the side as result.json has it, result.json
// and report.txt.
func writeE2EReport(t *testing.T, s Side) (side map[string]any, js, txt []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteReport(dir, &Result{Settings: Settings{Mode: "e2e"}, Sides: []Side{s}}, nil); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Sides []map[string]any }
	if err := json.Unmarshal(js, &res); err != nil || len(res.Sides) != 1 {
		t.Fatalf("result.json: %v\n%s", err, js)
	}
	if txt, err = os.ReadFile(filepath.Join(dir, ReportText)); err != nil {
		t.Fatal(err)
	}
	return res.Sides[0], js, txt
}
