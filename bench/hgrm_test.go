package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// hgrmKnownHist records 1..100000 ns once each (uniform) plus a few outliers far
// in the tail, so the distribution has both a dense body and a sparse tail.
func hgrmKnownHist(t testing.TB) *hdrhistogram.Histogram {
	t.Helper()
	h := NewHistogram()
	for v := int64(1); v <= 100000; v++ {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []int64{250_000, 1_000_000, 7_500_000, 42_000_000} {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestHgrmRoundTrip(t *testing.T) {
	h := hgrmKnownHist(t)
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, h, 1000); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if !strings.HasPrefix(text, "       Value     Percentile TotalCount 1/(1-Percentile)\n\n") {
		t.Fatalf("header: %q", text[:min(len(text), 80)])
	}
	rows, sum, err := ParseHgrm(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if sum.TotalCount != h.TotalCount() {
		t.Fatalf("total count %d, want %d", sum.TotalCount, h.TotalCount())
	}
	const eps = 0.0005 + 1e-9 // half of the printed precision (3 decimals)
	if got, want := sum.Max, float64(h.Max())/1000; math.Abs(got-want) > eps {
		t.Fatalf("footer max %v, want %v", got, want)
	}
	if got, want := sum.Mean, h.Mean()/1000; math.Abs(got-want) > eps {
		t.Fatalf("footer mean %v, want %v", got, want)
	}
	if got, want := sum.StdDev, h.StdDev()/1000; math.Abs(got-want) > eps {
		t.Fatalf("footer stddev %v, want %v", got, want)
	}
	if sum.SubBuckets != 2048 || sum.Buckets < 20 {
		t.Fatalf("geometry %d buckets × %d sub-buckets", sum.Buckets, sum.SubBuckets)
	}

	// Shape: percentiles rise, counts rise, the first row is 0 and the last
	// is 1 at the max with every value counted.
	if len(rows) < 50 {
		t.Fatalf("%d rows", len(rows))
	}
	if rows[0].Percentile != 0 || rows[len(rows)-1].Percentile != 1 {
		t.Fatalf("first/last percentile %v/%v", rows[0].Percentile, rows[len(rows)-1].Percentile)
	}
	last := rows[len(rows)-1]
	if math.Abs(last.Value-float64(h.Max())/1000) > eps || last.Count != h.TotalCount() {
		t.Fatalf("last row %+v, want max %v count %d", last, float64(h.Max())/1000, h.TotalCount())
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Percentile <= rows[i-1].Percentile || rows[i].Value < rows[i-1].Value || rows[i].Count < rows[i-1].Count {
			t.Fatalf("row %d %+v does not follow %+v", i, rows[i], rows[i-1])
		}
	}
	// Five ticks per half distance: 0, .1, .2, .3, .4, .5, .55, ... .75, .775.
	for i, want := range []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.775} {
		if math.Abs(rows[i].Percentile-want) > 1e-12 {
			t.Fatalf("row %d percentile %v, want %v", i, rows[i].Percentile, want)
		}
	}

	// Each row's value is the histogram's value at that row's percentile, up
	// to one bucket (1/1024 of the value at three significant digits): the
	// row takes the first value whose share reaches the tick, ValueAtQuantile
	// rounds the rank to the nearest count, and here every count is its own
	// value, so the two can straddle a bucket boundary. In the sparse tail of
	// outliers one count of rounding is a different value, so only the body
	// is compared row by row; the tail is checked through the bracketing below.
	for i, r := range rows {
		if r.Count >= 100000 {
			continue
		}
		want := float64(h.ValueAtQuantile(r.Percentile*100)) / 1000
		if math.Abs(r.Value-want) > eps+want/1024 {
			t.Fatalf("row %d at p%v: %v µs, histogram says %v µs", i, r.Percentile, r.Value, want)
		}
	}

	// The headline percentiles: p50 and p90 are ticks and match exactly; p99
	// and p99.9 fall between ticks and must lie between their neighbours.
	for _, q := range []float64{50, 90, 99, 99.9, 100} {
		want := float64(h.ValueAtQuantile(q)) / 1000
		lo, hi := hgrmBracket(rows, q/100)
		if lo.Value > want+eps || hi.Value < want-eps {
			t.Fatalf("p%v = %v µs outside rows %+v .. %+v", q, want, lo, hi)
		}
		if q == 50 || q == 90 || q == 100 {
			if math.Abs(hi.Value-want) > eps || math.Abs(hi.Percentile-q/100) > 1e-12 {
				t.Fatalf("p%v: row %+v, want value %v", q, hi, want)
			}
		}
	}
}

// hgrmBracket returns the last row at or below percentile p and the first
// row at or above it.
func hgrmBracket(rows []HgrmRow, p float64) (lo, hi HgrmRow) {
	lo, hi = rows[0], rows[len(rows)-1]
	const tol = 1e-12
	for _, r := range rows {
		if r.Percentile <= p+tol {
			lo = r
		}
	}
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Percentile >= p-tol {
			hi = rows[i]
		}
	}
	return lo, hi
}

// TestHgrmMatchesLibrary compares our rows with the percentile print of the
// hdrhistogram-go library itself (an independent implementation of the same
// iteration): same values, ticks, counts and geometry.
func TestHgrmMatchesLibrary(t *testing.T) {
	h := hgrmKnownHist(t)
	var ours, lib bytes.Buffer
	if err := WriteHgrm(&ours, h, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := h.PercentilesPrint(&lib, HgrmTicksPerHalfDistance, 1000); err != nil {
		t.Fatal(err)
	}
	a, as, err := ParseHgrm(&ours)
	if err != nil {
		t.Fatal(err)
	}
	b, bs, err := ParseHgrm(&lib)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d rows, library %d", len(a), len(b))
	}
	for i := range a {
		if math.Abs(a[i].Value-b[i].Value) > 1e-9 || math.Abs(a[i].Percentile-b[i].Percentile) > 1e-6 || a[i].Count != b[i].Count {
			t.Fatalf("row %d: ours %+v, library %+v", i, a[i], b[i])
		}
	}
	if as != bs {
		t.Fatalf("footer: ours %+v, library %+v", as, bs)
	}
}

func TestHgrmEmptyAndErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, NewHistogram(), 1000); err != nil {
		t.Fatal(err)
	}
	rows, sum, err := ParseHgrm(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 || sum.TotalCount != 0 || sum.Mean != 0 {
		t.Fatalf("empty histogram: %d rows, %+v", len(rows), sum)
	}
	if err := WriteHgrm(&buf, nil, 1000); err == nil {
		t.Fatal("nil histogram accepted")
	}
	if err := WriteHgrm(&buf, NewHistogram(), 0); err == nil {
		t.Fatal("zero unit scale accepted")
	}
	for _, bad := range []string{
		"  1.0 0.5 x 2.00\n#[Mean = 1, StdDeviation = 0]\n#[Max = 1, Total count = 1]\n#[Buckets = 1, SubBuckets = 2]\n",
		"  1.0 1.5 1\n#[Mean = 1, StdDeviation = 0]\n#[Max = 1, Total count = 1]\n#[Buckets = 1, SubBuckets = 2]\n",
		"  1.0 0.5 1 2.00\n", // no footer
		"  1.0 0.5 1 2.00\n#[Mean = 1, Nope = 0]\n#[Max = 1, Total count = 1]\n#[Buckets = 1, SubBuckets = 2]\n",
	} {
		if _, _, err := ParseHgrm(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
			t.Fatalf("parsed %q: err %v", bad, err)
		}
	}
}
