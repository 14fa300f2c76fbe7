package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/tickd/tickd/bus"
)

// jsConfig is serve's -jetstream settings: signals and bars stored in a
// stream, published with acknowledgement and re-sent until stored.
type jsConfig struct {
	on            bool
	stream        string
	maxAge        time.Duration
	maxBytes      int64
	maxPerSubject int64
	replicas      int
	maxPending    int
	store         string
	// block: the feeds can wait (a replay's files), so publishes wait
	// for JetStream rather than drop. A Kafka source sets it too.
	block bool
}

func (c *jsConfig) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.on, "jetstream", false, "store signals and bars in a JetStream stream (acknowledged, re-sent until stored)")
	fs.StringVar(&c.stream, "js-stream", bus.DefaultStream, "JetStream stream to create or bind to")
	fs.DurationVar(&c.maxAge, "js-max-age", 0, "stream limit: oldest message kept (0: no limit)")
	fs.Int64Var(&c.maxBytes, "js-max-bytes", 0, "stream limit: bytes kept (0: no limit)")
	fs.Int64Var(&c.maxPerSubject, "js-max-msgs-per-subject", 0, "stream limit: messages kept per subject (0: no limit)")
	fs.IntVar(&c.replicas, "js-replicas", 1, "stream replicas (a NATS cluster of at least that many servers)")
	fs.IntVar(&c.maxPending, "js-max-pending", bus.DefaultJSMaxPending, "publishes awaiting acknowledgement; beyond it signals are dropped and counted (with -feed-kafka and in replays: waited for, slowing the reading)")
	fs.StringVar(&c.store, "js-store", "", "embedded server's JetStream directory (default <tmp>/tickd-jetstream)")
}

// options returns the publisher's JetStream options, nil when off.
func (c *jsConfig) options() *bus.JetStreamOptions {
	if !c.on {
		return nil
	}
	return &bus.JetStreamOptions{Stream: c.stream, MaxAge: c.maxAge, MaxBytes: c.maxBytes,
		MaxMsgsPerSubject: c.maxPerSubject, Replicas: c.replicas, MaxPending: c.maxPending, Block: c.block}
}

// serverOptions enables JetStream on the embedded server. The default store
// lies in the shared temp dir, so it must be private (privateStoreDir).
func (c *jsConfig) serverOptions(o *bus.ServerOptions) error {
	if !c.on {
		return nil
	}
	o.JetStream, o.StoreDir = true, c.store
	if o.StoreDir == "" {
		o.StoreDir = filepath.Join(os.TempDir(), "tickd-jetstream")
		return privateStoreDir(o.StoreDir)
	}
	return nil
}

// privateStoreDir creates dir (0700) if it is missing, and refuses it unless
// it is a directory of this user's that no one else may write to: another
// user who made it first could read the stream, or replace it (a symlink)
// under the files tickd writes.
func privateStoreDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("jetstream: store %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("jetstream: store %s: %w", dir, err)
	}
	var why string
	switch uid, known := fileOwner(fi); {
	case !fi.IsDir():
		why = "not a directory (" + fi.Mode().Type().String() + ")"
	case known && uid != os.Getuid():
		why = fmt.Sprintf("owned by uid %d, not by this user (uid %d)", uid, os.Getuid())
	case fi.Mode().Perm()&0o022 != 0:
		why = fmt.Sprintf("writable by others (mode %v)", fi.Mode().Perm())
	default:
		return nil
	}
	return fmt.Errorf("jetstream: default store %s is %s: another user could read or replace the stream; remove it, or give -js-store", dir, why)
}

// ensure creates or binds to the stream. A clustered stream may wait for
// its meta leader, so it retries for a while.
func (c *jsConfig) ensure(ctx context.Context, nc *nats.Conn, prefix string, log zerolog.Logger) error {
	o := c.options()
	if o == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		st, err := bus.EnsureStream(ctx, nc, prefix, *o)
		if err == nil {
			cfg := st.CachedInfo().Config
			log.Info().Str("stream", cfg.Name).Strs("subjects", cfg.Subjects).Int("replicas", cfg.Replicas).
				Int("max_pending", o.MaxPending).Msg("JetStream: signals and bars stored")
			return nil
		}
		// Not yet: no JetStream (a cluster electing its leader) or no quorum.
		var apiErr *jetstream.APIError
		unavailable := errors.As(err, &apiErr) && apiErr.Code == 503
		if !unavailable && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) && !errors.Is(err, nats.ErrNoResponders) &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
