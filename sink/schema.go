package sink

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"github.com/tickd/tickd/bus"
)

// colType is a column's logical type; each store maps it to its own.
type colType uint8

const (
	colText    colType = iota // a string
	colInt                    // an int64
	colDecimal                // an exact decimal, carried as its text ("412.5")
	colJSON                   // a JSON object, carried as its text
)

// column is one column of a table, in the order rows carry values.
type column struct {
	name string
	typ  colType
}

// table is one kind of record: the SQL table, the file name stem, its
// columns and how a message becomes a row (values in column order: string
// for text, decimal and JSON columns, int64 for int ones).
type table struct {
	name  string // SQL table
	stem  string // file name stem
	cols  []column
	row   func(m bus.Message, dst []any) []any
	index int // position in tables
}

// Every table starts with publisher and seq, and has ts_pub: its primary
// key.
var (
	signalTable = &table{name: "tickd_signals", stem: "signals", index: 0, cols: []column{
		{"publisher", colText}, {"seq", colInt}, {"subject", colText}, {"symbol", colText},
		{"rule", colText}, {"type", colText}, {"dir", colText},
		{"ts_event", colInt}, {"ts_recv", colInt}, {"ts_pub", colInt},
		{"price", colDecimal}, {"params", colJSON}, {"vals", colJSON},
	}, row: signalRow}
	barTable = &table{name: "tickd_bars", stem: "bars", index: 1, cols: []column{
		{"publisher", colText}, {"seq", colInt}, {"subject", colText}, {"symbol", colText},
		{"interval_ns", colInt}, {"start", colInt},
		{"open", colDecimal}, {"high", colDecimal}, {"low", colDecimal}, {"close", colDecimal},
		{"vwap", colDecimal}, {"volume", colInt}, {"count", colInt},
		{"ts_recv", colInt}, {"ts_pub", colInt},
	}, row: barRow}
	tables = []*table{signalTable, barTable}
)

// tableOf returns the table m belongs in, or nil for other kinds.
func tableOf(m bus.Message) *table {
	switch m.Kind() {
	case bus.KindSignal:
		return signalTable
	case bus.KindBar:
		return barTable
	}
	return nil
}

// seqKey is seq as stored: BIGINT is signed, and a publisher would need
// 2^63 messages to reach the sign bit.
func seqKey(seq uint64) int64 { return int64(seq) }

func signalRow(m bus.Message, dst []any) []any {
	s := m.(*bus.Signal)
	return append(dst, s.Publisher, seqKey(s.Seq), s.Subject, s.Symbol, s.Rule, s.Type, s.Dir.String(),
		s.TsEvent, s.TsRecv, s.TsPub, s.Price.String(), paramsJSON(s.Params), valuesJSON(s.Values))
}

func barRow(m bus.Message, dst []any) []any {
	b := m.(*bus.Bar)
	return append(dst, b.Publisher, seqKey(b.Seq), b.Subject, b.Symbol, int64(b.Interval), b.Start,
		b.Open.String(), b.High.String(), b.Low.String(), b.Close.String(), b.VWAP.String(),
		b.Volume, b.Count, b.TsRecv, b.TsPub)
}

// paramsJSON is a signal's rule parameters as a JSON object ({} when none).
func paramsJSON(p map[string]string) string {
	if len(p) == 0 {
		return "{}"
	}
	b, err := json.Marshal(p) // keys sorted: the same params give the same text
	if err != nil {           // a map of strings always marshals
		panic(err)
	}
	return string(b)
}

// valuesJSON is a signal's values as a JSON object, keys sorted, null for
// NaN and infinities as on the wire.
func valuesJSON(v map[string]float64) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		b = append(append(b, kb...), ':')
		if f := v[k]; math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
	}
	return string(append(b, '}'))
}
