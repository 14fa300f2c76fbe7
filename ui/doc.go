// Package ui is tickd's live dashboard: a web page, embedded in the binary,
// that charts a symbol's price with its moving averages, signal markers and
// OHLCV bars, lists the latest signals across symbols, and shows throughput
// and latency percentiles.
//
// It sits off the hot path, as one more NATS subscriber of what tickd
// publishes: a Hub subscribes to <prefix>.signal.>, .bar.>, .stats.> and
// .bbo.>, decodes with package bus, and keeps a bounded history in memory
// (a ring of recent points, bars and signals per symbol, for at most
// Options.MaxSymbols symbols). The engine is not touched. BBOs, which come
// with every book change, are decoded at most ten a second per symbol and
// otherwise only counted, so the dashboard's decoding stays small beside
// the pipeline whatever the feed's rate.
//
// A Server serves the page (ui/static, no external assets, so it works
// offline) and streams updates to each browser as server-sent events:
//
//	GET /                     the page
//	GET /static/...           its script and style
//	GET /events?symbol=S&interval=1s
//	                          text/event-stream of "update" events
//	GET /api/update?symbol=S  one update, as JSON (what the first event holds)
//
// Each stream gets at most one event per Options.Interval (100ms by default),
// and only when something changed: everything the Hub received in between is
// coalesced into that event. For a few seconds after the Hub last received
// anything it also gets one a second, so that the throughput shown falls to
// 0 when the feed stops; then nothing until the next message. An event carries what the client has not seen
// yet (new points, bars, markers and signals, counted per ring), so a
// steady stream costs bytes in proportion to what changed, not to the
// history kept. Its JSON:
//
//	{"sym":"AAA","interval":"1s","intervals":["1s","1m"],"reset":true,
//	 "points":[[t_ms,last,sma,ema,vwap],...],
//	 "bars":[[start_ms,open,high,low,close,volume,vwap,count],...],
//	 "marks":[[t_ms,price,dir,"rule"],...],
//	 "quote":{"last":"101.25",...},
//	 "watch":[["AAA","101.25",chg_pct],...],
//	 "signals":[[t_ms,"AAA","rule","up","101.25","values",latency_us],...],
//	 "rates":{...},"latency":{...},"hop":{...}}
//
// Times are milliseconds since the Unix epoch (event time for market data),
// prices in "quote", "watch" and "signals" are the exact decimal text tickd
// published, and chart numbers are float64 (null where a statistic is NaN).
// "reset" tells the page to drop what it holds for the symbol first;
// "watch" (every symbol's last price and change since the Hub first saw it)
// comes in the first event and whenever a price in it has changed.
//
// Latency: "latency" is tick-to-publish, ts_pub − ts_recv of the signals and
// BBOs received (ts_recv being the receive time of the tick that made them;
// a bar's ts_recv is its last tick's, so bars would overstate it and are left
// out), and "hop" is publish-to-dashboard, the wall time a message arrives
// here minus its ts_pub: the NATS hop. Both are percentiles over the last
// LatencySamples messages.
package ui
