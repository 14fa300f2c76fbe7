package main

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
)

// statusEvent is published on <prefix>.status when tickd loses data: events
// a Drop input dropped (the engine was behind a live UDP feed), publishes
// NATS refused while reconnecting, or feed messages lost for good in
// sequence gaps (an ITCH gap the rewind server did not fill, a native
// sequence jump): books built across those may be wrong. Totals since
// start, and what is new since the last event.
type statusEvent struct {
	Kind              string `json:"kind"` // "status"
	Publisher         string `json:"publisher"`
	TsPub             int64  `json:"ts_pub"`
	Dropped           uint64 `json:"dropped"`
	NewDropped        uint64 `json:"new_dropped"`
	PublishDropped    uint64 `json:"publish_dropped"`
	NewPublishDropped uint64 `json:"new_publish_dropped"`
	FeedLost          uint64 `json:"feed_lost"`
	NewFeedLost       uint64 `json:"new_feed_lost"`
}

// feedStatusEvent is published on <prefix>.status when a feed source has
// received nothing (no data, no heartbeat) for -feed-stale ("stale"), and
// again when it is heard from after that ("live") or ends ("ended": a
// connection closed, a reconnect comes as a new source), so subscribers can
// tell a quiet market from a dead feed, and drop a source that is gone.
type feedStatusEvent struct {
	Kind      string `json:"kind"` // "feed"
	Publisher string `json:"publisher"`
	TsPub     int64  `json:"ts_pub"`
	Source    string `json:"source"`
	State     string `json:"state"`     // "stale", "live" or "ended"
	SilentNs  int64  `json:"silent_ns"` // silence when checked
}

// statusInterval is how often losses and feed silence are checked, and so
// the most often they are logged and published.
const statusInterval = time.Second

// watchStatus checks the loss counters and the feed sources every
// statusInterval until ctx is done. A loss, a source going stale and a
// stale source coming back are each logged and published once, so none is
// silent and none floods the log.
func (p *pipeline) watchStatus(ctx context.Context, prefix string, staleAfter time.Duration) error {
	subject := bus.Subjects{Prefix: prefix}.Status()
	stale := feed.StaleWatch{Reg: p.feedStats, After: staleAfter}
	tk := time.NewTicker(statusInterval)
	defer tk.Stop()
	var (
		last    statusEvent
		changes []feed.SourceState
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		now := time.Now().UnixNano() // the sources' receive clock
		p.checkLosses(subject, &last, now)
		changes = stale.Check(now, changes[:0])
		for _, c := range changes {
			p.reportFeedState(subject, c, now)
		}
	}
}

// checkLosses publishes a statusEvent when a loss counter moved since last.
func (p *pipeline) checkLosses(subject string, last *statusEvent, now int64) {
	ev := statusEvent{Kind: "status", Publisher: p.pub.ID(), TsPub: now,
		Dropped: p.eng.Counters().Dropped, PublishDropped: p.pub.Counters().Dropped, FeedLost: p.feedStats.Total().Missed}
	if ev.Dropped == last.Dropped && ev.PublishDropped == last.PublishDropped && ev.FeedLost == last.FeedLost {
		return
	}
	ev.NewDropped, ev.NewPublishDropped = ev.Dropped-last.Dropped, ev.PublishDropped-last.PublishDropped
	ev.NewFeedLost = ev.FeedLost - last.FeedLost
	*last = ev
	p.log.Warn().Uint64("dropped", ev.Dropped).Uint64("new_dropped", ev.NewDropped).
		Uint64("publish_dropped", ev.PublishDropped).Uint64("feed_lost", ev.FeedLost).Uint64("new_feed_lost", ev.NewFeedLost).
		Msg("tickd is losing data: the engine is behind a Drop feed, NATS is away, or a feed lost messages in a gap")
	p.publishStatus(subject, ev)
}

// reportFeedState logs and publishes one source's change of liveness.
func (p *pipeline) reportFeedState(subject string, c feed.SourceState, now int64) {
	ev := feedStatusEvent{Kind: "feed", Publisher: p.pub.ID(), TsPub: now, Source: c.Source,
		State: "live", SilentNs: int64(c.Silent)}
	switch {
	case c.Ended:
		ev.State = "ended"
		p.log.Info().Str("source", c.Source).Dur("silent", c.Silent).Msg("stale feed source ended")
	case c.Stale:
		ev.State = "stale"
		p.log.Warn().Str("source", c.Source).Dur("silent", c.Silent).Msg("feed stale: nothing received, not even a heartbeat")
	default:
		p.log.Info().Str("source", c.Source).Msg("feed live again")
	}
	p.publishStatus(subject, ev)
}

// publishStatus publishes ev as JSON, best effort: NATS may be the thing
// that is away, and the log has the event already. '<', '>' and '&' are
// not escaped: a source reads "tcp LOCAL<-REMOTE" on the wire, as in the
// log and the schema, not "tcp LOCAL\u003c-REMOTE".
func (p *pipeline) publishStatus(subject string, ev any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(ev) == nil {
		_ = p.nc.Publish(subject, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
}
