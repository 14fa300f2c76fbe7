package bus

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestServerTCPAndInProcess(t *testing.T) {
	s := startServer(t, ServerOptions{Port: RandomPort})
	url := s.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":4222") {
		t.Fatalf("ClientURL = %q, want nats://127.0.0.1:<random port>", url)
	}
	if a, ok := s.Addr().(*net.TCPAddr); !ok || a.Port == 0 || !a.IP.IsLoopback() {
		t.Fatalf("Addr = %v", s.Addr())
	}

	tcp, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("TCP connect to %s: %v", url, err)
	}
	defer tcp.Close()
	inproc := connect(t, s)

	// A message crosses from the in-process client to the TCP one.
	sub, err := tcp.SubscribeSync("x.y")
	if err != nil {
		t.Fatal(err)
	}
	if err := tcp.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := inproc.Publish("x.y", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "hello" {
		t.Fatalf("got %q", m.Data)
	}
	if got := tcp.ConnectedUrl(); got != url {
		t.Errorf("ConnectedUrl = %q, want %q", got, url)
	}
}

func TestServerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	s, err := StartServer(ServerOptions{Port: port, ReadyTimeout: time.Minute})
	if err == nil {
		s.Shutdown()
		t.Fatal("StartServer on a taken port succeeded")
	}
	hp := "127.0.0.1:" + strconv.Itoa(port)
	if msg := err.Error(); !strings.HasPrefix(msg, "bus: ") || !strings.Contains(msg, hp) ||
		!strings.Contains(msg, "address already in use") {
		t.Fatalf("error %q should name %s and say the address is in use", msg, hp)
	}
}

func TestServerDontListen(t *testing.T) {
	s := startServer(t, ServerOptions{DontListen: true})
	if s.ClientURL() != "" || s.Addr() != nil {
		t.Fatalf("ClientURL %q, Addr %v; want none", s.ClientURL(), s.Addr())
	}
	nc := connect(t, s)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() {
		t.Fatal("in-process client not connected")
	}
}

func TestServerShutdown(t *testing.T) {
	s, err := StartServer(ServerOptions{Port: RandomPort})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s.ConnectInProcess(nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	addr := s.Addr().String()
	s.Shutdown()
	s.Shutdown() // idempotent
	if s.NATS().Running() {
		t.Fatal("server still running after Shutdown")
	}
	<-closed // the client saw the server go
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections", addr)
	}
	if _, err := s.ConnectInProcess(); err == nil {
		t.Fatal("ConnectInProcess after Shutdown succeeded")
	}
}

func TestServerOptions(t *testing.T) {
	var o ServerOptions
	o.applyDefaults()
	if o.Host != "127.0.0.1" || o.Port != 4222 || o.ReadyTimeout != DefaultReadyTimeout {
		t.Fatalf("defaults: %+v", o)
	}
	for _, bad := range []ServerOptions{{Port: 65536}, {Port: -2}, {ReadyTimeout: -1}} {
		if _, err := StartServer(bad); err == nil || !strings.HasPrefix(err.Error(), "bus: ") {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
	if _, err := StartServer(ServerOptions{Host: "256.1.1.1", Port: RandomPort}); err == nil {
		t.Error("bad host accepted")
	} else if errors.Is(err, nil) || !strings.HasPrefix(err.Error(), "bus: ") {
		t.Errorf("bad host: %v", err)
	}
}
