package bus

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Environment variables ClientAuth reads a secret from when no file is given.
// Secrets never come from argv: a command line is visible to every user of
// the host (ps, /proc/PID/cmdline).
const (
	EnvNATSPassword = "TICKD_NATS_PASSWORD"
	EnvNATSToken    = "TICKD_NATS_TOKEN"
)

// ClientAuth is how a client authenticates to a NATS server and secures the
// connection. At most one of User (with a password), Token, NKeySeedFile and
// CredsFile is used. Secrets are read from files or the environment when
// Options is called; errors name the file or variable, never the secret.
type ClientAuth struct {
	// User with its password from PasswordFile, else from TICKD_NATS_PASSWORD.
	User         string
	PasswordFile string
	// TokenFile holds a token; without it TICKD_NATS_TOKEN is used if set.
	TokenFile string
	// NKeySeedFile holds a user nkey seed (SU...): the client signs the
	// server's nonce, the seed never leaves the process.
	NKeySeedFile string
	// CredsFile is a NATS .creds file (user JWT and nkey seed).
	CredsFile string

	// CAFile verifies the server's certificate (default: the system roots
	// once TLS is on). CertFile and KeyFile are a client certificate. Any of
	// them turns TLS on.
	CAFile, CertFile, KeyFile string

	// Getenv reads the environment; nil means os.Getenv (tests inject one).
	Getenv func(string) string
}

// TLS reports whether the client connects with TLS.
func (a *ClientAuth) TLS() bool { return a.CAFile != "" || a.CertFile != "" || a.KeyFile != "" }

// Options returns the nats.go options that carry the credentials and TLS
// settings, reading every secret now so that a missing or empty file is an
// error before any connection is attempted.
func (a *ClientAuth) Options() ([]nats.Option, error) {
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var opts []nats.Option
	var methods []string
	if a.User != "" {
		methods = append(methods, "user")
		pw, err := readSecret(a.PasswordFile, EnvNATSPassword, getenv)
		if err != nil {
			return nil, err
		}
		if pw == "" {
			return nil, fmt.Errorf("bus: nats user %q: no password (give a password file or %s)", a.User, EnvNATSPassword)
		}
		opts = append(opts, nats.UserInfo(a.User, pw))
	} else if a.PasswordFile != "" {
		return nil, errors.New("bus: nats password file given without a user")
	}
	tok, err := readSecret(a.TokenFile, EnvNATSToken, getenv)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		methods = append(methods, "token")
		opts = append(opts, nats.Token(tok))
	}
	if a.NKeySeedFile != "" {
		methods = append(methods, "nkey")
		o, err := nats.NkeyOptionFromSeed(a.NKeySeedFile)
		if err != nil {
			// nats.go's message is about the file's contents, not the seed.
			return nil, fmt.Errorf("bus: nats nkey seed file %s: %w", a.NKeySeedFile, err)
		}
		opts = append(opts, o)
	}
	if a.CredsFile != "" {
		methods = append(methods, "creds")
		// nats.go reads the file on every (re)connect; check it now.
		if err := checkReadable(a.CredsFile, "creds file"); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if len(methods) > 1 {
		return nil, fmt.Errorf("bus: nats authentication: choose one of %s", strings.Join(methods, ", "))
	}
	if a.CAFile != "" {
		if err := checkReadable(a.CAFile, "CA file"); err != nil {
			return nil, err
		}
		opts = append(opts, nats.RootCAs(a.CAFile))
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		return nil, errors.New("bus: nats client certificate needs both a certificate and a key file")
	}
	if a.CertFile != "" {
		for _, f := range []string{a.CertFile, a.KeyFile} {
			if err := checkReadable(f, "certificate file"); err != nil {
				return nil, err
			}
		}
		opts = append(opts, nats.ClientCert(a.CertFile, a.KeyFile))
	}
	if a.TLS() {
		opts = append(opts, nats.Secure())
	}
	return opts, nil
}

// readSecret returns the trimmed contents of file, else the variable env.
// A named file that is missing or empty is an error naming the file.
func readSecret(file, env string, getenv func(string) string) (string, error) {
	if file == "" {
		return strings.TrimSpace(getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("bus: secret file: %w", err) // *PathError names the file only
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("bus: secret file %s is empty", file)
	}
	return s, nil
}

func checkReadable(file, what string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("bus: nats %s: %w", what, err)
	}
	return f.Close()
}

// ReadSecretFile returns the trimmed contents of a secret file, for callers
// building User passwords; errors name the file, never its contents.
func ReadSecretFile(file string) (string, error) {
	return readSecret(file, "", func(string) string { return "" })
}

// Role is what a configured user may do on the bus.
type Role string

// Roles of DefaultPermissions.
const (
	// RoleTickd publishes the feed: <prefix>.> and reply inboxes.
	RoleTickd Role = "tickd"
	// RoleSubscriber only reads: it subscribes to <prefix>.> and its own
	// inboxes and may publish nothing but replies to _INBOX.>.
	RoleSubscriber Role = "subscriber"
)

// ParseRole parses "tickd" or "subscriber".
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleTickd, RoleSubscriber:
		return r, nil
	}
	return "", fmt.Errorf("bus: unknown role %q (want tickd or subscriber)", s)
}

// Permissions are the subjects a user may publish and subscribe to (NATS
// wildcards allowed). An empty list allows nothing.
type Permissions struct {
	Publish, Subscribe []string
}

// DefaultPermissions returns the permissions of role under prefix:
//
//	tickd:      publish <prefix>.>, _INBOX.> and the JetStream API;   subscribe _INBOX.>
//	subscriber: publish _INBOX.>, and JetStream's read-side API;      subscribe <prefix>.> and _INBOX.>
//
// so only tickd can put data on the bus, and subscribers can still answer
// requests and receive replies. With JetStream on, tickd creates its stream
// and publishes into it; a subscriber may look streams up, create, read and
// delete consumers (tickd sub -js-since, tickd sink -durable) and ack what
// it consumed (jsReadAPI), but not create, change, purge or delete a stream
// or a message in it, nor store anything: a stream only captures tickd's
// subjects, which subscribers cannot publish on.
func DefaultPermissions(role Role, prefix string) (Permissions, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	all := prefix + ".>"
	switch role {
	case RoleTickd:
		return Permissions{Publish: []string{all, "_INBOX.>", "$JS.API.>"}, Subscribe: []string{"_INBOX.>"}}, nil
	case RoleSubscriber:
		return Permissions{Publish: append([]string{"_INBOX.>"}, jsReadAPI...), Subscribe: []string{all, "_INBOX.>"}}, nil
	}
	return Permissions{}, fmt.Errorf("bus: unknown role %q", role)
}

// jsReadAPI are the JetStream API subjects a reader needs: account and
// stream information, its consumers, and acknowledgements.
var jsReadAPI = []string{
	"$JS.API.INFO",
	"$JS.API.STREAM.NAMES",
	"$JS.API.STREAM.LIST",
	"$JS.API.STREAM.INFO.>",
	"$JS.API.CONSUMER.>",
	"$JS.ACK.>",
	"$JS.FC.>",
}

// User is a user of the embedded server: a name with a password, or an
// nkey public key (U...) whose holder proves itself by signing a nonce.
type User struct {
	Name        string // required with Password; informational with NKey
	Password    string
	NKey        string
	Permissions Permissions
}

// inProcessUser is the name of the internal user tickd's own in-process
// connection authenticates as when users are configured.
const inProcessUser = "tickd-inprocess"

func (p Permissions) server() *server.Permissions {
	list := func(l []string) *server.SubjectPermission {
		if len(l) == 0 {
			return &server.SubjectPermission{Deny: []string{">"}}
		}
		return &server.SubjectPermission{Allow: append([]string(nil), l...)}
	}
	return &server.Permissions{Publish: list(p.Publish), Subscribe: list(p.Subscribe)}
}

// validateUsers checks users before they reach the server.
func validateUsers(users []User) error {
	var errs []error
	seen := map[string]bool{}
	for i, u := range users {
		switch {
		case u.NKey != "" && u.Password != "":
			errs = append(errs, fmt.Errorf("bus: user %d (%s): both password and nkey", i, u.Name))
		case u.NKey != "":
			if !strings.HasPrefix(u.NKey, "U") {
				errs = append(errs, fmt.Errorf("bus: user %d (%s): nkey must be a user public key (U...)", i, u.Name))
			}
		case u.Name == "":
			errs = append(errs, fmt.Errorf("bus: user %d: no name", i))
		case u.Password == "":
			errs = append(errs, fmt.Errorf("bus: user %s: no password or nkey", u.Name))
		case u.Name == inProcessUser:
			errs = append(errs, fmt.Errorf("bus: user name %s is reserved", u.Name))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("bus: user %s listed twice", u.Name))
		}
		seen[u.Name] = true
	}
	return errors.Join(errs...)
}

// applyUsers configures nopts with users plus an internal in-process-only
// user with a random password, which ConnectInProcess uses: tickd's own
// connection needs no secret from the configuration, and no TCP client can
// log in as it. It returns that password.
func applyUsers(nopts *server.Options, users []User) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("bus: in-process password: %w", err)
	}
	pw := hex.EncodeToString(raw[:])
	nopts.Users = append(nopts.Users, &server.User{Username: inProcessUser, Password: pw,
		AllowedConnectionTypes: map[string]struct{}{jwt.ConnectionTypeInProcess: {}}})
	for _, u := range users {
		if u.NKey != "" {
			nopts.Nkeys = append(nopts.Nkeys, &server.NkeyUser{Nkey: u.NKey, Permissions: u.Permissions.server()})
			continue
		}
		nopts.Users = append(nopts.Users, &server.User{Username: u.Name, Password: u.Password, Permissions: u.Permissions.server()})
	}
	return pw, nil
}

// ServerTLS is the embedded server's TLS: its certificate and key, and a CA
// that, when set, client certificates must be signed by (clients without
// one are refused).
type ServerTLS struct {
	CertFile, KeyFile, CAFile string
}

func (t ServerTLS) enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" }

func (t ServerTLS) apply(nopts *server.Options) error {
	if t.CertFile == "" || t.KeyFile == "" {
		return errors.New("bus: server TLS needs a certificate and a key file")
	}
	if t.CAFile != "" {
		// nats-server's own message ("failed to parse root ca
		// certificate") does not say which file.
		if err := checkCAFile(t.CAFile); err != nil {
			return err
		}
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: t.CertFile, KeyFile: t.KeyFile,
		CaFile: t.CAFile, Verify: t.CAFile != ""})
	if err != nil {
		return fmt.Errorf("bus: server TLS: %w", err)
	}
	nopts.TLS = true
	nopts.TLSConfig = cfg
	nopts.TLSVerify = t.CAFile != ""
	nopts.TLSTimeout = 2 // seconds, nats-server's default
	return nil
}

// checkCAFile reports a CA file that cannot be read or holds no PEM
// certificate, naming it.
func checkCAFile(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("bus: server TLS CA: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Errorf("bus: server TLS CA %s: no PEM certificate", file)
	}
	return nil
}
