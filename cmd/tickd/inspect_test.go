package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickd/tickd/feed/itch"
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
	want := `{"by_type":{"A":3,"C":2,"D":1,"E":2,"P":1,"R":1},"messages":10,"symbols":{"AAPL":{"ask_orders":1,"ask_shares":100,` +
		`"best_ask":["100.3",100],"best_bid":["100.25",200],"bid_orders":2,"bid_shares":320,"exec_shares":200,"vwap":"100.2775"}},"unknown_refs":2}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("inspect -json:\n got %s\nwant %s", b, want)
	}

	// The table flags a book left crossed or locked, and only then.
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || strings.Contains(out.String(), "crossed or locked") {
		t.Errorf("100.25 bid under 100.30 ask: %v\n%s", err, out.String())
	}
	lock := itch.AppendAddOrder(nil, itch.AddOrder{Header: hdr(1), OrderRef: 4, Side: 'S', Shares: 100, Stock: aapl, Price: px("100.25")})
	os.WriteFile(path, itch.AppendFramed(file, lock), 0o600)
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.Contains(out.String(), "crossed or locked at the end: AAPL locked") {
		t.Errorf("an ask at the 100.25 bid: %v\n%s", err, out.String())
	}
}

// TestInspectSampleFile runs inspect over the real NASDAQ BX sample.
func TestInspectSampleFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "bx-itch50-sample.itch")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sample feed data not present (%v): this test needs ../shared/data from the project workspace", err)
	}
	var out, errb bytes.Buffer
	if err := runInspect(context.Background(), []string{"-json", path}, &out, &errb); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	var rep inspectReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
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
	for name, s := range rep.Symbols {
		if s.BidOrders <= 0 || s.AskOrders <= 0 || s.BidShares < s.BidOrders || s.ExecShares <= 0 || s.VWAP == "" {
			t.Errorf("%s: implausible summary %+v", name, s)
		}
		v, err := tick.ParsePrice(s.VWAP)
		if err != nil || v <= 0 {
			t.Errorf("%s: vwap %q", name, s.VWAP)
		}
	}
	out.Reset()
	if err := runInspect(context.Background(), []string{path}, &out, &errb); err != nil || !strings.Contains(out.String(), "messages 12012") ||
		!strings.Contains(out.String(), "ALC crossed, BOB crossed, CHAR crossed") {
		t.Errorf("table output: %v\n%s", err, out.String())
	}
}
