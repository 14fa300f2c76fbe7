package ui

// ring keeps the last max items pushed. Items are numbered from 0 in push
// order; item k sits at buf[k%max], so a reader that remembers the number
// of the next item it wants can ask for what arrived since (a cursor).
// The buffer grows as items arrive, up to max: a quiet symbol costs little.
type ring[T any] struct {
	buf  []T
	max  int
	next uint64 // items ever pushed: the number the next one gets
}

func newRing[T any](max int) ring[T] { return ring[T]{max: max} }

func (r *ring[T]) push(v T) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, v)
	} else {
		r.buf[r.next%uint64(r.max)] = v
	}
	r.next++
}

// last returns the newest item, or nil when the ring is empty. The pointer
// is valid until the next push.
func (r *ring[T]) last() *T {
	if r.next == 0 {
		return nil
	}
	return &r.buf[(r.next-1)%uint64(r.max)]
}

// oldest is the number of the oldest item held.
func (r *ring[T]) oldest() uint64 { return r.next - uint64(len(r.buf)) }

// since calls f with each item numbered from on, oldest first, and returns
// whether items between from and the oldest held were overwritten (the
// reader missed some and must start over from what f saw).
func (r *ring[T]) since(from uint64, f func(*T)) (lost bool) {
	start := r.oldest()
	if from > start {
		start = from
	}
	for k := start; k < r.next; k++ {
		f(&r.buf[k%uint64(r.max)])
	}
	return from < r.oldest()
}
