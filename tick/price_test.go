package tick

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestParsePrice(t *testing.T) {
	cases := []struct {
		in   string
		want Price
		err  error
	}{
		{"0", 0, nil},
		{"1", PriceScale, nil},
		{"123.45", 123_450_000_000, nil},
		{"-0.5", -500_000_000, nil},
		{"+7", 7 * PriceScale, nil},
		{".25", 250_000_000, nil},
		{"5.", 5 * PriceScale, nil},
		{"0.000000001", 1, nil},
		{"1.1000000000000", 1_100_000_000, nil},
		{"9223372036.854775807", math.MaxInt64, nil},
		{"9223372036.854775808", 0, ErrPriceRange},
		{"-9223372036.854775808", math.MinInt64, nil}, // MinInt64's own String
		{"-9223372036.854775809", 0, ErrPriceRange},
		{"-9223372037", 0, ErrPriceRange},
		{"99999999999", 0, ErrPriceRange},
		{"0.0000000001", 0, ErrPricePrecise},
		{"", 0, ErrPriceSyntax},
		{"-", 0, ErrPriceSyntax},
		{".", 0, ErrPriceSyntax},
		{"1.2.3", 0, ErrPriceSyntax},
		{"1e5", 0, ErrPriceSyntax},
		{"12a", 0, ErrPriceSyntax},
		{" 1", 0, ErrPriceSyntax},
		{"NaN", 0, ErrPriceNotFinite},
		{"Inf", 0, ErrPriceNotFinite},
		{"-inf", 0, ErrPriceNotFinite},
		{"Infinity", 0, ErrPriceNotFinite},
		{"null", 0, ErrPriceSyntax},
		{"1n", 0, ErrPriceSyntax},
		{"1inf", 0, ErrPriceSyntax},
		{"nano", 0, ErrPriceSyntax},
	}
	for _, c := range cases {
		got, err := ParsePrice(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
		gotB, errB := ParsePriceBytes([]byte(c.in))
		if gotB != got || !errors.Is(errB, c.err) {
			t.Errorf("ParsePriceBytes(%q) = %d, %v; differs from ParsePrice", c.in, gotB, errB)
		}
	}
}

func TestPriceString(t *testing.T) {
	cases := map[Price]string{
		0:                    "0",
		1:                    "0.000000001",
		-1:                   "-0.000000001",
		123_450_000_000:      "123.45",
		7 * PriceScale:       "7",
		math.MaxInt64:        "9223372036.854775807",
		math.MinInt64:        "-9223372036.854775808",
		-1_500_000_000:       "-1.5",
		100_000_000_010:      "100.00000001",
		PriceScale/10 + 1e-0: "0.100000001",
	}
	for p, want := range cases {
		if got := p.String(); got != want {
			t.Errorf("Price(%d).String() = %q, want %q", int64(p), got, want)
		}
	}
}

// TestPriceRoundTrip checks String and ParsePrice are exact inverses on random values.
func TestPriceRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		p := Price(r.Int64())
		if i%2 == 0 {
			p = -p
		}
		if i%3 == 0 {
			p = Price(r.Int64N(1e12)) // realistic magnitudes, many trailing zeros
		}
		s := p.String()
		back, err := ParsePrice(s)
		if err != nil || back != p {
			t.Fatalf("round trip %d -> %q -> %d, %v", int64(p), s, back, err)
		}
		var q Price
		if err := q.UnmarshalText([]byte(s)); err != nil || q != p {
			t.Fatalf("UnmarshalText(%q) = %d, %v", s, q, err)
		}
	}
}

func TestPriceFromUnits(t *testing.T) {
	if p, ok := PriceFromUnits(1234500, 4); !ok || p.String() != "123.45" {
		t.Errorf("PriceFromUnits(1234500, 4) = %v, %v", p, ok)
	}
	if _, ok := PriceFromUnits(math.MaxInt64/5, 8); ok {
		t.Error("PriceFromUnits overflow not reported")
	}
	if _, ok := PriceFromUnits(1, 10); ok {
		t.Error("PriceFromUnits accepted 10 decimals")
	}
}

func TestPriceFromFloat(t *testing.T) {
	if p, ok := PriceFromFloat(101.25); !ok || p != 101_250_000_000 {
		t.Errorf("PriceFromFloat(101.25) = %d, %v", p, ok)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e10} {
		if _, ok := PriceFromFloat(f); ok {
			t.Errorf("PriceFromFloat(%v) accepted", f)
		}
	}
	if got := Price(101_250_000_000).Float64(); got != 101.25 {
		t.Errorf("Float64 = %v", got)
	}
}

func TestParsePriceNoAlloc(t *testing.T) {
	b := []byte("189.1234")
	var sink Price
	buf := make([]byte, 0, 32)
	allocs := testing.AllocsPerRun(100, func() {
		sink, _ = ParsePriceBytes(b)
		buf = sink.AppendText(buf[:0])
	})
	if allocs != 0 {
		t.Fatalf("ParsePriceBytes+AppendText allocate %v per run", allocs)
	}
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-2.000000001", "9223372036.854775807", "1e3", ".", "NaN", "00001.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrice(s)
		if err != nil {
			return
		}
		// Any accepted text must name the same number as the canonical text.
		back, err := ParsePrice(p.String())
		if err != nil || back != p {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, int64(p), p.String(), back, err)
		}
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && math.Abs(f-p.Float64()) > 1e-6*math.Max(1, math.Abs(f)) {
			t.Fatalf("%q parsed to %v, float says %v", s, p, f)
		}
	})
}

func BenchmarkParsePriceBytes(b *testing.B) {
	in := []byte("189.1234")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var sink Price
	for i := 0; i < b.N; i++ {
		sink, _ = ParsePriceBytes(in)
	}
	benchPrice = sink
}

// BenchmarkParsePriceFloatBaseline is the naive way: via float64, which is
// inexact for most decimal prices.
func BenchmarkParsePriceFloatBaseline(b *testing.B) {
	in := []byte("189.1234")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var sink Price
	for i := 0; i < b.N; i++ {
		f, _ := strconv.ParseFloat(string(in), 64)
		sink, _ = PriceFromFloat(f)
	}
	benchPrice = sink
}

var benchPrice Price
