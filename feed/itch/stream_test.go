package itch

import (
	"math/rand/v2"
	"testing"
)

var genStocks = [...]string{"ALC", "BOB", "CHAR"}

// genStream returns n framed messages as a daily file would hold them: a
// Stock Directory per symbol, then a mix of order messages like a busy day's
// (adds, deletes, replaces, executions), with an occasional S, H and I.
func genStream(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out, msg []byte
	var ts uint64 = 34_200_000_000_000
	for i, s := range genStocks {
		msg = AppendStockDirectory(msg[:0], StockDirectory{Header: hd(uint16(i+1), ts), Stock: MakeStock(s),
			MarketCategory: 'Q', RoundLotSize: 100})
		out = AppendFramed(out, msg)
	}
	ref := uint64(1)
	for i := len(genStocks); i < n; i++ {
		ts += uint64(rng.IntN(5000))
		loc := uint16(rng.IntN(len(genStocks)) + 1)
		h := hd(loc, ts)
		px := px4(uint32(1_000_000 + rng.IntN(10_000)))
		side := byte('B')
		if rng.IntN(2) == 1 {
			side = 'S'
		}
		switch k := rng.IntN(100); {
		case k < 40:
			ref++
			msg = AppendAddOrder(msg[:0], AddOrder{h, ref, side, uint32(rng.IntN(1000) + 1), MakeStock(genStocks[loc-1]), px})
		case k < 55:
			msg = AppendOrderDelete(msg[:0], OrderDelete{h, ref - uint64(rng.IntN(10))})
		case k < 70:
			ref++
			msg = AppendOrderReplace(msg[:0], OrderReplace{h, ref - 1, ref, 100, px})
		case k < 80:
			msg = AppendOrderExecuted(msg[:0], OrderExecuted{h, ref, 10, uint64(i)})
		case k < 85:
			msg = AppendOrderExecutedPrice(msg[:0], OrderExecutedPrice{OrderExecuted{h, ref, 10, uint64(i)}, 'Y', px})
		case k < 93:
			msg = AppendOrderCancel(msg[:0], OrderCancel{h, ref, 5})
		case k < 96:
			msg = AppendTrade(msg[:0], Trade{h, 0, side, 10, MakeStock(genStocks[loc-1]), px, uint64(i)})
		case k < 97:
			msg = AppendStockTradingAction(msg[:0], StockTradingAction{Header: h, Stock: MakeStock(genStocks[loc-1]), TradingState: 'T', Reason: [4]byte{' ', ' ', ' ', ' '}})
		case k < 98:
			msg = AppendSystemEvent(msg[:0], SystemEvent{hd(0, ts), 'Q'})
		default:
			msg = AppendNOII(msg[:0], NOII{Header: h, Stock: MakeStock(genStocks[loc-1]), ImbalanceDirection: 'B', CrossType: 'O', PriceVariationIndicator: 'L'})
		}
		out = AppendFramed(out, msg)
	}
	return out
}

// splitFrames cuts a framed stream into its messages, the slow obvious way.
func splitFrames(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var msgs [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			t.Fatal("splitFrames: trailing byte")
		}
		n := int(data[0])<<8 | int(data[1])
		if n == 0 {
			break
		}
		if len(data) < 2+n {
			t.Fatal("splitFrames: truncated")
		}
		msgs = append(msgs, data[2:2+n])
		data = data[2+n:]
	}
	return msgs
}
