package examples

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickd/tickd/internal/jsexample"
)

// TestGoSubscriber builds examples/go-subscriber and runs it against a live
// publisher: it must print the script's BBOs, signal and bar with every
// price exactly as published.
func TestGoSubscriber(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "go-subscriber")
	if out, err := exec.Command(gobin, "build", "-o", bin, "./go-subscriber").CombinedOutput(); err != nil {
		t.Fatalf("go build ./go-subscriber: %v\n%s", err, out)
	}
	l := startLive(t)
	lines := runSubscriber(t, l, exec.Command(bin, "-nats-url", l.url, "-bbo", "-count", "4"))
	// Each subscription delivers on its own goroutine, so kinds may
	// interleave differently from the publishing order.
	want := slices.Clone(scriptLines)
	slices.Sort(want)
	slices.Sort(lines)
	if !slices.Equal(lines, want) {
		t.Fatalf("go-subscriber printed (sorted):\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestJSSubscriber runs examples/js-subscriber (node, with its pinned npm
// dependencies) against a live publisher: one connection, one callback, so
// the lines come in publishing order.
func TestJSSubscriber(t *testing.T) {
	dir := jsexample.Setup(t)
	l := startLive(t)
	cmd := exec.Command("node", "index.js", "--server", l.url, "--bbo", "--count", "4")
	cmd.Dir = dir
	lines := runSubscriber(t, l, cmd)
	if !slices.Equal(lines, scriptLines) {
		t.Fatalf("js-subscriber printed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(scriptLines, "\n"))
	}
}

// TestJSSubscriberConnectRefused: a server that is not there fails the
// Node example with an error naming the address it tried.
func TestJSSubscriberConnectRefused(t *testing.T) {
	dir := jsexample.Setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close() // nothing listens there now
	cmd := exec.Command("node", "index.js", "--server", url)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "js-subscriber: connect "+url+": ") {
		t.Fatalf("node index.js --server %s: %v, output %q; want it to fail naming the server", url, err, out)
	}
}

// TestJSUnit runs the Node example's own unit tests (node --test): exact
// nanosecond times and price arithmetic, which the live run does not reach.
func TestJSUnit(t *testing.T) {
	dir := jsexample.Setup(t)
	cmd := exec.Command("node", "--test", "index.test.js")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

// runSubscriber starts cmd (a subscriber that exits after the script's
// messages), waits until it says it has subscribed, plays the script, and
// returns what it printed once it has exited. It also checks the raw
// payloads carry the prices the expected lines show, so a match means the
// subscriber printed them exactly as published.
func runSubscriber(t *testing.T, l *live, cmd *exec.Cmd) []string {
	t.Helper()
	var stdout bytes.Buffer // read only after the process and its copying are done
	stderr := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(waitFor)
	for !strings.Contains(stderr.String(), "subscribed to") {
		select {
		case err := <-exited:
			t.Fatalf("%s exited before subscribing: %v\n%s", cmd, err, stderr)
		case <-time.After(10 * time.Millisecond): // polling the process's stderr
		}
		if time.Now().After(deadline) {
			kill()
			t.Fatalf("%s did not subscribe within %v\n%s", cmd, waitFor, stderr)
		}
	}
	l.playScript(t)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s\nstdout:\n%s", cmd, err, stderr, stdout.String())
		}
	case <-time.After(waitFor):
		kill()
		t.Fatalf("%s did not exit after its messages\nstderr:\n%s\nstdout:\n%s", cmd, stderr, stdout.String())
	}
	checkPublished(t, l.wait(t, scriptKinds))
	return strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
}

// checkPublished checks the raw payloads behind scriptLines: the signal's
// symbol, rule and price and the bar's prices as JSON text.
func checkPublished(t *testing.T, got map[string][]published) {
	t.Helper()
	want := map[string]map[string]string{
		"signal": {"symbol": `"BRK.A"`, "rule": `"brk_up"`, "dir": `"up"`, "price": `"412.123456789"`},
		"bar":    {"symbol": `"BRK.A"`, "interval": `"1s"`, "open": `"411.9"`, "high": `"412.123456789"`, "vwap": `"412.048971193"`},
	}
	for kind, fields := range want {
		msg := got[kind][0]
		for name, text := range fields {
			if string(msg.Fields[name]) != text {
				t.Errorf("published %s: %q is %s, want %s\n%s", kind, name, msg.Fields[name], text, msg.Data)
			}
		}
	}
}

// lockedBuffer is a bytes.Buffer a process writes to while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
