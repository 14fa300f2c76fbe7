package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPGOShowsWhyABenchmarkFailed: when a profiled benchmark fails, pgo.sh
// says which one and why (go test prints that on stdout, which the script
// used to throw away: it exited 1 saying nothing), and leaves the profile.
func TestPGOShowsWhyABenchmarkFailed(t *testing.T) {
	root, profile := pgoTree(t, `
case "$1" in
test) echo "--- FAIL: BenchmarkReplayMax"; echo "    player_bench_test.go:42: something broke"; exit 1;;
esac
exit 0
`)
	out, err := runPGO(root)
	if err == nil {
		t.Fatalf("pgo.sh succeeded over a failing benchmark:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: BenchmarkReplayMax", "something broke", "go test -bench 'ReplayMax$' ./replay failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	assertProfileUntouched(t, profile)
}

// pgoTree copies pgo.sh into a temporary repository layout with a
// cmd/tickd/default.pgo, and puts a fake go (the shell body given) first on
// PATH.
func pgoTree(t *testing.T, fakeGo string) (root, profile string) {
	t.Helper()
	root = t.TempDir()
	script, err := os.ReadFile("pgo.sh")
	if err != nil {
		t.Fatal(err)
	}
	profile = filepath.Join(root, "cmd", "tickd", "default.pgo")
	bin := filepath.Join(root, "fakebin")
	for _, f := range []struct {
		path string
		data string
		mode os.FileMode
	}{
		{filepath.Join(root, "scripts", "pgo.sh"), string(script), 0o755},
		{profile, "the profile in use", 0o644},
		{filepath.Join(bin, "go"), "#!/bin/sh\n" + fakeGo, 0o755},
	} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return root, profile
}

func runPGO(root string) (string, error) {
	out, err := exec.Command("bash", filepath.Join(root, "scripts", "pgo.sh")).CombinedOutput()
	return string(out), err
}

func assertProfileUntouched(t *testing.T, profile string) {
	t.Helper()
	got, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "the profile in use" {
		t.Errorf("default.pgo was changed to %q", got)
	}
}

// TestPGOKeepsTheProfileWhenMergingFails: the profile is replaced only by a
// whole merge; pprof failing halfway used to leave its partial output as
// cmd/tickd/default.pgo, which the next go build reads.
func TestPGOKeepsTheProfileWhenMergingFails(t *testing.T) {
	root, profile := pgoTree(t, `
case "$1" in
tool) echo "partial profile"; echo "pprof: parsing profile: unexpected EOF" >&2; exit 1;;
esac
exit 0
`)
	out, err := runPGO(root)
	if err == nil {
		t.Fatalf("pgo.sh succeeded though pprof failed:\n%s", out)
	}
	if !strings.Contains(out, "unexpected EOF") {
		t.Errorf("output lacks pprof's error:\n%s", out)
	}
	assertProfileUntouched(t, profile)
}
