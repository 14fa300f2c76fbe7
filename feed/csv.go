package feed

import (
	"bytes"
	"strconv"

	"github.com/tickd/tickd/tick"
)

// CSVHeader is the optional header line of the CSV format, without '\n'.
const CSVHeader = "ts,symbol,price,size,side"

// parseCSV splits ts,symbol,price,size[,side] into f. Fields may carry
// spaces or tabs around them, and may be in double quotes (as RFC 4180
// writers quote text); there is no escaping, so a field cannot hold ',' or
// '"', and a symbol left holding a '"' (a quoted ',' split it) is
// ReasonBadSymbol rather than a new name. A header line yields reasonSkip.
func parseCSV(line []byte, f *fields) Reason {
	var p [5][]byte
	n := 0
	for {
		if n == len(p) {
			return ReasonFieldCount // a sixth field
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			p[n] = unquote(trimSpace(line))
			n++
			break
		}
		p[n] = unquote(trimSpace(line[:i]))
		n++
		line = line[i+1:]
	}
	if n < 4 {
		return ReasonFieldCount
	}
	if string(p[0]) == "ts" && string(p[1]) == "symbol" && string(p[2]) == "price" &&
		string(p[3]) == "size" && (n == 4 || string(p[4]) == "side") {
		return reasonSkip
	}
	if bytes.IndexByte(p[1], '"') >= 0 {
		return ReasonBadSymbol
	}
	f.ts, f.symbol, f.price, f.size, f.side = p[0], p[1], p[2], p[3], p[4]
	return reasonNone
}

// unquote returns b without the double quotes around it, if it has them.
func unquote(b []byte) []byte {
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' {
		return b[1 : n-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// sideLetter is the one-letter text form of a side ("" for none).
func sideLetter(s tick.Side) string {
	switch s {
	case tick.SideBuy:
		return "B"
	case tick.SideSell:
		return "S"
	}
	return ""
}

// AppendCSVHeader appends CSVHeader and '\n' to dst.
func AppendCSVHeader(dst []byte) []byte {
	return append(dst, CSVHeader+"\n"...)
}

// AppendCSV appends one CSV line (with '\n'): ts as integer nanoseconds, the
// price as exact decimal text, the side as B or S (left off when none).
// symbol must not contain ','.
func AppendCSV(dst []byte, tsEvent int64, symbol string, price tick.Price, qty int64, side tick.Side) []byte {
	dst = strconv.AppendInt(dst, tsEvent, 10)
	dst = append(dst, ',')
	dst = append(dst, symbol...)
	dst = append(dst, ',')
	dst = price.AppendText(dst)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, qty, 10)
	if side != tick.SideNone {
		dst = append(dst, ',')
		dst = append(dst, sideLetter(side)...)
	}
	return append(dst, '\n')
}
