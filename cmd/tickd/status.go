package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tickd/tickd/bus"
)

// statusEvent is published on <prefix>.status when tickd loses data it
// was given: events a Drop input dropped (the engine was behind a live UDP
// feed) or publishes NATS refused while reconnecting. Totals since start,
// and what is new since the last event.
type statusEvent struct {
	Kind              string `json:"kind"` // "status"
	Publisher         string `json:"publisher"`
	TsPub             int64  `json:"ts_pub"`
	Dropped           uint64 `json:"dropped"`
	NewDropped        uint64 `json:"new_dropped"`
	PublishDropped    uint64 `json:"publish_dropped"`
	NewPublishDropped uint64 `json:"new_publish_dropped"`
}

// statusInterval is how often losses are checked, and so the most often
// they are logged and published.
const statusInterval = time.Second

// watchLosses checks the loss counters every statusInterval until ctx is
// done; an increase is logged and published as a statusEvent, so no loss
// is silent and none floods the log.
func (p *pipeline) watchLosses(ctx context.Context, prefix string) error {
	subject := bus.Subjects{Prefix: prefix}.Status()
	tk := time.NewTicker(statusInterval)
	defer tk.Stop()
	var last statusEvent
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		ev := statusEvent{Kind: "status", Publisher: p.pub.ID(), TsPub: time.Now().UnixNano(),
			Dropped: p.eng.Counters().Dropped, PublishDropped: p.pub.Counters().Dropped}
		if ev.Dropped == last.Dropped && ev.PublishDropped == last.PublishDropped {
			continue
		}
		ev.NewDropped, ev.NewPublishDropped = ev.Dropped-last.Dropped, ev.PublishDropped-last.PublishDropped
		last = ev
		p.log.Warn().Uint64("dropped", ev.Dropped).Uint64("new_dropped", ev.NewDropped).
			Uint64("publish_dropped", ev.PublishDropped).Msg("tickd is losing data: the engine is behind a Drop feed, or NATS is away")
		if b, err := json.Marshal(ev); err == nil {
			_ = p.nc.Publish(subject, b) // best effort: NATS may be the thing that is away
		}
	}
}
