package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
	"github.com/tickd/tickd/internal/testpki"
	"github.com/tickd/tickd/tick"
)

// Secrets of these tests: none may appear in a log line or an error.
const (
	secTickdPW = "tickd-secret-9d1f0e"
	secAlicePW = "alice-secret-44ab7c"
	secToken   = "token-secret-e5a302"
	secWrong   = "wrong-secret-13c9d8"
)

var allSecrets = []string{secTickdPW, secAlicePW, secToken, secWrong}

func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s reveals secret %q:\n%s", what, s, text)
		}
	}
}

func secFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// secServe is a `tickd serve` running in the background.
type secServe struct {
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

func startSecServe(t *testing.T, args ...string) *secServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &secServe{cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	go func() { r.done <- runServe(ctx, args, io.Discard, r.stderr) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitRunning waits for the "tickd running" line, failing if serve ends.
func (r *secServe) waitRunning(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stderr.String(), "tickd running") {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("serve ended: %v\n%s", err, r.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not running:\n%s", r.stderr.String())
		}
	}
}

func (r *secServe) stop(t *testing.T) error {
	t.Helper()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
		return nil
	}
}

// secServeErr runs a serve expected to fail at start-up.
func secServeErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := runServe(ctx, args, io.Discard, &stderr)
	if err == nil {
		t.Fatalf("serve %v started", args)
	}
	return stderr.String(), err
}

// TestServeSecuredEndToEnd runs serve with users and a TLS feed listener:
// a subscriber reads what tickd publishes from a TLS feed with a client
// certificate, cannot publish itself, and anonymous clients are refused.
func TestServeSecuredEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pki := testpki.New(t)
	secFile(t, dir, "tickd.pw", secTickdPW)
	alicePW := secFile(t, dir, "alice.pw", secAlicePW)
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte(`users:
  - name: tickd
    password_file: tickd.pw
    role: tickd
  - name: alice
    password_file: alice.pw
    role: subscriber
`), 0o600); err != nil {
		t.Fatal(err)
	}
	natsPort, feedPort := freePort(t), freePort(t)
	r := startSecServe(t, "-nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort), "-nats-users", users,
		"-feed-listen", fmt.Sprintf("127.0.0.1:%d", feedPort), "-log-level", "debug",
		"-feed-tls-cert", pki.ServerCert, "-feed-tls-key", pki.ServerKey, "-feed-tls-client-ca", pki.CA)
	r.waitRunning(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)

	if nc, err := nats.Connect(url, nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("anonymous client accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous client: want an authorization violation, got %v", err)
	}

	auth := bus.ClientAuth{User: "alice", PasswordFile: alicePW}
	opts, err := auth.Options()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asyncErrs []error
	nc, err := nats.Connect(url, append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		asyncErrs = append(asyncErrs, err)
		mu.Unlock()
	}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe("tickd.>", msgs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// A native feed over TLS with a client certificate.
	ccfg, err := feed.ClientTLSConfig(pki.CA, pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", feedPort), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	b = enc.Trade(b, "SECU", ms(0), px("10.00"), 100, 0)
	b = enc.End(b, ms(1500)) // end of session: the open bars are published
	if _, err := fc.Write(b); err != nil {
		t.Fatal(err)
	}
	fc.Close()
	select {
	case m := <-msgs:
		if !strings.HasPrefix(m.Subject, "tickd.") || !strings.Contains(m.Subject, "SECU") {
			t.Fatalf("unexpected subject %s", m.Subject)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the subscriber got nothing from tickd:\n%s", r.stderr.String())
	}

	// The subscriber may not publish on tickd's subjects.
	if err := nc.Publish("tickd.signal.SECU", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	secWait(t, "a publish permission violation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range asyncErrs {
			if strings.Contains(e.Error(), "Permissions Violation for Publish") {
				return true
			}
		}
		return false
	})

	// A feed client without a certificate is refused.
	nccfg, _ := feed.ClientTLSConfig(pki.CA, "", "")
	if c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", feedPort), nccfg); err == nil {
		c.Write(b)
		c.Close()
	}
	secWait(t, "a refused feed handshake in the log", func() bool {
		return strings.Contains(r.stderr.String(), "tls handshake")
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, "serve's log", r.stderr.String())
}

func secWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServeSecretsNeverLogged connects serve to external servers with a
// password file and a token file, right and wrong, at debug level, and
// checks no secret reaches its log or its errors.
func TestServeSecretsNeverLogged(t *testing.T) {
	dir := t.TempDir()
	perms, _ := bus.DefaultPermissions(bus.RoleTickd, "tickd")
	us, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort,
		Users: []bus.User{{Name: "tickd", Password: secTickdPW, Permissions: perms}}})
	if err != nil {
		t.Fatal(err)
	}
	defer us.Shutdown()
	ts, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true, Authorization: secToken})
	if err != nil {
		t.Fatal(err)
	}
	ts.Start()
	defer func() { ts.Shutdown(); ts.WaitForShutdown() }()
	if !ts.ReadyForConnections(5 * time.Second) {
		t.Fatal("token server not ready")
	}
	goodPW := secFile(t, dir, "good.pw", secTickdPW)
	wrong := secFile(t, dir, "wrong", secWrong)
	token := secFile(t, dir, "token", secToken)
	base := []string{"-feed-listen", "127.0.0.1:0", "-log-level", "debug"}

	for _, args := range [][]string{
		{"-nats-url", us.ClientURL(), "-nats-user", "tickd", "-nats-password-file", goodPW},
		{"-nats-url", ts.ClientURL(), "-nats-token-file", token},
	} {
		r := startSecServe(t, append(base, args...)...)
		r.waitRunning(t)
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, "serve's log", r.stderr.String())
	}

	addr := strings.TrimPrefix(us.ClientURL(), "nats://")
	for _, args := range [][]string{
		{"-nats-url", us.ClientURL(), "-nats-user", "tickd", "-nats-password-file", wrong},
		{"-nats-url", ts.ClientURL(), "-nats-token-file", wrong},
		{"-nats-url", "nats://tickd:" + secWrong + "@" + addr},
		{"-nats-url", "nats://" + secWrong + "@" + addr},
	} {
		log, err := secServeErr(t, append(base, args...)...)
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%v: want an authorization violation, got %v", args, err)
		}
		assertNoSecrets(t, "the error", err.Error())
		assertNoSecrets(t, "serve's log", log)
	}

	// From the environment too.
	t.Setenv(bus.EnvNATSPassword, secTickdPW)
	r := startSecServe(t, append(base, "-nats-url", us.ClientURL(), "-nats-user", "tickd")...)
	r.waitRunning(t)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, "serve's log", r.stderr.String())
}

// TestNoSecretFlagsAndLoopbackDefaults: no flag takes a secret as its value
// (argv is public), and listeners bind to loopback unless told otherwise.
func TestNoSecretFlagsAndLoopbackDefaults(t *testing.T) {
	var cfg serveConfig
	fs := newServeFlags(&cfg, io.Discard)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		for _, w := range []string{"password", "token", "seed", "secret"} {
			if strings.Contains(f.Name, w) && !strings.HasSuffix(f.Name, "-file") {
				t.Errorf("flag -%s takes a secret on the command line", f.Name)
			}
		}
		if strings.HasPrefix(f.Name, "nats-") || strings.HasPrefix(f.Name, "feed-tls") {
			n++
		}
	})
	if n < 16 {
		t.Errorf("only %d nats/feed-tls flags registered", n)
	}
	for _, name := range []string{"feed-listen", "nats-listen"} {
		if d := fs.Lookup(name).DefValue; !strings.HasPrefix(d, "127.0.0.1:") {
			t.Errorf("-%s defaults to %q, not loopback", name, d)
		}
	}
	if bus.DefaultHost != "127.0.0.1" {
		t.Errorf("bus.DefaultHost %q", bus.DefaultHost)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	dir := t.TempDir()
	pw := secFile(t, dir, "pw", secAlicePW)
	usersFile := func(body string) string {
		p := filepath.Join(t.TempDir(), "users.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := []string{"-feed-listen", "", "-nats-listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nats-user", "tickd", "-nats-password-file", pw}, "authenticate to -nats-url"},
		{[]string{"-nats-url", "nats://127.0.0.1:1", "-nats-users", pw}, "do not apply with -nats-url"},
		{[]string{"-nats-users", usersFile("users:\n  - name: a\n    password_file: " + pw + "\n    role: admin\n")}, `unknown role "admin"`},
		{[]string{"-nats-users", usersFile("users:\n  - name: a\n    pasword_file: x\n    role: tickd\n")}, "pasword_file"},
		{[]string{"-nats-users", usersFile("users:\n  - name: a\n    password_file: nope.pw\n    role: tickd\n")}, "nope.pw"},
		{[]string{"-nats-users", usersFile("users:\n  - name: a\n    role: tickd\n")}, "no password or nkey"},
		{[]string{"-nats-users", usersFile("users: []\n")}, "no users"},
		{[]string{"-nats-tls-cert", pw}, "certificate and a key"},
		{[]string{"-feed-listen", "127.0.0.1:0", "-feed-tls-cert", pw}, "certificate and a key"},
		// The embedded server's users and TLS with no listener: refused too.
		{[]string{"-nats-listen", "off", "-nats-users", usersFile("users:\n  - name: a\n    password_file: " + pw + "\n    role: tickd\n")}, "-nats-listen off"},
		{[]string{"-nats-listen", "off", "-nats-tls-cert", pw, "-nats-tls-key", pw}, "-nats-listen off"},
		// Feed TLS with no listener to secure: refused, never silently ignored.
		{[]string{"-feed-tls-cert", pw, "-feed-tls-key", pw}, "there is none"},
		{[]string{"-feed-listen", "127.0.0.1:0", "-feed-format", "itch", "-feed-dial", "mold://127.0.0.1:1", "-feed-tls-cert", pw, "-feed-tls-key", pw}, "there is none"},
		{[]string{"-nats-url", "nats://127.0.0.1:1", "-nats-user", "a", "-nats-password-file", filepath.Join(dir, "missing.pw")}, "missing.pw"},
	} {
		_, err := secServeErr(t, append(base, tc.args...)...)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want %q, got %v", tc.args, tc.want, err)
		}
		assertNoSecrets(t, "the error", err.Error())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                    "nats://127.0.0.1:4222",
		"nats://u:" + secWrong + "@h:4222":         "nats://u:xxxxx@h:4222",
		"nats://" + secToken + "@h:4222":           "nats://xxxxx@h:4222",
		"nats://h:1,nats://u:" + secWrong + "@h:2": "nats://h:1,nats://u:xxxxx@h:2",
		"nats://u:%zz" + secWrong + "@h":           "(unparsable URL)",
	} {
		got := redactURL(in)
		if want != "" && got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		assertNoSecrets(t, "redacted URL", got)
	}
}

// TestSubLogsInOverTLS: `tickd sub` takes the client flags serve and sink
// take, so it reads from a server with users and TLS, its password from a
// file rather than a URL every user of the host could read in ps.
func TestSubLogsInOverTLS(t *testing.T) {
	dir := t.TempDir()
	pki := testpki.New(t)
	alicePW := secFile(t, dir, "alice.pw", secAlicePW)
	perms, err := bus.DefaultPermissions(bus.RoleSubscriber, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort,
		Users: []bus.User{{Name: "alice", Password: secAlicePW, Permissions: perms}},
		TLS:   bus.ServerTLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	sub := startSub(t, srv, "-subject", "tickd.status", "-nats-user", "alice", "-nats-password-file", alicePW, "-nats-ca", pki.CA)
	nc, err := srv.ConnectInProcess()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev, err := json.Marshal(feedStatusEvent{Kind: "feed", Publisher: "p", Source: "tail x", State: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("tickd.status", ev); err != nil {
		t.Fatal(err)
	}
	if got := sub.waitLines(t, 1); !strings.Contains(got[0], "FEED") {
		t.Errorf("sub printed %q", got)
	}
	assertNoSecrets(t, "sub's stderr", sub.errb.String())
}

// TestSoupBinCredentialsCheckedAtStart: a SoupBinTCP login that cannot be
// loaded (a missing creds file, no TICKD_SOUPBIN_USERNAME) stops serve
// before anything starts, naming the file or variable, instead of a stage
// failing after "tickd running" and serve waiting with no feed.
func TestSoupBinCredentialsCheckedAtStart(t *testing.T) {
	t.Setenv("TICKD_SOUPBIN_USERNAME", "")
	missing := filepath.Join(t.TempDir(), "soup.creds")
	for _, c := range []struct{ url, want string }{
		{"soupbin://127.0.0.1:1?creds=" + missing, missing},
		{"soupbin://127.0.0.1:1", "TICKD_SOUPBIN_USERNAME"},
	} {
		stderr, err := secServeErr(t, "-nats-listen", "off", "-feed-format", "itch", "-feed-dial", c.url)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v does not name %s", c.url, err, c.want)
		}
		if strings.Contains(stderr, "tickd running") {
			t.Errorf("%s: serve started before refusing the credentials:\n%s", c.url, stderr)
		}
	}
}

// TestJetStreamDefaultStorePrivate: the default store lies in the shared
// temp dir, so serve refuses one another user could write to or swap
// (writable by others, a symlink) instead of storing the stream there; a
// store it creates itself is 0700.
func TestJetStreamDefaultStorePrivate(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	store := filepath.Join(tmp, "tickd-jetstream")
	args := []string{"-feed-listen", "", "-nats-listen", "off", "-jetstream"}

	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(store, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := secServeErr(t, args...); !strings.Contains(err.Error(), store) || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("a world-writable default store: %v", err)
	}
	if err := os.Remove(store); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), store); err != nil {
		t.Fatal(err)
	}
	if _, err := secServeErr(t, args...); !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a symlink as the default store: %v", err)
	}
	if err := os.Remove(store); err != nil {
		t.Fatal(err)
	}
	r := startSecServe(t, args...)
	r.waitRunning(t)
	if fi, err := os.Stat(store); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the store serve created: %v, %v; want mode 0700", fi.Mode(), err)
	}
}

// TestNATSRefusedLoginsLogged: the embedded server's refusals (here, wrong
// passwords) are logged with the client and user, never the password, and
// rate-limited: a burst of them is one line and a count of the rest.
func TestNATSRefusedLoginsLogged(t *testing.T) {
	dir := t.TempDir()
	secFile(t, dir, "alice.pw", secAlicePW)
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  - {name: alice, password_file: alice.pw, role: subscriber}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	natsPort := freePort(t)
	r := startSecServe(t, "-nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort), "-nats-users", users, "-feed-listen", "")
	r.waitRunning(t)
	const tries = 5
	for range tries {
		if nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort), nats.UserInfo("alice", secWrong)); err == nil {
			nc.Close()
			t.Fatal("a wrong password was accepted")
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	logs := r.stderr.String()
	assertNoSecrets(t, "the log", logs)
	lines := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"source":"nats server"`) && strings.Contains(l, "authentication error") && strings.Contains(l, "alice") {
			lines++
		}
	}
	if lines == 0 || lines == tries {
		t.Errorf("%d lines of %d refused logins, want at least one and fewer than %d:\n%s", lines, tries, tries, logs)
	}
	if !strings.Contains(logs, `"source":"nats server","suppressed":`) {
		t.Errorf("no count of the refusals left out:\n%s", logs)
	}
	if strings.Contains(logs, "Plaintext passwords") {
		t.Errorf("the server's plaintext-password warning is logged:\n%s", logs)
	}
}

// TestExpiredCertificateWarned: serve starts with an expired certificate
// (as the TLS library lets it), but says so, naming the flag and the file:
// otherwise only the refusing peers would know.
func TestExpiredCertificateWarned(t *testing.T) {
	pki := testpki.Expired(t)
	certFile := pki.ServerCert
	r := startSecServe(t, "-nats-listen", "off", "-feed-listen", "127.0.0.1:0", "-feed-tls-cert", certFile, "-feed-tls-key", pki.ServerKey)
	r.waitRunning(t)
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.Contains(l, "TLS certificate expired") && strings.Contains(l, `"flag":"feed-tls-cert"`) && strings.Contains(l, certFile) {
			return
		}
	}
	t.Errorf("no warning of the expired certificate:\n%s", r.stderr.String())
}

// TestOpenListenersWarned: a feed listener or embedded NATS server bound
// beyond loopback with nothing checking who connects is warned about;
// bound to 127.0.0.1 (the default), it is not.
func TestOpenListenersWarned(t *testing.T) {
	const feedWarn, natsWarn = "feed listener reachable beyond this host", "nats server reachable beyond this host"
	open := startSecServe(t, "-nats-listen", "0.0.0.0:0", "-feed-listen", "0.0.0.0:0")
	open.waitRunning(t)
	for _, w := range []string{feedWarn, natsWarn} {
		if !strings.Contains(open.stderr.String(), w) {
			t.Errorf("bound to 0.0.0.0, no %q warning:\n%s", w, open.stderr.String())
		}
	}
	local := startSecServe(t, "-nats-listen", "127.0.0.1:0", "-feed-listen", "127.0.0.1:0")
	local.waitRunning(t)
	if s := local.stderr.String(); strings.Contains(s, feedWarn) || strings.Contains(s, natsWarn) {
		t.Errorf("bound to 127.0.0.1, warned:\n%s", s)
	}
}

// TestPublishRefusedCounted: serve logged in to an external server as a
// user that may not publish tickd's subjects: the server refuses each
// publish after nc.Publish has returned. Each is counted as lost
// (publish_errors), logged as lost, and serve's exit error says why.
func TestPublishRefusedCounted(t *testing.T) {
	dir := t.TempDir()
	pw := secFile(t, dir, "alice.pw", secAlicePW)
	perms, err := bus.DefaultPermissions(bus.RoleSubscriber, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := startTestServer(t, bus.RandomPort, bus.User{Name: "alice", Password: secAlicePW, Permissions: perms})
	feedPort := freePort(t)
	r := startSecServe(t, "-nats-url", srv.ClientURL(), "-nats-user", "alice", "-nats-password-file", pw,
		"-feed-listen", fmt.Sprintf("127.0.0.1:%d", feedPort), "-bars", "1s")
	r.waitRunning(t)
	var enc feed.NativeEncoder
	b := enc.Hello(nil)
	for i := range 5 {
		b = enc.Trade(b, "AAA", int64(i)*int64(time.Second), px("100"), 100, tick.SideBuy)
	}
	b = enc.End(b, int64(5*time.Second))
	c := dialEventually(t, fmt.Sprintf("127.0.0.1:%d", feedPort))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitUntil(t, "the refused publishes logged", 15*time.Second, func() bool {
		return strings.Contains(r.stderr.String(), "publish refused, the message is lost")
	})
	err = r.stop(t)
	if !strings.Contains(r.stderr.String(), "NATS publishes lost") {
		t.Errorf("the losses are not summed up at exit:\n%s", r.stderr.String())
	}
	if err == nil || !strings.Contains(err.Error(), "Permissions Violation") {
		t.Errorf("serve's exit error does not say publishes were refused: %v", err)
	}
	assertNoSecrets(t, "the log", r.stderr.String())
}

// TestNATSDisconnectLogged: serve says when the external server goes away
// (publishes are buffered meanwhile) and when it is back.
func TestNATSDisconnectLogged(t *testing.T) {
	port := freePort(t)
	srv := startTestServer(t, port)
	r := startSecServe(t, "-nats-url", srv.ClientURL(), "-feed-listen", "")
	r.waitRunning(t)
	srv.Shutdown()
	waitUntil(t, "the disconnect logged", 15*time.Second, func() bool { return strings.Contains(r.stderr.String(), "NATS disconnected") })
	startTestServer(t, port)
	waitUntil(t, "the reconnect logged", 15*time.Second, func() bool {
		return strings.Contains(r.stderr.String(), fmt.Sprintf(`"url":"nats://127.0.0.1:%d","time"`, port)) &&
			strings.Contains(r.stderr.String(), "NATS reconnected")
	})
}

// TestReadableSecretsWarned: a password file other users may read is warned
// about at start, naming it; one only its owner reads is not.
func TestReadableSecretsWarned(t *testing.T) {
	dir := t.TempDir()
	open := secFile(t, dir, "open.pw", secAlicePW)
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	secFile(t, dir, "closed.pw", secTickdPW)
	users := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(users, []byte("users:\n  - {name: alice, password_file: open.pw, role: subscriber}\n"+
		"  - {name: tickd, password_file: closed.pw, role: tickd}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startSecServe(t, "-nats-listen", "127.0.0.1:0", "-nats-users", users, "-feed-listen", "")
	r.waitRunning(t)
	logs := r.stderr.String()
	if !strings.Contains(logs, "secret file readable by other users") || !strings.Contains(logs, open) {
		t.Errorf("no warning naming %s:\n%s", open, logs)
	}
	if strings.Contains(logs, "closed.pw") {
		t.Errorf("a 0600 file warned about:\n%s", logs)
	}
	assertNoSecrets(t, "the log", logs)
}
