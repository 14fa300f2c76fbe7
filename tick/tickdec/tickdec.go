// Package tickdec converts tick.Price to and from shopspring/decimal exactly.
// It sits at the edges (config parsing, JSON output) so that the hot-path
// packages never import decimal.
package tickdec

import (
	"fmt"
	"math"

	"github.com/shopspring/decimal"

	"github.com/tickd/tickd/tick"
)

var (
	maxPrice = decimal.New(math.MaxInt64, -tick.PriceDecimals)
	minPrice = decimal.New(math.MinInt64, -tick.PriceDecimals)
)

// ToDecimal returns p as a decimal, exactly.
func ToDecimal(p tick.Price) decimal.Decimal {
	return decimal.New(int64(p), -tick.PriceDecimals)
}

// FromDecimal converts d to a Price. It fails rather than round: d must have
// at most 9 decimal places and fit the Price range.
func FromDecimal(d decimal.Decimal) (tick.Price, error) {
	if d.GreaterThan(maxPrice) || d.LessThan(minPrice) {
		return 0, fmt.Errorf("tickdec: %s: %w", d, tick.ErrPriceRange)
	}
	units := d.Shift(tick.PriceDecimals)
	if !units.IsInteger() {
		return 0, fmt.Errorf("tickdec: %s: %w", d, tick.ErrPricePrecise)
	}
	return tick.Price(units.IntPart()), nil
}
