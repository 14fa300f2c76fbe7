package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/kafka"
)

// kafkaSource parses -feed-kafka (nil when unset). A URL without format=
// takes -feed-format's, when that is native, csv or json. With -shard i/N
// the group gains the shard (tickd-shard0of2): every shard must read every
// partition, since each keeps only its own symbols of what it reads, and
// shards sharing a group would split the partitions and drop the rest.
func (c *serveConfig) kafkaSource() (*kafka.Config, error) {
	if c.feedKafka == "" {
		return nil, nil
	}
	def := feed.FormatNative
	if f, err := feed.ParseFormat(c.feedFormat); err == nil {
		def = f
	}
	kc, err := kafka.ParseURL(c.feedKafka, def)
	if err != nil {
		return nil, fmt.Errorf("feed-kafka: %w", err)
	}
	if c.shard.Count > 1 {
		kc.Group = fmt.Sprintf("%s-shard%dof%d", kc.Group, c.shard.Index, c.shard.Count)
	}
	return &kc, nil
}

// startKafka runs the Kafka source, if configured, as a feed stage: one
// engine input per assigned partition, offsets committed behind
// p.publishedBarrier. (record has no engine, and no -feed-kafka.)
func (p *pipeline) startKafka(ctx context.Context, kc *kafka.Config, fopts feed.Options) {
	if kc == nil || p.eng == nil {
		return
	}
	open := func(source string) (kafka.Sink, error) { return p.eng.NewInput(source) }
	src, err := kafka.New(*kc, open, p.publishedBarrier, fopts)
	if err != nil {
		p.goRun("feed kafka", func() error { return err })
		return
	}
	p.kafka = src
	p.log.Info().Str("feed", kc.String()).Msg("Kafka source")
	p.goFeed("feed "+kc.String(), func() error {
		err := src.Run(ctx)
		p.log.Info().Str("feed", kc.String()).Uint64("records", src.Records()).Uint64("bad_records", src.BadRecords()).
			Uint64("partition_commits", src.Commits()).Msg("Kafka source stopped")
		return err
	})
}

// publishedBarrier is the Kafka source's kafka.Barrier: it returns once the
// publisher has taken every output record the engine had committed when it
// was called (a record is released after nc.Publish, its failure already
// counted), a NATS flush round trip says the server has them, and none was
// lost or refused. Offsets of the ticks behind those outputs may then be committed.
// Its cost is on the committer's side: the engine and the publisher only
// keep their ring cursors, as they always do.
func (p *pipeline) publishedBarrier(ctx context.Context) error {
	outs := p.eng.Outputs()
	target := make([]int64, len(outs))
	for i, r := range outs {
		target[i] = r.Published()
	}
	for i, r := range outs {
		if err := waitFor(ctx, func() (bool, error) { return r.Released() >= target[i], nil }); err != nil {
			return err
		}
	}
	// Not connected, a flush cannot succeed; it would wait out its
	// timeout and leave its PING in nats.go's reconnect buffer, which the
	// publisher's final flush would take for publishes never sent.
	if !p.nc.IsConnected() {
		return errors.New("nats: not connected: what was published is not confirmed")
	}
	// Flush first: a publish the server refused is known once its answer
	// is read, which the round trip guarantees (Publisher.Refusal).
	if err := p.nc.FlushTimeout(bus.DefaultFlushTimeout); err != nil {
		return fmt.Errorf("nats: flush: %w", err)
	}
	if err := p.pub.Refusal(); err != nil {
		return fmt.Errorf("bus: a publish was refused, its signal lost: %w", err)
	}
	if c := p.pub.Counters(); c.Errors+c.Dropped > 0 {
		return fmt.Errorf("bus: publishes lost (%s)", c.Losses())
	}
	return p.jetStreamBarrier(ctx)
}

// jetStreamBarrier waits, with -jetstream on, until the stream has
// acknowledged every signal and bar handed to it so far: acknowledgements
// come in send order, and each message sent ends stored or lost.
func (p *pipeline) jetStreamBarrier(ctx context.Context) error {
	target := p.pub.Counters().JetStream.Sent
	return waitFor(ctx, func() (bool, error) {
		c := p.pub.Counters().JetStream
		if c.Lost > 0 {
			return false, fmt.Errorf("bus: %d JetStream publishes not stored", c.Lost)
		}
		return c.Stored >= target, nil
	})
}

// waitFor polls cond every millisecond until it holds or fails, or ctx is
// done: the barrier runs on the committer's goroutine, so it may sleep.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	for {
		if ok, err := cond(); ok || err != nil {
			return err
		}
		if !feed.SleepContext(ctx, time.Millisecond) {
			return ctx.Err()
		}
	}
}

// kafkaNotReady is the Kafka source's /readyz check: "" once it is a
// member of its consumer group.
func (p *pipeline) kafkaNotReady(kc *kafka.Config) func() string {
	return func() string {
		if p.kafka == nil || p.kafka.InGroup() {
			return "" // not started: a failed stage, reported as such
		}
		return fmt.Sprintf("feed kafka:%s: not a member of consumer group %s (brokers %s)", kc.Topic, kc.Group, strings.Join(kc.Brokers, ","))
	}
}
