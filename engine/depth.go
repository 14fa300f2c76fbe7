package engine

// Depths returns how many events wait in the shards' input rings and how
// many records wait in their output rings (for the publisher), summed over
// shards: a snapshot for metrics, safe from any goroutine. A deep input
// means the engine is behind its feeds; a deep output, the publisher is
// behind the engine.
func (e *Engine) Depths() (in, out int) {
	for _, s := range e.shards {
		for _, c := range *s.inputs.Load() {
			in += max(0, c.cons.Ring().Len()) // Len loads two counters apart: clamp a torn read
		}
	}
	for _, r := range e.outs {
		out += max(0, r.Len())
	}
	return in, out
}
