package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tickd/tickd/book"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/internal/gzipfile"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// inspectSymbol is one symbol's line of `tickd inspect --json`.
type inspectSymbol struct {
	BestBid    []any  `json:"best_bid"` // [price, shares] or null
	BestAsk    []any  `json:"best_ask"`
	BidOrders  int64  `json:"bid_orders"`
	AskOrders  int64  `json:"ask_orders"`
	BidShares  int64  `json:"bid_shares"`
	AskShares  int64  `json:"ask_shares"`
	ExecShares int64  `json:"exec_shares"`
	VWAP       string `json:"vwap"`            // of those executions; "" when none
	State      string `json:"state,omitempty"` // "crossed" (bid > ask) or "locked" (bid == ask) at the end, else ""

	notional big.Int // Σ price×shares in 1e-9 units
}

// inspectReport is the whole `tickd inspect --json` object.
type inspectReport struct {
	Messages     uint64                    `json:"messages"`
	ByType       map[string]uint64         `json:"by_type"`  // by typeKey
	Rejected     map[string]uint64         `json:"rejected"` // by itch.Reason name: messages the decoder skipped
	UnknownRefs  uint64                    `json:"unknown_refs"`
	BookRejected map[string]uint64         `json:"book_rejected"`       // by book.Reason name: orders the books did not apply
	Overfills    uint64                    `json:"overfills"`           // executions and cancels of more shares than rested
	Truncated    string                    `json:"truncated,omitempty"` // where the file ends inside a message, or its gzip stream is followed by bytes that are not gzip; the summary is of what precedes it
	Symbols      map[string]*inspectSymbol `json:"symbols"`

	garbage bool // Truncated is trailing garbage after a whole gzip stream
}

// typeKey names a message type byte: the letter ITCH uses, or for any byte
// that is not printable ASCII (no ITCH type; a file that is not ITCH) its
// hex value, "0xdf", so that the key shows which byte it was.
func typeKey(t byte) string {
	if t > ' ' && t < 0x7f {
		return string(rune(t))
	}
	return fmt.Sprintf("0x%02x", t)
}

// runInspect is `tickd inspect FILE`: it replays a NASDAQ ITCH 5.0 daily file
// (plain or gzip) through the decoder and the L3 books and summarises it.
func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tickd inspect [-json] FILE\n\nSummarises a NASDAQ TotalView-ITCH 5.0 file (2-byte length framing, plain or gzip):\nmessages by type, those the decoder rejected, orders naming unknown references, orders\nthe books refused and over-executions, and per symbol the book it leaves (and whether\nit is crossed or locked) and the shares executed by E, C (printable only, as they\ncount in volume) and P with their VWAP. A file cut short inside a message or its gzip\nstream is summarised up to the cut, which it names (-json: truncated); exit status 0.\n\n")
		fs.PrintDefaults()
	}
	// Flags may follow the file, as they may in tickd replay.
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "tickd inspect: give one FILE"+extraFiles(files))
		return errUsage
	}
	path := files[0]
	switch kind, err := replay.DetectInput(path); {
	case err == nil && kind == replay.InputCapture:
		return fmt.Errorf("%s is a tickd capture, not an ITCH file: play it with `tickd replay %[1]s`", path)
	case errors.Is(err, replay.ErrGzippedCapture):
		return fmt.Errorf("%s is a gzip-compressed tickd capture, not an ITCH file: gunzip it, then play it with `tickd replay`", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	var progress io.Writer // only on a terminal
	if isTerminal(stderr) {
		progress = stderr
	}
	rep, err := inspectITCH(ctx, f, size, progress)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if rep.Truncated != "" {
		fmt.Fprintf(stderr, "tickd inspect: %s: %s: summarising the %d messages before it\n", path, rep.Truncated, rep.Messages)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := bufio.NewWriter(stdout) // keeps the first write error for Flush to return
	printInspect(w, rep)
	return w.Flush()
}

// extraFiles names the files beyond the one inspect reads, for its usage error.
func extraFiles(files []string) string {
	if len(files) < 2 {
		return ""
	}
	return fmt.Sprintf(", not %d: %q", len(files), files)
}

// showProgress draws a progress line on w (a terminal) for long files.
func showProgress(w io.Writer, done, total int64, msgs uint64) {
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(w, "\r%5.1f%%  %d messages", pct, msgs)
}

// inspectITCH reads the ITCH file r (size bytes, for the progress shown on
// progress when not nil) through the decoder and the books, and summarises it.
func inspectITCH(ctx context.Context, r io.Reader, size int64, progress io.Writer) (*inspectReport, error) {
	fr, err := itch.NewFileReader(r)
	if err != nil {
		return nil, err
	}
	syms := tick.NewSymbolTable(0)
	dec, err := itch.NewDecoder(itch.Options{Symbols: syms})
	if err != nil {
		return nil, err
	}
	books, err := book.New(book.Options{})
	if err != nil {
		return nil, err
	}
	rep := &inspectReport{ByType: map[string]uint64{}, Symbols: map[string]*inspectSymbol{}}
	var byType [256]uint64
	perSym := map[tick.SymbolID]*inspectSymbol{}
	sym := func(id tick.SymbolID) *inspectSymbol {
		s := perSym[id]
		if s == nil {
			s = &inspectSymbol{}
			perSym[id] = s
		}
		return s
	}
	last := time.Now()
	var ev tick.Event
	for {
		msg, err := fr.Next()
		if err == io.EOF {
			break
		}
		if truncation(err) {
			// A cut-short file (a partial download or copy, or a day
			// still being written) is summarised up to the cut, as
			// replay plays it up to there, and the cut is reported.
			rep.Truncated = fmt.Sprintf("offset %d: %v", fr.Offset(), err)
			rep.garbage = errors.Is(err, gzipfile.ErrTrailingGarbage)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", fr.Offset(), err)
		}
		rep.Messages++
		byType[msg[0]]++
		if rep.Messages%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil && time.Since(last) > 200*time.Millisecond {
				showProgress(progress, fr.Offset(), size, rep.Messages)
				last = time.Now()
			}
		}
		ok, err := dec.Decode(msg, &ev)
		if !ok || err != nil {
			continue // counted by the decoder (rejected), or no event; an inspect goes on
		}
		res := books.Apply(&ev)
		switch ev.Kind {
		case tick.KindExecute, tick.KindExecutePrice, tick.KindExecuteNoPrint, tick.KindTrade:
		default:
			continue
		}
		if res.Flags&(book.FlagTrade|book.FlagPrintable) != book.FlagTrade|book.FlagPrintable {
			// An E or C on an order this (sampled) file never added: the
			// book cannot tell whose it was, so it is in unknown_refs only.
			// Or a C marked non-printable: it happened, but counting it in
			// volume would count it twice (ITCH 5.0), as the engine knows.
			continue
		}
		price, qty, id := res.Price, res.Qty, res.Symbol
		s := sym(id)
		s.ExecShares += qty
		var n big.Int
		n.SetInt64(int64(price))
		s.notional.Add(&s.notional, n.Mul(&n, big.NewInt(qty)))
	}
	if progress != nil {
		showProgress(progress, size, size, rep.Messages)
		fmt.Fprintln(progress)
	}
	for t, n := range byType {
		if n > 0 {
			rep.ByType[typeKey(byte(t))] = n
		}
	}
	rep.Rejected = rejectedByReason(dec.Counters())
	for _, r := range []book.Reason{book.ReasonUnknownExecute, book.ReasonUnknownCancel, book.ReasonUnknownDelete, book.ReasonUnknownReplace} {
		rep.UnknownRefs += books.Count(r)
	}
	rep.BookRejected = bookRejections(books)
	rep.Overfills = books.Count(book.ReasonOverfill)
	var levels []book.Level
	for id := 0; id < syms.Len(); id++ {
		s := sym(tick.SymbolID(id))
		if bk := books.Book(tick.SymbolID(id)); bk != nil {
			levels = s.restingIn(bk, levels)
		}
		s.setVWAP()
		rep.Symbols[syms.Name(tick.SymbolID(id))] = s
	}
	return rep, nil
}

// truncation reports whether err is a file ending inside a message or
// inside its gzip stream, or with bytes after its gzip stream that are
// not gzip (a newline appended): what precedes it can be summarised.
func truncation(err error) bool {
	return errors.Is(err, itch.ReasonTruncated) || errors.Is(err, itch.ErrGzipTruncated) ||
		errors.Is(err, gzipfile.ErrTrailingGarbage)
}

// restingIn fills in what rests in bk at the end: the touch, orders and
// shares per side, crossed or locked. levels is scratch, returned for reuse.
func (s *inspectSymbol) restingIn(bk *book.Book, levels []book.Level) []book.Level {
	if l, ok := bk.BestBid(); ok {
		s.BestBid = []any{l.Price.String(), l.Shares}
	}
	if l, ok := bk.BestAsk(); ok {
		s.BestAsk = []any{l.Price.String(), l.Shares}
	}
	switch {
	case bk.Crossed():
		s.State = "crossed"
	case bk.Locked():
		s.State = "locked"
	}
	for _, side := range []tick.Side{tick.SideBuy, tick.SideSell} {
		levels = slices.Grow(levels[:0], bk.Levels(side))[:bk.Levels(side)]
		levels = levels[:bk.Depth(side, levels)]
		for _, l := range levels {
			if side == tick.SideBuy {
				s.BidOrders += int64(l.Orders)
				s.BidShares += l.Shares
			} else {
				s.AskOrders += int64(l.Orders)
				s.AskShares += l.Shares
			}
		}
	}
	return levels
}

// setVWAP sets the executions' VWAP from their notional, in 1e-9 units
// rounded half up ("" when none).
func (s *inspectSymbol) setVWAP() {
	if s.ExecShares <= 0 {
		return
	}
	var q, r big.Int
	q.QuoRem(&s.notional, big.NewInt(s.ExecShares), &r)
	if 2*r.Int64() >= s.ExecShares {
		q.Add(&q, big.NewInt(1))
	}
	s.VWAP = tick.Price(q.Int64()).String()
}

// rejectedByReason returns the decoder's rejections by reason name,
// reasons with none left out.
func rejectedByReason(c itch.Counters) map[string]uint64 {
	m := map[string]uint64{}
	for r, n := range c.ByReason {
		if n > 0 {
			m[itch.Reason(r).String()] = n
		}
	}
	return m
}

// bookRejections returns, by reason name, the orders the books refused to
// enter (a reference already live; no side, shares or price; a bad
// symbol), reasons with none left out. Unknown references are unknown_refs.
func bookRejections(books *book.Books) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range []book.Reason{book.ReasonDuplicateRef, book.ReasonBadOrder, book.ReasonBadSymbol} {
		if n := books.Count(r); n > 0 {
			m[r.String()] = n
		}
	}
	return m
}

func printInspect(w io.Writer, rep *inspectReport) {
	switch {
	case rep.garbage:
		fmt.Fprintf(w, "bytes after the gzip stream (%s): the summary is of the messages before them\n", rep.Truncated)
	case rep.Truncated != "":
		fmt.Fprintf(w, "file truncated (%s): the summary is of the messages before it\n", rep.Truncated)
	}
	fmt.Fprintf(w, "messages %d, unknown order references %d\n\nby type:", rep.Messages, rep.UnknownRefs)
	printCounts(w, rep.ByType)
	if len(rep.Rejected) > 0 {
		fmt.Fprint(w, "\nrejected by the decoder (skipped):")
		printCounts(w, rep.Rejected)
	}
	if len(rep.BookRejected) > 0 {
		fmt.Fprint(w, "\nrejected by the books (not applied):")
		printCounts(w, rep.BookRejected)
	}
	if rep.Overfills > 0 {
		fmt.Fprintf(w, "\noverfills %d (executions or cancels of more shares than rested: the order removed)", rep.Overfills)
	}
	fmt.Fprintf(w, "\n\n%-8s %22s %22s %9s %9s %12s %14s\n", "SYMBOL", "BEST BID", "BEST ASK", "BIDS", "ASKS", "EXEC SHARES", "EXEC VWAP")
	lvl := func(l []any) string {
		if l == nil {
			return "-"
		}
		return fmt.Sprintf("%v x %v", l[0], l[1]) // price x shares, as in -json, sub and the examples
	}
	var odd []string
	for _, n := range slices.Sorted(maps.Keys(rep.Symbols)) {
		s := rep.Symbols[n]
		fmt.Fprintf(w, "%-8s %22s %22s %9d %9d %12d %14s\n", n, lvl(s.BestBid), lvl(s.BestAsk), s.BidOrders, s.AskOrders, s.ExecShares, s.VWAP)
		if s.State != "" {
			odd = append(odd, n+" "+s.State)
		}
	}
	if len(odd) > 0 {
		// A file that starts mid-day (or a sample of one) never saw the adds
		// of orders that left the book, and the books it leaves can cross.
		fmt.Fprintf(w, "\nbooks crossed or locked at the end: %s (bid >= ask; usual for a file that starts mid-day)\n", strings.Join(odd, ", "))
	}
}

// printCounts prints " key=n" for each of counts, in key order.
func printCounts(w io.Writer, counts map[string]uint64) {
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(w, " %s=%d", k, counts[k])
	}
}
