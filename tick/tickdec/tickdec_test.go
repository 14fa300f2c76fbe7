package tickdec

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/tick"
)

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		p := tick.Price(r.Int64() - math.MaxInt64/2)
		d := ToDecimal(p)
		if d.String() != p.String() {
			t.Fatalf("ToDecimal(%s) = %s", p, d)
		}
		back, err := FromDecimal(d)
		if err != nil || back != p {
			t.Fatalf("FromDecimal(%s) = %d, %v", d, back, err)
		}
	}
	for _, p := range []tick.Price{math.MaxInt64, math.MinInt64, 0, 1, -1} {
		if back, err := FromDecimal(ToDecimal(p)); err != nil || back != p {
			t.Fatalf("extreme %d: %d, %v", p, back, err)
		}
	}
}

func TestFromDecimalRejects(t *testing.T) {
	if _, err := FromDecimal(decimal.RequireFromString("0.0000000001")); !errors.Is(err, tick.ErrPricePrecise) {
		t.Errorf("10 decimals: %v", err)
	}
	if _, err := FromDecimal(decimal.RequireFromString("9223372036.854775808")); !errors.Is(err, tick.ErrPriceRange) {
		t.Errorf("overflow: %v", err)
	}
	if p, err := FromDecimal(decimal.RequireFromString("189.25000")); err != nil || p.String() != "189.25" {
		t.Errorf("189.25000: %v %v", p, err)
	}
}
