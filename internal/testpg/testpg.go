// Package testpg runs a throwaway PostgreSQL server for tests: it finds
// Debian's server binaries (/usr/lib/postgresql/*/bin), initdb's a cluster
// in a fresh directory, starts it on 127.0.0.1 on a free port, and stops
// and removes it when the test ends. Tests that need PostgreSQL fail, with
// the reason, when it cannot be found or started (scripts/deps/postgres.sh
// installs it).
//
// PostgreSQL refuses to run as root; when the test runs as root the server
// runs as the "postgres" user (via runuser), in a directory it owns.
package testpg

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// User and Password are the cluster's superuser. TCP connections need the
// password (scram-sha-256), so tests exercise password handling.
const (
	User     = "tickd"
	Password = "tickd-test-pw"
	Database = "postgres"
)

// Server is a running throwaway cluster.
type Server struct {
	Port int
	dir  string // cluster data directory
	bin  string // directory of initdb and pg_ctl
	as   string // user to run as ("" for the current one)
	tb   testing.TB
}

// Start initdb's and starts a cluster, registering its stop and removal
// with tb.Cleanup. It fails tb when PostgreSQL is missing or will not start.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := findBin()
	if err != nil {
		tb.Fatalf("testpg: %v (run scripts/deps/postgres.sh)", err)
	}
	s := &Server{bin: bin, tb: tb}
	if os.Geteuid() == 0 {
		s.as = "postgres"
		if _, err := user.Lookup(s.as); err != nil {
			tb.Fatalf("testpg: running as root and there is no %q user to run the server as: %v", s.as, err)
		}
	}
	// Not t.TempDir: its parents are private to root, and the server runs
	// as another user.
	root, err := os.MkdirTemp("", "testpg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	s.dir = filepath.Join(root, "data")
	pwfile := filepath.Join(root, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if s.as != "" {
		if err := os.Mkdir(s.dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		u, _ := user.Lookup(s.as)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.dir, "-U", User, "--pwfile", pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("testpg: initdb: %v\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
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
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off", s.Port, s.dir)
	if out, err := s.run("pg_ctl", "-D", s.dir, "-o", opts, "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		return fmt.Errorf("testpg: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// Stop stops the server at once (fast shutdown: open connections are cut).
func (s *Server) Stop() error {
	if out, err := s.run("pg_ctl", "-D", s.dir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("testpg: pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// stop is the cleanup: stop if running.
func (s *Server) stop() {
	if _, err := s.run("pg_ctl", "-D", s.dir, "status"); err == nil {
		if err := s.Stop(); err != nil {
			s.tb.Error(err)
		}
	}
}

func (s *Server) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, tool)
	var cmd *exec.Cmd
	if s.as != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.as, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = os.TempDir() // runuser's user may not enter the test's directory
	return cmd.CombinedOutput()
}

// findBin returns the newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin")
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
