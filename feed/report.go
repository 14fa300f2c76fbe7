package feed

// SourceError is a report about a source itself rather than its data: a
// dial that failed, a connection refused or lost, a tailed file that
// cannot be read. OnError receives it (bad frames and lines come as a
// Reason, a *GapError, a *TimeAheadError, a *FrameTooLargeError or a
// *VersionError instead). Its text is Err's.
type SourceError struct {
	Op  SourceOp
	Err error
}

func (e *SourceError) Error() string { return e.Err.Error() }

func (e *SourceError) Unwrap() error { return e.Err }

// SourceOp says what failed, and so what the source does next.
type SourceOp uint8

// Source operations.
const (
	SourceDial        SourceOp = iota + 1 // connecting failed, a dialed peer closed, or an ITCH link was lost: retried with backoff
	SourceAccept                          // the listener could not accept: retried with backoff
	SourceRefused                         // a connection was closed before it was read: MaxConns, a failed TLS handshake
	SourceLost                            // a connection's read failed: it ends (a dialer reconnects)
	SourceTailRead                        // a tailed file could not be opened or read: retried every PollInterval
	SourceFetch                           // a Kafka fetch failed (a topic or partition unknown, no leader): retried
	SourceCommit                          // Kafka offsets not committed (the commit failed, or outputs were lost): held back
	SourceEvicted                         // a silent connection was closed to admit a new one: MaxConns, EvictAfter
	SourceTailRestart                     // a tailed file was truncated or replaced: read again from its start
	SourceDropped                         // messages were dropped before they were read (a NATS feed subscription past its pending limits): lost
)

var sourceOpNames = [...]string{"", "dial", "accept", "refused", "lost", "tail_read", "fetch", "commit", "evicted", "tail_restart", "dropped"}

// String returns a short snake_case name.
func (op SourceOp) String() string {
	if int(op) < len(sourceOpNames) && op != 0 {
		return sourceOpNames[op]
	}
	return "source_op"
}

// sourceError reports a SourceError to OnError, if set.
func (o *Options) sourceError(source string, offset int64, op SourceOp, err error) {
	o.report(source, offset, 0, &SourceError{Op: op, Err: err})
}

// ended tells OnEnd, if set, that source has ended.
func (o *Options) ended(source string) {
	if o.OnEnd != nil {
		o.OnEnd(source)
	}
}
