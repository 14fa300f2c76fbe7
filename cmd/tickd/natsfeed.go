package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/natsfeed"
)

// natsFeedSource parses -feed-nats (nil when unset). A spec without
// format= takes -feed-format's, when that is native, csv or json. With
// -shard i/N the queue group gains the shard (q-shard0of2): every shard
// must see every message, since each keeps only its own symbols of what it
// reads, and shards sharing a queue would split the messages and drop the rest.
func (c *serveConfig) natsFeedSource() (*natsfeed.Config, error) {
	if c.feedNATS == "" {
		return nil, nil
	}
	def := feed.FormatNative
	if f, err := feed.ParseFormat(c.feedFormat); err == nil {
		def = f
	}
	nc, err := natsfeed.ParseSpec(c.feedNATS, def)
	if err != nil {
		return nil, fmt.Errorf("feed-nats: %w", err)
	}
	for _, own := range publishedSubjects(c.prefix) {
		if subjectsOverlap(nc.Subject, own) {
			return nil, fmt.Errorf("feed-nats %q: the pattern matches tickd's own subjects (%s, under -subject-prefix): what tickd publishes would come back as bad input; subscribe to a narrower pattern", c.feedNATS, own)
		}
	}
	if c.shard.Count > 1 && nc.Queue != "" {
		nc.Queue = fmt.Sprintf("%s-shard%dof%d", nc.Queue, c.shard.Index, c.shard.Count)
	}
	return &nc, nil
}

// publishedSubjects are the patterns of the subjects serve publishes on
// under prefix.
func publishedSubjects(prefix string) []string {
	s := bus.Subjects{Prefix: prefix}
	return []string{s.AllSignals(), s.AllBars(), s.AllStats(), s.AllBBOs(), s.Status()}
}

// subjectsOverlap reports whether some subject matches both patterns:
// token by token, equal or either '*', until either is '>' (one token or
// more) or both end together.
func subjectsOverlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i == len(at) || i == len(bt):
			return len(at) == len(bt)
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] != bt[i] && at[i] != "*" && bt[i] != "*":
			return false
		}
	}
}

// startNATSFeed runs the NATS feed source, if configured, as a feed stage
// on tickd's own NATS connection: one engine input for the subscription.
// (record has no engine, and no -feed-nats.)
func (p *pipeline) startNATSFeed(ctx context.Context, cfg *natsfeed.Config, open feed.SinkOpener, fopts feed.Options) {
	if cfg == nil || p.eng == nil {
		return
	}
	src, err := natsfeed.New(*cfg, p.nc, open, fopts)
	if err == nil {
		err = src.Subscribe() // in place before "tickd running": nothing published after it is missed
	}
	if err != nil {
		p.goRun("feed nats", func() error { return err })
		return
	}
	p.natsFeed = src
	p.log.Info().Str("feed", "nats:"+cfg.String()).Msg("NATS feed source")
	if p.srv != nil && p.srv.Addr() == nil {
		p.log.Warn().Str("feed", "nats:"+cfg.String()).
			Msg("-nats-listen off: the embedded NATS server takes no connections, so no producer can publish to -feed-nats; give -nats-listen an address or use -nats-url")
	}
	p.goFeed("feed nats:"+cfg.Subject, func() error {
		err := src.Run(ctx)
		p.log.Info().Str("feed", "nats:"+cfg.String()).Uint64("messages", src.Messages()).
			Uint64("bad_messages", src.BadMessages()).Uint64("dropped", src.Dropped()).Msg("NATS feed source stopped")
		return err
	})
}

// natsFeedNotReady is the NATS feed source's /readyz check: "" once it is
// subscribed.
func (p *pipeline) natsFeedNotReady(cfg *natsfeed.Config) func() string {
	return func() string {
		if p.natsFeed == nil || p.natsFeed.Subscribed() {
			return "" // not started: a failed stage, reported as such
		}
		return fmt.Sprintf("feed nats:%s: not subscribed", cfg.Subject)
	}
}
