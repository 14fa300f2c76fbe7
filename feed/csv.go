package feed

import (
	"bytes"
	"strconv"

	"github.com/tickd/tickd/tick"
)

// CSVHeader is the optional header line of the CSV format, without '\n'.
const CSVHeader = "ts,symbol,price,size,side"

// csvNames are the CSV columns, in the order of csvColumns' indexes.
var csvNames = [5]string{"ts", "symbol", "price", "size", "side"}

// csvColumns maps each column position of a CSV line to the field it holds
// (an index of csvNames): a header naming the columns in another order
// (ts,symbol,size,price) sets it, so that no line is read with two columns
// swapped.
type csvColumns [5]uint8

var csvInOrder = csvColumns{0, 1, 2, 3, 4}

// parseCSV splits a line into f, its columns in the order cols says (by
// default ts,symbol,price,size[,side]). Fields may carry spaces or tabs
// around them, and may be in double quotes (as RFC 4180 writers quote text);
// there is no escaping, so a field cannot hold ',' or '"', and a symbol left
// holding a '"' (a quoted ',' split it) is ReasonBadSymbol rather than a new
// name. A header line (the column names, in any order) sets cols and yields
// reasonSkip.
func parseCSV(line []byte, f *fields, cols *csvColumns) Reason {
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
	if mayBeHeader(p[0]) {
		if header, ok := csvHeader(p[:n]); ok {
			*cols = header
			return reasonSkip
		}
	}
	if *cols != csvInOrder { // a header named the columns in another order
		var q [5][]byte
		for i, v := range p[:n] {
			q[cols[i]] = v
		}
		p = q
	}
	if hasQuote(p[1]) {
		return ReasonBadSymbol
	}
	f.ts, f.symbol, f.price, f.size, f.side = p[0], p[1], p[2], p[3], p[4]
	return reasonNone
}

// appendHeader appends a header line (with its '\n') naming the columns in
// cols' order, which parseCSV reads back as cols.
func (cols *csvColumns) appendHeader(dst []byte) []byte {
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, csvNames[c]...)
	}
	return append(dst, '\n')
}

// csvHeader reads a header line: every field a column name, each once, ts,
// symbol, price and size among them. A 4-column header leaves side last.
func csvHeader(p [][]byte) (cols csvColumns, ok bool) {
	cols = csvInOrder
	var seen uint8
	for i, name := range p {
		c := csvName(name)
		if c < 0 || seen&(1<<c) != 0 {
			return cols, false
		}
		seen |= 1 << c
		cols[i] = uint8(c)
	}
	return cols, seen&0b1111 == 0b1111
}

// mayBeHeader says whether a line whose first field is f may be a header:
// not when f starts with a digit, as a line of data in the usual order
// does (checked here, inlined, so that such a line makes no call).
func mayBeHeader(f []byte) bool { return len(f) > 0 && (f[0] < '0' || f[0] > '9') }

// csvName is the index of name in csvNames, or -1.
func csvName(name []byte) int {
	for c, n := range csvNames {
		if string(name) == n {
			return c
		}
	}
	return -1
}

// hasQuote says whether a symbol holds a '"'. A loop: symbols are a few
// bytes, shorter than a call into bytes.IndexByte pays for.
func hasQuote(b []byte) bool {
	for _, c := range b {
		if c == '"' {
			return true
		}
	}
	return false
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
