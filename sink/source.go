package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickd/tickd/bus"
)

// Subjects are the subject patterns a sink consumes under prefix
// (bus.DefaultPrefix when empty): signals and bars.
func Subjects(prefix string) []string {
	sj := bus.Subjects{Prefix: prefix}
	return []string{sj.AllSignals(), sj.AllBars()}
}

// SubscribeCore subscribes nc to Subjects(prefix) on NATS core and offers
// every message to s. Core NATS keeps nothing: what is published while the
// sink is away, or overflows its buffer, is lost (and counted as Overflow
// when it overflows). Call the returned function to unsubscribe.
func SubscribeCore(nc *nats.Conn, prefix string, s *Sink) (unsubscribe func(), err error) {
	var subs []*nats.Subscription
	unsubscribe = func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}
	for _, subj := range Subjects(prefix) {
		sub, err := bus.Subscribe(nc, subj, func(m bus.Message) { s.Offer(m) })
		if err != nil {
			unsubscribe()
			return nil, fmt.Errorf("sink: %w", err)
		}
		// The handler never blocks, so nats.go's own pending queue only
		// absorbs bursts; the Sink's buffer is the bound that counts.
		if err := sub.SetPendingLimits(-1, 256<<20); err != nil {
			unsubscribe()
			return nil, fmt.Errorf("sink: %w", err)
		}
		subs = append(subs, sub)
	}
	if err := nc.Flush(); err != nil { // the server has the subscriptions
		unsubscribe()
		return nil, fmt.Errorf("sink: subscribe: %w", err)
	}
	return unsubscribe, nil
}

// DurableOptions configures ConsumeDurable.
type DurableOptions struct {
	// Name of the durable consumer; the server remembers what it acked.
	Name string
	// Stream holding the subjects; empty: the stream that captures
	// <prefix>.signal.>.
	Stream string
	// Prefix of the subjects; default bus.DefaultPrefix.
	Prefix string
	// AckWait is how long the server waits for an ack before redelivering;
	// default 1 minute. A redelivered row is a duplicate the store skips.
	AckWait time.Duration
}

// ConsumeDurable consumes Subjects(opts.Prefix) through the JetStream
// durable consumer opts.Name (created if missing) and puts every message
// into s, acking it only once the store has committed it. It waits while
// s's buffer is full, so nothing overflows, and a restart resumes after
// the last acked message. It returns when ctx ends (nil) or on an error.
func ConsumeDurable(ctx context.Context, nc *nats.Conn, opts DurableOptions, s *Sink) error {
	if opts.Name == "" {
		return errors.New("sink: durable consumer needs a name")
	}
	if opts.AckWait == 0 {
		opts.AckWait = time.Minute
	}
	subjects := Subjects(opts.Prefix)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("sink: jetstream: %w", err)
	}
	stream := opts.Stream
	if stream == "" {
		if stream, err = js.StreamNameBySubject(ctx, subjects[0]); err != nil {
			return fmt.Errorf("sink: no JetStream stream captures %s (create one, or name it): %w", subjects[0], err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:        opts.Name,
		FilterSubjects: subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        opts.AckWait,
		// What may be unacked: the buffer, plus the batch being written.
		MaxAckPending: s.opts.MaxBuffer + s.opts.BatchSize,
	})
	if err != nil {
		return fmt.Errorf("sink: durable consumer %q on stream %q: %w", opts.Name, stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(s.opts.BatchSize))
	if err != nil {
		return fmt.Errorf("sink: durable consumer %q: %w", opts.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		jm, err := it.Next()
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil // stopped by ctx
			}
			return fmt.Errorf("sink: durable consumer %q: %w", opts.Name, err)
		}
		m, err := bus.Decode(&nats.Msg{Subject: jm.Subject(), Data: jm.Data(), Header: jm.Headers()})
		if err != nil {
			s.invalid.Add(1)
			_ = jm.Term() // redelivering will not make it valid
			continue
		}
		if err := s.Put(ctx, m, func() { _ = jm.Ack() }); err != nil {
			_ = jm.Nak() // ctx ended before it was buffered: redeliver it now, not after AckWait
			return nil
		}
	}
}
