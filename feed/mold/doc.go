// Package mold speaks MoldUDP64, the UDP (usually multicast) framing NASDAQ
// uses to carry ITCH: a packet parser and encoders, a Receiver that tracks the
// session and sequence, arbitrates two lines (A/B, first arrival wins), holds
// messages back in order across a gap while it asks a rewind server for the
// missing ones, and a Sender and RewindServer for a simulated exchange.
//
// Messages are opaque here: decoding ITCH is another package's job.
//
// Wire format (all integers big-endian):
//
//	 0          10                18      20
//	+-----------+-----------------+-------+------------------------------+
//	| session   | sequence number | count | message blocks ...           |
//	| (10 alpha)| (8)             | (2)   | length (2) | message | ...   |
//	+-----------+-----------------+-------+------------------------------+
//
// The sequence is that of the first message in the packet; the others follow
// one by one. Count 0 is a heartbeat whose sequence is the next one to come;
// count 0xFFFF marks the end of the session (sequence: one past the last).
// A retransmission request, sent by unicast to a rewind server, is a bare
// header: session, first missing sequence, count wanted. The server answers
// with ordinary packets, so requests cap the count to fit one packet.
package mold
