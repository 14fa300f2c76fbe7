package bus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Secrets used by the tests: each is asserted absent from error messages.
const (
	tickdPassword = "tickd-pw-7f3a91"
	subPassword   = "sub-pw-c02e44"
	testToken     = "tok-5b8d17e2"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPerms(t *testing.T, r Role) Permissions {
	t.Helper()
	p, err := DefaultPermissions(r, "tickd")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// authServer is an embedded server with a tickd and a subscriber user.
func authServer(t *testing.T) *Server {
	t.Helper()
	return startServer(t, ServerOptions{Port: RandomPort, Users: []User{
		{Name: "tickd", Password: tickdPassword, Permissions: mustPerms(t, RoleTickd)},
		{Name: "alice", Password: subPassword, Permissions: mustPerms(t, RoleSubscriber)},
	}})
}

// connectAs connects over TCP with auth, collecting async errors.
func connectAs(t *testing.T, url string, auth ClientAuth) (*nats.Conn, *asyncErrs, error) {
	t.Helper()
	opts, err := auth.Options()
	if err != nil {
		t.Fatal(err)
	}
	ae := &asyncErrs{}
	opts = append(opts, nats.ErrorHandler(ae.handle), nats.Timeout(2*time.Second))
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, ae, err
}

type asyncErrs struct {
	mu   sync.Mutex
	errs []error
}

func (a *asyncErrs) handle(_ *nats.Conn, _ *nats.Subscription, err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

func (a *asyncErrs) wait(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		for _, e := range a.errs {
			if strings.Contains(e.Error(), substr) {
				a.mu.Unlock()
				return
			}
		}
		a.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no async error containing %q", substr)
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error reveals a secret: %v", err)
		}
	}
}

func TestUsersRefuseUnauthenticated(t *testing.T) {
	s := authServer(t)
	if nc, err := nats.Connect(s.ClientURL(), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("unauthenticated client accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("want an authorization violation, got %v", err)
	}
	pw := writeFile(t, "pw", "wrong-"+subPassword+"\n")
	_, _, err := connectAs(t, s.ClientURL(), ClientAuth{User: "alice", PasswordFile: pw})
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("wrong password: want an authorization violation, got %v", err)
	}
	noSecret(t, err, subPassword)
}

func TestSubscriberCannotPublish(t *testing.T) {
	s := authServer(t)
	tickdPW := writeFile(t, "tickd-pw", tickdPassword)
	subPW := writeFile(t, "alice-pw", subPassword)
	pub, _, err := connectAs(t, s.ClientURL(), ClientAuth{User: "tickd", PasswordFile: tickdPW})
	if err != nil {
		t.Fatal(err)
	}
	sub, subErrs, err := connectAs(t, s.ClientURL(), ClientAuth{User: "alice", PasswordFile: subPW})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *nats.Msg, 4)
	if _, err := sub.ChanSubscribe("tickd.>", ch); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}

	// The tickd user publishes, the subscriber reads.
	if err := pub.Publish("tickd.signal.AAPL", []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if string(m.Data) != "ok" {
			t.Fatalf("got %q", m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber got nothing from tickd")
	}

	// The subscriber's own publish is refused and never delivered.
	if err := sub.Publish("tickd.signal.AAPL", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	_ = sub.Flush()
	subErrs.wait(t, "Permissions Violation for Publish")
	select {
	case m := <-ch:
		t.Fatalf("forged message delivered: %q", m.Data)
	case <-time.After(100 * time.Millisecond):
	}

	// Subscribing outside the prefix is refused too.
	if _, err := sub.SubscribeSync("secret.>"); err != nil {
		t.Fatal(err)
	}
	_ = sub.Flush()
	subErrs.wait(t, "Permissions Violation for Subscription")
}

func TestInProcessUserOnlyInProcess(t *testing.T) {
	s := authServer(t)
	ip := connect(t, s) // authenticates as the internal user
	if err := ip.Publish("tickd.x", nil); err != nil {
		t.Fatal(err)
	}
	if err := ip.Flush(); err != nil {
		t.Fatal(err)
	}
	// Its credentials are useless over TCP.
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(inProcessUser, s.inProcPassword), nats.Timeout(2*time.Second))
	if err == nil {
		nc.Close()
		t.Fatal("in-process user accepted over TCP")
	}
}

func TestUserPasswordFromEnv(t *testing.T) {
	s := authServer(t)
	env := map[string]string{EnvNATSPassword: subPassword}
	_, _, err := connectAs(t, s.ClientURL(), ClientAuth{User: "alice", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNKeyUser(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	s := startServer(t, ServerOptions{Port: RandomPort, Users: []User{
		{Name: "nk", NKey: pub, Permissions: mustPerms(t, RoleSubscriber)}}})
	_, _, err = connectAs(t, s.ClientURL(), ClientAuth{NKeySeedFile: writeFile(t, "user.nk", string(seed))})
	if err != nil {
		t.Fatal(err)
	}
	// Another key is refused.
	other, _ := nkeys.CreateUser()
	oseed, _ := other.Seed()
	_, _, err = connectAs(t, s.ClientURL(), ClientAuth{NKeySeedFile: writeFile(t, "other.nk", string(oseed))})
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown nkey: want an authorization violation, got %v", err)
	}
	noSecret(t, err, string(oseed))
}

// rawServer starts a nats-server with opts for auth modes the embedded
// server does not offer (token, operator JWTs), as an external server would.
func rawServer(t *testing.T, opts *server.Options, setup func(*server.Server)) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", -1, true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(ns)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	return ns.ClientURL()
}

func TestToken(t *testing.T) {
	url := rawServer(t, &server.Options{Authorization: testToken}, nil)
	if _, _, err := connectAs(t, url, ClientAuth{TokenFile: writeFile(t, "tok", testToken+"\n")}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvNATSToken: testToken}
	if _, _, err := connectAs(t, url, ClientAuth{Getenv: func(k string) string { return env[k] }}); err != nil {
		t.Fatal(err)
	}
	_, _, err := connectAs(t, url, ClientAuth{TokenFile: writeFile(t, "bad", "x"+testToken)})
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("wrong token: want an authorization violation, got %v", err)
	}
	noSecret(t, err, testToken)
}

func TestCredsFile(t *testing.T) {
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	useed, _ := ukp.Seed()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	if err != nil {
		t.Fatal(err)
	}
	res := &server.MemAccResolver{}
	url := rawServer(t, &server.Options{TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: res},
		func(*server.Server) {
			if err := res.Store(apub, ajwt); err != nil {
				t.Fatal(err)
			}
		})
	nc, _, err := connectAs(t, url, ClientAuth{CredsFile: writeFile(t, "user.creds", string(creds))})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("tickd.x", nil); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// Without credentials the operator-mode server refuses.
	if nc, err := nats.Connect(url, nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
}

func TestClientAuthErrors(t *testing.T) {
	empty := writeFile(t, "empty", "\n")
	pw := writeFile(t, "pw", subPassword)
	nope := filepath.Join(t.TempDir(), "missing-secret")
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		auth ClientAuth
		want string
	}{
		{ClientAuth{User: "a", PasswordFile: nope}, "missing-secret"},
		{ClientAuth{User: "a", PasswordFile: empty}, "is empty"},
		{ClientAuth{User: "a"}, EnvNATSPassword},
		{ClientAuth{PasswordFile: pw}, "without a user"},
		{ClientAuth{User: "a", PasswordFile: pw, TokenFile: pw}, "choose one of user, token"},
		{ClientAuth{TokenFile: nope}, "missing-secret"},
		{ClientAuth{NKeySeedFile: pw}, "nkey seed file " + pw},
		{ClientAuth{CredsFile: nope}, "creds file"},
		{ClientAuth{CAFile: nope}, "CA file"},
		{ClientAuth{CertFile: pw}, "both a certificate and a key"},
	} {
		tc.auth.Getenv = noEnv
		_, err := tc.auth.Options()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want an error containing %q, got %v", tc.auth, tc.want, err)
		}
		noSecret(t, err, subPassword)
	}
}

func TestUserValidation(t *testing.T) {
	for _, tc := range []struct {
		users []User
		want  string
	}{
		{[]User{{Name: "a"}}, "no password or nkey"},
		{[]User{{Password: "p"}}, "no name"},
		{[]User{{Name: "a", Password: "p", NKey: "UX"}}, "both password and nkey"},
		{[]User{{Name: "a", NKey: "SUX"}}, "user public key"},
		{[]User{{Name: "a", Password: "p"}, {Name: "a", Password: "q"}}, "listed twice"},
		{[]User{{Name: inProcessUser, Password: "p"}}, "reserved"},
	} {
		_, err := StartServer(ServerOptions{DontListen: true, Users: tc.users})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want %q, got %v", tc.users, tc.want, err)
		}
	}
	if _, err := ParseRole("admin"); err == nil {
		t.Error("ParseRole accepted admin")
	}
	if r, err := ParseRole(" Subscriber"); err != nil || r != RoleSubscriber {
		t.Errorf("ParseRole: %v %v", r, err)
	}
	p, _ := DefaultPermissions(RoleSubscriber, "mkt")
	if p.Subscribe[0] != "mkt.>" || p.Publish[0] != "_INBOX.>" {
		t.Errorf("subscriber permissions %+v", p)
	}
	for _, subj := range p.Publish[1:] { // JetStream's read side only
		if !strings.HasPrefix(subj, "$JS.") || subj == "$JS.API.>" || strings.HasPrefix(subj, "$JS.API.STREAM.") && !strings.HasPrefix(subj, "$JS.API.STREAM.INFO.") && subj != "$JS.API.STREAM.NAMES" && subj != "$JS.API.STREAM.LIST" {
			t.Errorf("subscriber may publish on %q", subj)
		}
	}
}
