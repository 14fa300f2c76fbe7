// Package tick holds the value types every stage of tickd shares: the Event that
// rides the feed rings (one 64-byte cache line), the fixed-point Price, symbol IDs
// and the symbol table that interns names at the edge, and the Out records
// (signals, bars, stats) the engine hands to the publisher.
//
// tick imports the standard library only, so every package may depend on it.
// Conversions to and from shopspring/decimal live in tick/tickdec, at the edges.
package tick
