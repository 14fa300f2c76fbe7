package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// newLogger returns a zerolog logger writing JSON to w, or the console format
// when w is a terminal (or console is forced).
func newLogger(w io.Writer, level string, console bool) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, err
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		console = true
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// limitedLog logs bad-input errors at a bounded rate per source, so a stream
// of garbage costs a counter increment per message and a log line per second,
// not a log line per message. Counting is the feed's job; this only logs.
type limitedLog struct {
	log      zerolog.Logger
	interval time.Duration
	mu       sync.Mutex // taken only on the bad-input path
	sources  map[string]*limitState
}

type limitState struct {
	last       time.Time
	suppressed int
}

// maxLimitSources bounds the sources a limitedLog remembers: every TCP
// connection is a source of its own, and a long-lived process sees many.
const maxLimitSources = 1024

// prune forgets the sources whose last report is an interval old (their
// limit has lapsed), first logging what each suppressed since. Called with
// mu held, only when the map is full.
func (l *limitedLog) prune(now time.Time) {
	for src, st := range l.sources {
		if now.Sub(st.last) < l.interval {
			continue
		}
		if st.suppressed > 0 {
			l.log.Warn().Str("source", src).Int("suppressed", st.suppressed).Msg("bad input skipped")
		}
		delete(l.sources, src)
	}
}

func newLimitedLog(log zerolog.Logger, interval time.Duration) *limitedLog {
	return &limitedLog{log: log, interval: interval, sources: map[string]*limitState{}}
}

// badInput is a feed.Options.OnError callback.
func (l *limitedLog) badInput(source string, offset int64, seq uint64, err error) {
	suppressed, ok := l.allow(source)
	if !ok {
		return
	}
	ev := l.log.Warn().Str("source", source).Int64("offset", offset).Uint64("seq", seq).Err(err)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg("bad input skipped")
}

// allow reports whether source may log now (its last line is an interval
// old), and how many lines it was refused since; a refusal is counted.
func (l *limitedLog) allow(source string) (suppressed int, ok bool) {
	l.mu.Lock()
	now := time.Now()
	st := l.sources[source]
	if st == nil {
		if len(l.sources) >= maxLimitSources {
			l.prune(now)
		}
		st = &limitState{}
		l.sources[source] = st
	}
	if now.Sub(st.last) < l.interval {
		st.suppressed++
		l.mu.Unlock()
		return 0, false
	}
	suppressed = st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	return suppressed, true
}
