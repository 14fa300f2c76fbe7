package jsexample

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// NodeScript installs Node.js and npm; it is relative to the repository root.
const NodeScript = "scripts/deps/node.sh"

// Paths relative to the repository root.
const (
	exampleDir = "examples/js-subscriber"
	schemaFile = "schema/tickd-messages.schema.json"
)

// stampFile, inside node_modules, holds the hash of the package-lock.json
// the tree was installed from.
const stampFile = ".tickd-install-stamp"

// installTimeout bounds npm ci (a handful of small packages, usually from
// npm's cache).
const installTimeout = 5 * time.Minute

// Root returns the repository root: the nearest directory at or above the
// working directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("jsexample: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("jsexample: no go.mod at or above the working directory")
		}
		dir = up
	}
}

// SchemaPath returns the absolute path of the message schema.
func SchemaPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(Root(t), schemaFile)
}

// Setup makes sure node and npm are installed and the example's pinned
// dependencies are in its node_modules, and returns the example's
// directory. It fails the test, naming NodeScript, if node or npm is
// missing: the JavaScript checks are part of the suite, not optional.
func Setup(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("jsexample: %s is not installed: run %s (it installs nodejs and npm)", tool, NodeScript)
		}
	}
	dir := filepath.Join(Root(t), exampleDir)
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("jsexample: %v", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])

	// Packages' tests run in parallel processes: one installs, the others
	// wait for it and then find the stamp.
	unlock := lockFile(t, filepath.Join(os.TempDir(), "tickd-jsexample-"+shortHash(dir)+".lock"))
	defer unlock()
	stamp := filepath.Join(dir, "node_modules", stampFile)
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("jsexample: npm ci in %s: %v\n%s", dir, err, out)
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		t.Fatalf("jsexample: %v", err)
	}
	return dir
}

// Validate runs the example's validate.js over msgs, one JSON message each
// (no newlines inside), and returns its report: a line per message, "ok
// <kind>" or "invalid <n>: <reasons>" (n counts from 1). err is nil when
// every message is valid, an *exec.ExitError (exit status 1) when some
// is not; the test fails outright if the validator cannot run.
func Validate(t testing.TB, msgs ...[]byte) (string, error) {
	t.Helper()
	dir := Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "validate.js", "--schema", SchemaPath(t))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(append(bytes.Join(msgs, []byte("\n")), '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("jsexample: node validate.js: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String(), err
}

// Properties returns the names of the properties the schema declares for
// messages of the given kind, sorted. Tests compare them with the keys of
// published messages: the schema lets consumers ignore fields it does not
// name, so a field tickd adds without documenting it would otherwise pass.
func Properties(t testing.TB, kind string) []string {
	t.Helper()
	raw, err := os.ReadFile(SchemaPath(t))
	if err != nil {
		t.Fatalf("jsexample: %v", err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("jsexample: %s: %v", schemaFile, err)
	}
	def, ok := schema.Defs[kind]
	if !ok || len(def.Properties) == 0 {
		t.Fatalf("jsexample: %s declares no message kind %q", schemaFile, kind)
	}
	names := make([]string, 0, len(def.Properties))
	for name := range def.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum[:6])
}
