package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGofmtCheck: make lint's gofmt step reports an untracked unformatted
// file, skips an ignored one, testdata and vendor (as go vet does) and a
// tracked file deleted in the work tree
// (gofmt's "no such file" used to be printed while the step passed), and
// fails on a file gofmt cannot parse (which used to pass: gofmt's status
// was dropped).
func TestGofmtCheck(t *testing.T) {
	const formatted = "package p\n\nfunc F() {}\n"
	for _, c := range []struct {
		name    string
		files   map[string]string // written after the commit of formatted files
		remove  string            // a committed file removed from the work tree
		wantErr bool
		want    string // in the output
		notWant string // not in the output
	}{
		{name: "clean", want: "", notWant: "gofmt needed"},
		{name: "deleted", remove: "a.go", notWant: "no such file"},
		{name: "untracked", files: map[string]string{"new.go": "package p\nfunc  G( ) {}\n"}, wantErr: true, want: "new.go"},
		{name: "ignored", files: map[string]string{"bin/gen.go": "package p\nfunc  G( ) {}\n"}, notWant: "gen.go"},
		{name: "testdata", files: map[string]string{"feed/testdata/in.go": "package p\nfunc  G( ) {}\n", "testdata/x.go": "package p\nfunc {\n"}, notWant: "testdata"},
		{name: "vendor", files: map[string]string{"vendor/m/m.go": "package m\nfunc  G( ) {}\n"}, notWant: "vendor"},
		{name: "syntax", files: map[string]string{"bad.go": "package p\nfunc {\n"}, wantErr: true, want: "bad.go"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := gitTree(t, map[string]string{"a.go": formatted, "b.go": formatted, ".gitignore": "/bin/\n"})
			if c.remove != "" {
				if err := os.Remove(filepath.Join(root, c.remove)); err != nil {
					t.Fatal(err)
				}
			}
			writeFiles(t, root, c.files)
			cmd := exec.Command("bash", filepath.Join(root, "scripts", "gofmt-check.sh"))
			cmd.Dir = root
			b, err := cmd.CombinedOutput()
			out := string(b)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v, want an error: %v; output:\n%s", err, c.wantErr, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, out)
			}
			if c.notWant != "" && strings.Contains(out, c.notWant) {
				t.Errorf("output has %q:\n%s", c.notWant, out)
			}
		})
	}
}

// gitTree makes a git repository holding gofmt-check.sh and files, all
// committed.
func gitTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	script, err := os.ReadFile("gofmt-check.sh")
	if err != nil {
		t.Fatal(err)
	}
	files["scripts/gofmt-check.sh"] = string(script)
	writeFiles(t, root, files)
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "files"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return root
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
