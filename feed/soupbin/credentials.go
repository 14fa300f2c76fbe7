package soupbin

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Credentials identify a SoupBinTCP login. Fill them from a file or the
// environment (CredentialsFromFile, CredentialsFromEnv), never from argv,
// where every user of the machine can read them. String and GoString redact
// the password, and no error of this package ever contains it.
type Credentials struct {
	Username string // up to 6 ASCII characters
	Password string // up to 10 ASCII characters
	Session  string // up to 10; blank asks for the current session
}

// String shows the username and session; the password is redacted.
func (c Credentials) String() string {
	pw := "<empty>"
	if c.Password != "" {
		pw = "<redacted>"
	}
	return fmt.Sprintf("soupbin.Credentials{Username:%q Password:%s Session:%q}", c.Username, pw, c.Session)
}

// GoString redacts the password from %#v as String does for %v and %+v.
func (c Credentials) GoString() string { return c.String() }

// Validate checks each field fits its wire width and is printable ASCII
// without spaces at the ends (they would be trimmed away on the wire).
func (c Credentials) Validate() error {
	for _, f := range []struct {
		name, v string
		w       int
		secret  bool
	}{{"username", c.Username, usernameLen, false}, {"password", c.Password, passwordLen, true}, {"session", c.Session, sessionLen, false}} {
		if len(f.v) > f.w {
			return fmt.Errorf("soupbin: %s is %d bytes, at most %d fit: %w", f.name, len(f.v), f.w, ErrFieldTooLong)
		}
		if strings.TrimSpace(f.v) != f.v {
			return fmt.Errorf("soupbin: %s has leading or trailing spaces", f.name)
		}
		for i := 0; i < len(f.v); i++ {
			if c := f.v[i]; c < 0x20 || c > 0x7e {
				if f.secret {
					return fmt.Errorf("soupbin: %s has a non-printable or non-ASCII byte at position %d", f.name, i)
				}
				return fmt.Errorf("soupbin: %s %q has a non-printable or non-ASCII byte at position %d", f.name, f.v, i)
			}
		}
	}
	return nil
}

// CredentialsFromEnv reads <prefix>USERNAME, <prefix>PASSWORD and
// <prefix>SESSION (e.g. prefix "TICKD_SOUP_"). USERNAME is required.
func CredentialsFromEnv(prefix string) (Credentials, error) {
	c := Credentials{
		Username: os.Getenv(prefix + "USERNAME"),
		Password: os.Getenv(prefix + "PASSWORD"),
		Session:  os.Getenv(prefix + "SESSION"),
	}
	if c.Username == "" {
		return Credentials{}, fmt.Errorf("soupbin: environment variable %sUSERNAME is not set", prefix)
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, fmt.Errorf("%w (from environment %s*)", err, prefix)
	}
	return c, nil
}

// CredentialsFromFile reads key=value lines (username, password, session;
// blank lines and lines starting with # are skipped). Keep the file mode 0600.
func CredentialsFromFile(path string) (Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("soupbin: credentials: %w", err)
	}
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			// Do not quote the line: it may be the password.
			return Credentials{}, fmt.Errorf("soupbin: credentials %s line %d: want key=value", path, n)
		}
		switch v = strings.TrimSpace(v); strings.ToLower(strings.TrimSpace(k)) {
		case "username":
			c.Username = v
		case "password":
			c.Password = v
		case "session":
			c.Session = v
		default:
			return Credentials{}, fmt.Errorf("soupbin: credentials %s line %d: unknown key %q", path, n, strings.TrimSpace(k))
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, fmt.Errorf("soupbin: credentials %s: %w", path, err)
	}
	if c.Username == "" {
		return Credentials{}, fmt.Errorf("soupbin: credentials %s: no username", path)
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}
