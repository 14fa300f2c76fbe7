package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/replay"
	"github.com/tickd/tickd/tick"
)

// TestInspectScripted builds a small ITCH file whose summary is known and
// checks every field of `tickd inspect -json`.
func TestInspectScripted(t *testing.T) {
	hdr := func(loc uint16) itch.Header { return itch.Header{Locate: loc, Timestamp: 34200e9} }
	aapl := itch.MakeStock("AAPL")
	var msgs [][]byte
	add := func(b []byte) { msgs = append(msgs, b) }
	add(itch.AppendStockDirectory(nil, itch.StockDirectory{Header: hdr(1), Stock: aapl, RoundLotSize: 100}))
	add(itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr(1), OrderRef: 1, Side: 'B', Shares: 300, Stock: aapl, Price: px("100.25")}))
	add(itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr(1), OrderRef: 2, Side: 'B', Shares: 200, Stock: aapl, Price: px("100.20")}))
	add(itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr(1), OrderRef: 3, Side: 'S', Shares: 100, Stock: aapl, Price: px("100.30")}))
	add(itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: hdr(1), OrderRef: 1, Shares: 100, Match: 7})) // 100 @ 100.25
	add(itch.AppendOrderExecutedPrice(nil, itch.OrderExecutedPrice{OrderExecuted: itch.OrderExecuted{Header: hdr(1), OrderRef: 2, Shares: 50, Match: 8},
		Printable: 'Y', Price: px("100.21")})) // 50 @ 100.21
	add(itch.AppendOrderExecutedPrice(nil, itch.OrderExecutedPrice{OrderExecuted: itch.OrderExecuted{Header: hdr(1), OrderRef: 2, Shares: 30, Match: 11},
		Printable: 'N', Price: px("99.00")})) // leaves the book, but not in volume
	add(itch.AppendTrade(nil, itch.Trade{Header: hdr(1), Side: 'B', Shares: 50, Stock: aapl, Price: px("100.40"), Match: 9}))
	add(itch.AppendOrderDelete(nil, itch.OrderDelete{Header: hdr(1), OrderRef: 99}))                           // unknown
	add(itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: hdr(1), OrderRef: 98, Shares: 5, Match: 10})) // unknown, no price
	var file []byte
	for _, m := range msgs {
		file = itch.AppendFramed(file, m)
	}
	path := filepath.Join(t.TempDir(), "day.itch")
	os.WriteFile(path, file, 0o600)
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	var got map[string]any
	json.Unmarshal(out.Bytes(), &got)
	// VWAP = (100×100.25 + 50×100.21 + 50×100.40) / 200 = 20027.5 / 200 = 100.2775;
	// the non-printable C takes 30 shares off the book but is no volume.
	want := `{"book_rejected":{},"by_type":{"A":3,"C":2,"D":1,"E":2,"P":1,"R":1},"messages":10,"overfills":0,"rejected":{},"symbols":{"AAPL":{"ask_orders":1,"ask_shares":100,` +
		`"best_ask":["100.3",100],"best_bid":["100.25",200],"bid_orders":2,"bid_shares":320,"exec_shares":200,"vwap":"100.2775"}},"unknown_refs":2}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("inspect -json:\n got %s\nwant %s", b, want)
	}

	// The table flags a book left crossed or locked, and only then.
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || strings.Contains(out.String(), "crossed or locked") {
		t.Errorf("100.25 bid under 100.30 ask: %v\n%s", err, out.String())
	}
	// The table writes a level price first, as -json's [price, shares] and tickd sub do.
	if row := "AAPL               100.25 x 200            100.3 x 100"; !strings.Contains(out.String(), row) {
		t.Errorf("table: want the row %q in\n%s", row, out.String())
	}
	lock := itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr(1), OrderRef: 4, Side: 'S', Shares: 100, Stock: aapl, Price: px("100.25")})
	os.WriteFile(path, itch.AppendFramed(file, lock), 0o600)
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.Contains(out.String(), "crossed or locked at the end: AAPL locked") {
		t.Errorf("an ask at the 100.25 bid: %v\n%s", err, out.String())
	}
	// -json says so too; above, with neither, it has no "state".
	out.Reset()
	if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil || !strings.Contains(out.String(), `"state": "locked"`) {
		t.Errorf("-json of a locked book: %v\n%s", err, out.String())
	}
}

// TestInspectArguments: flags may follow the file, as in tickd replay, and a
// missing or second file is named rather than answered by the usage alone.
func TestInspectArguments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.itch")
	sd := itch.AppendStockDirectory(nil, itch.StockDirectory{Header: itch.Header{Locate: 1}, Stock: itch.MakeStock("AAPL"), RoundLotSize: 100})
	if err := os.WriteFile(path, itch.AppendFramed(nil, sd), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{path, "-json"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "{") {
		t.Errorf("inspect FILE -json: %v, printed %q, stderr %q", err, out.String(), errb.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "tickd inspect: give one FILE\n"},
		{[]string{"-json"}, "tickd inspect: give one FILE\n"},
		{[]string{path, "other.itch"}, `tickd inspect: give one FILE, not 2: ["` + path + `" "other.itch"]`},
	} {
		out.Reset()
		errb.Reset()
		err := runInspect(context.Background(), tc.args, &out, &errb)
		if !errors.Is(err, errUsage) || !strings.HasPrefix(errb.String(), tc.want) || out.Len() > 0 {
			t.Errorf("inspect %q: %v, stderr %q; want errUsage and stderr starting %q", tc.args, err, errb.String(), tc.want)
		}
	}
}

// TestInspectRejections: messages the decoder rejects are counted by reason
// in the table and in -json, and a type byte that is not printable ASCII
// is named by its hex value.
func TestInspectRejections(t *testing.T) {
	hdr := itch.Header{Locate: 1, Timestamp: 34200e9}
	aapl := itch.MakeStock("AAPL")
	var file []byte
	for _, m := range [][]byte{
		itch.AppendStockDirectory(nil, itch.StockDirectory{Header: hdr, Stock: aapl, RoundLotSize: 100}),
		itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr, OrderRef: 1, Side: 'B', Shares: 300, Stock: aapl, Price: px("100.25")}),
		itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr, OrderRef: 2, Side: 'X', Shares: 300, Stock: aapl, Price: px("100.25")}),
		itch.AppendOrderDelete(nil, itch.OrderDelete{Header: hdr, OrderRef: 1})[:12], // cut short
		{'z', 0, 1},  // a type ITCH 5.0 does not have: skipped by its length
		{0xdf, 0, 1}, // nor this one
	} {
		file = itch.AppendFramed(file, m)
	}
	path := filepath.Join(t.TempDir(), "odd.itch")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := inspectJSON(t, path)
	wantRejected := map[string]uint64{"bad_side": 1, "bad_length": 1, "unknown_type": 2}
	wantTypes := map[string]uint64{"R": 1, "A": 2, "D": 1, "z": 1, "0xdf": 1}
	if !maps.Equal(rep.Rejected, wantRejected) || !maps.Equal(rep.ByType, wantTypes) || rep.Messages != 6 {
		t.Errorf("-json: %d messages, rejected %v, by type %v; want 6, %v, %v", rep.Messages, rep.Rejected, rep.ByType, wantRejected, wantTypes)
	}
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"by type: 0xdf=1 A=2 D=1 R=1 z=1\n", "rejected by the decoder (skipped): bad_length=1 bad_side=1 unknown_type=2\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestInspectBookRejections: orders the books do not enter (an add or a
// replace naming a reference already live, an add of no shares or no
// price) and executions or cancels of more shares than rest are counted
// in -json and the table, not lost without a word.
func TestInspectBookRejections(t *testing.T) {
	hdr := itch.Header{Locate: 1, Timestamp: 34200e9}
	aapl := itch.MakeStock("AAPL")
	addOrder := func(ref uint64, shares uint32, price string) []byte {
		return itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr, OrderRef: ref, Side: 'B', Shares: shares, Stock: aapl, Price: px(price)})
	}
	var file []byte
	for _, m := range [][]byte{
		itch.AppendStockDirectory(nil, itch.StockDirectory{Header: hdr, Stock: aapl, RoundLotSize: 100}),
		addOrder(1, 100, "10"),
		addOrder(2, 100, "10"),
		addOrder(3, 100, "10"),
		addOrder(1, 500, "11"), // 1 is live: duplicate_ref
		addOrder(4, 0, "10"),   // no shares: bad_order
		addOrder(5, 100, "0"),  // no price: bad_order
		itch.AppendOrderReplace(nil, itch.OrderReplace{Header: hdr, OrigRef: 2, NewRef: 3, Shares: 100, Price: px("10")}), // 3 is live: 2 leaves, its new half is refused
		itch.AppendOrderExecuted(nil, itch.OrderExecuted{Header: hdr, OrderRef: 1, Shares: 150, Match: 1}),                // 50 more than rest
		itch.AppendOrderCancel(nil, itch.OrderCancel{Header: hdr, OrderRef: 3, Shares: 101}),                              // 1 more than rests
	} {
		file = itch.AppendFramed(file, m)
	}
	path := filepath.Join(t.TempDir(), "odd.itch")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := inspectJSON(t, path)
	wantRejected := map[string]uint64{"duplicate_ref": 2, "bad_order": 2}
	if !maps.Equal(rep.BookRejected, wantRejected) || rep.Overfills != 2 || rep.UnknownRefs != 0 || rep.Symbols["AAPL"].BidOrders != 0 ||
		rep.Symbols["AAPL"].ExecShares != 100 {
		t.Errorf("-json: book rejected %v, overfills %d, unknown refs %d, AAPL %+v; want %v, 2, 0, an empty book and 100 executed",
			rep.BookRejected, rep.Overfills, rep.UnknownRefs, rep.Symbols["AAPL"], wantRejected)
	}
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nrejected by the books (not applied): bad_order=2 duplicate_ref=2\n", "\noverfills 2 ("} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// aaplBuys is an ITCH file of AAPL's Stock Directory and n adds, each a
// buy of 100 at 10.
func aaplBuys(n uint64) []byte {
	hdr := itch.Header{Locate: 1, Timestamp: 34200e9}
	aapl := itch.MakeStock("AAPL")
	file := itch.AppendFramed(nil, itch.AppendStockDirectory(nil, itch.StockDirectory{Header: hdr, Stock: aapl, RoundLotSize: 100}))
	for ref := range n {
		file = itch.AppendFramed(file, itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr, OrderRef: ref + 1, Side: 'B', Shares: 100, Stock: aapl, Price: px("10")}))
	}
	return file
}

// gzipped is b gzip-compressed, one member.
func gzipped(b []byte) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	return gz.Bytes()
}

// TestInspectSummarisesATruncatedFile: a file cut short inside a message,
// plain or inside its gzip stream, is summarised up to the cut (as replay
// plays it up to there), with the cut's offset in -json, the table and on
// stderr, rather than failing with nothing to show for what it held.
func TestInspectSummarisesATruncatedFile(t *testing.T) {
	file := aaplBuys(2000)
	cut := len(file) - 20 // inside the last add, at offset len(file) − 38
	gz := gzipped(file)
	dir := t.TempDir()
	plain, zipped := filepath.Join(dir, "cut.itch"), filepath.Join(dir, "cut.itch.gz")
	os.WriteFile(plain, file[:cut], 0o600)
	os.WriteFile(zipped, gz[:len(gz)/2], 0o600)
	for path, want := range map[string]string{
		plain:  fmt.Sprintf("offset %d: itch: file ended inside a message", len(file)-38),
		zipped: "itch: gzip stream ends early: the compressed file is truncated",
	} {
		var out, errb bytes.Buffer
		if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
			t.Fatalf("inspect %s: %v", filepath.Base(path), err)
		}
		var rep inspectReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		s := rep.Symbols["AAPL"]
		if !strings.Contains(rep.Truncated, want) || s == nil || s.BidOrders != int64(rep.Messages)-1 || (path == plain && rep.Messages != 2000) {
			t.Errorf("-json %s: truncated %q, %d messages, AAPL %+v; want %q and every add before the cut resting", filepath.Base(path), rep.Truncated, rep.Messages, s, want)
		}
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q lacks %q", errb.String(), want)
		}
		out.Reset()
		if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "file truncated (") ||
			!strings.Contains(out.String(), want) {
			t.Errorf("table of %s: %v\n%s", filepath.Base(path), err, out.String())
		}
	}
}

// TestInspectSummarisesAFileWithTrailingGarbage: a whole gzip file with a
// newline appended is summarised whole, naming the bytes after its gzip
// stream as such, not as a file cut short, and exits 0.
func TestInspectSummarisesAFileWithTrailingGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.itch.gz")
	os.WriteFile(path, append(gzipped(aaplBuys(500)), '\n'), 0o600)
	const want = "(trailing garbage)"
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	var rep inspectReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if s := rep.Symbols["AAPL"]; rep.Messages != 501 || s == nil || s.BidOrders != 500 || !strings.Contains(rep.Truncated, want) {
		t.Errorf("-json: %d messages, AAPL %+v, truncated %q; want all 501 and %q", rep.Messages, s, rep.Truncated, want)
	}
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "bytes after the gzip stream (") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
}

// TestInspectRefusesOtherFiles: a tickd capture is named as one, with the
// command that plays it; a file that is not ITCH framing fails at the
// offset where the framing is lost, not with a summary of garbage.
func TestInspectRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	capPath := filepath.Join(dir, "session.cap")
	w, err := replay.Create(capPath, replay.WriterOptions{Format: "itch"})
	if err != nil {
		t.Fatal(err)
	}
	w.Open(1, "soupbin x")
	w.Data(1, t0, itch.AppendSystemEvent(nil, itch.SystemEvent{Header: itch.Header{Timestamp: 1}, EventCode: 'O'}))
	w.Close(1, t0)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	textPath := filepath.Join(dir, "notes.itch")
	if err := os.WriteFile(textPath, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	capData, err := os.ReadFile(capPath)
	if err != nil {
		t.Fatal(err)
	}
	gzPath := capPath + ".gz"
	if err := os.WriteFile(gzPath, gzipped(capData), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		capPath:  "session.cap is a tickd capture, not an ITCH file: play it with `tickd replay " + capPath + "`",
		gzPath:   "session.cap.gz is a gzip-compressed tickd capture, not an ITCH file: gunzip it, then play it with `tickd replay`",
		textPath: "offset 0: itch: length prefix 29295, above the longest message (255 bytes): framing lost, or not ITCH framing",
	} {
		var out, errb bytes.Buffer
		err := runInspect(context.Background(), []string{path}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), want) || out.Len() > 0 {
			t.Errorf("inspect %s: %v, printed %q; want an error containing %q", filepath.Base(path), err, out.String(), want)
		}
	}
}

// TestInspectSampleFile runs inspect over the real NASDAQ BX sample.
func TestInspectSampleFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "bx-itch50-sample.itch")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sample feed data not present (%v): this test needs ../shared/data from the project workspace", err)
	}
	rep := inspectJSON(t, path)
	var sum uint64
	for _, n := range rep.ByType {
		sum += n
	}
	if rep.Messages != 12012 || sum != rep.Messages || rep.ByType["A"] != 4997 || rep.ByType["P"] != 5000 {
		t.Errorf("messages %d, by type %v (sum %d)", rep.Messages, rep.ByType, sum)
	}
	if len(rep.Symbols) != 3 || rep.Symbols["ALC"] == nil || rep.Symbols["BOB"] == nil || rep.Symbols["CHAR"] == nil {
		t.Fatalf("symbols %v", rep.Symbols)
	}
	if rep.UnknownRefs == 0 {
		t.Error("a sampled day must name orders it never added, got 0 unknown refs")
	}
	// Each book and execution total as an independent reading of the file
	// (a few lines of Python over the raw messages, QA round 12) gives them.
	want := map[string]string{
		"ALC":  `{"best_bid":["27.06",100],"best_ask":["20.54",100],"bid_orders":294,"ask_orders":310,"bid_shares":8566,"ask_shares":7221,"exec_shares":95822,"vwap":"23.625261021","state":"crossed"}`,
		"BOB":  `{"best_bid":["6.9667",100],"best_ask":["5.3417",100],"bid_orders":778,"ask_orders":797,"bid_shares":134703,"ask_shares":219846,"exec_shares":579962,"vwap":"6.113470835","state":"crossed"}`,
		"CHAR": `{"best_bid":["25.65",30],"best_ask":["19.575",5],"bid_orders":480,"ask_orders":545,"bid_shares":9522,"ask_shares":10315,"exec_shares":58146,"vwap":"22.342005254","state":"crossed"}`,
	}
	for name, w := range want {
		if got, _ := json.Marshal(rep.Symbols[name]); string(got) != w {
			t.Errorf("%s:\n got %s\nwant %s", name, got, w)
		}
	}
	if rep.UnknownRefs != 117 {
		t.Errorf("unknown refs %d, want 117", rep.UnknownRefs)
	}
	for name, s := range rep.Symbols {
		if s.BidOrders <= 0 || s.AskOrders <= 0 || s.BidShares < s.BidOrders || s.ExecShares <= 0 || s.VWAP == "" {
			t.Errorf("%s: implausible summary %+v", name, s)
		}
		v, err := tick.ParsePrice(s.VWAP)
		if err != nil || v <= 0 {
			t.Errorf("%s: vwap %q", name, s.VWAP)
		}
	}
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.Contains(out.String(), "messages 12012") ||
		!strings.Contains(out.String(), "ALC crossed, BOB crossed, CHAR crossed") {
		t.Errorf("table output: %v\n%s", err, out.String())
	}
	for name, s := range rep.Symbols {
		if s.State != "crossed" {
			t.Errorf("-json: %s state %q, the table says crossed", name, s.State)
		}
	}
}

// inspectJSON runs `tickd inspect -json path` and decodes what it prints.
func inspectJSON(t *testing.T, path string) *inspectReport {
	t.Helper()
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	var rep inspectReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

// TestInspectReportsWriteErrors: the table written to a pipe without a
// reader (or a full disk) fails inspect, as -json does, rather than exit 0
// with nothing written.
func TestInspectReportsWriteErrors(t *testing.T) {
	hdr := itch.Header{Locate: 1, Timestamp: 34200e9}
	msg := itch.AppendStockDirectory(nil, itch.StockDirectory{Header: hdr, Stock: itch.MakeStock("AAPL"), RoundLotSize: 100})
	path := filepath.Join(t.TempDir(), "one.itch")
	if err := os.WriteFile(path, itch.AppendFramed(nil, msg), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := readerlessPipe(t)
	for _, args := range [][]string{{path}, {"-json", path}} {
		var errb bytes.Buffer
		if err := runInspect(context.Background(), args, pw, &errb); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("inspect %v to a pipe without reader: %v, want EPIPE", args, err)
		}
	}
}
