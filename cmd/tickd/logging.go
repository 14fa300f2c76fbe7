package main

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/feed/itch"
	"github.com/tickd/tickd/internal/gzipfile"
	"github.com/tickd/tickd/replay"
)

// logLevels are the -log-level values.
var logLevels = map[string]zerolog.Level{
	"debug": zerolog.DebugLevel, "info": zerolog.InfoLevel, "warn": zerolog.WarnLevel, "error": zerolog.ErrorLevel,
}

// newLogger returns a zerolog logger writing JSON to w, or the console format
// when w is a terminal (or console is forced), at level (a -log-level).
func newLogger(w io.Writer, level string, console bool) (zerolog.Logger, error) {
	lvl, ok := logLevels[level]
	if !ok {
		return zerolog.Logger{}, fmt.Errorf("log-level %q: want debug, info, warn or error", level)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		console = true
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// limitedLog logs the feed sources' reports (feed.Options.OnError) at a
// bounded rate per source, so a stream of garbage costs a counter
// increment per message and a log line per second, not a log line per
// message. Counting is the feed's job; this only logs.
//
// Each kind of report (bad input, a failed dial, ...) has its own message
// and may log once an interval per source. A report that ends a connection
// or a source (framing lost, a connection lost) is always logged. The next
// line logged for a source carries how many of its reports were left out;
// a source that has gone an interval without a report says so on a line of
// its own (a burst of bad lines, then quiet), and when the source ends
// (sourceEnded) or the process exits (flushSuppressed) a last line says so
// for those not yet told.
type limitedLog struct {
	log      zerolog.Logger
	interval time.Duration
	mu       sync.Mutex // taken only on the report path
	sources  map[string]*limitState
	quiet    *time.Timer // looks for quiet sources with reports left out; nil when none has any
}

type limitState struct {
	last       map[string]time.Time // when each message was last logged for the source
	reported   time.Time            // the source's last report, logged or not
	suppressed int                  // reports left out since the source's last line
	byReason   map[string]int       // of those, by reason
}

// maxLimitSources bounds the sources a limitedLog remembers: every TCP
// connection is a source of its own, and a long-lived process sees many.
const maxLimitSources = 1024

func newLimitedLog(log zerolog.Logger, interval time.Duration) *limitedLog {
	return &limitedLog{log: log, interval: interval, sources: map[string]*limitState{}}
}

// The messages of the reports that are not bad input, by feed.SourceOp.
var sourceOpMessages = map[feed.SourceOp]string{
	feed.SourceDial:        "feed connection failed, retrying",
	feed.SourceAccept:      "feed accept failed, retrying",
	feed.SourceRefused:     "feed connection refused",
	feed.SourceLost:        "feed connection lost",
	feed.SourceTailRead:    "feed tail read failed, retrying",
	feed.SourceFetch:       "feed fetch failed, retrying",
	feed.SourceCommit:      "feed offsets not committed",
	feed.SourceEvicted:     "feed connection evicted",
	feed.SourceTailRestart: "feed tail restarted at the file's start",
	feed.SourceDropped:     "feed messages dropped, lost",
}

// classify returns a report's log message, its reason (a metric label, or
// a short name of what failed) and whether it ends a connection or a source,
// and so must be logged whatever the rate.
func classify(err error) (msg, reason string, ends bool) {
	var (
		r   feed.Reason
		ir  itch.Reason
		se  *feed.SourceError
		ge  *feed.GapError
		ige *feed.ITCHGapError
		fe  *itch.FramingError
	)
	switch {
	case errors.Is(err, feed.ErrRestOfMessageSkipped) && errors.Is(err, feed.ReasonVersion):
		return "native format version not read, rest of the message skipped", feed.ReasonVersion.String(), false
	case errors.Is(err, feed.ErrRestOfMessageSkipped): // a NATS message's or a Kafka record's: the source goes on
		return "framing lost, rest of the message skipped", feed.ReasonFrameTooLarge.String(), false
	case errors.Is(err, feed.ReasonFrameTooLarge):
		return "framing lost, source closed", feed.ReasonFrameTooLarge.String(), true
	case errors.Is(err, feed.ReasonVersion):
		return "native format version not read, source closed", feed.ReasonVersion.String(), true
	case errors.As(err, &fe): // an ITCH file's: the rest of it is not played
		if fe.Length == 0 { // data after the end-of-session prefix
			return "framing lost, source closed", feed.ReasonBadLength.String(), true
		}
		return "framing lost, source closed", feed.ReasonFrameTooLarge.String(), true
	case errors.Is(err, itch.ReasonTruncated), errors.Is(err, itch.ErrGzipTruncated): // an ITCH file's: its end
		return "file cut short, source closed", feed.ReasonTruncated.String(), true
	case errors.Is(err, gzipfile.ErrTrailingGarbage): // an ITCH file's, after all it held
		return "bytes after the gzip stream, source closed", "trailing_garbage", true
	case corruptGzip(err): // an ITCH file's: nothing after it can be read
		return "gzip stream corrupt, source closed", "corrupt_gzip", true
	case errors.As(err, &se):
		msg = sourceOpMessages[se.Op]
		if msg == "" {
			msg = "feed source error"
		}
		return msg, se.Op.String(), se.Op == feed.SourceLost
	case errors.As(err, &r):
		reason = r.String()
	case errors.As(err, &ir):
		reason = ir.String()
	case errors.As(err, &ge), errors.As(err, &ige):
		reason = "gap"
	case errors.Is(err, replay.ErrCorrupt):
		reason = "corrupt_block"
	case errors.Is(err, replay.ErrTorn):
		reason = "torn_tail"
	default:
		reason = "other"
	}
	return "bad input skipped", reason, false
}

// corruptGzip reports whether err is compress/gzip's on damaged data: a
// member's header, its checksum, its deflate stream.
func corruptGzip(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &ce)
}

// badInput is a feed.Options.OnError callback (and replay.PlayerOptions.OnError).
func (l *limitedLog) badInput(source string, offset int64, seq uint64, err error) {
	msg, reason, ends := classify(err)
	suppressed, byReason, ok := l.allow(source, msg, reason, ends)
	if !ok {
		return
	}
	lvl := zerolog.WarnLevel
	if ends {
		lvl = zerolog.ErrorLevel
	}
	ev := l.log.WithLevel(lvl).Str("source", source).Int64("offset", offset).Uint64("seq", seq).
		Str("reason", reason).Err(err)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed).Dict("suppressed_by_reason", reasonDict(byReason))
	}
	ev.Msg(msg)
}

// sourceEnded is a feed.Options.OnEnd callback: it logs what the ended
// source's reports left out, if anything, and forgets the source.
func (l *limitedLog) sourceEnded(source string) {
	l.mu.Lock()
	st := l.sources[source]
	delete(l.sources, source)
	l.mu.Unlock()
	if st != nil {
		l.logSuppressed(source, st.suppressed, st.byReason, true)
	}
}

// flushSuppressed logs, for every source, the reports left out since its
// last line, and forgets every source. Call it when the process is done
// with its sources (serve and record at exit, replay after its inputs);
// ended says whether they have ended (replay's inputs played to their end)
// or were still running.
func (l *limitedLog) flushSuppressed(ended bool) {
	l.mu.Lock()
	srcs := l.sources
	l.sources = map[string]*limitState{}
	if l.quiet != nil { // everything is said here: nothing left for it to find
		l.quiet.Stop()
		l.quiet = nil
	}
	l.mu.Unlock()
	for _, src := range slices.Sorted(maps.Keys(srcs)) {
		l.logSuppressed(src, srcs[src].suppressed, srcs[src].byReason, ended)
	}
}

// logSuppressed logs the count of a source's reports left out, if any.
func (l *limitedLog) logSuppressed(source string, n int, byReason map[string]int, ended bool) {
	if n == 0 {
		return
	}
	l.log.Warn().Str("source", source).Int("suppressed", n).Dict("suppressed_by_reason", reasonDict(byReason)).
		Bool("source_ended", ended).Msg("reports suppressed")
}

func reasonDict(byReason map[string]int) *zerolog.Event {
	d := zerolog.Dict()
	for _, r := range slices.Sorted(maps.Keys(byReason)) {
		d.Int(r, byReason[r])
	}
	return d
}

// allow reports whether a report of source with message msg may be logged
// now (always if it ends the source; else if msg's last line for source is
// an interval old) and, if so, how many of the source's reports were left
// out since its last line, which it then forgets. A report refused is
// counted under its reason.
func (l *limitedLog) allow(source, msg, reason string, ends bool) (suppressed int, byReason map[string]int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	st := l.sources[source]
	if st == nil {
		if len(l.sources) >= maxLimitSources {
			l.prune(now)
		}
		st = &limitState{last: map[string]time.Time{}}
		l.sources[source] = st
	}
	st.reported = now
	if !ends && now.Sub(st.last[msg]) < l.interval {
		st.suppressed++
		if st.byReason == nil {
			st.byReason = map[string]int{}
		}
		st.byReason[reason]++
		if l.quiet == nil {
			l.quiet = time.AfterFunc(l.interval, l.flushQuiet)
		}
		return 0, nil, false
	}
	st.last[msg] = now
	suppressed, byReason = st.suppressed, st.byReason
	st.suppressed, st.byReason = 0, nil
	return suppressed, byReason, true
}

// flushQuiet logs what each source left out, once it has gone an interval
// without a report: no later report's line would say it (until the source
// ended). A source still reporting will say it on its next line; while any
// has reports left out, it looks again an interval later.
func (l *limitedLog) flushQuiet() {
	type left struct {
		source   string
		n        int
		byReason map[string]int
	}
	var quiet []left
	l.mu.Lock()
	now, pending := time.Now(), false
	for src, st := range l.sources {
		switch {
		case st.suppressed == 0:
		case now.Sub(st.reported) >= l.interval:
			quiet = append(quiet, left{src, st.suppressed, st.byReason})
			st.suppressed, st.byReason = 0, nil
		default:
			pending = true
		}
	}
	l.quiet = nil
	if pending {
		l.quiet = time.AfterFunc(l.interval, l.flushQuiet)
	}
	l.mu.Unlock()
	slices.SortFunc(quiet, func(a, b left) int { return strings.Compare(a.source, b.source) })
	for _, q := range quiet {
		l.logSuppressed(q.source, q.n, q.byReason, false)
	}
}

// prune forgets the sources whose every limit has lapsed (no line for an
// interval), first logging what each left out. Called with mu held, only
// when the map is full.
func (l *limitedLog) prune(now time.Time) {
	for src, st := range l.sources {
		if !st.lapsed(now, l.interval) {
			continue
		}
		l.logSuppressed(src, st.suppressed, st.byReason, false)
		delete(l.sources, src)
	}
}

func (st *limitState) lapsed(now time.Time, interval time.Duration) bool {
	for _, t := range st.last {
		if now.Sub(t) < interval {
			return false
		}
	}
	return true
}

// natsLog logs the embedded NATS server's lines (its Logger) and the
// publishing connection's async errors, as source: errors and warnings (a
// refused login, a failed TLS handshake, a permissions violation, naming
// the client's address) at most one line a second per level, with what was
// left out counted as for the feeds; the server's notices are debug lines.
type natsLog struct {
	limit  *limitedLog // logs through limit.log
	source string
}

func newNATSLog(log zerolog.Logger, source string) *natsLog {
	return &natsLog{limit: newLimitedLog(log, time.Second), source: source}
}

func (l *natsLog) Errorf(format string, v ...any) { l.line(zerolog.ErrorLevel, format, v) }

// Fatalf: bus.StartServer returns the error itself; this logs it as well.
func (l *natsLog) Fatalf(format string, v ...any) { l.line(zerolog.ErrorLevel, format, v) }

func (l *natsLog) Warnf(format string, v ...any) {
	// Users' passwords are plain text in the server's options: tickd reads
	// them from files, so this warning at every start is noise.
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		l.Noticef(format, v...)
		return
	}
	l.line(zerolog.WarnLevel, format, v)
}

func (l *natsLog) Noticef(format string, v ...any) {
	l.limit.log.Debug().Str("source", l.source).Msg(fmt.Sprintf(format, v...))
}

func (l *natsLog) Debugf(string, ...any) {}
func (l *natsLog) Tracef(string, ...any) {}

func (l *natsLog) line(lvl zerolog.Level, format string, v []any) {
	suppressed, _, ok := l.limit.allow(l.source, lvl.String(), lvl.String(), false)
	if !ok {
		return
	}
	ev := l.limit.log.WithLevel(lvl).Str("source", l.source)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg(fmt.Sprintf(format, v...))
}

// flush logs what the limit left out; the server or connection is done.
func (l *natsLog) flush() { l.limit.flushSuppressed(false) }
