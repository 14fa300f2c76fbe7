// Package testpg runs a throwaway PostgreSQL server for tests: it finds
// Debian's server binaries (/usr/lib/postgresql/*/bin), initdb's a cluster
// in a fresh directory, runs it on 127.0.0.1 on a free port, and stops and
// removes it when the test ends. Tests that need PostgreSQL fail, with the
// reason, when it cannot be found or started (scripts/deps/postgres.sh
// installs it).
//
// PostgreSQL refuses to run as root; when the test runs as root the server
// runs as the "postgres" user, in a directory it owns. The server is the
// test process's child, on Linux and FreeBSD with a parent-death signal,
// so a test binary that is killed (a -timeout) does not leave it running.
package testpg

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// User and Password are the cluster's superuser. TCP connections need the
// password (scram-sha-256), so tests exercise password handling.
const (
	User     = "tickd"
	Password = "tickd-test-pw"
	Database = "postgres"
)

// startTimeout bounds a start or a stop on a loaded machine.
const startTimeout = 60 * time.Second

// Server is a throwaway cluster.
type Server struct {
	Port int
	root string      // temporary directory: data/, server.log
	dir  string      // cluster data directory
	bin  string      // directory of initdb, postgres, pg_isready
	cred *credential // the postgres user's when running as root

	proc   *exec.Cmd
	exited chan error // the running server's exit
}

// Start initdb's and starts a cluster, registering its stop and removal
// with tb.Cleanup. It fails tb when PostgreSQL is missing or will not start.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := findBin()
	if err != nil {
		tb.Fatalf("testpg: %v (run scripts/deps/postgres.sh)", err)
	}
	s := &Server{bin: bin}
	// Not t.TempDir: its parents are private to root, and the server may
	// run as another user.
	if s.root, err = os.MkdirTemp("", "testpg-"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(s.root) })
	if err := os.Chmod(s.root, 0o755); err != nil {
		tb.Fatal(err)
	}
	s.dir = filepath.Join(s.root, "data")
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("testpg: running as root and there is no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		s.cred = userCredential(uint32(uid), uint32(gid))
		if err := os.Chown(s.dir, int(uid), int(gid)); err != nil {
			tb.Fatal(err)
		}
	}
	pwfile := filepath.Join(s.root, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if out, err := s.command("initdb", "-D", s.dir, "-U", User, "--pwfile", pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		tb.Fatalf("testpg: initdb: %v\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// URL is a postgres:// URL of the cluster's default database, without
// the password.
func (s *Server) URL() string { return s.urlOf(Database) }

func (s *Server) urlOf(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, s.Port, db)
}

// NewDatabase creates an empty database and returns its URL, so tests
// sharing a cluster do not see each other's tables.
func (s *Server) NewDatabase(name string) (string, error) {
	cmd := exec.Command(filepath.Join(s.bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", User, name)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testpg: createdb %s: %v\n%s", name, err, out)
	}
	return s.urlOf(name), nil
}

// Start (re)starts a stopped server and waits until it accepts connections.
func (s *Server) Start() error {
	if s.proc != nil {
		return errors.New("testpg: already running")
	}
	logPath := filepath.Join(s.root, "server.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testpg: %w", err)
	}
	cmd := s.command("postgres", "-D", s.dir, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-k", s.dir, "-c", "fsync=off")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("testpg: start postgres: %w", err)
	}
	s.proc, s.exited = cmd, make(chan error, 1)
	go func() {
		s.exited <- cmd.Wait()
		log.Close()
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		// pg_isready: 0 accepting, 1 rejecting (starting up), 2 no answer.
		ready := exec.Command(filepath.Join(s.bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-t", "1")
		if ready.Run() == nil {
			return nil
		}
		select {
		case err := <-s.exited:
			s.proc = nil
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("testpg: postgres exited at start (%v):\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("testpg: postgres not accepting connections after %s:\n%s", startTimeout, out)
		}
	}
}

// Stop stops a running server at once (fast shutdown: open connections
// are cut) and waits for it to exit. It is a no-op when stopped.
func (s *Server) Stop() error {
	if s.proc == nil {
		return nil
	}
	defer func() { s.proc = nil }()
	if err := s.proc.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("testpg: stop: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(startTimeout):
		_ = s.proc.Process.Kill()
		<-s.exited
		return fmt.Errorf("testpg: postgres did not stop within %s; killed", startTimeout)
	}
}

// command runs a server tool as the server's user, dying with this process.
func (s *Server) command(tool string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, tool), args...)
	cmd.Dir = s.root // the postgres user may not enter the test's directory
	cmd.SysProcAttr = procAttr(s.cred)
	return cmd
}

// findBin returns the newest /usr/lib/postgresql/N/bin holding initdb and postgres.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "pg_isready")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres, pg_isready) under /usr/lib/postgresql/*/bin")
}

func version(bin string) int {
	v, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(bin)), ".")[0])
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testpg: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
