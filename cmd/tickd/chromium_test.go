package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// chromiumBin is Debian's chromium, which scripts/deps/chromium.sh installs.
const chromiumBin = "/usr/bin/chromium"

// headless is a headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: it reads commands on fd 3 and writes
// replies and events on fd 4, each a JSON object ended by a NUL byte), so
// the test needs no WebSocket client and no extra module.
type headless struct {
	cmd  *exec.Cmd
	in   *os.File // our end of its fd 3
	done chan struct{}

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	err     error // why the reader stopped
}

type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// startHeadless starts Chromium with a fresh profile; it is closed when
// the test ends. A missing Chromium fails the test, naming the script
// that installs it.
func startHeadless(t *testing.T, width, height int) *headless {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Fatalf("the dashboard's browser test needs Chromium (%v): run scripts/deps/chromium.sh", err)
	}
	cmdR, cmdW, err := os.Pipe() // our commands → its fd 3
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe() // its fd 4 → us
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumBin, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
		"--user-data-dir="+t.TempDir(), "--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	stderr, err := os.Create(t.TempDir() + "/chromium.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (scripts/deps/chromium.sh installs it)", chromiumBin, err)
	}
	cmdR.Close() // the child holds its own copies
	outW.Close()
	h := &headless{cmd: cmd, in: cmdW, done: make(chan struct{}), waiting: make(map[int]chan cdpReply)}
	go h.read(outR)
	t.Cleanup(func() {
		h.call("", "Browser.close", nil) // best effort; the kill below is the backstop
		cmdW.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		<-h.done
		outR.Close()
		stderr.Close()
	})
	return h
}

// read hands each reply to its caller and drops events.
func (h *headless) read(f *os.File) {
	defer close(h.done)
	r := bufio.NewReaderSize(f, 1<<20)
	var err error
	for {
		var msg []byte
		if msg, err = r.ReadBytes(0); err != nil {
			break
		}
		var rep cdpReply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue // an event
		}
		h.mu.Lock()
		ch := h.waiting[rep.ID]
		delete(h.waiting, rep.ID)
		h.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
	h.mu.Lock()
	h.err = fmt.Errorf("chromium closed its pipe: %w", err)
	for id, ch := range h.waiting {
		close(ch)
		delete(h.waiting, id)
	}
	h.mu.Unlock()
}

// call sends one command (to the browser when session is "", else to that
// page session) and returns its result.
func (h *headless) call(session, method string, params any) (json.RawMessage, error) {
	h.mu.Lock()
	if h.err != nil {
		h.mu.Unlock()
		return nil, h.err
	}
	h.nextID++
	id := h.nextID
	ch := make(chan cdpReply, 1)
	h.waiting[id] = ch
	h.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if _, err := h.in.Write(append(b, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: no reply: chromium closed its pipe", method)
		}
		if rep.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, rep.Error.Message, rep.Error.Code)
		}
		return rep.Result, nil
	case <-time.After(60 * time.Second):
		return nil, errors.New(method + ": no reply in 60s")
	}
}

// open opens url in a new page of the given size and returns its session.
func (h *headless) open(url string, width, height int) (string, error) {
	res, err := h.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		return "", err
	}
	var target struct{ TargetID string }
	if err := json.Unmarshal(res, &target); err != nil {
		return "", err
	}
	if res, err = h.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}); err != nil {
		return "", err
	}
	var att struct{ SessionID string }
	if err := json.Unmarshal(res, &att); err != nil {
		return "", err
	}
	s := att.SessionID
	if _, err := h.call(s, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		return "", err
	}
	_, err = h.call(s, "Page.navigate", map[string]any{"url": url})
	return s, err
}

// eval evaluates a JavaScript expression in the page and decodes its
// value (which must be JSON-serialisable) into v.
func (h *headless) eval(session, expr string, v any) error {
	res, err := h.call(session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct{ Text string }
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("evaluate %q: %s", expr, r.ExceptionDetails.Text)
	}
	return json.Unmarshal(r.Result.Value, v)
}

// screenshot returns a PNG of the page's viewport.
func (h *headless) screenshot(session string) ([]byte, error) {
	res, err := h.call(session, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return nil, err
	}
	var r struct{ Data []byte } // base64 in JSON: encoding/json decodes it into []byte
	err = json.Unmarshal(res, &r)
	return r.Data, err
}
