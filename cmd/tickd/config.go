package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxConfigSize bounds the config file we are willing to read (1 MiB): a real
// config is a few KiB, so anything larger is a wrong path, not a config.
const maxConfigSize = 1 << 20

// fileConfig is the YAML config file: every flag of `tickd serve` by name
// (e.g. `feed-listen: 127.0.0.1:7000`), plus the rules, which have no flag.
type fileConfig struct {
	Settings map[string]string
	Rules    []ruleConfig
	path     string         // the file, for errors
	lines    map[string]int // of each setting
}

// loadConfigFile reads a YAML config file. Unknown keys are an error, so a
// typo never silently leaves a default in place.
func loadConfigFile(path string, fs *flag.FlagSet) (*fileConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	// Refuse an oversized file by its size before reading any of it, so a
	// wrong path (a capture, a log) fails at once with a clear message.
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxConfigSize {
		return nil, fmt.Errorf("config: %s: %d bytes, more than the 1 MiB limit", path, st.Size())
	}
	// A pipe or a file still growing has no trustworthy size: read at most
	// one byte past the limit and refuse if we got it.
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("config: %s: more than %d bytes, more than the 1 MiB limit", path, maxConfigSize)
	}
	return parseConfig(path, data, fs)
}

// parseConfig parses the YAML config file named path, read into data,
// against the flags of fs.
func parseConfig(path string, data []byte, fs *flag.FlagSet) (*fileConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc, err := nextFilledDocument("config", path, data, dec)
	if err != nil {
		return nil, err
	}
	if err := refuseMoreDocuments("config", path, data, dec); err != nil {
		return nil, err
	}
	var raw map[string]yaml.Node
	if doc != nil {
		top := doc.Content[0]
		if top.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config: %s line %d: want settings (key: value, one a line), not %s", path, top.Line, describeNode(top))
		}
		if err := top.Decode(&raw); err != nil {
			return nil, yamlError("config", path, data, err)
		}
	}
	fc := &fileConfig{Settings: map[string]string{}, path: path, lines: map[string]int{}}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		node := raw[k]
		if k == "rules" {
			rules, err := decodeRules(path, &node)
			if err != nil {
				return nil, err
			}
			fc.Rules = rules
			continue
		}
		if fs.Lookup(k) == nil || k == "config" {
			return nil, fmt.Errorf("config: %s line %d: unknown setting %q (settings are the flag names of 'tickd serve -h')", path, node.Line, k)
		}
		fc.lines[k] = node.Line
		switch node.Kind {
		case yaml.ScalarNode:
			fc.Settings[k] = node.Value
		case yaml.SequenceNode:
			var items []string
			if err := node.Decode(&items); err != nil {
				return nil, fmt.Errorf("config: %s line %d: %s: %w", path, node.Line, k, err)
			}
			// Joined with ',', a list would be one value of a flag given
			// once: feed-nats [a, b] subscribed to the subject "a,b".
			if once, ok := fs.Lookup(k).Value.(*onceFlag); ok && len(items) > 1 {
				return nil, fmt.Errorf("config: %s line %d: %s: a list of %d, but it is given once: %s", path, node.Line, k, len(items), once.hint)
			}
			fc.Settings[k] = strings.Join(items, ",")
		default:
			return nil, fmt.Errorf("config: %s line %d: %s: want a value or a list", path, node.Line, k)
		}
	}
	return fc, nil
}

// envName is the environment variable that overrides a flag: TICKD_ plus the
// flag name upper-cased with '-' as '_' (feed-listen → TICKD_FEED_LISTEN).
func envName(flagName string) string {
	return "TICKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyLayers fills every flag not given on the command line from the
// environment, then from the config file: flags > TICKD_* > file > default.
// lookupEnv is os.LookupEnv: a variable set to "" is set, so
// TICKD_METRICS= turns off the metrics a file turns on.
func applyLayers(fs *flag.FlagSet, fc *fileConfig, lookupEnv func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("config: %s=%q: %w", envName(f.Name), v, e)
			}
			return
		}
		if fc == nil {
			return
		}
		if v, ok := fc.Settings[f.Name]; ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("config: %s line %d: %s: %q: %w", fc.path, fc.lines[f.Name], f.Name, v, e)
			}
		}
	})
	return err
}

// durationsFlag is a comma-separated or repeated list of durations > 0
// (bar intervals, windows), parsed as it is set so that a bad one is
// refused naming its flag, variable or config line.
type durationsFlag []time.Duration

func (l *durationsFlag) String() string {
	parts := make([]string, len(*l))
	for i, d := range *l {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (l *durationsFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%v must be > 0", d)
		}
		*l = append(*l, d)
	}
	return nil
}

// listFlag is a comma-separated or repeated string flag.
// onceFlag is a string flag refused when given a second time: -feed-nats
// and -feed-kafka name one source each, and a plain string flag would let
// a second one silently replace the first, whose ticks would then never
// be read.
type onceFlag struct {
	v    *string
	set  bool
	hint string // why once, and what to do instead
}

func (f *onceFlag) String() string {
	if f == nil || f.v == nil {
		return ""
	}
	return *f.v
}

func (f *onceFlag) Set(v string) error {
	if f.set {
		return fmt.Errorf("given twice (%q, then %q): %s", *f.v, v, f.hint)
	}
	*f.v, f.set = v, true
	return nil
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
