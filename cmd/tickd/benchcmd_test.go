package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickd/tickd/bench"
	"github.com/tickd/tickd/bus"
)

// TestBenchE2E runs `tickd bench` briefly and checks its table and files,
// and the same with tickd fused (serve -fused).
func TestBenchE2E(t *testing.T) {
	t.Run("rings", func(t *testing.T) { testBenchE2E(t, false) })
	t.Run("fused", func(t *testing.T) { testBenchE2E(t, true) })
}

func testBenchE2E(t *testing.T, fused bool) {
	dir := filepath.Join(t.TempDir(), "out")
	prof := filepath.Join(t.TempDir(), "prof")
	mode, dur, ticks := "e2e", "1s", uint64(20000)
	if fused {
		mode, dur, ticks = "e2e-fused", "500ms", 10000
	}
	var out, errb bytes.Buffer
	tracePath := filepath.Join(t.TempDir(), "run.trace")
	code := mainExit([]string{"bench", "--rate", "20000", "--duration", dur, "--warmup", "200ms", "--out", dir, "--profile", prof,
		"--trace", tracePath, "--fused=" + strconv.FormatBool(fused)}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{"tickd bench " + mode, "p99.9", "\ntickd ", "\nfloor ", "tickd/floor", "report: " + dir,
		"\ncache:    random walk over 16 MiB: "} {
		if !strings.Contains(s, want) {
			t.Errorf("stdout lacks %q:\n%s", want, s)
		}
	}
	for _, f := range []string{"report.txt", "result.json", "tickd.hgrm", "floor.hgrm", "latency.svg", "latency.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"cpu.pprof", "allocs.pprof"} {
		if st, err := os.Stat(filepath.Join(prof, f)); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	// An execution trace starts with its Go version header ("go 1.").
	if b, err := os.ReadFile(tracePath); err != nil || !bytes.HasPrefix(b, []byte("go 1.")) || len(b) < 1024 {
		t.Errorf("trace %s: %d bytes, %v", tracePath, len(b), err)
	}
	var res struct {
		Settings struct {
			Rate float64 `json:"rate"`
			Mode string  `json:"mode"`
		} `json:"settings"`
		Cache struct {
			Before, After struct {
				LLCWalkNs float64 `json:"llc_walk_ns"`
			}
		} `json:"cache"`
		Timing benchTiming `json:"timing"`
		Sides  []struct {
			Name     string `json:"name"`
			Count    uint64 `json:"count"`
			Sent     uint64 `json:"sent"`
			Received uint64 `json:"received"`
			DrainNs  int64  `json:"drain_ns"`
		} `json:"sides"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Settings.Rate != 20000 || res.Settings.Mode != mode || len(res.Sides) != 2 ||
		!(res.Cache.Before.LLCWalkNs > 0) || !(res.Cache.After.LLCWalkNs > 0) {
		t.Fatalf("result.json: %s", b)
	}
	if !strings.HasPrefix(res.Timing.Interval, "open loop: from each tick's intended send time") || !strings.HasPrefix(res.Timing.Clock, "monotonic clock from the run's start") ||
		!strings.Contains(s, "\ntimed:    open loop") {
		t.Errorf("timing not said: result.json %+v\nstdout:\n%s", res.Timing, s)
	}
	tk, fl := res.Sides[0], res.Sides[1]
	if tk.DrainNs != int64(bench.DefaultDrain) || fl.DrainNs != int64(bench.DefaultDrain) {
		t.Errorf("drain_ns %d and %d, want the drain the drops are counted after, %d", tk.DrainNs, fl.DrainNs, bench.DefaultDrain)
	}
	// 20000 ticks a second in the window, one in ten fires; the floor sends
	// as many messages as tickd published signals: one per ten ticks.
	if tk.Name != "tickd" || tk.Sent != ticks || tk.Received == 0 || tk.Received > ticks/10 || tk.Count != tk.Received {
		t.Errorf("tickd side: %+v", tk)
	}
	if fl.Name != "floor" || fl.Sent != ticks/10 || fl.Received != fl.Sent {
		t.Errorf("floor side: %+v", fl)
	}
}

func TestBenchInproc(t *testing.T) {
	t.Setenv("GOGC", "") // so the run takes benchGOGC, which result.json must record
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := mainExit([]string{"bench", "--inproc", "--rate", "20000", "--duration", "500ms", "--warmup", "0", "--out", dir, "--cache-probe=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if s := out.String(); !strings.Contains(s, "tickd bench inproc") || !strings.Contains(s, "\ninproc ") || strings.Contains(s, "cache:") {
		t.Errorf("stdout (no cache line without the probe):\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "inproc.hgrm")); err != nil {
		t.Error(err)
	}
	// Full speed, CSV.
	out.Reset()
	code = mainExit([]string{"bench", "--inproc", "--rate", "0", "--format", "csv", "--duration", "200ms", "--warmup", "0", "--out", t.TempDir(), "--cache-probe=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if s := out.String(); !strings.Contains(s, "tickd bench inproc") || !strings.Contains(s, "\ninproc ") {
		t.Errorf("stdout:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "inproc.hgrm")); err != nil {
		t.Error(err)
	}
	// Fused, paced by spinning: the mode and the pacing are in the report
	// and in result.json.
	out.Reset()
	dir = t.TempDir()
	code = mainExit([]string{"bench", "--inproc", "--fused", "--pace", "spin", "--rate", "20000", "--duration", "300ms", "--warmup", "0", "--out", dir, "--cache-probe=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if s := out.String(); !strings.Contains(s, "tickd bench inproc-fused") || !strings.Contains(s, "pace spin") || !strings.Contains(s, "wait none") || !strings.Contains(s, "\ninproc ") {
		t.Errorf("stdout:\n%s", s)
	}
	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"mode": "inproc-fused"`)) || !bytes.Contains(js, []byte(`"pace": "spin"`)) ||
		!bytes.Contains(js, []byte(`"gogc": 400`)) {
		t.Errorf("result.json:\n%s", js)
	}
}

// benchTiming is result.json's timing.
type benchTiming struct {
	Interval string `json:"interval"`
	Clock    string `json:"clock"`
}

// In process, the report says that the figures are service time from the
// decode's receive stamp, where they end, and which clock took them, in
// report.txt as in result.json: they are not the open-loop figures of
// the end-to-end modes.
func TestBenchInprocSaysWhatIsTimed(t *testing.T) {
	for _, c := range []struct {
		fused bool
		end   string
	}{{false, "output ring's consumer"}, {true, "signal enqueued for the publisher"}} {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		code := mainExit([]string{"bench", "--inproc", "--fused=" + strconv.FormatBool(c.fused), "--rate", "20000", "--duration", "200ms",
			"--warmup", "0", "--out", dir, "--cache-probe=false"}, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Timing benchTiming `json:"timing"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		tm := res.Timing
		if !strings.HasPrefix(tm.Interval, "service time, not open loop: from the decode's receive stamp (ts_recv)") ||
			!strings.Contains(tm.Interval, c.end) || !strings.HasPrefix(tm.Clock, "time-stamp counter at ") && !strings.HasPrefix(tm.Clock, "monotonic clock (") {
			t.Errorf("fused %v: timing %+v, want service time to the %s, and the clock", c.fused, tm, c.end)
		}
		if s := out.String(); !strings.Contains(s, "\ntimed:    "+tm.Interval+"\nclock:    "+tm.Clock+"\n") {
			t.Errorf("fused %v: stdout does not say what is timed:\n%s", c.fused, s)
		}
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--rate", "x"},
		{"bench", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := mainExit(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	for _, args := range [][]string{
		{"bench", "--format", "xml"},
		{"bench", "--wait", "nap"},
		{"bench", "--signal-ratio", "0"},
		{"bench", "--rate", "-5", "--inproc"},
		{"bench", "--rate", "0"},
		{"bench", "--pace", "busy"},
		{"bench", "--gogc", "-2"},
		// Zero is refused, not read as the default (a 20 s run, 32 symbols).
		{"bench", "--duration", "0"},
		{"bench", "--duration", "-1s"},
		{"bench", "--symbols", "0"},
		{"bench", "--inproc", "--rate", "0", "--duration", "0"},
		// A flag the run would ignore, here one that would run briefly.
		{"bench", "--inproc", "--nats-url", "nats://127.0.0.1:4222", "--duration", "100ms", "--warmup", "0", "--cache-probe=false"},
		// 10 ticks over 32 symbols: no tick fires, nothing to measure.
		{"bench", "--rate", "100", "--duration", "100ms", "--warmup", "0"},
	} {
		var out, errb bytes.Buffer
		if code := mainExit(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "tickd bench: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// TestRunGOGC: the flag wins, then the environment's GOGC, then benchGOGC.
func TestRunGOGC(t *testing.T) {
	for _, c := range []struct {
		flag int
		env  string
		want int
	}{{0, "", benchGOGC}, {200, "", 200}, {-1, "50", -1}, {0, "50", 50}, {0, "off", -1}, {0, "junk", benchGOGC}, {150, "off", 150}} {
		if got := runGOGC(c.flag, c.env); got != c.want {
			t.Errorf("runGOGC(%d, %q) = %d, want %d", c.flag, c.env, got, c.want)
		}
	}
}

// TestBenchUnwritableOut: an -out that cannot be made fails before the run
// (nothing measured, no table printed), not after it.
func TestBenchUnwritableOut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := mainExit([]string{"bench", "--inproc", "--rate", "2000", "--duration", "100ms", "--warmup", "0", "--cache-probe=false",
		"--out", filepath.Join(file, "out")}, &out, &errb)
	if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "tickd bench: -out: ") {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 1, nothing run, an -out error", code, out.String(), errb.String())
	}
}

// TestBenchRedactsNATSPassword: a password in -nats-url reaches neither the
// report (report.txt, result.json, stdout) nor an error.
func TestBenchRedactsNATSPassword(t *testing.T) {
	const pw = "s3cret-pw"
	srv, err := bus.StartServer(bus.ServerOptions{Port: bus.RandomPort, Users: []bus.User{{Name: "bench", Password: pw,
		Permissions: bus.Permissions{Publish: []string{">"}, Subscribe: []string{">"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	hostPort := strings.TrimPrefix(srv.ClientURL(), "nats://")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := mainExit([]string{"bench", "--rate", "5000", "--duration", "200ms", "--warmup", "0", "--cache-probe=false",
		"--out", dir, "--nats-url", "nats://bench:" + pw + "@" + hostPort}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for name, text := range map[string]string{"stdout": out.String(), "stderr": errb.String(), "report.txt": readFile(t, filepath.Join(dir, "report.txt")),
		"result.json": readFile(t, filepath.Join(dir, "result.json"))} {
		if strings.Contains(text, pw) || name != "stderr" && !strings.Contains(text, "bench:xxxxx@"+hostPort) {
			t.Errorf("%s: want the URL with its password redacted:\n%s", name, text)
		}
	}
	// A refused connection's error names the URL, redacted too.
	out.Reset()
	errb.Reset()
	code = mainExit([]string{"bench", "--rate", "5000", "--duration", "200ms", "--cache-probe=false", "--out", dir,
		"--nats-url", "nats://bench:" + pw + "@127.0.0.1:1"}, &out, &errb)
	if code != 1 || strings.Contains(errb.String(), pw) || !strings.Contains(errb.String(), "nats: connect nats://bench:xxxxx@127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A run that fails (here: no NATS server at -nats-url) removes the report
// directory it made for itself, given by -out or under the temp dir, and
// leaves one that was there before.
func TestBenchFailedRunRemovesItsEmptyOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "nats://" + ln.Addr().String() // nobody listens once closed
	ln.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	existing := t.TempDir()
	for _, out := range []string{filepath.Join(t.TempDir(), "new", "out"), "", existing} {
		var stdout, stderr bytes.Buffer
		code := mainExit([]string{"bench", "--rate", "2000", "--duration", "100ms", "--warmup", "0", "--cache-probe=false",
			"--nats-url", down, "--out", out}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "nats: connect") {
			t.Fatalf("-out %q: exit %d, stderr %q: want 1 and the connect error", out, code, stderr.String())
		}
		switch _, err := os.Stat(out); {
		case out == "":
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left under the temp dir: %v", ents)
			}
		case out == existing && err != nil:
			t.Errorf("-out %s, there before the run: %v", out, err)
		case out != existing && err == nil:
			t.Errorf("-out %s left behind", out)
		}
	}
}

// TestBenchInterruptedWritesPartialReport: `tickd bench` stopped by SIGINT
// mid-run writes what it measured (here tickd's side; the floor never
// ran) where the full report would have gone, marked partial with the
// reason, and exits 1, so that `tickd bench && publish` does not publish
// it as a full run.
func TestBenchInterruptedWritesPartialReport(t *testing.T) {
	srv := startTestServer(t, bus.RandomPort)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	measuring := make(chan struct{})
	var once sync.Once
	// The bench's signals, under its own prefix: the run is measuring.
	if _, err := nc.Subscribe(bus.DefaultPrefix+".bench"+strconv.Itoa(os.Getpid())+".signal.>", func(*nats.Msg) {
		once.Do(func() { close(measuring) })
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	var out, errb syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- mainExit([]string{"bench", "--rate", "5000", "--duration", "1m", "--warmup", "0", "--cache-probe=false",
			"--out", dir, "--nats-url", srv.ClientURL()}, &out, &errb)
	}()
	select {
	case <-measuring:
	case c := <-code:
		t.Fatalf("bench ended (exit %d) before it was interrupted\n%s\n%s", c, out.String(), errb.String())
	case <-time.After(time.Minute):
		t.Fatalf("no signal from the bench in a minute\n%s", errb.String())
	}
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(os.Interrupt); err != nil { // caught by the command's signal handler
		t.Fatal(err)
	}
	if c := <-code; c != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", c, out.String(), errb.String())
	}
	const why = "interrupted (interrupt): tickd ran "
	if s := errb.String(); !strings.HasPrefix(s, "tickd bench: "+why) || !strings.Contains(s, "the floor was not measured: partial report in "+dir) {
		t.Errorf("stderr %q", s)
	}
	if s := out.String(); !strings.Contains(s, "\nPARTIAL:  "+why) || !strings.Contains(s, "partial report: "+dir) {
		t.Errorf("stdout:\n%s", s)
	}
	for _, f := range []string{"report.txt", "result.json", "tickd.hgrm", "latency.svg", "latency.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "floor.hgrm")); err == nil {
		t.Error("floor.hgrm written for a floor never measured")
	}
	var res struct {
		Partial string `json:"partial"`
		Sides   []struct {
			Name     string `json:"name"`
			Sent     uint64 `json:"sent"`
			Received uint64 `json:"received"`
			Dropped  uint64 `json:"dropped"`
		} `json:"sides"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "result.json"))), &res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Partial, why) || len(res.Sides) != 1 {
		t.Fatalf("result.json: %+v", res)
	}
	// The ticks sent before the interrupt had their drain: their signals
	// were received, not counted as dropped.
	if s := res.Sides[0]; s.Name != "tickd" || s.Sent == 0 || s.Received == 0 || s.Dropped != 0 {
		t.Errorf("tickd side %+v", s)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "report.txt")), "\nPARTIAL:  "+why) {
		t.Error("report.txt not marked partial")
	}
}
