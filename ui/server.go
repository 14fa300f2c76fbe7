package ui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

//go:embed static
var static embed.FS

// Server serves the dashboard of one Hub over HTTP: the page, its assets,
// the event streams and one-off updates (see the package doc).
type Server struct {
	hub     *Hub
	mux     *http.ServeMux
	clients atomic.Int64 // streams open
	events  atomic.Uint64
}

// heartbeatEvery is how often an idle stream gets a comment line, so that
// proxies keep it open and a gone browser is noticed.
const heartbeatEvery = 15 * time.Second

// refreshEvery is how often a stream with nothing new still gets an event
// while the Hub is settling: the throughput it shows then falls to 0 when
// the feed stops, instead of staying at its last rate.
const refreshEvery = time.Second

// writeTimeout bounds one event's write: a browser that stops reading is
// dropped rather than holding its goroutine.
const writeTimeout = 10 * time.Second

// NewServer returns a Server for hub.
func NewServer(hub *Hub) *Server {
	s := &Server{hub: hub, mux: http.NewServeMux()}
	assets, err := fs.Sub(static, "static")
	if err != nil { // the embedded tree is fixed at build time
		panic(err)
	}
	files := http.FileServerFS(assets)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "index.html")
	})
	s.mux.HandleFunc("GET /events", s.stream)
	s.mux.HandleFunc("GET /api/update", s.once)
	return s
}

// ServeHTTP serves the dashboard's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the page needs is served here: nothing may load elsewhere.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Events returns how many stream events the Server has sent.
func (s *Server) Events() uint64 { return s.events.Load() }

// Serve serves on ln until ctx is done, then ends the streams and returns
// once every handler has. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // streams end with ctx
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	<-done // http.ErrServerClosed
	return err
}

func newCursor(r *http.Request) *cursor {
	q := r.URL.Query()
	return &cursor{symbol: q.Get("symbol"), interval: q.Get("interval")}
}

// once writes one update for a new reader.
func (s *Server) once(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(s.hub.appendUpdate(nil, newCursor(r)))
}

// stream sends the update events of one browser: the first at once, then
// at most one per Options.Interval, and only when the Hub has changed or,
// for a few seconds after it last changed, every refreshEvery (its rates
// are still falling).
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if s.clients.Add(1) > int64(s.hub.opts.MaxClients) {
		s.clients.Add(-1)
		http.Error(w, "ui: too many dashboard streams", http.StatusServiceUnavailable)
		return
	}
	defer s.clients.Add(-1)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	c := newCursor(r)
	var buf []byte
	var seen uint64
	tick := time.NewTicker(s.hub.opts.Interval)
	defer tick.Stop()
	lastWrite, lastEvent := time.Now(), time.Now()
	for first := true; ; first = false {
		if !first {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
		v := s.hub.version.Load()
		isEvent := first || v != seen || s.hub.settling() && time.Since(lastEvent) >= refreshEvery
		switch {
		case isEvent:
			seen = v
			buf = append(buf[:0], "event: update\ndata: "...)
			buf = s.hub.appendUpdate(buf, c)
			buf = append(buf, "\n\n"...)
		case time.Since(lastWrite) >= heartbeatEvery:
			buf = append(buf[:0], ": idle\n\n"...)
		default:
			continue
		}
		rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		lastWrite = time.Now()
		if isEvent {
			s.events.Add(1)
			lastEvent = lastWrite
		}
	}
}
