// Package examples holds tickd's example clients, each a program of its own,
// and the tests that run them against a live publisher:
//
//	go-subscriber/   Go, through package bus (part of this module)
//	nats-publisher/  Go: publishes CSV or JSON tick lines to a subject, the
//	                 input of `tickd serve -feed-nats`
//	js-subscriber/   Node.js, with the nats package from npm; its
//	                 validate.js checks messages against the JSON Schema
//	                 in schema/tickd-messages.schema.json
//
// The tests start an embedded NATS server on a random port, an engine and a
// bus.Publisher, feed the engine trades and orders that make a signal, a bar,
// a stats snapshot and BBOs, and assert on what each example prints and on
// every published message matching the schema. The Node.js parts need node
// and npm (scripts/deps/node.sh installs them).
package examples
