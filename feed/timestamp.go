package feed

import "math"

const nsPerSec int64 = 1e9

// parseTimestamp parses integer nanoseconds since the Unix epoch, or RFC 3339
// with optional fractional seconds ("2006-01-02T15:04:05.999999999Z07:00"),
// without allocating. The result must fit int64 nanoseconds.
func parseTimestamp(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) < 20 || b[4] != '-' { // shorter than any RFC 3339 time
		return parseInt(b)
	}
	return parseRFC3339(b)
}

// digits2 parses two ASCII digits.
func digits2(b []byte) (int, bool) {
	_ = b[1]
	h, l := b[0]-'0', b[1]-'0'
	return int(h)*10 + int(l), h <= 9 && l <= 9
}

// parseRFC3339 parses RFC 3339 as Go's time.RFC3339Nano layout does, but
// on bytes and with no allocation: 'T' or 't' between date and time, 'Z',
// 'z' or ±hh:mm for the zone; fraction digits beyond 9 are truncated.
func parseRFC3339(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10]|0x20 != 't' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y1, ok1 := digits2(b[0:])
	y2, ok2 := digits2(b[2:])
	mon, ok3 := digits2(b[5:])
	day, ok4 := digits2(b[8:])
	hh, ok5 := digits2(b[11:])
	mm, ok6 := digits2(b[14:])
	ss, ok7 := digits2(b[17:])
	year := y1*100 + y2
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		mon < 1 || mon > 12 || day < 1 || day > daysIn(year, mon) || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	i := 19
	var frac int64
	if b[i] == '.' {
		i++
		start := i
		scale := int64(1e8)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			frac += int64(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return 0, false
		}
	}
	if i >= len(b) {
		return 0, false
	}
	var zone int64
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return 0, false
		}
		zh, okh := digits2(b[i+1:])
		zm, okm := digits2(b[i+4:])
		if !okh || !okm || zh > 23 || zm > 59 {
			return 0, false
		}
		zone = int64(zh*3600 + zm*60)
		if b[i] == '-' {
			zone = -zone
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(b) {
		return 0, false
	}
	secs := daysFromCivil(int64(year), int64(mon), int64(day))*86400 +
		int64(hh*3600+mm*60+ss) - zone
	return secsToNanos(secs, frac)
}

// secsToNanos returns secs*1e9 + frac (0 <= frac < 1e9) if it fits int64.
func secsToNanos(secs, frac int64) (int64, bool) {
	if secs >= 0 {
		if secs > (math.MaxInt64-frac)/nsPerSec {
			return 0, false
		}
		return secs*nsPerSec + frac, true
	}
	// Negative: (secs+1)*1e9 - (1e9-frac), so no step leaves int64.
	s1, back := secs+1, nsPerSec-frac
	if s1 < math.MinInt64/nsPerSec || s1*nsPerSec < math.MinInt64+back {
		return 0, false
	}
	return s1*nsPerSec - back, true
}

func daysIn(year, mon int) int {
	switch mon {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant, "chrono-compatible low-level
// date algorithms").
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
