package feed

// Register adds a source that lives outside this package (the Kafka source,
// one per partition), started at now on its receive clock, and returns its
// Counters; id picks its Source id, nil the next in turn. Publish its Stats
// once per batch and Unregister it when it ends, as this package's own
// sources do.
func (r *Registry) Register(source string, id func(string) uint16, now int64) *Counters {
	return r.register(source, id, now)
}

// Unregister folds an ended source's counters into the totals.
func (r *Registry) Unregister(c *Counters) { r.unregister(c) }

// Publish stores s as the source's counters. One goroutine (the source's)
// calls it, once per batch.
func (c *Counters) Publish(s *Stats) { c.publish(s) }

// Hear records that the source received something at now, on its receive
// clock (Options.Clock), for StaleWatch: once per batch received (Register
// takes the time it started).
func (c *Counters) Hear(now int64) { c.hear(now) }

// HandingOn records that a batch received at now, on the receive clock, is
// being handed on to the Sink, which waits while the engine is behind:
// until HandedOn the source is not waiting for its peer, so StaleWatch does
// not take that time for silence. It stands for Hear.
func (c *Counters) HandingOn(now int64) { c.handingOn(now) }

// HandedOn records that the batch has been handed on at now: the source
// waits for its peer again, and its silence counts from now.
func (c *Counters) HandedOn(now int64) { c.handedOn(now) }
