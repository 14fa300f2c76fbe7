package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics from g, /healthz (200 while the process serves
// HTTP) and /readyz (200 "ready", or 503 with what notReady lists, a line
// each; a nil notReady is always ready). ErrorLog, if set, receives scrape
// errors.
func Handler(g prometheus.Gatherer, notReady func(context.Context) []string, errorLog func(error)) http.Handler {
	if notReady == nil {
		notReady = func(context.Context) []string { return nil }
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: logFunc(errorLog), ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if why := notReady(req.Context()); len(why) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + strings.Join(why, "\nnot ready: ") + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// logFunc adapts a func(error) to promhttp's Logger.
type logFunc func(error)

func (f logFunc) Println(v ...any) {
	if f == nil {
		return
	}
	for _, x := range v {
		if err, ok := x.(error); ok {
			f(err)
			return
		}
	}
	f(errors.New("metrics: scrape failed"))
}

// shutdownGrace bounds how long Serve waits for scrapes in flight.
const shutdownGrace = 2 * time.Second

// Serve serves h on ln until ctx is done, then shuts down (scrapes in
// flight get shutdownGrace) and returns nil; or returns the error that
// stopped it.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	// Serve also ends when ln is closed from outside as ctx ends (its
	// owner may close it then): both are a normal stop.
	if errors.Is(err, http.ErrServerClosed) || (ctx.Err() != nil && errors.Is(err, net.ErrClosed)) {
		<-done
		return nil
	}
	srv.Close()
	return fmt.Errorf("metrics: serve: %w", err)
}
