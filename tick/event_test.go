package tick

import (
	"testing"
	"unsafe"
)

func TestEventLayout(t *testing.T) {
	var e Event
	if unsafe.Sizeof(e) != 64 {
		t.Fatalf("Event is %d bytes", unsafe.Sizeof(e))
	}
	// The offsets documented on Event.
	offs := map[string]uintptr{
		"Seq": unsafe.Offsetof(e.Seq), "TsEvent": unsafe.Offsetof(e.TsEvent), "TsRecv": unsafe.Offsetof(e.TsRecv),
		"Price": unsafe.Offsetof(e.Price), "Qty": unsafe.Offsetof(e.Qty), "OrderRef": unsafe.Offsetof(e.OrderRef),
		"NewRef": unsafe.Offsetof(e.NewRef), "Symbol": unsafe.Offsetof(e.Symbol), "Kind": unsafe.Offsetof(e.Kind),
		"Side": unsafe.Offsetof(e.Side), "Source": unsafe.Offsetof(e.Source),
	}
	want := map[string]uintptr{"Seq": 0, "TsEvent": 8, "TsRecv": 16, "Price": 24, "Qty": 32, "OrderRef": 40,
		"NewRef": 48, "Symbol": 56, "Kind": 60, "Side": 61, "Source": 62}
	for k, w := range want {
		if offs[k] != w {
			t.Errorf("offset of %s = %d, want %d", k, offs[k], w)
		}
	}
}

func TestKindSideString(t *testing.T) {
	if KindTrade.String() != "trade" || KindEndOfStream.String() != "end" || KindTradingState.String() != "trading_state" || Kind(200).String() != "kind(200)" {
		t.Error("Kind.String")
	}
	if SideBuy.String() != "buy" || SideSell.String() != "sell" || SideNone.String() != "" {
		t.Error("Side.String")
	}
}
