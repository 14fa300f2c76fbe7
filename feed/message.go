package feed

import "errors"

// ErrRestOfMessageSkipped marks a message source's report of lost framing
// (a native length above MaxFrame in a NATS message, a Kafka record): only
// the rest of that message is dropped, and the source goes on with the
// next message, where a stream's framing error ends the stream.
var ErrRestOfMessageSkipped = errors.New("the rest of the message skipped")

// claimFor is how many slots to claim for n bytes of input: about one per
// short text line or native trade frame, at least one, at most maxClaim.
func (d *Decoder) claimFor(n int) int {
	per := 32 // a short text line
	if d.format == FormatNative {
		per = TradeFrameSize
	}
	return min(n/per+1, maxClaim)
}

// DecodeMessage decodes msg, a whole stream of its own (a Kafka record's
// value, a NATS message's data), straight into slots claimed from sink: the
// decoder starts over (Reset: native sequence from 1, local symbols
// forgotten) and stamps every event with recv. An unterminated last line is
// decoded, a cut-off native frame counted as truncated, and a framing error
// (reported) drops the rest of msg. It reports false if the sink is
// shutting down.
func (d *Decoder) DecodeMessage(sink Sink, msg []byte, recv int64) bool {
	d.Reset()
	d.SetRecvTime(recv)
	for src := msg; len(src) > 0; {
		slots := sink.Claim(d.claimFor(len(src)))
		if slots == nil {
			return false
		}
		n, c, err := d.Decode(slots, src)
		src = src[c:]
		if err == nil && n < len(slots) {
			// No whole frame or line is left: the end of the message.
			n += d.Flush(slots[n:], src)
			src = nil
		}
		sink.Commit(n)
		if err != nil {
			break
		}
	}
	return true
}
