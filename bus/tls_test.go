package bus

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// testPKI is a throwaway CA with a server certificate (127.0.0.1,
// localhost) and a client certificate, written as PEM files to a temp dir.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

func newTestPKI(tb testing.TB) testPKI {
	tb.Helper()
	dir := tb.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tickd test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (certPath, keyPath string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			tb.Fatal(err)
		}
		return write(cn+".pem", "CERTIFICATE", der), write(cn+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p := testPKI{CA: write("ca.pem", "CERTIFICATE", caDER)}
	p.ServerCert, p.ServerKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// tlsServer starts an embedded server over TCP with TLS from pki, requiring
// client certificates.
func tlsServer(t *testing.T, pki testPKI) *Server {
	t.Helper()
	return startServer(t, ServerOptions{Port: RandomPort,
		TLS: ServerTLS{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA}})
}

func TestTLSClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
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
	pki, other := newTestPKI(t), newTestPKI(t)
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
	pki := newTestPKI(t)
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
}
