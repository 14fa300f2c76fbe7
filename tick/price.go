package tick

import (
	"errors"
	"math"
	"strconv"
)

// Price is a fixed-point price in units of 1e-9 (a nano-unit of the quote
// currency). int64 covers -9,223,372,036.854775808 to 9,223,372,036.854775807,
// enough for any listed instrument, and integer prices compare and sum exactly
// on the hot path.
type Price int64

// PriceScale is the number of Price units in one whole unit of currency.
const PriceScale = 1_000_000_000

// PriceDecimals is the number of decimal places a Price carries.
const PriceDecimals = 9

// Errors returned by ParsePrice.
var (
	ErrPriceSyntax    = errors.New("tick: invalid price syntax")
	ErrPriceRange     = errors.New("tick: price out of range")
	ErrPricePrecise   = errors.New("tick: price has more than 9 decimal places")
	ErrPriceNotFinite = errors.New("tick: price is not a finite number")
)

// ParsePrice parses decimal text such as "123.45", "-0.5", "+7" or ".25" into
// a Price exactly. It accepts at most 9 significant decimal places (trailing
// zeros beyond that are fine) and rejects exponents, NaN, Inf and overflow.
func ParsePrice(s string) (Price, error) { return parsePrice(s) }

// ParsePriceBytes is ParsePrice for a byte slice; it does not allocate.
func ParsePriceBytes(b []byte) (Price, error) { return parsePrice(b) }

func parsePrice[T string | []byte](s T) (Price, error) {
	i, n := 0, len(s)
	if n == 0 {
		return 0, ErrPriceSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		i++
	case '+':
		i++
	}
	// The largest magnitude: one more when negative, so that MinInt64's
	// own text (String) parses back.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var units uint64 // magnitude in 1e-9 units
	digits, frac := 0, -1
	for ; i < n; i++ {
		c := s[i]
		if c == '.' {
			if frac >= 0 {
				return 0, ErrPriceSyntax
			}
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			if digits == 0 && frac < 0 && isNonFinite(s[i:]) {
				return 0, ErrPriceNotFinite
			}
			return 0, ErrPriceSyntax
		}
		digits++
		d := uint64(c - '0')
		if frac >= 0 {
			frac++
			if frac > PriceDecimals {
				if d != 0 {
					return 0, ErrPricePrecise
				}
				continue
			}
		}
		if units > (limit-d)/10 {
			return 0, ErrPriceRange
		}
		units = units*10 + d
	}
	if digits == 0 {
		return 0, ErrPriceSyntax
	}
	if frac < 0 {
		frac = 0
	}
	for ; frac < PriceDecimals; frac++ {
		if units > limit/10 {
			return 0, ErrPriceRange
		}
		units *= 10
	}
	if neg {
		return Price(-int64(units)), nil
	}
	return Price(units), nil
}

// isNonFinite reports whether s spells NaN, Inf or Infinity, in any case.
func isNonFinite[T string | []byte](s T) bool {
	switch len(s) {
	case 3, 8:
	default:
		return false
	}
	var low [8]byte
	for i := 0; i < len(s); i++ {
		low[i] = s[i] | 0x20
	}
	w := string(low[:len(s)])
	return w == "nan" || w == "inf" || w == "infinity"
}

// PriceFromUnits builds a Price from an integer count of 10^-decimals units,
// as feeds send them (ITCH Price(4) is decimals=4). It reports false on
// overflow or when decimals exceeds 9.
func PriceFromUnits(v int64, decimals int) (Price, bool) {
	if decimals < 0 || decimals > PriceDecimals {
		return 0, false
	}
	m := pow10[PriceDecimals-decimals]
	if v > math.MaxInt64/m || v < math.MinInt64/m {
		return 0, false
	}
	return Price(v * m), true
}

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// PriceFromFloat rounds f to the nearest Price unit. It reports false for NaN,
// ±Inf and values outside the Price range. Use it for simulated data only:
// feeds and configs carry exact decimal text.
func PriceFromFloat(f float64) (Price, bool) {
	v := math.Round(f * PriceScale)
	if math.IsNaN(v) || v >= math.MaxInt64 || v < math.MinInt64 {
		return 0, false
	}
	return Price(v), true
}

// Float64 returns p in whole units as a float64, for statistics.
func (p Price) Float64() float64 { return float64(p) / PriceScale }

// String formats p as the shortest exact decimal text: "123.45", "-0.000000001", "7".
func (p Price) String() string {
	var buf [24]byte
	return string(p.AppendText(buf[:0]))
}

// AppendText appends p's exact decimal text to dst and returns the extended
// buffer; it allocates only if dst lacks room.
func (p Price) AppendText(dst []byte) []byte {
	u := uint64(p)
	if p < 0 {
		dst = append(dst, '-')
		u = uint64(-p) // MinInt64 negates to itself; as uint64 it is 2^63, correct
	}
	dst = strconv.AppendUint(dst, u/PriceScale, 10)
	frac := u % PriceScale
	if frac == 0 {
		return dst
	}
	var digits [PriceDecimals]byte
	for i := PriceDecimals - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := PriceDecimals
	for digits[end-1] == '0' {
		end--
	}
	dst = append(dst, '.')
	return append(dst, digits[:end]...)
}

// MarshalText implements encoding.TextMarshaler with the exact decimal text.
func (p Price) MarshalText() ([]byte, error) { return p.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler via ParsePriceBytes.
func (p *Price) UnmarshalText(b []byte) error {
	v, err := ParsePriceBytes(b)
	if err != nil {
		return err
	}
	*p = v
	return nil
}
