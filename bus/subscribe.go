package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"
)

// Kind says which record a Message is.
type Kind uint8

// Message kinds. KindInvalid is a *DecodeError delivered to a handler.
const (
	KindInvalid Kind = iota
	KindSignal
	KindBar
	KindStats
	KindBBO
	KindStatus // a loss report on <prefix>.status
	KindFeed   // a feed source's liveness change on <prefix>.status

	// NumKinds is one past the last Kind: the length of an array indexed by Kind.
	NumKinds = iota
)

func (k Kind) String() string {
	switch k {
	case KindSignal:
		return "signal"
	case KindBar:
		return "bar"
	case KindStats:
		return "stats"
	case KindBBO:
		return "bbo"
	case KindStatus:
		return "status"
	case KindFeed:
		return "feed"
	}
	return "invalid"
}

// Message is a decoded record: *Signal, *Bar, *Stats, *BBO, *Status,
// *FeedStatus, or *DecodeError. Origin returns the (publisher, seq) pair
// that identifies it within a publisher's run (a restart with a fixed
// publisher id counts from 1 again); seq grows by one per message a
// publisher sends, so a gap means lost messages. Status and feed events carry no seq: theirs is 0.
type Message interface {
	Kind() Kind
	Origin() (publisher string, seq uint64)
}

// Direction is the way a signal's condition was crossed.
type Direction int8

// Directions, as in tick.Signal.Dir.
const (
	Down Direction = -1
	None Direction = 0
	Up   Direction = +1
)

func (d Direction) String() string {
	switch {
	case d > 0:
		return "up"
	case d < 0:
		return "down"
	}
	return "none"
}

// Signal is a rule firing, as published on <prefix>.signal.<SYMBOL>.<rule>.
type Signal struct {
	Subject   string
	Publisher string
	Seq       uint64
	Symbol    string // exact, unsanitized
	Rule      string
	Type      string
	Dir       Direction
	TsEvent   int64 // ns since the Unix epoch: event time of the tick that fired it
	TsRecv    int64 // when tickd read that tick
	TsPub     int64 // when the publisher sent this message
	Price     decimal.Decimal
	Params    map[string]string
	Values    map[string]float64 // NaN where the publisher sent null
}

// Bar is an OHLCV bar, as published on <prefix>.bar.<interval>.<SYMBOL>.
type Bar struct {
	Subject   string
	Publisher string
	Seq       uint64
	Symbol    string
	Interval  time.Duration
	Start     int64 // ns since the Unix epoch; the bar covers [Start, Start+Interval)
	Open      decimal.Decimal
	High      decimal.Decimal
	Low       decimal.Decimal
	Close     decimal.Decimal
	VWAP      decimal.Decimal
	Volume    int64
	Count     int64
	TsRecv    int64
	TsPub     int64
}

// Stats is a statistics snapshot, as published on <prefix>.stats.<SYMBOL>.
// Float fields are NaN where the publisher sent null.
type Stats struct {
	Subject   string
	Publisher string
	Seq       uint64
	Symbol    string
	TsEvent   int64
	TsPub     int64
	Last      decimal.Decimal
	SMA       float64
	EMA       float64
	VWAP      float64
	Mean      float64
	StdDev    float64
	ZScore    float64
	Min       decimal.Decimal
	Max       decimal.Decimal
	Count     int64
	Volume    int64
}

// BBO is a symbol's best bid and offer after a book change, as published on
// <prefix>.bbo.<SYMBOL>. An empty side (published as null) has Valid false
// and zero size and orders.
type BBO struct {
	Subject   string
	Publisher string
	Seq       uint64
	Symbol    string
	TsEvent   int64 // ns since the Unix epoch: event time of the change
	TsRecv    int64 // when tickd read the message that made it
	TsPub     int64
	Bid       decimal.NullDecimal
	Ask       decimal.NullDecimal
	BidSize   int64 // shares
	AskSize   int64
	BidOrders int64 // resting orders at the price
	AskOrders int64
}

// Status reports that tickd lost data it was given, as published on
// <prefix>.status with kind "status": at most once a second, only when a
// loss counter rose. Totals since the publisher started, and the part of
// each that is new since its previous Status.
type Status struct {
	Subject           string
	Publisher         string
	TsPub             int64  // ns since the Unix epoch
	Dropped           uint64 // feed events dropped because the engine was behind a drop-on-full input
	NewDropped        uint64
	PublishDropped    uint64 // messages NATS refused (e.g. while reconnecting)
	NewPublishDropped uint64
	FeedLost          uint64 // feed messages lost for good in sequence gaps; 0 from publishers before it was sent
	NewFeedLost       uint64
}

// FeedStatus reports a feed source's change of liveness, as published on
// <prefix>.status with kind "feed": State "stale" when the source received
// nothing, not even a heartbeat, for the publisher's -feed-stale, "live"
// when it was heard from again after that, "ended" when a stale source
// ended (a reconnect comes as a new source).
type FeedStatus struct {
	Subject   string
	Publisher string
	TsPub     int64
	Source    string        // as tickd names it in logs and metrics ("tcp LOCAL<-REMOTE", "soupbin HOST:PORT", ...)
	State     string        // "stale", "live" or "ended" (later publishers may add states)
	Silent    time.Duration // how long the source had been silent when checked
}

func (*Signal) Kind() Kind     { return KindSignal }
func (*Bar) Kind() Kind        { return KindBar }
func (*Stats) Kind() Kind      { return KindStats }
func (*BBO) Kind() Kind        { return KindBBO }
func (*Status) Kind() Kind     { return KindStatus }
func (*FeedStatus) Kind() Kind { return KindFeed }

func (m *Signal) Origin() (string, uint64)     { return m.Publisher, m.Seq }
func (m *Bar) Origin() (string, uint64)        { return m.Publisher, m.Seq }
func (m *Stats) Origin() (string, uint64)      { return m.Publisher, m.Seq }
func (m *BBO) Origin() (string, uint64)        { return m.Publisher, m.Seq }
func (m *Status) Origin() (string, uint64)     { return m.Publisher, 0 }
func (m *FeedStatus) Origin() (string, uint64) { return m.Publisher, 0 }

// EventTime returns TsEvent as a time.Time.
func (m *Signal) EventTime() time.Time { return time.Unix(0, m.TsEvent) }

// RecvTime returns TsRecv as a time.Time.
func (m *Signal) RecvTime() time.Time { return time.Unix(0, m.TsRecv) }

// PubTime returns TsPub as a time.Time.
func (m *Signal) PubTime() time.Time { return time.Unix(0, m.TsPub) }

// FormatValues renders the signal's values as "name=value" pairs sorted by
// name, each with at most digits significant digits (%g), or as few as
// tell the value exactly when digits < 0; a value the publisher sent as
// null (NaN here) as "null". A value with more integer digits than digits
// prints whole, rounded, not in exponent form (up to 1e15). Values named in
// omit are left out (a line that already shows the exact Price can omit a
// rule's float "price").
func (m *Signal) FormatValues(digits int, omit ...string) string {
	names := make([]string, 0, len(m.Values))
	for k := range m.Values {
		if !slices.Contains(omit, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		switch v := m.Values[k]; {
		case math.IsNaN(v):
			b.WriteString("null")
		case digits >= 0 && math.Abs(v) >= math.Pow10(digits) && math.Abs(v) < 1e15:
			// A quantity of 39200 reads better whole than as 3.92e+04.
			b.WriteString(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
		default:
			b.WriteString(strconv.FormatFloat(v, 'g', digits, 64))
		}
	}
	return b.String()
}

// StartTime returns the start of the bar.
func (m *Bar) StartTime() time.Time { return time.Unix(0, m.Start) }

// EndTime returns the end of the bar (exclusive).
func (m *Bar) EndTime() time.Time { return time.Unix(0, m.Start+int64(m.Interval)) }

// RecvTime returns TsRecv as a time.Time.
func (m *Bar) RecvTime() time.Time { return time.Unix(0, m.TsRecv) }

// PubTime returns TsPub as a time.Time.
func (m *Bar) PubTime() time.Time { return time.Unix(0, m.TsPub) }

// EventTime returns TsEvent as a time.Time.
func (m *Stats) EventTime() time.Time { return time.Unix(0, m.TsEvent) }

// PubTime returns TsPub as a time.Time.
func (m *Stats) PubTime() time.Time { return time.Unix(0, m.TsPub) }

// EventTime returns TsEvent as a time.Time.
func (m *BBO) EventTime() time.Time { return time.Unix(0, m.TsEvent) }

// RecvTime returns TsRecv as a time.Time.
func (m *BBO) RecvTime() time.Time { return time.Unix(0, m.TsRecv) }

// PubTime returns TsPub as a time.Time.
func (m *BBO) PubTime() time.Time { return time.Unix(0, m.TsPub) }

// DecodeError reports a message that is not a valid tickd record. It is an
// error and also a Message, so Subscribe can hand it to the same handler.
type DecodeError struct {
	Subject string
	Data    []byte // the payload as received
	Err     error
}

func (e *DecodeError) Error() string {
	return "bus: decode message on " + strconv.Quote(e.Subject) + ": " + e.Err.Error()
}
func (e *DecodeError) Unwrap() error          { return e.Err }
func (*DecodeError) Kind() Kind               { return KindInvalid }
func (*DecodeError) Origin() (string, uint64) { return "", 0 }

// ErrUnknownKind is wrapped by the *DecodeError of a well-formed object
// whose "kind" this package does not know: a kind a later tickd added.
// Skip those (errors.Is(err, ErrUnknownKind)) and flag the other
// DecodeErrors, which are damaged or foreign messages.
var ErrUnknownKind = errors.New("unknown kind")

// Decode decodes a tickd message. Its error is always a *DecodeError.
func Decode(msg *nats.Msg) (Message, error) {
	if ct := msg.Header.Get("Content-Type"); ct != "" && ct != ContentTypeJSON {
		return nil, &DecodeError{msg.Subject, msg.Data, fmt.Errorf("unsupported Content-Type %q", ct)}
	}
	return DecodeBytes(msg.Subject, msg.Data)
}

// DecodeBytes decodes a tickd JSON record received on subject. Unknown
// fields are ignored (newer publishers may add some); missing required
// ones, a wrong "kind" and malformed values are errors (*DecodeError).
func DecodeBytes(subject string, data []byte) (Message, error) {
	m, err := decode(subject, data)
	if err != nil {
		return nil, &DecodeError{subject, data, err}
	}
	return m, nil
}

// Subscribe subscribes to pattern (e.g. Subjects{}.All()) and calls handler
// with each decoded message, on nats.go's delivery goroutine for the
// subscription. Malformed payloads reach handler as *DecodeError, and so do
// kinds a later tickd may add (wrapping ErrUnknownKind). So do the
// requests that steer a replay when pattern spans <prefix>.control.> (as
// <prefix>.> does): Subjects.IsControl on the error's Subject tells them
// apart from damaged records.
func Subscribe(nc *nats.Conn, pattern string, handler func(Message)) (*nats.Subscription, error) {
	if nc == nil || handler == nil {
		return nil, errors.New("bus: Subscribe needs a connection and a handler")
	}
	if pattern == "" {
		return nil, errors.New("bus: Subscribe: empty subject pattern")
	}
	sub, err := nc.Subscribe(pattern, func(msg *nats.Msg) {
		m, err := Decode(msg)
		if err != nil {
			m = err.(*DecodeError)
		}
		handler(m)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %q: %w", pattern, err)
	}
	return sub, nil
}

// wire is the union of every record's fields. Fields whose JSON type is the
// same in every record share a member; "vwap" (a decimal string in bars, a
// number in stats) is kept raw until the kind is known. A bar's "interval"
// token is left out: Bar.Interval comes from "interval_ns". A member's kinds
// tag lists the kinds it belongs to (none: every kind). When the message
// does not decode as a whole, decode reads each member only from a message
// of its kinds (fill), so that a field a later tickd adds to one kind,
// under a name another kind gives another type, is ignored as any unknown
// field is.
type wire struct {
	Kind       string               `json:"kind"`
	Publisher  string               `json:"publisher"`
	Seq        *uint64              `json:"seq" kinds:"signal,bar,stats,bbo"`
	Symbol     string               `json:"symbol" kinds:"signal,bar,stats,bbo"`
	Rule       string               `json:"rule" kinds:"signal"`
	Type       *string              `json:"type" kinds:"signal"`
	Dir        string               `json:"dir" kinds:"signal"`
	TsEvent    *int64               `json:"ts_event" kinds:"signal,stats,bbo"`
	TsRecv     *int64               `json:"ts_recv" kinds:"signal,bar,bbo"`
	TsPub      *int64               `json:"ts_pub"`
	Price      *wirePrice           `json:"price" kinds:"signal"`
	Params     map[string]string    `json:"params" kinds:"signal"`
	Values     map[string]wireFloat `json:"values" kinds:"signal"`
	IntervalNs *int64               `json:"interval_ns" kinds:"bar"`
	Start      *int64               `json:"start" kinds:"bar"`
	Open       *wirePrice           `json:"open" kinds:"bar"`
	High       *wirePrice           `json:"high" kinds:"bar"`
	Low        *wirePrice           `json:"low" kinds:"bar"`
	Close      *wirePrice           `json:"close" kinds:"bar"`
	Volume     *int64               `json:"volume" kinds:"bar,stats"`
	VWAP       json.RawMessage      `json:"vwap" kinds:"bar,stats"`
	Count      *int64               `json:"count" kinds:"bar,stats"`
	Last       *wirePrice           `json:"last" kinds:"stats"`
	SMA        wireFloat            `json:"sma" kinds:"stats"`
	EMA        wireFloat            `json:"ema" kinds:"stats"`
	Mean       wireFloat            `json:"mean" kinds:"stats"`
	StdDev     wireFloat            `json:"stddev" kinds:"stats"`
	ZScore     wireFloat            `json:"zscore" kinds:"stats"`
	Min        *wirePrice           `json:"min" kinds:"stats"`
	Max        *wirePrice           `json:"max" kinds:"stats"`
	Bid        wireSide             `json:"bid" kinds:"bbo"`
	Ask        wireSide             `json:"ask" kinds:"bbo"`
	BidSize    *int64               `json:"bid_size" kinds:"bbo"`
	AskSize    *int64               `json:"ask_size" kinds:"bbo"`
	BidOrders  *int64               `json:"bid_orders" kinds:"bbo"`
	AskOrders  *int64               `json:"ask_orders" kinds:"bbo"`
	// status
	Dropped           *uint64 `json:"dropped" kinds:"status"`
	NewDropped        *uint64 `json:"new_dropped" kinds:"status"`
	PublishDropped    *uint64 `json:"publish_dropped" kinds:"status"`
	NewPublishDropped *uint64 `json:"new_publish_dropped" kinds:"status"`
	FeedLost          uint64  `json:"feed_lost" kinds:"status"` // optional: older publishers do not send it
	NewFeedLost       uint64  `json:"new_feed_lost" kinds:"status"`
	// feed
	Source   string `json:"source" kinds:"feed"`
	State    string `json:"state" kinds:"feed"` // any non-empty word: later publishers may add states
	SilentNs *int64 `json:"silent_ns" kinds:"feed"`
}

// wireField is a member of wire: its JSON name, and the kinds it belongs
// to (nil: every kind).
type wireField struct {
	name  string
	kinds []string
}

// wireFields lists wire's members, by field index.
var wireFields = func() []wireField {
	t := reflect.TypeFor[wire]()
	fs := make([]wireField, t.NumField())
	for i := range fs {
		f := t.Field(i)
		fs[i].name, _, _ = strings.Cut(f.Tag.Get("json"), ",")
		if k := f.Tag.Get("kinds"); k != "" {
			fs[i].kinds = strings.Split(k, ",")
		}
	}
	return fs
}()

// fillKind sets the members of w that the JSON object data holds for its
// kind, after err from decoding it as a whole.
func (w *wire) fillKind(data []byte, err error) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		if !json.Valid(data) {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		return errors.New("not a JSON object")
	}
	return w.fill(fields)
}

// fill sets the members of w that the object fields holds for its kind. An
// error names the field whose value has the wrong type or form (which
// encoding/json, decoding a whole struct, names only as "wire.seq", or not
// at all behind a custom unmarshaler: "price 1 is not a JSON string").
func (w *wire) fill(fields map[string]json.RawMessage) error {
	if raw, ok := fields["kind"]; ok {
		if err := json.Unmarshal(raw, &w.Kind); err != nil {
			return fmt.Errorf("field %q: %w", "kind", err)
		}
	}
	v := reflect.ValueOf(w).Elem()
	for i, f := range wireFields {
		raw, ok := fields[f.name]
		if !ok || f.name == "kind" || (f.kinds != nil && !slices.Contains(f.kinds, w.Kind)) {
			continue
		}
		if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
			return fmt.Errorf("field %q: %w", f.name, err)
		}
	}
	return nil
}

// wirePrice is a price: a JSON string holding an exact decimal.
type wirePrice struct{ d decimal.Decimal }

func (p *wirePrice) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("price %s is not a JSON string", b)
	}
	d, err := decimal.NewFromString(string(b[1 : len(b)-1]))
	if err != nil {
		return fmt.Errorf("price %s is not a decimal", b)
	}
	p.d = d
	return nil
}

// wireSide is one side's price in a BBO: a decimal string, or null when the
// side is empty. It is a value, not a pointer, so that encoding/json calls
// UnmarshalJSON on null too and ok tells present-null from missing.
type wireSide struct {
	d  decimal.NullDecimal
	ok bool
}

func (s *wireSide) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = wireSide{ok: true}
		return nil
	}
	var p wirePrice
	if err := p.UnmarshalJSON(b); err != nil {
		return err
	}
	*s = wireSide{decimal.NullDecimal{Decimal: p.d, Valid: true}, true}
	return nil
}

// wireFloat is a statistic: a JSON number, or null for NaN. ok records
// that the field was present (null included).
type wireFloat struct {
	v  float64
	ok bool
}

func (f *wireFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = wireFloat{math.NaN(), true}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("value %s is not a number", b)
	}
	*f = wireFloat{v, true}
	return nil
}

func decode(subject string, data []byte) (Message, error) {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		// A value of the wrong type: an error in a field of the message's
		// kind, which fill names; in another kind's field, one a later
		// tickd added to this kind, ignored. (The whole-struct decode
		// stays the fast path for every well-formed message.)
		w = wire{}
		if err := w.fillKind(data, err); err != nil {
			return nil, err
		}
	}
	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	// Status and feed events are about the publisher, not a symbol, and
	// are not counted in its seq.
	event := w.Kind == "status" || w.Kind == "feed"
	need(w.Publisher != "", "publisher")
	need(w.Seq != nil || event, "seq")
	need(w.Symbol != "" || event, "symbol")
	need(w.TsPub != nil, "ts_pub")
	var m Message
	switch w.Kind {
	case "signal":
		need(w.Rule != "", "rule")
		need(w.Type != nil, "type") // may be "": the schema asks only for a string
		need(w.Dir != "", "dir")
		need(w.TsEvent != nil, "ts_event")
		need(w.TsRecv != nil, "ts_recv")
		need(w.Price != nil, "price")
		need(w.Params != nil, "params")
		need(w.Values != nil, "values")
		if len(missing) > 0 {
			break
		}
		s := &Signal{Subject: subject, Publisher: w.Publisher, Seq: *w.Seq, Symbol: w.Symbol,
			Rule: w.Rule, Type: *w.Type, TsEvent: *w.TsEvent, TsRecv: *w.TsRecv, TsPub: *w.TsPub,
			Price: w.Price.d, Params: w.Params, Values: make(map[string]float64, len(w.Values))}
		switch w.Dir {
		case "up":
			s.Dir = Up
		case "down":
			s.Dir = Down
		case "none":
		default:
			return nil, fmt.Errorf("signal: dir %q is not up, down or none", w.Dir)
		}
		for k, v := range w.Values {
			s.Values[k] = v.v
		}
		m = s
	case "bar":
		need(w.IntervalNs != nil, "interval_ns")
		need(w.Start != nil, "start")
		need(w.Open != nil && w.High != nil && w.Low != nil && w.Close != nil, "open/high/low/close")
		need(w.Volume != nil, "volume")
		need(len(w.VWAP) > 0, "vwap")
		need(w.Count != nil, "count")
		need(w.TsRecv != nil, "ts_recv")
		if len(missing) > 0 {
			break
		}
		if *w.IntervalNs <= 0 {
			return nil, fmt.Errorf("bar: interval_ns %d is not positive", *w.IntervalNs)
		}
		var vwap wirePrice
		if err := vwap.UnmarshalJSON(w.VWAP); err != nil {
			return nil, fmt.Errorf("bar: vwap: %w", err)
		}
		m = &Bar{Subject: subject, Publisher: w.Publisher, Seq: *w.Seq, Symbol: w.Symbol,
			Interval: time.Duration(*w.IntervalNs), Start: *w.Start,
			Open: w.Open.d, High: w.High.d, Low: w.Low.d, Close: w.Close.d, VWAP: vwap.d,
			Volume: *w.Volume, Count: *w.Count, TsRecv: *w.TsRecv, TsPub: *w.TsPub}
	case "stats":
		need(w.TsEvent != nil, "ts_event")
		need(w.Last != nil && w.Min != nil && w.Max != nil, "last/min/max")
		need(w.SMA.ok && w.EMA.ok && len(w.VWAP) > 0 && w.Mean.ok && w.StdDev.ok && w.ZScore.ok,
			"sma/ema/vwap/mean/stddev/zscore")
		need(w.Count != nil, "count")
		need(w.Volume != nil, "volume")
		if len(missing) > 0 {
			break
		}
		var vwap wireFloat
		if err := vwap.UnmarshalJSON(w.VWAP); err != nil {
			return nil, fmt.Errorf("stats: vwap: %w", err)
		}
		m = &Stats{Subject: subject, Publisher: w.Publisher, Seq: *w.Seq, Symbol: w.Symbol,
			TsEvent: *w.TsEvent, TsPub: *w.TsPub, Last: w.Last.d,
			SMA: w.SMA.v, EMA: w.EMA.v, VWAP: vwap.v, Mean: w.Mean.v,
			StdDev: w.StdDev.v, ZScore: w.ZScore.v, Min: w.Min.d, Max: w.Max.d,
			Count: *w.Count, Volume: *w.Volume}
	case "bbo":
		need(w.TsEvent != nil, "ts_event")
		need(w.TsRecv != nil, "ts_recv")
		need(w.Bid.ok && w.Ask.ok, "bid/ask")
		need(w.BidSize != nil && w.AskSize != nil, "bid_size/ask_size")
		need(w.BidOrders != nil && w.AskOrders != nil, "bid_orders/ask_orders")
		if len(missing) > 0 {
			break
		}
		m = &BBO{Subject: subject, Publisher: w.Publisher, Seq: *w.Seq, Symbol: w.Symbol,
			TsEvent: *w.TsEvent, TsRecv: *w.TsRecv, TsPub: *w.TsPub, Bid: w.Bid.d, Ask: w.Ask.d,
			BidSize: *w.BidSize, AskSize: *w.AskSize, BidOrders: *w.BidOrders, AskOrders: *w.AskOrders}
	case "status":
		need(w.Dropped != nil && w.NewDropped != nil, "dropped/new_dropped")
		need(w.PublishDropped != nil && w.NewPublishDropped != nil, "publish_dropped/new_publish_dropped")
		if len(missing) > 0 {
			break
		}
		m = &Status{Subject: subject, Publisher: w.Publisher, TsPub: *w.TsPub,
			Dropped: *w.Dropped, NewDropped: *w.NewDropped,
			PublishDropped: *w.PublishDropped, NewPublishDropped: *w.NewPublishDropped,
			FeedLost: w.FeedLost, NewFeedLost: w.NewFeedLost}
	case "feed":
		need(w.Source != "", "source")
		need(w.State != "", "state")
		need(w.SilentNs != nil, "silent_ns")
		if len(missing) > 0 {
			break
		}
		m = &FeedStatus{Subject: subject, Publisher: w.Publisher, TsPub: *w.TsPub,
			Source: w.Source, State: w.State, Silent: time.Duration(*w.SilentNs)}
	case "":
		return nil, errors.New(`missing field "kind"`)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, w.Kind)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing field(s) %q", w.Kind, missing)
	}
	return m, nil
}
