package bus

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/internal/dirlock"
)

// Server defaults.
const (
	DefaultHost         = "127.0.0.1"
	DefaultPort         = 4222
	DefaultReadyTimeout = 5 * time.Second
)

// slowConsumerDeadline is how long the embedded server waits on a write to
// a client before cutting it off as a slow consumer.
const slowConsumerDeadline = 2 * time.Second

// RandomPort as ServerOptions.Port asks the kernel for a free port, as
// nats-server's -p -1 does; ClientURL reports the port it got.
const RandomPort = -1

// ServerOptions configures the embedded nats-server. The zero value listens
// on 127.0.0.1:4222.
type ServerOptions struct {
	// Host to listen on; default DefaultHost (loopback only).
	Host string
	// Port to listen on: 0 means DefaultPort (4222), RandomPort (-1) a free
	// port chosen by the kernel, 1..65535 that port.
	Port int
	// DontListen runs the server with no TCP listener at all: clients reach it
	// only in-process (ConnectInProcess). Host and Port are then ignored.
	DontListen bool
	// ReadyTimeout bounds how long StartServer waits for the server to accept
	// connections; default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Name is the server name shown to clients; default "tickd".
	Name string
	// Logger receives the server's log lines; nil keeps it silent. Fatal
	// lines are passed on as errors: an embedded server never exits the process.
	Logger server.Logger
	// Debug and Trace enable the server's verbose log levels (with Logger).
	Debug, Trace bool

	// Users, when set, are the only clients the server accepts (each with
	// its Permissions; see DefaultPermissions): unauthenticated clients are
	// refused. ConnectInProcess still works, as an internal in-process-only
	// user with a random password and no restrictions.
	Users []User
	// TLS, when its files are set, makes TCP clients use TLS; with CAFile
	// they must present a certificate signed by it.
	TLS ServerTLS

	// JetStream enables JetStream, storing in StoreDir (required with it).
	JetStream bool
	StoreDir  string
	// Cluster, if set, joins the server to a cluster (see ClusterOptions).
	Cluster *ClusterOptions

	// writeDeadline replaces slowConsumerDeadline when set: a test that
	// needs a backlog to outlast a slow publisher keeps its reader on.
	writeDeadline time.Duration
}

func (o *ServerOptions) applyDefaults() {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Name == "" {
		o.Name = "tickd"
	}
}

func (o *ServerOptions) validate() error {
	if o.Port != RandomPort && (o.Port < 1 || o.Port > 65535) {
		return fmt.Errorf("bus: server port %d not in 1..65535 (0 = %d, %d = random)", o.Port, DefaultPort, RandomPort)
	}
	if o.ReadyTimeout < 0 {
		return fmt.Errorf("bus: negative server ready timeout %s", o.ReadyTimeout)
	}
	return validateUsers(o.Users)
}

// Server is an embedded nats-server running inside this process.
type Server struct {
	ns   *server.Server
	addr net.Addr // nil when DontListen
	// inProcPassword authenticates ConnectInProcess when Users are set.
	inProcPassword string
	// storeLock holds StoreDir for this server while it runs (JetStream).
	storeLock *os.File
}

// storeLockName is the lock file that keeps a JetStream store directory to
// one server: nats-server does not guard it, and two servers writing one
// store (two tickd serve -jetstream on the default <tmp>/tickd-jetstream)
// would corrupt each other's streams.
const storeLockName = ".tickd-jetstream.lock"

// lockStore takes o.StoreDir for one server, creating it (0700) if missing;
// nil when JetStream is off.
func lockStore(o ServerOptions) (*os.File, error) {
	if !o.JetStream || o.StoreDir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(o.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("bus: JetStream store: %w", err)
	}
	f, err := dirlock.Take(o.StoreDir, storeLockName)
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		return nil, fmt.Errorf("bus: JetStream store %s is in use by another server (pid %s): give each its own store directory (tickd: -js-store)", o.StoreDir, held.PID)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: JetStream store %s: %w", o.StoreDir, err)
	}
	return f, nil
}

// StartServer starts an embedded nats-server and waits until it accepts
// connections. If the port is taken it fails at once, naming the address.
func StartServer(opts ServerOptions) (*Server, error) {
	opts.applyDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	nopts := &server.Options{
		ServerName: opts.Name,
		Host:       opts.Host,
		Port:       opts.Port, // nats-server reads -1 as random, as we do
		DontListen: opts.DontListen,
		NoSigs:     true, // the process owns its signals, not the library
		Debug:      opts.Debug,
		Trace:      opts.Trace,
		// A subscriber that cannot keep up must not slow tickd: the server
		// would otherwise stall the publishing connection once a reader's
		// backlog nears its limit, and the engine would run at the slowest
		// reader's pace. Instead its writes time out, and it is cut off
		// as a slow consumer (counted, and reported by WatchSlowConsumers).
		NoFastProducerStall: true,
		WriteDeadline:       cmp.Or(opts.writeDeadline, slowConsumerDeadline),
	}
	var inProcPassword string
	if len(opts.Users) > 0 {
		var err error
		if inProcPassword, err = applyUsers(nopts, opts.Users); err != nil {
			return nil, err
		}
	}
	if opts.TLS.enabled() {
		if err := opts.TLS.apply(nopts); err != nil {
			return nil, err
		}
	}
	if err := opts.applyCluster(nopts); err != nil {
		return nil, err
	}
	storeLock, err := lockStore(opts)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(nopts)
	if err != nil {
		closeLock(storeLock)
		return nil, fmt.Errorf("bus: nats server: %w", err)
	}
	// Always install a logger, so that a listen failure reported through
	// Fatalf is captured rather than lost (or turned into os.Exit).
	fl := &fatalLogger{next: opts.Logger}
	ns.SetLogger(fl, opts.Debug, opts.Trace)

	// Start runs the client accept loop's listen synchronously, so a port
	// in use is known when it returns.
	ns.Start()
	where := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	switch {
	case opts.DontListen:
		where = "(in-process only)"
	case opts.Port == RandomPort:
		where = net.JoinHostPort(opts.Host, "0")
	}
	fail := func(format string, v ...any) (*Server, error) {
		ns.Shutdown()
		ns.WaitForShutdown()
		closeLock(storeLock)
		return nil, fmt.Errorf("bus: nats server %s: %s", where, fmt.Sprintf(format, v...))
	}
	s := &Server{ns: ns, inProcPassword: inProcPassword, storeLock: storeLock}
	if !opts.DontListen {
		if s.addr = ns.Addr(); s.addr == nil {
			msg := fl.fatal()
			if strings.Contains(msg, "address already in use") {
				msg += " (another tickd or nats-server may hold the port: choose another)"
			}
			return fail("cannot listen: %s", msg)
		}
	}
	if msg := fl.fatal(); msg != "" {
		return fail("%s", msg)
	}
	if !ns.ReadyForConnections(opts.ReadyTimeout) {
		return fail("not ready for connections after %s", opts.ReadyTimeout)
	}
	return s, nil
}

// ConnectInProcess connects a nats.go client to the server through an
// in-memory pipe (nats.InProcessServer): no socket, no port needed. With
// ServerOptions.Users it authenticates as the server's internal
// in-process-only user, so callers pass no credentials; it never needs TLS.
//
// It turns nats.go's write deadline off (nats.FlusherTimeout(0)) unless opts
// set one: on a net.Pipe every deadline arms a new timer, an allocation per
// flush, and a write to an in-process server has no network to stall on.
func (s *Server) ConnectInProcess(opts ...nats.Option) (*nats.Conn, error) {
	all := make([]nats.Option, 0, len(opts)+3)
	all = append(all, nats.Name("tickd-inprocess"), nats.FlusherTimeout(0))
	if s.inProcPassword != "" {
		all = append(all, nats.UserInfo(inProcessUser, s.inProcPassword))
	}
	all = append(all, opts...)
	all = append(all, nats.InProcessServer(s.ns))
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect in-process: %w", err)
	}
	return nc, nil
}

// ClientURL returns the URL TCP clients connect to, such as
// "nats://127.0.0.1:4222", or "" when the server does not listen.
func (s *Server) ClientURL() string {
	if s.addr == nil {
		return ""
	}
	return "nats://" + s.addr.String()
}

// Addr returns the TCP address the server listens on, or nil when it does not.
func (s *Server) Addr() net.Addr { return s.addr }

// NATS returns the underlying nats-server, for monitoring and advanced use.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server, closing every client connection, and returns
// once it has fully stopped. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	closeLock(s.storeLock) // again on a second Shutdown: an error, ignored
}

// closeLock releases a store lock taken by lockStore (nil: none).
func closeLock(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// fatalLogger forwards to next (if any) and records Fatalf lines instead of
// exiting, so StartServer can turn them into an error.
type fatalLogger struct {
	next server.Logger
	mu   sync.Mutex
	msg  string
}

func (l *fatalLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msg
}

func (l *fatalLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	if l.msg == "" {
		l.msg = msg
	}
	l.mu.Unlock()
	if l.next != nil {
		l.next.Errorf("%s", msg)
	}
}

func (l *fatalLogger) Noticef(format string, v ...any) {
	if l.next != nil {
		l.next.Noticef(format, v...)
	}
}

func (l *fatalLogger) Warnf(format string, v ...any) {
	if l.next != nil {
		l.next.Warnf(format, v...)
	}
}

func (l *fatalLogger) Errorf(format string, v ...any) {
	if l.next != nil {
		l.next.Errorf(format, v...)
	}
}

func (l *fatalLogger) Debugf(format string, v ...any) {
	if l.next != nil {
		l.next.Debugf(format, v...)
	}
}

func (l *fatalLogger) Tracef(format string, v ...any) {
	if l.next != nil {
		l.next.Tracef(format, v...)
	}
}
