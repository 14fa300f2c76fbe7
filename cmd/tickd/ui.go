package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/ui"
)

// uiConfig is -ui: the live dashboard's address.
type uiConfig struct {
	addr string
	// fallback: a taken addr falls back to a free port on the same host
	// (the demo's default must never stop it); serve fails instead.
	fallback bool
}

func (c *uiConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "ui", "", "serve the live dashboard (HTTP) on this address, e.g. 127.0.0.1:8080; empty: no dashboard")
}

// dashboard is a running -ui.
type dashboard struct {
	addr net.Addr
	hub  *ui.Hub
	srv  *ui.Server
}

// url is where a browser finds the dashboard.
func (d *dashboard) url() string { return "http://" + d.addr.String() + "/" }

// announce writes the dashboard's address, if there is one.
func (d *dashboard) announce(w io.Writer) {
	if d != nil {
		fmt.Fprintf(w, "dashboard: %s\n", d.url())
	}
}

// startUI starts the dashboard when -ui is set: an HTTP listener and a
// NATS subscriber of what the publisher sends, off the hot path. With the
// embedded server it subscribes on a connection of its own, so a dashboard
// the server cuts off as slow never costs the publisher its connection. It
// stops when ctx is done, or when NATS closes (a pipeline that failed to
// start closes NATS without cancelling ctx).
func (p *pipeline) startUI(ctx context.Context, cfg *serveConfig) error {
	if cfg.ui.addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.ui.addr)
	if err != nil && cfg.ui.fallback {
		if host, _, herr := net.SplitHostPort(cfg.ui.addr); herr == nil {
			if ln2, err2 := net.Listen("tcp", net.JoinHostPort(host, "0")); err2 == nil {
				p.log.Warn().Err(err).Str("addr", ln2.Addr().String()).Msg("dashboard address taken: using a free port")
				ln, err = ln2, nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	nc := p.nc
	if p.srv != nil {
		if nc, err = p.srv.ConnectInProcess(nats.Name("tickd-ui"), nats.NoReconnect()); err != nil {
			ln.Close()
			return fmt.Errorf("ui: %w", err)
		}
	}
	hub := ui.NewHub(ui.Options{Prefix: cfg.prefix, Counters: p.uiCounters})
	subs, err := hub.Subscribe(nc)
	if err != nil {
		ln.Close()
		if nc != p.nc {
			nc.Close()
		}
		return err
	}
	d := &dashboard{addr: ln.Addr(), hub: hub, srv: ui.NewServer(hub)}
	uctx, cancel := context.WithCancel(ctx)
	go watchClosed(uctx, cancel, nc)
	p.goRun("ui", func() error {
		defer cancel()
		err := d.srv.Serve(uctx, ln)
		for _, s := range subs {
			s.Unsubscribe()
		}
		if nc != p.nc {
			nc.Close()
		}
		return err
	})
	p.ui = d
	p.log.Info().Str("url", d.url()).Msg("dashboard")
	return nil
}

// watchClosed calls cancel once nc is closed, or returns when ctx is done.
func watchClosed(ctx context.Context, cancel context.CancelFunc, nc *nats.Conn) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if nc.IsClosed() {
				cancel()
				return
			}
		}
	}
}

// uiCounters are the pipeline's totals the dashboard shows as rates.
func (p *pipeline) uiCounters() ui.Counters {
	c, pc := p.eng.Counters(), p.pub.Counters()
	return ui.Counters{Events: c.Events, Signals: pc.Signals, Published: pc.Signals + pc.Bars + pc.Stats + pc.BBOs}
}
