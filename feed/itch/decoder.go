package itch

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/tickd/tickd/tick"
)

// Options configure a Decoder. The zero value of every field but Symbols is
// a usable default.
type Options struct {
	// Symbols is where Stock Directory (R) names are interned. Required: the
	// engine resolves Event.Symbol through the same table.
	Symbols *tick.SymbolTable

	// SessionDate is the trading day; only its year, month and day count.
	// ITCH timestamps are ns since midnight America/New_York of that day, so
	// Event.TsEvent = SessionMidnight(SessionDate) + timestamp.
	//
	// Default (zero time): no date is known, and TsEvent is the raw ns since
	// midnight, as if the session ran on 1970-01-01 UTC. Event order and
	// every window length stay right; only the wall date is missing.
	SessionDate time.Time

	// Source is copied into Event.Source.
	Source uint16
}

// numLocates is the number of stock locates: the field is 16 bits.
const numLocates = 1 << 16

// locate is what a Decoder knows of one stock locate: 16 bytes, so that
// the stock and the SymbolID share a cache line.
type locate struct {
	stock uint64        // the Stock field that announced it, as stockWord loads it
	id    tick.SymbolID // SymbolID+1, with movedBit once an R gave the locate another stock; 0: never announced
}

// movedBit marks a locate an R gave another stock after it had one. It is
// above any SymbolID+1 (a SymbolTable of 2^31 names would not fit in
// memory), so one unsigned compare of id-1 sends both a locate never
// announced and a moved one to the slow path.
const movedBit = 1 << 31

// movedOrder is an order added on a moved locate under another stock than
// the locate's first: its stock, and its shares not yet executed or
// cancelled, so that it is forgotten with its last share.
type movedOrder struct {
	sym    tick.SymbolID
	shares uint32
}

// allShares is what a D or U takes off an order: all it has left.
const allShares = ^uint32(0)

// stockWord loads an 8-byte Stock field as one word, to compare with a
// locate's.
func stockWord(stock []byte) uint64 { return binary.LittleEndian.Uint64(stock) }

// Decoder turns ITCH 5.0 messages into tick.Events, one message per Decode
// call, following the table in tick/event.go. It is not safe for concurrent
// use: give each session its own Decoder.
//
// R (Stock Directory) interns the trimmed stock name into Options.Symbols
// once and maps its stock locate to the SymbolID in a dense table. Later
// messages resolve their locate with one array load. A message on a locate
// never announced by R interns its own Stock field when it has one (A F H P
// Q) and maps the locate to it; one without a stock (E C X D U B) is
// rejected with ReasonUnknownLocate. Locate 0 (no stock) is never mapped: a
// message on it resolves its own Stock field each time, or is rejected
// without one. S events carry no stock: their Symbol is 0.
//
// A F H P Q on an announced locate must name the locate's stock: the
// 8-byte Stock field is compared with the one that announced the locate
// (one compare, in the cache line of the locate's entry). One that names
// another stock (a file spliced from two sessions, a stale locate table)
// is rejected with ReasonStockMismatch rather than booked under either
// stock: under the locate's it would put the other stock's prices in its
// book, statistics and signals; under its own, the executions and deletes
// that follow on the locate would look for it in the locate's stock.
//
// An R naming another stock for a locate that had one (by R, or by the
// first A F H P Q on it) moves the locate to that stock, but not its
// orders: E C X D U on an order name the stock it was added under, as the
// books keep it, so that an engine routing by symbol sends them to the
// shard holding the order. The first stock of each moved locate, and the
// stock and shares left of each order added on one under another stock,
// are kept in maps read only for messages on moved locates; such an order
// is forgotten when D or U removes it or E C X take its last shares (ITCH
// sends no D after a full execution). A B names a match, not an order: it
// takes the locate's stock at the time.
//
// Y L V W K J h I N O are validated and counted (ByType, Ignored) but
// produce no event. Nothing in Decode allocates, except interning a symbol
// the table has never seen and noting an order on a moved locate.
type Decoder struct {
	syms *tick.SymbolTable
	locs []locate // by stock locate
	// Locates an R gave another stock mid-session: the stock each had
	// first, and the orders added on them since under another stock.
	// Only messages on such a locate read them (the slow path).
	firstStock  map[uint16]tick.SymbolID
	movedOrders map[uint64]*movedOrder
	midnight    int64 // Unix ns of the session's midnight
	recv        int64 // Event.TsRecv, set by SetRecvTime
	lastTs      int64 // TsEvent of the last message, for EndOfStream
	source      uint16
	c           Counters
}

// Counters are a Decoder's running totals. Every message handed to Decode is
// counted once in Messages and once in exactly one of Events, Ignored or
// ByReason, so Messages = Events + Ignored + sum(ByReason).
type Counters struct {
	Messages uint64             // messages handed to Decode
	Events   uint64             // events written
	Ignored  uint64             // known types that produce no event (Y L V W K J h I N O)
	ByType   [256]uint64        // messages by type byte, unknown types included (not empty ones)
	ByReason [NumReasons]uint64 // rejected messages by reason; ReasonUnknownType counts skips
}

// Rejected returns the number of messages counted under any reason.
func (c *Counters) Rejected() uint64 {
	var n uint64
	for _, v := range c.ByReason {
		n += v
	}
	return n
}

// NewDecoder returns a Decoder for one session.
func NewDecoder(opts Options) (*Decoder, error) {
	if opts.Symbols == nil {
		return nil, errors.New("itch: Options.Symbols is required")
	}
	d := &Decoder{syms: opts.Symbols, locs: make([]locate, numLocates), source: opts.Source}
	if !opts.SessionDate.IsZero() {
		m, err := SessionMidnight(opts.SessionDate)
		if err != nil {
			return nil, err
		}
		d.midnight = m
	}
	return d, nil
}

// SessionMidnight returns midnight America/New_York of date's year, month and
// day, in ns since the Unix epoch. It needs the time zone database (the
// system's, or time/tzdata linked into the binary).
func SessionMidnight(date time.Time) (int64, error) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		return 0, errors.New("itch: loading America/New_York: " + err.Error())
	}
	y, m, dd := date.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc).UnixNano(), nil
}

// SetRecvTime sets the Event.TsRecv stamped on events from now on (stamp it
// once per read batch).
func (d *Decoder) SetRecvTime(ns int64) { d.recv = ns }

// Counters returns a snapshot of the running totals.
func (d *Decoder) Counters() Counters { return d.c }

// Symbol returns the SymbolID announced for a stock locate.
func (d *Decoder) Symbol(locate uint16) (tick.SymbolID, bool) {
	v := d.locs[locate].id &^ movedBit
	return v - 1, v != 0
}

// Decode decodes one message (without its framing) into ev. It reports
// whether it wrote an event. A rejected message returns its Reason as the
// error and leaves ev untouched; so does a message of a known type that maps
// to no event (nil error) and one of an unknown type (nil error, counted under
// ReasonUnknownType). ev.Seq is the 1-based number of the message in the
// session (every message counts); callers with a transport sequence may
// overwrite it.
func (d *Decoder) Decode(msg []byte, ev *tick.Event) (bool, error) {
	d.c.Messages++
	if len(msg) == 0 {
		return d.reject(ReasonEmpty)
	}
	t := msg[0]
	d.c.ByType[t]++
	n := MsgLen[t]
	if n == 0 {
		d.c.ByReason[ReasonUnknownType]++
		return false, nil
	}
	if len(msg) != int(n) {
		return d.reject(ReasonBadLength)
	}
	_ = msg[10]
	loc := be.Uint16(msg[1:])
	ts := d.midnight + int64(timestamp(msg))
	var (
		sym  tick.SymbolID
		r    Reason
		kind tick.Kind
		side tick.Side
		ref  uint64
		nref uint64
		px   tick.Price
		qty  int64
	)
	v := View(msg) // the hot types are read in place through views: no struct copies
	switch t {
	case TypeAddOrder, TypeAddOrderMPID:
		m := AddOrderView{v}
		ref = m.OrderRef()
		// symbolOr's fast path, written out: the call cost more than the check.
		if l := &d.locs[loc]; l.id-1 < movedBit && l.stock == stockWord(m.Stock()) {
			sym = l.id - 1
		} else {
			sym, r = d.addSlow(loc, m.Stock(), ref, m.Shares())
		}
		side, r = sideOf(m.Side(), r)
		kind, px, qty = tick.KindAdd, Price4(m.PriceUnits()), int64(m.Shares())
	case TypeOrderExecuted:
		m := ExecutedView{v}
		ref = m.OrderRef()
		sym, r = d.orderSymbol(loc, ref, m.Shares())
		kind, nref, qty = tick.KindExecute, m.Match(), int64(m.Shares())
	case TypeOrderExecutedPrice:
		m := ExecutedPriceView{ExecutedView{v}}
		ref = m.OrderRef()
		kind, nref, px, qty = tick.KindExecutePrice, m.Match(), Price4(m.PriceUnits()), int64(m.Shares())
		taken := m.Shares()
		switch m.Printable() {
		case 'Y':
		case 'N':
			kind = tick.KindExecuteNoPrint
		default:
			r, taken = ReasonBadPrintable, 0 // rejected: the book keeps the shares, so must a moved order
		}
		var lr Reason
		sym, lr = d.orderSymbol(loc, ref, taken)
		r = firstReason(lr, r)
	case TypeOrderCancel:
		m := CancelView{v}
		ref = m.OrderRef()
		sym, r = d.orderSymbol(loc, ref, m.Shares())
		kind, qty = tick.KindCancel, int64(m.Shares())
	case TypeOrderDelete:
		ref = CancelView{v}.OrderRef()
		sym, r = d.orderSymbol(loc, ref, allShares)
		kind = tick.KindDelete
	case TypeOrderReplace:
		m := ReplaceView{v}
		ref, nref = m.OrigRef(), m.NewRef()
		sym, r = d.orderSymbol(loc, ref, allShares)
		if d.locs[loc].id >= movedBit { // the new order keeps the replaced one's stock
			d.noteOrder(loc, nref, sym, m.Shares())
		}
		kind, px, qty = tick.KindReplace, Price4(m.PriceUnits()), int64(m.Shares())
	case TypeTrade:
		m := TradeView{v}
		sym, r = d.symbolOr(loc, m.Stock())
		side, r = sideOf(m.Side(), r)
		kind, nref, px, qty = tick.KindTrade, m.Match(), Price4(m.PriceUnits()), int64(m.Shares())
	case TypeCrossTrade:
		m := CrossView{v}
		sym, r = d.symbolOr(loc, m.Stock())
		if m.Shares() > tick.MaxQty { // a zero-share cross is a real print of no volume
			r = firstReason(r, ReasonQtyRange)
		}
		kind, nref, px, qty, side = tick.KindCrossTrade, m.Match(), Price4(m.PriceUnits()), int64(m.Shares()), tick.Side(m.CrossType())
	case TypeBrokenTrade:
		sym, r = d.symbol(loc)
		kind, nref = tick.KindBrokenTrade, MatchView{v}.Match()
	case TypeSystemEvent:
		kind, qty = tick.KindSystem, int64(msg[11])
	case TypeStockDirectory:
		sym, r = d.announce(loc, msg[11:19])
		kind, qty = tick.KindDirectory, int64(DecodeStockDirectory(msg).RoundLotSize)
	case TypeStockTradingAction:
		sym, r = d.symbolOr(loc, msg[11:19])
		kind, qty = tick.KindTradingState, int64(msg[19])
	case TypeMWCBDeclineLevel:
		if _, err := DecodeMWCBDeclineLevel(msg); err != nil {
			return d.reject(ReasonPriceRange)
		}
		d.c.Ignored++
		return false, nil
	default: // Y L W K J h I N O: known, counted, no event
		d.c.Ignored++
		return false, nil
	}
	if r != 0 {
		return d.reject(r)
	}
	d.lastTs = ts
	// Every field, one store each: a composite literal is built in a stack
	// temporary and copied, and the copy stalls on store forwarding.
	ev.Seq, ev.TsEvent, ev.TsRecv, ev.Price, ev.Qty = d.c.Messages, ts, d.recv, px, qty
	ev.OrderRef, ev.NewRef, ev.Symbol, ev.Kind, ev.Side, ev.Source = ref, nref, sym, kind, side, d.source
	d.c.Events++
	return true, nil
}

// EndOfStream writes the KindEndOfStream event that closes a session: it
// carries the time of the last event and the next sequence number.
func (d *Decoder) EndOfStream(ev *tick.Event) {
	*ev = tick.Event{Seq: d.c.Messages + 1, TsEvent: d.lastTs, TsRecv: d.recv, Kind: tick.KindEndOfStream, Source: d.source}
}

func (d *Decoder) reject(r Reason) (bool, error) {
	d.c.ByReason[r]++
	return false, r
}

// symbol resolves a locate announced by R to its stock now (B).
func (d *Decoder) symbol(loc uint16) (tick.SymbolID, Reason) {
	if v := d.locs[loc].id &^ movedBit; v != 0 {
		return v - 1, 0
	}
	return 0, ReasonUnknownLocate
}

// orderSymbol resolves the stock of order ref, named on locate loc (E C X
// D U): the locate's, unless an R gave it another stock after the order
// was added. taken: the shares the message takes off the order (allShares
// for D U).
func (d *Decoder) orderSymbol(loc uint16, ref uint64, taken uint32) (tick.SymbolID, Reason) {
	if v := d.locs[loc].id - 1; v < movedBit {
		return v, 0
	}
	return d.movedOrderSymbol(loc, ref, taken)
}

// addSlow resolves the stock of an add (A F) off symbolOr's fast path
// (which Decode writes out): stockSymbol, and on a moved locate the
// order's stock is noted for the messages that will name it.
func (d *Decoder) addSlow(loc uint16, stock []byte, ref uint64, shares uint32) (tick.SymbolID, Reason) {
	sym, r := d.stockSymbol(loc, stock)
	if r == 0 && d.locs[loc].id&movedBit != 0 {
		d.noteOrder(loc, ref, sym, shares)
	}
	return sym, r
}

// symbolOr resolves a locate whose stock the message's own Stock field
// names, or interns that field when the locate is not announced yet.
func (d *Decoder) symbolOr(loc uint16, stock []byte) (tick.SymbolID, Reason) {
	if l := &d.locs[loc]; l.id-1 < movedBit && l.stock == stockWord(stock) {
		return l.id - 1, 0
	}
	return d.stockSymbol(loc, stock)
}

// stockSymbol is the slow path of symbolOr: a locate not announced yet, a
// Stock field naming another stock, or a moved locate.
func (d *Decoder) stockSymbol(loc uint16, stock []byte) (tick.SymbolID, Reason) {
	l := &d.locs[loc]
	switch {
	case l.id == 0:
		return d.intern(loc, stock)
	case l.stock != stockWord(stock):
		return 0, ReasonStockMismatch
	}
	return l.id&^movedBit - 1, 0
}

// announce maps loc to the stock an R names. An R naming another stock
// than the locate had moves the locate: the orders it already has keep
// their stock (the first one's, or the one noted when they were added),
// so their executions and deletes still reach their own book and
// statistics, on whichever engine shard those are.
func (d *Decoder) announce(loc uint16, stock []byte) (tick.SymbolID, Reason) {
	prev := d.locs[loc].id
	id, r := d.intern(loc, stock)
	if r != 0 || prev == 0 || prev == id+1 {
		return id, r
	}
	if prev&movedBit == 0 { // the first move: what the locate had is its first stock
		if d.firstStock == nil {
			d.firstStock, d.movedOrders = map[uint16]tick.SymbolID{}, map[uint64]*movedOrder{}
		}
		d.firstStock[loc] = prev - 1
	}
	d.locs[loc].id |= movedBit
	return id, 0
}

// movedOrderSymbol resolves order ref on a moved locate (or rejects a
// locate never announced): its noted stock, else the locate's first. A
// noted order is forgotten once taken leaves it no shares. (Its map
// accesses are runtime calls: inlined, it keeps orderSymbol inlinable,
// and so the fast path one load and one compare. Only just: the noted
// orders are pointers so that taking shares needs no map assignment.)
func (d *Decoder) movedOrderSymbol(loc uint16, ref uint64, taken uint32) (tick.SymbolID, Reason) {
	if d.locs[loc].id == 0 {
		return 0, ReasonUnknownLocate
	}
	o := d.movedOrders[ref]
	if o == nil {
		return d.firstStock[loc], 0
	}
	if o.shares > taken {
		o.shares -= taken
	} else {
		delete(d.movedOrders, ref)
	}
	return o.sym, 0
}

// noteOrder notes the stock and shares of an order added on moved locate
// loc, unless it is the locate's first stock (the stock of every order
// not noted) or it has no shares: the books refuse such an order
// (bad_order), so nothing that names it later has one to find, and no
// execution would ever take it off the notes.
func (d *Decoder) noteOrder(loc uint16, ref uint64, sym tick.SymbolID, shares uint32) {
	if sym == d.firstStock[loc] || shares == 0 {
		delete(d.movedOrders, ref)
		return
	}
	d.movedOrders[ref] = &movedOrder{sym, shares}
}

// intern maps loc to the trimmed stock name, interning it (the edge: this
// allocates once per new name). Locate 0 is ITCH's "no stock": it is never
// mapped, so messages on it that carry a stock each resolve their own (a
// file with no locates, as ITCH 4.1 had, would otherwise put every stock's
// orders under the first stock it named), and those that carry none are
// rejected as ReasonUnknownLocate.
func (d *Decoder) intern(loc uint16, stock []byte) (tick.SymbolID, Reason) {
	name := trimSpace(stock)
	id, ok := d.syms.Lookup(name)
	if !ok {
		if !validStock(name) {
			return 0, ReasonBadSymbol
		}
		var err error
		if id, err = d.syms.InternBytes(name); err != nil {
			if errors.Is(err, tick.ErrSymbolFull) {
				return 0, ReasonSymbolTableFull
			}
			return 0, ReasonBadSymbol
		}
	}
	if loc != 0 {
		d.locs[loc] = locate{stock: stockWord(stock), id: id + 1}
	}
	return id, 0
}

// validStock is tick.ValidSymbol for a trimmed stock field, without the
// error value (which allocates): 1..8 printable ASCII bytes, no leading space.
func validStock(name []byte) bool {
	if len(name) == 0 || name[0] == ' ' {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// sideOf maps a buy/sell indicator, keeping an earlier reason.
func sideOf(b byte, r Reason) (tick.Side, Reason) {
	switch b {
	case 'B':
		return tick.SideBuy, r
	case 'S':
		return tick.SideSell, r
	}
	return tick.SideNone, firstReason(r, ReasonBadSide)
}

func firstReason(r, next Reason) Reason {
	if r != 0 {
		return r
	}
	return next
}
