package bus

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/internal/testpki"
)

// tlsServer starts an embedded server over TCP with TLS from pki, requiring
// client certificates.
func tlsServer(t *testing.T, pki testpki.PKI) *Server {
	t.Helper()
	return startServer(t, ServerOptions{Port: RandomPort,
		TLS: ServerTLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA}})
}

func TestTLSClientCertificate(t *testing.T) {
	pki := testpki.New(t)
	s := tlsServer(t, pki)
	auth := ClientAuth{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	opts, err := auth.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("TLS with the right CA and a client certificate: %v", err)
	}
	defer nc.Close()
	if !nc.TLSRequired() {
		t.Error("connection is not TLS")
	}
	if err := nc.Publish("tickd.x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// The in-process connection needs no TLS.
	ip := connect(t, s)
	if err := ip.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestTLSWrongCA(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	s := tlsServer(t, pki)
	auth := ClientAuth{CAFile: other.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	opts, err := auth.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err == nil {
		nc.Close()
		t.Fatal("connected to a server whose certificate the CA did not sign")
	}
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("error does not name the certificate problem: %v", err)
	}
}

func TestTLSNoClientCertificateRefused(t *testing.T) {
	pki := testpki.New(t)
	s := tlsServer(t, pki)
	opts, err := (&ClientAuth{CAFile: pki.CA}).Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL(), append(opts, nats.Timeout(2*time.Second))...)
	if err == nil {
		nc.Close()
		t.Fatal("connected without a client certificate")
	}
	// A plain-text client is refused too.
	nc, err = nats.Connect(s.ClientURL(), nats.Timeout(2*time.Second))
	if err == nil {
		nc.Close()
		t.Fatal("connected without TLS")
	}
}

func TestServerTLSValidation(t *testing.T) {
	_, err := StartServer(ServerOptions{Port: RandomPort, TLS: ServerTLS{CertFile: "x.pem"}})
	if err == nil || !strings.Contains(err.Error(), "certificate and a key") {
		t.Fatalf("want a missing-key error, got %v", err)
	}
	_, err = StartServer(ServerOptions{Port: RandomPort, TLS: ServerTLS{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}})
	if err == nil || !strings.Contains(err.Error(), "bus: server TLS") {
		t.Fatalf("want a TLS load error, got %v", err)
	}
	// A CA file that holds no certificate: the error names it.
	pki := testpki.New(t)
	_, err = StartServer(ServerOptions{Port: RandomPort, TLS: ServerTLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.ServerKey}})
	if err == nil || !strings.Contains(err.Error(), pki.ServerKey) {
		t.Fatalf("want an error naming the CA file %s, got %v", pki.ServerKey, err)
	}
}
