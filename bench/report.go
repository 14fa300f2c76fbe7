package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// reportQuantiles are the percentiles every report shows, as the histogram
// takes them (0..100), with their column names: jsonSide's P50Ns to
// P9999Ns, in that order.
var reportQuantiles = []struct {
	q    float64
	name string
}{
	{50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"},
}

// The report's file names, beside one <side name>.hgrm per side.
const (
	ReportText = "report.txt"
	ReportJSON = "result.json"
	ReportSVG  = "latency.svg"
	ReportPNG  = "latency.png"
)

// jsonSide is one side in result.json; see WriteReport.
type jsonSide struct {
	Name      string  `json:"name"`
	Count     int64   `json:"count"`
	MinNs     int64   `json:"min_ns"`
	MeanNs    float64 `json:"mean_ns"`
	StdDevNs  float64 `json:"stddev_ns"`
	P50Ns     int64   `json:"p50_ns"`
	P90Ns     int64   `json:"p90_ns"`
	P99Ns     int64   `json:"p99_ns"`
	P999Ns    int64   `json:"p999_ns"`
	P9999Ns   int64   `json:"p9999_ns"`
	MaxNs     int64   `json:"max_ns"`
	Sent      uint64  `json:"sent"`
	Received  uint64  `json:"received"`
	Clamped   uint64  `json:"clamped"`
	Dropped   uint64  `json:"dropped"`
	DrainNs   int64   `json:"drain_ns"`
	Rate      float64 `json:"rate"`
	ElapsedNs int64   `json:"elapsed_ns"`
	Hgrm      string  `json:"hgrm"`
}

// jsonRatios is tickd's figure over the floor's, per percentile.
type jsonRatios struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
}

// jsonResult is result.json; see WriteReport.
type jsonResult struct {
	Start    string      `json:"start"`
	Partial  string      `json:"partial,omitempty"`
	Settings Settings    `json:"settings"`
	Machine  Machine     `json:"machine"`
	Timing   *Timing     `json:"timing,omitempty"`
	Cache    *CachePhase `json:"cache,omitempty"`
	Sides    []jsonSide  `json:"sides"`
	Ratios   *jsonRatios `json:"ratios,omitempty"`
}

// sideFigures are the numbers the table and result.json share.
func sideFigures(s Side, h *hdrhistogram.Histogram) jsonSide {
	qs := make([]float64, len(reportQuantiles))
	for i, q := range reportQuantiles {
		qs[i] = q.q
	}
	v := nearestRanks(h, qs...)
	return jsonSide{
		Name: s.Name, Count: h.TotalCount(), MinNs: h.Min(), MeanNs: h.Mean(), StdDevNs: h.StdDev(),
		P50Ns: v[0], P90Ns: v[1], P99Ns: v[2], P999Ns: v[3], P9999Ns: v[4], MaxNs: h.Max(),
		Sent: s.Sent, Received: s.Received, Clamped: s.Clamped, Dropped: s.Dropped, DrainNs: int64(s.Drain), Rate: s.Rate,
		ElapsedNs: int64(s.Elapsed), Hgrm: s.Name + ".hgrm",
	}
}

// nearestRanks returns h's value at each percentile of qs (0..100,
// ascending): the highest equivalent value of the first bucket by which at
// least ⌈q/100·count⌉ values are recorded, so that no more than 100−q
// percent of them lie above it. The library's ValueAtPercentilesSlice
// rounds the rank to the nearest instead, and where q/100·count has a
// fraction under one half reports the value a rank lower: of 6000
// latencies, its p99.99 is the second largest, with one (0.017%) above.
func nearestRanks(h *hdrhistogram.Histogram, qs ...float64) []int64 {
	v := make([]int64, len(qs))
	total := h.TotalCount()
	if total == 0 {
		return v
	}
	var cum int64
	k := 0
	for _, b := range h.Distribution() {
		cum += b.Count
		for ; k < len(qs) && cum >= nearestRank(qs[k], total); k++ {
			v[k] = b.To
		}
		if k == len(qs) {
			break
		}
	}
	return v
}

// nearestRank is ⌈q/100·total⌉, at least 1, computed on q in parts per
// million so that float rounding cannot move it (99% of 6000 is 5940,
// where 0.99·6000 in floating point may land just above it).
func nearestRank(q float64, total int64) int64 {
	ppm := int64(math.Round(q * 1e4))
	r := total/1_000_000*ppm + (total%1_000_000*ppm+999_999)/1_000_000
	return min(max(r, 1), total)
}

func (f jsonSide) percentiles() []int64 {
	return []int64{f.P50Ns, f.P90Ns, f.P99Ns, f.P999Ns, f.P9999Ns, f.MaxNs}
}

// reportRatio is a/b, or 0 when b is 0 (JSON has no NaN or infinity).
func reportRatio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// validSideName keeps a side's name usable as a file name in dir.
func validSideName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// WriteReport prints a run's summary on term (when not nil) and writes the
// run into dir, creating it if missing:
//
//   - report.txt: the same text as term: a PARTIAL line saying why, for a
//     run stopped before its end, the settings and machine, what is
//     timed with which clock, the histogram's range and precision, then a
//     table of one row per side with p50, p90, p99, p99.9, p99.99 and max
//     latency in µs, the achieved rate, messages sent, received and dropped,
//     and, when both a "tickd" and a "floor" side exist, a tickd/floor row
//     of the percentile ratios; below it, what a side's drops may be and
//     how many of its latencies were clamped, when any.
//   - <side name>.hgrm per side (tickd.hgrm and floor.hgrm end to end,
//     inproc.hgrm and clock.hgrm in process): the percentile distribution in HdrHistogram's
//     text layout, values in µs (see WriteHgrm), for HdrHistogram's plotter.
//   - latency.svg and latency.png: the percentile plot of every side (see
//     WritePlotSVG, WritePlotPNG).
//   - result.json: every figure, latencies in ns, as below.
//
// The fields of result.json:
//
//	start                 run start, RFC 3339 with nanoseconds
//	partial               only for a run stopped before its end: why (Result.Partial);
//	                      the sides hold what was measured until then
//	settings              the Settings as given; durations in ns (duration_ns, warmup_ns)
//	machine               the Machine: cpu, cores, go_version, os, arch, host
//	timing                when said: interval, from where to where each latency
//	                      runs (open loop end to end, service time in process),
//	                      and clock, what stamped both ends; see TimingOf
//	cache                 when probed: before and after, each a CacheProbe
//	                      (l2_bytes, l2_walk_ns, llc_bytes, llc_walk_ns); see CacheProbe
//	sides[]               one object per side, in run order:
//	  name                "tickd", "floor", "inproc" or "clock"
//	  count               latencies recorded
//	  min_ns, max_ns      smallest and largest latency (histogram bucket bounds, 0.1%)
//	  mean_ns, stddev_ns  mean latency and its standard deviation
//	  p50_ns, p90_ns, p99_ns, p999_ns, p9999_ns
//	                      latency at 50, 90, 99, 99.9 and 99.99 percent: the
//	                      least value with at least ⌈q·count⌉ latencies at or
//	                      below it (nearest rank; its bucket's highest value)
//	  sent, received      messages sent and received in the measured window
//	  clamped             of received, latencies outside the histogram's range
//	                      (negative: the clock stepped back; over a minute: a
//	                      stall) recorded at its bound, not at their value
//	  dropped             expected but not received: with a drain, not by then,
//	                      so lost or later than that (not in the latencies)
//	  drain_ns            how long after the last send the expected messages
//	                      were awaited; 0: until the pipeline closed (in process)
//	  rate                achieved send rate, messages per second (0: unknown, fewer than two sent; "-" in the table)
//	  elapsed_ns          measured window
//	  hgrm                the side's .hgrm file name in dir
//	ratios                only with both a tickd and a floor side: tickd's latency
//	                      over the floor's, as p50, p90, p99, p999, p9999 and max
//	                      (0 where the floor's figure is 0)
//
// A side without a histogram counts as one that recorded nothing. Side names
// must be non-empty, unique, and made of letters, digits, '-' and '_' (they
// name files).
func WriteReport(dir string, r *Result, term io.Writer) error {
	if r == nil {
		return errors.New("bench: report: nil result")
	}
	seen := map[string]bool{}
	figs := make([]jsonSide, len(r.Sides))
	sides := make([]Side, len(r.Sides))
	tickd, floor := -1, -1
	for i, s := range r.Sides {
		if !validSideName(s.Name) || seen[s.Name] {
			return fmt.Errorf("bench: report: side %d: name %q is empty, repeated or not a file name", i, s.Name)
		}
		seen[s.Name] = true
		if s.Hist == nil {
			s.Hist = NewHistogram()
		}
		sides[i] = s
		figs[i] = sideFigures(s, s.Hist)
		switch s.Name {
		case "tickd":
			tickd = i
		case "floor":
			floor = i
		}
	}
	res := jsonResult{Start: r.Start.Format(time.RFC3339Nano), Partial: r.Partial, Settings: r.Settings, Machine: r.Machine, Sides: figs}
	if r.Timing != (Timing{}) {
		res.Timing = &r.Timing
	}
	if r.Cache != (CachePhase{}) {
		res.Cache = &r.Cache
	}
	if tickd >= 0 && floor >= 0 {
		a, b := figs[tickd].percentiles(), figs[floor].percentiles()
		res.Ratios = &jsonRatios{
			P50: reportRatio(a[0], b[0]), P90: reportRatio(a[1], b[1]), P99: reportRatio(a[2], b[2]),
			P999: reportRatio(a[3], b[3]), P9999: reportRatio(a[4], b[4]), Max: reportRatio(a[5], b[5]),
		}
	}

	text := reportText(r, figs, res.Ratios)
	var termErr error
	if term != nil {
		if _, err := io.WriteString(term, text); err != nil {
			termErr = fmt.Errorf("bench: report: terminal: %w", err) // still write the files
		}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Join(termErr, fmt.Errorf("bench: report: %w", err))
	}
	files := map[string]func(io.Writer) error{
		ReportText: func(w io.Writer) error { _, err := io.WriteString(w, text); return err },
		ReportJSON: func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
		ReportSVG: func(w io.Writer) error { return WritePlotSVG(w, plotTitle(r), sides) },
		ReportPNG: func(w io.Writer) error { return WritePlotPNG(w, plotTitle(r), sides) },
	}
	for _, s := range sides {
		h := s.Hist
		files[s.Name+".hgrm"] = func(w io.Writer) error { return WriteHgrm(w, h, 1000) }
	}
	if err := removeStaleHgrms(dir, files); err != nil {
		return errors.Join(termErr, fmt.Errorf("bench: report: %w", err))
	}
	for name, write := range files {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return errors.Join(termErr, fmt.Errorf("bench: report: %s: %w", name, err))
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return errors.Join(termErr, fmt.Errorf("bench: report: %w", err))
		}
	}
	return termErr
}

// removeStaleHgrms removes from dir the .hgrm files its previous report
// (its result.json) listed and this one, writing files, does not: a
// directory reused for a run of another mode would otherwise hold the old
// run's tickd.hgrm and floor.hgrm beside the new inproc.hgrm.
func removeStaleHgrms(dir string, files map[string]func(io.Writer) error) error {
	b, err := os.ReadFile(filepath.Join(dir, ReportJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var prev struct{ Sides []struct{ Hgrm string } }
	if json.Unmarshal(b, &prev) != nil {
		return nil // not our result.json: nothing of ours to remove
	}
	for _, s := range prev.Sides {
		name := s.Hgrm
		if _, ours := files[name]; ours || !validSideName(strings.TrimSuffix(name, ".hgrm")) || !strings.HasSuffix(name, ".hgrm") {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func plotTitle(r *Result) string {
	mode := r.Settings.Mode
	if mode == "" {
		mode = "run"
	}
	// Settings.Rate is ticks, not messages: end to end the floor carries
	// the signal rate, a share of it. 0 is -inproc's full speed.
	rate := "full speed"
	if r.Settings.Rate > 0 {
		rate = strconv.FormatFloat(r.Settings.Rate, 'f', -1, 64) + " ticks/s"
	}
	title := fmt.Sprintf("tickd bench %s: latency by percentile at %s", mode, rate)
	if r.Partial != "" {
		title += " (partial)"
	}
	return title
}

// fmtMicros prints a latency in ns as µs, with fewer decimals as it grows so
// sub-µs in-process figures and ms tails both stay readable.
func fmtMicros(ns int64) string {
	us := float64(ns) / 1000
	switch {
	case us < 1:
		return strconv.FormatFloat(us, 'f', 3, 64)
	case us < 10:
		return strconv.FormatFloat(us, 'f', 2, 64)
	case us < 10000:
		return strconv.FormatFloat(us, 'f', 1, 64)
	}
	return strconv.FormatFloat(us, 'f', 0, 64)
}

// fmtBytes writes n as whole MiB or KiB where it is one, else in bytes.
func fmtBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// cacheSpreadWarn is the spread of the before and after cache probes from
// which the report says the machine's phase changed during the run.
const cacheSpreadWarn = 1.5

// reportText is the terminal summary and report.txt.
func reportText(r *Result, figs []jsonSide, ratios *jsonRatios) string {
	var b strings.Builder
	s, m := r.Settings, r.Machine
	fmt.Fprintf(&b, "tickd bench %s, started %s\n", s.Mode, r.Start.Format(time.RFC3339))
	if r.Partial != "" {
		fmt.Fprintf(&b, "PARTIAL:  %s\n", r.Partial)
	}
	fmt.Fprintf(&b, "settings: rate %s/s, duration %v, warmup %v, symbols %d, signal ratio %s, format %s, wait %s, pace %s, nats %s, gogc %d\n",
		strconv.FormatFloat(s.Rate, 'f', -1, 64), s.Duration, s.Warmup, s.Symbols,
		strconv.FormatFloat(s.SignalRatio, 'f', -1, 64), s.Format, s.Wait, s.Pace, s.NATS, s.GOGC)
	fmt.Fprintf(&b, "machine:  %s, %d cores, %s/%s, %s, host %s\n", m.CPU, m.Cores, m.OS, m.Arch, m.GoVersion, m.Host)
	if t := r.Timing; t != (Timing{}) {
		fmt.Fprintf(&b, "timed:    %s\nclock:    %s\n", t.Interval, t.Clock)
	}
	if c := r.Cache; c != (CachePhase{}) {
		fmt.Fprintf(&b, "cache:    random walk over %s: %.1f ns a step before the run, %.1f after (over %s: %.1f and %.1f)\n",
			fmtBytes(c.Before.LLCBytes), c.Before.LLCWalkNs, c.After.LLCWalkNs, fmtBytes(c.Before.L2Bytes), c.Before.L2WalkNs, c.After.L2WalkNs)
		if sp := spread(c.Before, c.After); sp >= cacheSpreadWarn {
			fmt.Fprintf(&b, "          the cache's speed changed %.1fx during the run (others on the host share it): compare this run's figures with care\n", sp)
		}
	}
	fmt.Fprintf(&b, "histogram: %v to %v at %d significant digits; a figure is its bucket's highest value\n",
		time.Duration(histMin), time.Duration(histMax), histDigits)
	b.WriteString("\n")

	header := []string{"latency µs"}
	for _, q := range reportQuantiles {
		header = append(header, q.name)
	}
	header = append(header, "max", "rate/s", "sent", "received", "drops")
	table := [][]string{header}
	for _, f := range figs {
		row := []string{f.Name}
		for _, v := range f.percentiles() {
			if f.Count == 0 {
				row = append(row, "-")
				continue
			}
			row = append(row, fmtMicros(v))
		}
		drops := strconv.FormatUint(f.Dropped, 10)
		if f.Dropped > 0 && f.Received+f.Dropped > 0 {
			drops += fmt.Sprintf(" (%.3g%%)", 100*float64(f.Dropped)/float64(f.Received+f.Dropped))
		}
		rate := "-" // unknown: fewer than two sent, or not a sender (the clock)
		if f.Rate > 0 {
			rate = strconv.FormatFloat(math.Round(f.Rate), 'f', 0, 64)
		}
		row = append(row, rate,
			strconv.FormatUint(f.Sent, 10), strconv.FormatUint(f.Received, 10), drops)
		table = append(table, row)
	}
	if ratios != nil {
		row := []string{"tickd/floor"}
		for _, v := range []float64{ratios.P50, ratios.P90, ratios.P99, ratios.P999, ratios.P9999, ratios.Max} {
			if v == 0 {
				row = append(row, "-")
				continue
			}
			row = append(row, strconv.FormatFloat(v, 'f', 2, 64)+"x")
		}
		table = append(table, append(row, "", "", "", ""))
	}
	writeTable(&b, table)
	for _, f := range figs {
		if f.Dropped > 0 && f.DrainNs > 0 {
			d := time.Duration(f.DrainNs)
			fmt.Fprintf(&b, "%s: the %d dropped were not received within %v of the last send, lost or later than that, and are not in the latencies: counted as late, the slowest %.3g%% would be over %v\n",
				f.Name, f.Dropped, d, 100*float64(f.Dropped)/float64(f.Received+f.Dropped), d)
		}
		if f.Clamped > 0 {
			fmt.Fprintf(&b, "%s: %d of its %d latencies were outside %v..%v (negative: the clock stepped back; longer: a stall) and are counted at that bound, not at their value\n",
				f.Name, f.Clamped, f.Received, time.Duration(histMin), time.Duration(histMax))
		}
	}
	return b.String()
}

// writeTable aligns the first column left and the others right, two spaces
// apart; widths count runes, so "µ" takes one column.
func writeTable(b *strings.Builder, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(cell)))
			if i == 0 {
				line.WriteString(cell + pad)
				continue
			}
			line.WriteString("  " + pad + cell)
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}
