package soupbin

import "sync"

// Store is an in-memory, append-only log of sequenced messages, numbered from
// 1. One producer appends; any number of server connections read. Readers
// wait on the channel State returns rather than polling. Create it with
// NewStore: the zero Store has no channel and is not usable.
type Store struct {
	mu      sync.RWMutex
	data    []byte // messages back to back; bytes below len are never rewritten
	ends    []int  // ends[i] is the end offset of message i+1 in data
	ended   bool   // end of session: no more messages
	changed chan struct{}
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{changed: make(chan struct{})} }

// Append copies msg into the store and returns its sequence number. It
// panics after End: appending to a finished session is a programming error.
func (s *Store) Append(msg []byte) uint64 {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		panic("soupbin: Store.Append after End")
	}
	s.data = append(s.data, msg...)
	s.ends = append(s.ends, len(s.data))
	seq := uint64(len(s.ends))
	s.wakeLocked()
	s.mu.Unlock()
	return seq
}

// End marks the end of the session: servers send end-of-session once their
// clients have every message.
func (s *Store) End() {
	s.mu.Lock()
	s.ended = true
	s.wakeLocked()
	s.mu.Unlock()
}

func (s *Store) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Message returns message seq (1-based). The slice must not be modified; it
// stays valid (messages are never rewritten).
func (s *Store) Message(seq uint64) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if seq == 0 || seq > uint64(len(s.ends)) {
		return nil, false
	}
	start := 0
	if seq > 1 {
		start = s.ends[seq-2]
	}
	return s.data[start:s.ends[seq-1]:s.ends[seq-1]], true
}

// State reports the last sequence stored, whether the session has ended, and
// a channel closed at the next Append or End.
func (s *Store) State() (last uint64, ended bool, changed <-chan struct{}) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uint64(len(s.ends)), s.ended, s.changed
}
