// Package soupbin speaks SoupBinTCP 3.0, the TCP session layer NASDAQ uses to
// carry ITCH: a packet parser and encoders, a client that logs in, hands each
// sequenced message to a callback and reconnects resuming at the next expected
// sequence, and a server (a simulated exchange) that serves a message Store.
//
// Messages are opaque here: decoding ITCH is another package's job.
//
// Wire format (all integers big-endian):
//
//	+--------+--------+------+-----------------+
//	| length (2)      | type | payload ...     |
//	+--------+--------+------+-----------------+
//	length counts the type byte and the payload (so it is >= 1).
//
//	server -> client             client -> server
//	'+' debug text               'L' login request:
//	'A' login accepted:              username 6, password 10,
//	    session 10, sequence 20      session 10, sequence 20
//	'J' login rejected: reason 1 'U' unsequenced data
//	    ('A' not authorised,     'R' client heartbeat
//	     'S' session unavailable)'O' logout request
//	'S' sequenced data (one message)
//	'U' unsequenced data
//	'H' server heartbeat
//	'Z' end of session
//
// Alpha and numeric fields in the login packets are ASCII, left-justified and
// right-padded with spaces; the parser trims spaces on both sides, so a peer
// that left-pads numbers is read correctly too. Sequenced messages carry no
// number on the wire: the first one after 'A' has the accepted sequence and
// each next one is one more.
//
// Either side sends a heartbeat after about a second without sending anything
// and drops the link after about 15 s without hearing anything.
package soupbin
