package soupbin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "Pa55word!"

func TestCredentialsNeverShowPassword(t *testing.T) {
	c := Credentials{Username: "alice", Password: secret, Session: "S1"}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%+v", struct{ C Credentials }{c})} {
		if strings.Contains(s, secret) {
			t.Fatalf("password shown: %s", s)
		}
		if !strings.Contains(s, "alice") {
			t.Fatalf("username missing: %s", s)
		}
	}
	// Errors about the password must not quote it either.
	for _, bad := range []Credentials{
		{Username: "alice", Password: secret + "toolong"},
		{Username: "alice", Password: "ab\x01" + secret[:3]},
		{Username: "alice", Password: " " + secret[:5]},
	} {
		err := bad.Validate()
		if err == nil || strings.Contains(err.Error(), bad.Password) || strings.Contains(err.Error(), strings.TrimSpace(bad.Password)) {
			t.Errorf("Validate(%v) = %v", bad, err)
		}
	}
	if _, err := NewClient(Options{Addr: "x:1", Credentials: Credentials{Username: "alice", Password: secret + "xx"}}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("NewClient error %v", err)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	t.Setenv("TSOUP_USERNAME", "bob")
	t.Setenv("TSOUP_PASSWORD", secret)
	t.Setenv("TSOUP_SESSION", "SESS")
	c, err := CredentialsFromEnv("TSOUP_")
	if err != nil || c != (Credentials{"bob", secret, "SESS"}) {
		t.Fatalf("got %v %v", c, err)
	}
	t.Setenv("TSOUP_PASSWORD", secret+"-too-long")
	if _, err := CredentialsFromEnv("TSOUP_"); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("long password: %v", err)
	}
	if _, err := CredentialsFromEnv("TNONE_"); err == nil || !strings.Contains(err.Error(), "TNONE_USERNAME") {
		t.Fatalf("missing: %v", err)
	}
}

func TestCredentialsFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("ok", "# feed login\nusername = bob\npassword="+secret+"\n\nsession=S2\n")
	c, err := CredentialsFromFile(p)
	if err != nil || c != (Credentials{"bob", secret, "S2"}) {
		t.Fatalf("got %v %v", c, err)
	}
	for name, body := range map[string]string{
		"noeq":    "username=bob\n" + secret + "\n",
		"long":    "username=bob\npassword=" + secret + "12345\n",
		"nouser":  "password=" + secret + "\n",
		"unknown": "username=bob\nfoo=" + secret + "\n",
	} {
		_, err := CredentialsFromFile(write(name, body))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
	if _, err := CredentialsFromFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}
