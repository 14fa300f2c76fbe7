package feed

import (
	"strconv"

	"github.com/tickd/tickd/tick"
)

// JSON keys the decoder knows; every other key is skipped.
const (
	haveTs = 1 << iota
	haveSymbol
	havePrice
	haveSize
	haveSide
	haveAll = haveTs | haveSymbol | havePrice | haveSize
)

// parseJSON scans one flat JSON object into f, by hand and without
// allocating: values of the known keys are sliced out of the line (strings
// without their quotes, numbers and literals as their text); values of other
// keys, nested objects and arrays included, are skipped. A known value whose
// string holds an escape, or a known key given twice (which value was
// meant?), is rejected under that field's reason.
func parseJSON(b []byte, f *fields) Reason {
	i := skipWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return ReasonSyntax
	}
	i = skipWS(b, i+1)
	have, bad := 0, reasonNone
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i == len(b) || b[i] != '"' {
				return ReasonSyntax
			}
			end, _ := scanString(b, i) // an escaped key matches no known key
			if end < 0 {
				return ReasonSyntax
			}
			key := b[i+1 : end-1]
			i = skipWS(b, end)
			if i == len(b) || b[i] != ':' {
				return ReasonSyntax
			}
			i = skipWS(b, i+1)
			if i == len(b) {
				return ReasonSyntax
			}
			vStart, quoted, esc := i, b[i] == '"', false
			switch b[i] {
			case '"':
				end, esc = scanString(b, i)
			case '{', '[':
				end = skipNested(b, i)
			default:
				end = scanLiteral(b, i)
			}
			if end < 0 {
				return ReasonSyntax
			}
			val := b[vStart:end]
			if quoted {
				val = val[1 : len(val)-1]
			}
			var r Reason
			bit := 0
			switch string(key) {
			case "ts":
				f.ts, bit, r = val, haveTs, ReasonBadTimestamp
			case "symbol":
				f.symbol, bit, r = val, haveSymbol, ReasonBadSymbol
				if !quoted {
					esc = true // a symbol must be a string
				}
			case "price":
				f.price, bit, r = val, havePrice, ReasonBadPrice
			case "size":
				f.size, bit, r = val, haveSize, ReasonBadQty
			case "side":
				f.side, bit, r = val, haveSide, ReasonBadSide
				if !quoted && string(val) == "null" {
					f.side = nil
				}
			}
			if (esc || have&bit != 0) && r != reasonNone && bad == reasonNone {
				bad = r
			}
			have |= bit
			i = skipWS(b, end)
			if i == len(b) {
				return ReasonSyntax
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return ReasonSyntax
			}
			i = skipWS(b, i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return ReasonSyntax
	}
	if have&haveAll != haveAll {
		return ReasonMissingField
	}
	return bad
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns the index
// just past its closing quote (-1 if unterminated) and whether it holds an
// escape.
func scanString(b []byte, i int) (end int, esc bool) {
	// A plain loop: the strings are short, and bytes.IndexByte's call
	// costs more than it saves here.
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, esc
		case '\\':
			esc = true
			j++
		}
	}
	return -1, esc
}

// scanLiteral scans a number, true, false or null starting at b[i]; it
// returns the index just past it, or -1 if it is empty.
func scanLiteral(b []byte, i int) int {
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n', '"', ':', '{', '[':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// skipNested skips the object or array starting at b[i] and returns the
// index just past it, or -1 if it does not close.
func skipNested(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '"':
			end, _ := scanString(b, i)
			if end < 0 {
				return -1
			}
			i = end
			continue
		}
		i++
	}
	return -1
}

// AppendJSON appends one JSON line (with '\n'):
//
//	{"ts":1700000000123456789,"symbol":"AAPL","price":"189.25","size":100,"side":"B"}
//
// ts as integer nanoseconds, the price as an exact decimal string, and
// "side" left off when none. A '"' or '\' in symbol is escaped, which this
// package's decoder then rejects.
func AppendJSON(dst []byte, tsEvent int64, symbol string, price tick.Price, qty int64, side tick.Side) []byte {
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendInt(dst, tsEvent, 10)
	dst = append(dst, `,"symbol":"`...)
	for i := 0; i < len(symbol); i++ {
		if c := symbol[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, symbol[i])
	}
	dst = append(dst, `","price":"`...)
	dst = price.AppendText(dst)
	dst = append(dst, `","size":`...)
	dst = strconv.AppendInt(dst, qty, 10)
	if side != tick.SideNone {
		dst = append(dst, `,"side":"`...)
		dst = append(dst, sideLetter(side)...)
		dst = append(dst, '"')
	}
	return append(dst, "}\n"...)
}
