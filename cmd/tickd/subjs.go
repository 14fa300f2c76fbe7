package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickd/tickd/bus"
)

// subSource is how `tickd sub` reads: live from core NATS, alone or in a
// queue group (-queue: replicas share the messages, each goes to one), or
// replayed from the JetStream stream (-js-since, -js-seq).
type subSource struct {
	queue  string
	stream string
	since  string
	seq    uint64

	sinceTime time.Time // since, parsed by check
}

func (s *subSource) register(fs *flag.FlagSet) {
	fs.StringVar(&s.queue, "queue", "", "join this queue group: subscribers of one group share the messages")
	fs.StringVar(&s.stream, "js-stream", "", "JetStream stream -js-since and -js-seq read (default "+bus.DefaultStream+")")
	fs.StringVar(&s.since, "js-since", "", "replay the stream from this time (RFC 3339, e.g. 2026-11-24T01:00:00Z), then follow it")
	fs.Uint64Var(&s.seq, "js-seq", 0, "replay the stream from this sequence, then follow it")
}

// check refuses the flag combinations sub cannot read with, and names NATS
// refuses, before it connects: a mistake is then named as such, not behind
// a connection error.
func (s *subSource) check() error {
	live := s.since == "" && s.seq == 0
	switch {
	case strings.ContainsAny(s.queue, " \t\r\n"):
		return fmt.Errorf("-queue %q: a queue group's name has no whitespace", s.queue)
	case strings.ContainsAny(s.stream, " \t\r\n.*>/\\"):
		return fmt.Errorf("-js-stream %q: a stream's name has no whitespace, '.', '*', '>', '/' or '\\'", s.stream)
	case live && s.stream != "":
		return errors.New("-js-stream needs -js-since or -js-seq: without them sub reads live messages")
	case !live && s.queue != "":
		return errors.New("-queue reads live messages; a replay (-js-since, -js-seq) reads the stream alone")
	case s.since != "" && s.seq != 0:
		return errors.New("-js-since and -js-seq: give one, the replay starts at a time or at a sequence")
	}
	if s.since != "" {
		t, err := time.Parse(time.RFC3339Nano, s.since)
		if err != nil {
			return fmt.Errorf("js-since %q: want RFC 3339, e.g. 2026-11-24T01:00:00Z", s.since)
		}
		s.sinceTime = t
	}
	return nil
}

// subscribe calls handler with every message of subject from the source
// until the returned stop is called. The source has passed check.
func (s *subSource) subscribe(ctx context.Context, nc *nats.Conn, subject string, handler func(bus.Message)) (stop func(), err error) {
	if s.since == "" && s.seq == 0 {
		if s.queue == "" {
			sub, err := bus.Subscribe(nc, subject, handler)
			if err != nil {
				return nil, err
			}
			return func() { _ = sub.Unsubscribe() }, nil
		}
		sub, err := nc.QueueSubscribe(subject, s.queue, func(m *nats.Msg) { handler(decoded(m.Subject, m.Header, m.Data)) })
		if err != nil {
			return nil, fmt.Errorf("queue subscribe %q: %w", subject, err)
		}
		return func() { _ = sub.Unsubscribe() }, nil
	}
	o := bus.ReplayOptions{Stream: s.stream, Subject: subject, Seq: s.seq, Since: s.sinceTime}
	cc, err := bus.Replay(ctx, nc, o, func(m jetstream.Msg) { handler(decoded(m.Subject(), m.Headers(), m.Data())) })
	if err != nil {
		return nil, err
	}
	return cc.Stop, nil
}

// decoded decodes a message, turning a failure into its *bus.DecodeError.
func decoded(subject string, h nats.Header, data []byte) bus.Message {
	m, err := bus.Decode(&nats.Msg{Subject: subject, Header: h, Data: data})
	if err != nil {
		return err.(*bus.DecodeError)
	}
	return m
}
