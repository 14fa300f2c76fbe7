package bus

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/tickd/tickd/tick"
)

// ContentTypeJSON names the one encoding tickd publishes today. It is not
// sent as a NATS header: nats.go builds headers per message with allocations
// (Msg.headerBytes), which the publisher's budget has no room for. Decode
// honours the header when a future publisher sends one.
const ContentTypeJSON = "application/json"

// Param is one rule parameter, as configured (name and exact text).
type Param struct {
	Name, Value string
}

// RuleInfo describes rule number i of the engine's rule set, i being the
// index tick.Signal.Rule carries: its id (a subject token after
// SanitizeToken), its type, its parameters, and the names of the up to three
// values a signal carries (an empty name leaves that value out).
type RuleInfo struct {
	ID, Type   string
	Params     []Param
	ValueNames [3]string
}

// Encoder appends tickd's JSON records to a caller's buffer. It keeps every
// constant part (publisher id, rule ids, parameters, value names) encoded up
// front, so the Append methods only format numbers and copy bytes: they
// allocate nothing when dst has room. An Encoder is read-only after
// NewEncoder and safe for concurrent use.
type Encoder struct {
	syms  *tick.SymbolTable
	rules []ruleJSON
	head  [tick.OutBBO + 1][]byte // by tick.OutKind: `{"kind":"signal","publisher":"ID","seq":`
}

type ruleJSON struct {
	head   []byte    // `,"rule":"ID","type":"TYPE"`
	params []byte    // `,"params":{"name":"value",...}`
	values [3][]byte // `"name":` per value, nil when unnamed
}

// NewEncoder returns an Encoder for the given publisher id, symbol table and
// rule set (rules[i] describes tick.Signal.Rule == i).
func NewEncoder(publisher string, syms *tick.SymbolTable, rules []RuleInfo) (*Encoder, error) {
	if syms == nil {
		return nil, fmt.Errorf("bus: nil symbol table")
	}
	if publisher == "" {
		return nil, fmt.Errorf("bus: empty publisher id")
	}
	if len(rules) > math.MaxUint16+1 {
		return nil, fmt.Errorf("bus: %d rules, more than tick.Signal.Rule can index", len(rules))
	}
	e := &Encoder{syms: syms, rules: make([]ruleJSON, len(rules))}
	for k, kind := range [...]string{tick.OutSignal: "signal", tick.OutBar: "bar", tick.OutStats: "stats", tick.OutBBO: "bbo"} {
		if kind == "" {
			continue
		}
		h := append([]byte(`{"kind":"`), kind...)
		h = append(h, `","publisher":`...)
		h = appendQuoted(h, publisher)
		e.head[k] = append(h, `,"seq":`...)
	}
	ids := make(map[string]int, len(rules))
	for i, r := range rules {
		if r.ID == "" {
			return nil, fmt.Errorf("bus: rule %d has no id", i)
		}
		if j, dup := ids[r.ID]; dup {
			return nil, fmt.Errorf("bus: rules %d and %d share the id %q", j, i, r.ID)
		}
		ids[r.ID] = i
		rj := &e.rules[i]
		rj.head = appendQuoted(append(rj.head, `,"rule":`...), r.ID)
		rj.head = appendQuoted(append(rj.head, `,"type":`...), r.Type)
		rj.params = append(rj.params, `,"params":{`...)
		seen := make(map[string]bool, len(r.Params)+3)
		for k, p := range r.Params {
			if p.Name == "" || seen[p.Name] {
				return nil, fmt.Errorf("bus: rule %q: parameter %d: empty or repeated name %q", r.ID, k, p.Name)
			}
			seen[p.Name] = true
			if k > 0 {
				rj.params = append(rj.params, ',')
			}
			rj.params = append(appendQuoted(rj.params, p.Name), ':')
			rj.params = appendQuoted(rj.params, p.Value)
		}
		rj.params = append(rj.params, '}')
		clear(seen)
		for k, name := range r.ValueNames {
			if name == "" {
				continue
			}
			if seen[name] {
				return nil, fmt.Errorf("bus: rule %q: value name %q repeated", r.ID, name)
			}
			seen[name] = true
			rj.values[k] = append(appendQuoted(nil, name), ':')
		}
	}
	return e, nil
}

// Rules returns how many rules the Encoder knows; AppendSignalJSON requires
// s.Rule < Rules().
func (e *Encoder) Rules() int { return len(e.rules) }

// AppendSignalJSON appends s as one JSON object to dst and returns the
// extended buffer:
//
//	{"kind":"signal","publisher":"h-1","seq":7,"symbol":"BRK.A","rule":"brk_up",
//	 "type":"price","dir":"up","ts_event":1700000000000000000,
//	 "ts_recv":1700000000000001000,"ts_pub":1700000000000002000,"price":"412.5",
//	 "params":{"level":"412","dir":"up","hysteresis":"0","cooldown":"0s","symbols":"BRK.A"},
//	 "values":{"price":412.5,"level":412,"prev_price":411.9}}
//
// params are the rule's (RuleInfo.Params, in their order), values its
// ValueNames, each a JSON number or null when not finite.
//
// s.Rule must be below Rules() (it panics otherwise, as an index does).
func (e *Encoder) AppendSignalJSON(dst []byte, seq uint64, tsPub int64, s *tick.Signal) []byte {
	r := &e.rules[s.Rule]
	dst = e.appendHead(dst, tick.OutSignal, seq, s.Symbol)
	dst = append(dst, r.head...)
	switch {
	case s.Dir > 0:
		dst = append(dst, `,"dir":"up"`...)
	case s.Dir < 0:
		dst = append(dst, `,"dir":"down"`...)
	default:
		dst = append(dst, `,"dir":"none"`...)
	}
	dst = appendInt(dst, `,"ts_event":`, s.TsEvent)
	dst = appendInt(dst, `,"ts_recv":`, s.TsRecv)
	dst = appendInt(dst, `,"ts_pub":`, tsPub)
	dst = appendPrice(dst, `,"price":`, s.Price)
	dst = append(dst, r.params...)
	dst = append(dst, `,"values":{`...)
	sep := false
	for i, key := range r.values {
		if key == nil {
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = appendFloat(append(dst, key...), s.Values[i])
	}
	return append(dst, "}}"...)
}

// AppendBarJSON appends b as one JSON object to dst:
//
//	{"kind":"bar","publisher":"h-1","seq":8,"symbol":"AAPL","interval":"1s",
//	 "interval_ns":1000000000,"start":1700000000000000000,"open":"189.5",
//	 "high":"190","low":"189.25","close":"189.75","volume":1200,
//	 "vwap":"189.6","count":7,"ts_recv":1700000000999000000,
//	 "ts_pub":1700000001000000000}
func (e *Encoder) AppendBarJSON(dst []byte, seq uint64, tsPub int64, b *tick.Bar) []byte {
	dst = e.appendHead(dst, tick.OutBar, seq, b.Symbol)
	dst = append(dst, `,"interval":"`...)
	dst = append(appendInterval(dst, b.Interval), '"')
	dst = appendInt(dst, `,"interval_ns":`, b.Interval)
	dst = appendInt(dst, `,"start":`, b.Start)
	dst = appendPrice(dst, `,"open":`, b.Open)
	dst = appendPrice(dst, `,"high":`, b.High)
	dst = appendPrice(dst, `,"low":`, b.Low)
	dst = appendPrice(dst, `,"close":`, b.Close)
	dst = appendInt(dst, `,"volume":`, b.Volume)
	dst = appendPrice(dst, `,"vwap":`, b.VWAP)
	dst = appendInt(dst, `,"count":`, int64(b.Count))
	dst = appendInt(dst, `,"ts_recv":`, b.TsRecv)
	dst = appendInt(dst, `,"ts_pub":`, tsPub)
	return append(dst, '}')
}

// AppendStatsJSON appends s as one JSON object to dst. Statistics are JSON
// numbers (shortest round-trip text), null when NaN or infinite; prices are
// exact decimal strings:
//
//	{"kind":"stats","publisher":"h-1","seq":9,"symbol":"AAPL",
//	 "ts_event":1700000000999000000,"ts_pub":1700000001000000000,
//	 "last":"189.75","sma":189.61,"ema":189.7,"vwap":189.6,"mean":189.58,
//	 "stddev":0.21,"zscore":0.67,"min":"188","max":"191.1","count":5400,
//	 "volume":812000}
func (e *Encoder) AppendStatsJSON(dst []byte, seq uint64, tsPub int64, s *tick.Stats) []byte {
	dst = e.appendHead(dst, tick.OutStats, seq, s.Symbol)
	dst = appendInt(dst, `,"ts_event":`, s.TsEvent)
	dst = appendInt(dst, `,"ts_pub":`, tsPub)
	dst = appendPrice(dst, `,"last":`, s.Last)
	dst = appendFloat(append(dst, `,"sma":`...), s.SMA)
	dst = appendFloat(append(dst, `,"ema":`...), s.EMA)
	dst = appendFloat(append(dst, `,"vwap":`...), s.VWAP)
	dst = appendFloat(append(dst, `,"mean":`...), s.Mean)
	dst = appendFloat(append(dst, `,"stddev":`...), s.StdDev)
	dst = appendFloat(append(dst, `,"zscore":`...), s.ZScore)
	dst = appendPrice(dst, `,"min":`, s.Min)
	dst = appendPrice(dst, `,"max":`, s.Max)
	dst = appendInt(dst, `,"count":`, s.Count)
	dst = appendInt(dst, `,"volume":`, s.Volume)
	return append(dst, '}')
}

// AppendBBOJSON appends b as one JSON object to dst. "bid" and "ask" are
// exact decimal strings, or null when that side of the book is empty
// (no shares and no orders); sizes are shares, orders the count of resting
// orders at the price:
//
//	{"kind":"bbo","publisher":"h-1","seq":10,"symbol":"BRK.A",
//	 "ts_event":1700000000000000000,"ts_recv":1700000000000001000,
//	 "ts_pub":1700000000000002000,"bid":"412.5","ask":null,"bid_size":300,
//	 "ask_size":0,"bid_orders":2,"ask_orders":0}
func (e *Encoder) AppendBBOJSON(dst []byte, seq uint64, tsPub int64, b *tick.BBO) []byte {
	dst = e.appendHead(dst, tick.OutBBO, seq, b.Symbol)
	dst = appendInt(dst, `,"ts_event":`, b.TsEvent)
	dst = appendInt(dst, `,"ts_recv":`, b.TsRecv)
	dst = appendInt(dst, `,"ts_pub":`, tsPub)
	dst = appendSide(dst, `,"bid":`, b.Bid, b.BidShares, b.BidOrders)
	dst = appendSide(dst, `,"ask":`, b.Ask, b.AskShares, b.AskOrders)
	dst = appendInt(dst, `,"bid_size":`, b.BidShares)
	dst = appendInt(dst, `,"ask_size":`, b.AskShares)
	dst = appendInt(dst, `,"bid_orders":`, int64(b.BidOrders))
	dst = appendInt(dst, `,"ask_orders":`, int64(b.AskOrders))
	return append(dst, '}')
}

// appendSide appends one side's price, or null when the side is empty: a
// zero price is a real price (spreads and some instruments go through 0),
// so emptiness is judged by shares and orders, as tick.BBO defines it.
func appendSide(dst []byte, key string, p tick.Price, shares int64, orders uint32) []byte {
	if shares == 0 && orders == 0 {
		return append(append(dst, key...), "null"...)
	}
	return appendPrice(dst, key, p)
}

func (e *Encoder) appendHead(dst []byte, k tick.OutKind, seq uint64, sym tick.SymbolID) []byte {
	dst = append(dst, e.head[k]...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"symbol":"`...)
	dst = appendEscaped(dst, e.syms.Name(sym))
	return append(dst, '"')
}

func appendInt(dst []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(dst, key...), v, 10)
}

func appendPrice(dst []byte, key string, p tick.Price) []byte {
	dst = append(append(dst, key...), '"')
	return append(p.AppendText(dst), '"')
}

// appendFloat appends f as the shortest JSON number that reads back to the
// same float64, or null for NaN and ±Inf, which JSON cannot carry.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendEscaped appends s with JSON string escapes for '"', '\\' and control
// bytes. Symbols are printable ASCII (tick.ValidSymbol), so only the first
// two ever occur on the hot path; other bytes are copied as they are.
func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendQuoted appends s as a JSON string via encoding/json, which also
// repairs invalid UTF-8; it is for the constant parts built once.
func appendQuoted(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	return append(dst, b...)
}
