// Package scripts holds the tests of the shell scripts beside the
// measurement helpers (each of those a command of its own, below).
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaySoakPlaysCopies runs replay-soak.sh as its usage line says, with
// a DIR relative to where it is run and a few COPIES: the file holds that
// many copies of the sample (not COPIES rounded down to a hundred, which was
// none), in that DIR (not one under the repository), and all are replayed.
func TestReplaySoakPlaysCopies(t *testing.T) {
	script, err := filepath.Abs("replay-soak.sh")
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.Stat("../../shared/data/bx-itch50-sample.itch")
	if err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	cmd := exec.Command("bash", script, "soak", "3")
	cmd.Dir = cwd
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	file, err := os.Stat(filepath.Join(cwd, "soak", "soak.itch"))
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if want := 3 * sample.Size(); file.Size() != want {
		t.Errorf("soak.itch is %d bytes, want 3 copies of the sample, %d", file.Size(), want)
	}
	if !strings.Contains(string(out), "tickd replay: 36036 messages") { // 3 × 12012
		t.Errorf("the replay did not play 3 copies:\n%s", out)
	}
}

// TestReplaySoakRefusesBadCopies: a COPIES that is not a whole number above
// 0 is refused before anything is built.
func TestReplaySoakRefusesBadCopies(t *testing.T) {
	for _, copies := range []string{"0", "-5", "1e3", "many"} {
		out, err := exec.Command("bash", "replay-soak.sh", t.TempDir(), copies).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "COPIES must be a whole number above 0") {
			t.Errorf("COPIES %q: exit %d, output:\n%s", copies, code, out)
		}
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
