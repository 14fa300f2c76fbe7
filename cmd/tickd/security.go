package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickd/tickd/bus"
	"github.com/tickd/tickd/feed"
)

// securityConfig is serve's authentication and TLS settings. Every secret
// is a file (or a TICKD_NATS_PASSWORD / TICKD_NATS_TOKEN variable), never a
// flag value: argv is readable by every user of the host.
type securityConfig struct {
	// Client side, for -nats-url.
	natsUser, natsPasswordFile, natsTokenFile, natsNKeyFile, natsCreds string
	natsCA, natsCert, natsKey                                          string

	// Embedded server.
	natsUsers                          string
	natsTLSCert, natsTLSKey, natsTLSCA string

	// Feed listener.
	feedTLSCert, feedTLSKey, feedTLSClientCA string

	// userPasswordFiles are the -nats-users file's password files, as
	// serverOptions resolved them.
	userPasswordFiles []string
}

func (c *securityConfig) register(fs *flag.FlagSet) {
	c.registerClient(fs)
	c.registerServers(fs)
}

// registerClient registers the -nats-url client flags alone, for commands
// that only connect (sink).
func (c *securityConfig) registerClient(fs *flag.FlagSet) {
	fs.StringVar(&c.natsUser, "nats-user", "", "user for -nats-url; its password from -nats-password-file or TICKD_NATS_PASSWORD")
	fs.StringVar(&c.natsPasswordFile, "nats-password-file", "", "file holding the -nats-user password")
	fs.StringVar(&c.natsTokenFile, "nats-token-file", "", "file holding a token for -nats-url (or TICKD_NATS_TOKEN)")
	fs.StringVar(&c.natsNKeyFile, "nats-nkey-file", "", "file holding a user nkey seed for -nats-url")
	fs.StringVar(&c.natsCreds, "nats-creds", "", "NATS .creds file (user JWT and seed) for -nats-url")
	fs.StringVar(&c.natsCA, "nats-ca", "", "CA file verifying the -nats-url server (turns TLS on)")
	fs.StringVar(&c.natsCert, "nats-cert", "", "client certificate file for -nats-url (with -nats-key)")
	fs.StringVar(&c.natsKey, "nats-key", "", "client certificate key file for -nats-url")
}

// registerServers registers the embedded NATS server's and the feed
// listener's flags.
func (c *securityConfig) registerServers(fs *flag.FlagSet) {
	fs.StringVar(&c.natsUsers, "nats-users", "", "YAML file of the embedded server's users (name, password_file or nkey, role tickd|subscriber); unauthenticated clients are then refused")
	fs.StringVar(&c.natsTLSCert, "nats-tls-cert", "", "embedded server's TLS certificate file")
	fs.StringVar(&c.natsTLSKey, "nats-tls-key", "", "embedded server's TLS key file")
	fs.StringVar(&c.natsTLSCA, "nats-tls-ca", "", "CA file the embedded server verifies client certificates with (required when set)")
	fs.StringVar(&c.feedTLSCert, "feed-tls-cert", "", "feed listener's TLS certificate file (turns TLS on)")
	fs.StringVar(&c.feedTLSKey, "feed-tls-key", "", "feed listener's TLS key file")
	fs.StringVar(&c.feedTLSClientCA, "feed-tls-client-ca", "", "CA file feed clients' certificates must be signed by (required when set)")
}

// clientAuth is the authentication to an external server (-nats-url).
func (c *securityConfig) clientAuth() bus.ClientAuth {
	return bus.ClientAuth{User: c.natsUser, PasswordFile: c.natsPasswordFile, TokenFile: c.natsTokenFile,
		NKeySeedFile: c.natsNKeyFile, CredsFile: c.natsCreds, CAFile: c.natsCA, CertFile: c.natsCert, KeyFile: c.natsKey}
}

// checkMode refuses settings that do not apply to the chosen NATS mode, so
// a client credential is never silently ignored with the embedded server
// (or server users with an external one).
func (c *securityConfig) checkMode(external bool) error {
	client := c.natsUser != "" || c.natsPasswordFile != "" || c.natsTokenFile != "" || c.natsNKeyFile != "" ||
		c.natsCreds != "" || c.natsCA != "" || c.natsCert != "" || c.natsKey != ""
	server := c.natsUsers != "" || c.natsTLSCert != "" || c.natsTLSKey != "" || c.natsTLSCA != ""
	switch {
	case external && server:
		return errors.New("nats-users and nats-tls-*: configure the embedded server; they do not apply with -nats-url")
	case !external && client:
		return errors.New("nats-user, -nats-*-file, -nats-creds, -nats-ca, -nats-cert, -nats-key: authenticate to -nats-url; the embedded server's users come from -nats-users")
	}
	return nil
}

// serverOptions adds the embedded server's users and TLS to opts; users get
// bus.DefaultPermissions of their role under prefix.
func (c *securityConfig) serverOptions(opts *bus.ServerOptions, prefix string) error {
	if c.natsUsers != "" {
		users, pwFiles, err := loadUsers(c.natsUsers, prefix)
		if err != nil {
			return err
		}
		opts.Users, c.userPasswordFiles = users, pwFiles
	}
	opts.TLS = bus.ServerTLS{CertFile: c.natsTLSCert, KeyFile: c.natsTLSKey, CAFile: c.natsTLSCA}
	return nil
}

func (c *securityConfig) feedTLSSet() bool {
	return c.feedTLSCert != "" || c.feedTLSKey != "" || c.feedTLSClientCA != ""
}

// checkFeedTLS refuses the feed listener's TLS settings when serve runs no
// listener, so that they are never silently ignored.
func (c *securityConfig) checkFeedTLS(listens bool) error {
	if c.feedTLSSet() && !listens {
		return errors.New(`feed-tls-cert, -feed-tls-key, -feed-tls-client-ca: secure the feed listener, and there is none (-feed-listen "", or -feed-format itch, whose sessions are dialled)`)
	}
	return nil
}

// feedTLS is the feed listener's TLS configuration, or nil for plain TCP.
func (c *securityConfig) feedTLS() (*tls.Config, error) {
	if !c.feedTLSSet() {
		return nil, nil
	}
	return feed.ServerTLSConfig(c.feedTLSCert, c.feedTLSKey, c.feedTLSClientCA)
}

// usersFile is the -nats-users file:
//
//	users:
//	  - name: tickd
//	    password_file: tickd.pw     # relative to the users file
//	    role: tickd
//	  - name: alice
//	    nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4
//	    role: subscriber
type usersFile struct {
	Users []struct {
		Name         string `yaml:"name"`
		PasswordFile string `yaml:"password_file"`
		NKey         string `yaml:"nkey"`
		Role         string `yaml:"role"`
	} `yaml:"users"`
}

// loadUsers reads a users file and returns its users and the password
// files it read them from; errors name files and users, never a password.
func loadUsers(path, prefix string) (users []bus.User, pwFiles []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nats-users: %w", err)
	}
	var uf usersFile
	if err := decodeFilledDocument("nats-users", path, data, &uf); err != nil {
		return nil, nil, err
	}
	if len(uf.Users) == 0 {
		return nil, nil, fmt.Errorf("nats-users: %s: no users", path)
	}
	users = make([]bus.User, 0, len(uf.Users))
	for i, u := range uf.Users {
		role, err := bus.ParseRole(u.Role)
		if err != nil {
			return nil, nil, fmt.Errorf("nats-users: %s: users[%d] (%s): %w", path, i, u.Name, err)
		}
		perms, err := bus.DefaultPermissions(role, prefix)
		if err != nil {
			return nil, nil, err
		}
		bu := bus.User{Name: u.Name, NKey: u.NKey, Permissions: perms}
		if u.PasswordFile != "" {
			pf := u.PasswordFile
			if !filepath.IsAbs(pf) {
				pf = filepath.Join(filepath.Dir(path), pf)
			}
			if bu.Password, err = bus.ReadSecretFile(pf); err != nil {
				return nil, nil, fmt.Errorf("nats-users: %s: users[%d] (%s): %w", path, i, u.Name, err)
			}
			pwFiles = append(pwFiles, pf)
		}
		users = append(users, bu)
	}
	return users, pwFiles, nil
}

// redactURL hides a password in a NATS URL (nats://user:pass@host), or in
// each of a comma-separated list, before it reaches a log line or an error.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)" // its text may hold a secret
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		// nats://TOKEN@host: the user part alone is the token.
		u.User = url.User("xxxxx")
		return u.String()
	}
	return s
}

// certSoon is how close to its expiry a certificate is warned about.
const certSoon = 7 * 24 * time.Hour

// warnCertValidity logs a warning for each configured certificate (serve's
// own, the feed listener's, the client one for -nats-url) that is expired,
// not yet valid or expires within certSoon: its peers refuse it, and say so
// only on their side.
func (c *securityConfig) warnCertValidity(log zerolog.Logger, now time.Time) {
	for _, f := range []struct{ flag, file string }{
		{"nats-tls-cert", c.natsTLSCert}, {"feed-tls-cert", c.feedTLSCert}, {"nats-cert", c.natsCert},
	} {
		cert := firstCertificate(f.file)
		if cert == nil {
			continue
		}
		var msg string
		switch {
		case now.After(cert.NotAfter):
			msg = "TLS certificate expired: peers will refuse it"
		case now.Before(cert.NotBefore):
			msg = "TLS certificate not valid yet: peers will refuse it"
		case cert.NotAfter.Sub(now) < certSoon:
			msg = "TLS certificate expires soon"
		default:
			continue
		}
		log.Warn().Str("flag", f.flag).Str("file", f.file).Time("not_before", cert.NotBefore).
			Time("not_after", cert.NotAfter).Msg(msg)
	}
}

// firstCertificate is the first certificate of a PEM file, or nil (no
// file, or none in it: loading it reports that).
func firstCertificate(file string) *x509.Certificate {
	if file == "" {
		return nil
	}
	rest, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	for {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return nil
		}
		if blk.Type == "CERTIFICATE" {
			cert, _ := x509.ParseCertificate(blk.Bytes)
			return cert
		}
	}
}

// warnOpen logs msg when addr (a listener's, nil for none) is not a
// loopback address: it takes connections from other hosts, and nothing
// checks who they are.
func warnOpen(log zerolog.Logger, addr net.Addr, msg string) {
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		log.Warn().Str("addr", ta.String()).Msg(msg)
	}
}

// warnReadableSecrets logs a warning for each secret file (passwords,
// tokens, seeds, creds, private keys; more: any others, such as SoupBinTCP
// creds files) that users other than its owner may read: on a shared host
// the secret then is not one.
func (c *securityConfig) warnReadableSecrets(log zerolog.Logger, more ...string) {
	files := append([]string{c.natsPasswordFile, c.natsTokenFile, c.natsNKeyFile, c.natsCreds, c.natsKey,
		c.natsTLSKey, c.feedTLSKey}, c.userPasswordFiles...)
	for _, f := range append(files, more...) {
		if f == "" {
			continue
		}
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn().Str("file", f).Str("mode", fi.Mode().Perm().String()).
				Msg("secret file readable by other users: chmod 600 it")
		}
	}
}
