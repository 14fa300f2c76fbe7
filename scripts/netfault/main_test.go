package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs main when the test binary is started as netfault by the
// tests below (NETFAULT_MAIN=1), so they signal a real process.
func TestMain(m *testing.M) {
	if os.Getenv("NETFAULT_MAIN") == "1" {
		os.Args = append([]string{"netfault"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUDPInterruptReportsTotals: interrupted, the UDP proxy prints the
// counts of everything it forwarded, not only those of its last periodic
// report (every 2 s of traffic, so none in a short run).
func TestUDPInterruptReportsTotals(t *testing.T) {
	dst, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	listen := freeUDPAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "udp", "-listen", listen, "-to", dst.LocalAddr().String())
	cmd.Env = append(os.Environ(), "NETFAULT_MAIN=1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	src, err := net.Dial("udp4", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	forwarded := 0
	// Until the proxy listens, a datagram is lost before it and not
	// counted: one is sent at a time until one comes through.
	for deadline := time.Now().Add(10 * time.Second); forwarded == 0 && time.Now().Before(deadline); {
		fmt.Fprint(src, "hello")
		forwarded += receive(dst, 50*time.Millisecond)
	}
	if forwarded == 0 {
		t.Fatalf("nothing forwarded in 10 s; stderr: %s", stderr.String())
	}
	for receive(dst, 200*time.Millisecond) == 1 { // a late one of those tries
		forwarded++
	}
	for i := range 5 {
		fmt.Fprintf(src, "datagram %d", i)
		if receive(dst, 5*time.Second) == 0 {
			t.Fatalf("datagram %d not forwarded; stderr: %s", i, stderr.String())
		}
		forwarded++
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interrupted: %v; stderr: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	want := fmt.Sprintf(": %d in, 0 dropped,", forwarded)
	if last := lines[len(lines)-1]; !strings.Contains(last, want) {
		t.Fatalf("last line %q does not report %q; stderr: %s", last, want, stderr.String())
	}
}

// receive reads one datagram from c: 1 if one came within wait, else 0.
func receive(c *net.UDPConn, wait time.Duration) int {
	c.SetReadDeadline(time.Now().Add(wait))
	if _, err := c.Read(make([]byte, 64)); err != nil {
		return 0
	}
	return 1
}

// freeUDPAddr is a loopback UDP address nothing listens on now.
func freeUDPAddr(t *testing.T) string {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// TestAddressesRequired: a proxy without -listen or -to is refused with
// exit 2 instead of running without a target, or on a port nobody knows.
func TestAddressesRequired(t *testing.T) {
	for _, args := range [][]string{
		{"udp", "-listen", "127.0.0.1:0"},
		{"udp", "-to", "127.0.0.1:9"},
		{"tcp", "-listen", "127.0.0.1:0"},
		{"tcp", "-to", "127.0.0.1:9"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		cmd.Env = append(os.Environ(), "NETFAULT_MAIN=1")
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "-listen and -to are both required") {
			t.Errorf("netfault %v: %v, output:\n%s", args, err, out)
		}
	}
}
