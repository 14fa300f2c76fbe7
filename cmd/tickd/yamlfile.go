package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML files tickd reads (the config, -nats-users) are one document
// each; these read it and put yaml.v3's errors as tickd's other errors
// about a file are put: "WHAT: FILE line N: …", on one line.

// emptyDocument reports whether a YAML document holds nothing: no text,
// "---" or "~" alone, or only comments.
func emptyDocument(doc *yaml.Node) bool {
	return len(doc.Content) == 0 || doc.Content[0].Tag == "!!null"
}

// nextFilledDocument reads documents of the what (config, nats-users)
// file at path up to the next that holds anything and returns it, or nil
// at the end: empty ones (a header of comments ended by "---", a file
// ending in "---", as tools write them) are let be.
func nextFilledDocument(what, path string, data []byte, dec *yaml.Decoder) (*yaml.Node, error) {
	for {
		var doc yaml.Node
		switch err := dec.Decode(&doc); {
		case errors.Is(err, io.EOF):
			return nil, nil
		case err != nil:
			return nil, yamlError(what, path, data, err)
		case !emptyDocument(&doc):
			return &doc, nil
		}
	}
}

// decodeFilledDocument decodes the first document of the what file at
// path that holds anything into out, strictly (a key naming no field of
// out is an error), and refuses a second: nextFilledDocument and
// refuseMoreDocuments for a struct, which yaml.Node.Decode cannot decode
// strictly. A second decoder reads the file behind the first, document
// for document, to decode the one the first finds filled. A file with
// none leaves out as it is.
func decodeFilledDocument(what, path string, data []byte, out any) error {
	probe := yaml.NewDecoder(bytes.NewReader(data))
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	for {
		var doc yaml.Node
		switch err := probe.Decode(&doc); {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return yamlError(what, path, data, err)
		}
		if err := strict.Decode(out); err != nil { // an empty document leaves out as it is
			return yamlError(what, path, data, err)
		}
		if !emptyDocument(&doc) {
			return refuseMoreDocuments(what, path, data, probe)
		}
	}
}

// refuseMoreDocuments refuses a document holding anything after the one
// read of the what file at path: it would be ignored.
func refuseMoreDocuments(what, path string, data []byte, dec *yaml.Decoder) error {
	next, err := nextFilledDocument(what, path, data, dec)
	if err != nil || next == nil {
		return err
	}
	return fmt.Errorf("%s: %s line %d: a second YAML document (after ---): a %s file is one", what, path, next.Line, what)
}

// yamlError puts an error of the YAML decoder reading path (data) as the
// other errors about the file are put, "WHAT: FILE line N: …", on one
// line: yaml.v3 leaves the line out of a syntax error on the first line
// and of an alias to no anchor, counts its parser's lines from 0, and
// lists type errors on lines of their own.
func yamlError(what, path string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = plainTypeError(e)
		}
		return fmt.Errorf("%s: %s %s", what, path, strings.Join(msgs, "; "))
	}
	msg, _ := strings.CutPrefix(err.Error(), "yaml: ")
	line := 1 // the only line yaml.v3's scanner and parser do not name
	if name, ok := unknownAnchor(msg); ok {
		line = aliasLine(data, name)
	} else if l, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(l, "line ") {
		if n, err := strconv.Atoi(l[len("line "):]); err == nil {
			line, msg = n, rest
			if yamlParserProblems[msg] {
				line++
			}
		}
	}
	return fmt.Errorf("%s: %s line %d: not YAML: %s", what, path, line, msg)
}

// plainTypeError puts one of yaml.v3's type errors in a user's words:
// the Go type it names (a struct with its tags, a field's path) says
// nothing to one; a list or a mapping does.
func plainTypeError(e string) string {
	e, _, _ = strings.Cut(e, " in type ")
	head, goType, ok := strings.Cut(e, " into ")
	switch {
	case !ok:
		return e
	case strings.HasPrefix(goType, "[]"):
		return head + " into a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct {"), strings.Contains(goType, "."):
		return head + " into a mapping"
	}
	return e // string, int: plain enough
}

// unknownAnchor returns the anchor name of yaml.v3's error for an alias
// (*name) to no anchor, which names no line.
func unknownAnchor(msg string) (string, bool) {
	name, ok := strings.CutPrefix(msg, "unknown anchor '")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(name, "' referenced")
}

// aliasLine is the line of the first alias *name in data (the name ends
// there: a space, a line's end or a flow indicator follows), or 1.
func aliasLine(data []byte, name string) int {
	for i, l := range strings.Split(string(data), "\n") {
		for rest := l; ; {
			j := strings.Index(rest, "*"+name)
			if j < 0 {
				break
			}
			if after := rest[j+1+len(name):]; after == "" || strings.ContainsAny(after[:1], " \t\r,]}") {
				return i + 1
			}
			rest = rest[j+1:]
		}
	}
	return 1
}

// yamlParserProblems are the errors of yaml.v3's parser (parserc.go), as
// opposed to its scanner's: yaml.v3 names their line counting from 0
// (it adds the 1 to scanner errors only).
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}
