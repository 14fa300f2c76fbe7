package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ReplayOptions say what Replay reads from a stream and where it starts.
type ReplayOptions struct {
	Stream  string    // default DefaultStream
	Subject string    // filter, such as "tickd.signal.AAPL.>"; "" for the whole stream
	Since   time.Time // start at the first message stored at or after Since
	Seq     uint64    // or at this stream sequence (Since and Seq are exclusive)
}

// Replay reads the stream through an ordered consumer (ephemeral, in
// stream order, recreated by nats.go after a gap or a reconnect) and calls
// handler for each message, from the start ReplayOptions names (default:
// the first message stored), then for every message stored after it, until
// Stop is called on the result. handler runs on one goroutine, and
// DecodeBytes(m.Subject(), m.Data()) turns each message into the typed
// record Subscribe would hand over. A Subject the stream captures nothing
// of is an error. Stop (or Drain) deletes the consumer.
func Replay(ctx context.Context, nc *nats.Conn, o ReplayOptions, handler func(jetstream.Msg)) (jetstream.ConsumeContext, error) {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case !o.Since.IsZero() && o.Seq != 0:
		return nil, errors.New("bus: replay from a time or a sequence, not both")
	case !o.Since.IsZero():
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &o.Since
	case o.Seq != 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, o.Seq
	}
	if o.Subject != "" {
		cfg.FilterSubjects = []string{o.Subject}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := checkCaptures(ctx, js, o.Stream, o.Subject); err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, o.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: replay stream %s: %w", o.Stream, err)
	}
	cc, err := cons.Consume(handler)
	if err != nil {
		return nil, fmt.Errorf("bus: replay stream %s: %w", o.Stream, err)
	}
	return &replayConsume{ConsumeContext: cc, js: js, stream: o.Stream, cons: cons}, nil
}

// replayConsume deletes the replay's consumer when it stops: the server
// would otherwise keep it (three goroutines and its state, in tickd's
// process when the server is embedded) for the ordered consumer's
// inactivity threshold, 5 minutes, after every subscriber that came and went.
type replayConsume struct {
	jetstream.ConsumeContext
	js     jetstream.JetStream
	stream string
	cons   jetstream.Consumer
}

// deleteTimeout bounds the consumer's deletion: a server that does not
// answer lets its inactivity threshold remove it.
const deleteTimeout = 2 * time.Second

func (r *replayConsume) Stop() {
	r.ConsumeContext.Stop()
	r.delete()
}

func (r *replayConsume) Drain() {
	r.ConsumeContext.Drain()
	r.delete()
}

func (r *replayConsume) delete() {
	info := r.cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	_ = r.js.DeleteConsumer(ctx, r.stream, info.Name) // best effort: it expires anyway
}

// checkCaptures returns an error when stream exists and captures nothing
// subject matches: the server would accept the consumer, and the replay
// would wait silently for messages that are never stored.
func checkCaptures(ctx context.Context, js jetstream.JetStream, stream, subject string) error {
	if subject == "" {
		return nil
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("bus: replay stream %s: %w", stream, err)
	}
	have := st.CachedInfo().Config.Subjects
	if !slices.ContainsFunc(have, func(s string) bool { return server.SubjectsCollide(s, subject) }) {
		return fmt.Errorf("bus: replay: stream %s captures %v, nothing of %s", stream, have, subject)
	}
	return nil
}
