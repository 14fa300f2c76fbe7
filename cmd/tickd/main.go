// Command tickd is the one tickd binary: the daemon (serve), a live demo
// (demo, what `make run` runs), the simulated exchange (gen), the feed recorder
// (record), the player (replay), an ITCH file summary (inspect), the
// latency suite (bench), a signal printer (sub), the store of signals and
// bars in databases or files (sink) and version. Run `tickd help` for the
// commands and `tickd CMD -h` for flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	// ITCH times count from midnight in New York: -itch-date (and gen's
	// ITCH -start) must find that zone on a host without a time zone
	// database, such as a scratch or distroless container.
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=..." (make
// build); a plain go build, which the README suggests too, gets the commit
// go stamped into the binary instead (init).
var version = "dev"

func init() {
	if info, ok := debug.ReadBuildInfo(); ok && version == "dev" {
		version = vcsVersion(info)
	}
}

// vcsVersion is the commit a binary was built from, as make build's git
// describe --always --dirty spells it (short hash, "-dirty" when the tree
// had changes); without one, the module version go stamped (go install
// ...@v1.2.3 builds from the module proxy, which has no VCS), else "dev"
// (a tarball, -buildvcs=false).
func vcsVersion(info *debug.BuildInfo) string {
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		return "dev"
	}
	rev = rev[:min(len(rev), 7)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "embedded NATS + simulated exchange + engine, with a live view of signals", runDemo},
		{"serve", "the daemon: feeds in, signals and bars out over NATS", runServe},
		{"gen", "simulated exchange: seeded ticks or an ITCH session, to TCP, UDP or a file", runGen},
		{"record", "record feeds, exactly as read, into capture files (no engine)", runRecord},
		{"replay", "play captures, ITCH and tick files through the engine, paced, to NATS", runReplay},
		{"inspect", "summarise a NASDAQ ITCH 5.0 file: messages by type, books, executions", runInspect},
		{"bench", "open-loop latency of tickd end to end beside bare NATS, or in process", runBench},
		{"sub", "print what tickd publishes: signals, bars, stats, BBOs, status events", runSub},
		{"sink", "store signals and bars in SQLite, PostgreSQL or CSV/JSON-lines files", runSink},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" { // `tickd help serve` is `tickd serve -h`
		args = []string{args[1], "-h"}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signalContext(stderr)
		defer stop()
		return exitCode(ctx, c.name, c.run(ctx, args[1:], stdout, stderr), stderr)
	}
	fmt.Fprintf(stderr, "tickd: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// exitCode reports how command name ended and returns its exit status: 0
// done (or stopped by a signal), 2 a command-line mistake, 1 a failure.
// A signal that cancels a step of the start-up (creating a JetStream
// stream, say) or of a one-shot command is a request to stop, as it is for
// a running daemon: not a failure.
func exitCode(ctx context.Context, name string, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "tickd %s: interrupted: %v\n", name, err)
		return 0
	}
	fmt.Fprintf(stderr, "tickd %s: %v\n", name, err)
	return 1
}

// errUsage marks a command-line mistake already reported by the flag package.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintf(w, "tickd %s — low-latency market-data processor\n\nUsage: tickd COMMAND [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprintf(w, "\nRun 'tickd COMMAND -h' (or 'tickd help COMMAND') for a command's flags.\n")
	fmt.Fprintf(w, "Exit status: 0 done or stopped by a signal (bench: 1, its report partial), 2 a command-line mistake, 1 a failure.\n")
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "Usage: tickd version\n\nPrints the version.\n") }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "tickd %s\n", version)
	return err
}

// parseFlags parses args into fs, turning flag errors into errUsage (the flag
// package has already printed them).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}
