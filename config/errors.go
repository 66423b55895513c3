package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every *Problem wraps one of them, so callers classify
// problems with errors.Is.
var (
	// ErrSyntax: the file is not well-formed YAML.
	ErrSyntax = errors.New("invalid YAML")
	// ErrMissing: a required key is absent or null.
	ErrMissing = errors.New("missing required key")
	// ErrType: a value has the wrong YAML type (e.g. a string where a
	// number is expected, or a fraction where an integer is).
	ErrType = errors.New("wrong type")
	// ErrRange: a number is outside the range its key allows.
	ErrRange = errors.New("out of range")
	// ErrUnknownValue: a word that is not one of the key's allowed words.
	ErrUnknownValue = errors.New("unknown value")
	// ErrEmpty: an empty list or string where one is required.
	ErrEmpty = errors.New("empty")
	// ErrAddress: a forwarding address that cannot be used.
	ErrAddress = errors.New("invalid address")
	// ErrDuplicatePort: hasEKG and hasPrometheus use the same port.
	ErrDuplicatePort = errors.New("duplicate port")
	// ErrInvalid: any other ill-formed shape (a list of the wrong length,
	// several YAML documents, both forms of metricsHelp, ...).
	ErrInvalid = errors.New("invalid value")
)

// Problem is one thing wrong with a configuration. Parse and Load return
// all problems of a file at once, joined with errors.Join; Problems lists
// them again.
type Problem struct {
	// Source names the file ("" for a Config checked with Validate).
	Source string
	// Path is the key path: dotted keys and zero-based list indexes, e.g.
	// "rotation.rpLogLimitBytes" or "logging[1].logMode". It is "" for
	// the document as a whole.
	Path string
	// Line is the 1-based line in Source, or 0 when unknown.
	Line int
	// Err wraps one of the package's sentinel errors.
	Err error
}

func (p *Problem) Error() string {
	var b strings.Builder
	writeLocation(&b, p.Source, p.Line, p.Path)
	if p.Err == nil {
		b.WriteString("invalid configuration")
	} else {
		b.WriteString(p.Err.Error())
	}
	return b.String()
}

func (p *Problem) Unwrap() error { return p.Err }

// Warning is something in a configuration that is accepted but deserves a
// log line: a key cardano-tracer does not know (it ignores them silently),
// a rotation field that falls back to its default, an old shape that
// Muninn still accepts, a dropped duplicate. The caller logs warnings.
type Warning struct {
	Source  string
	Path    string
	Line    int
	Message string
}

func (w Warning) String() string {
	var b strings.Builder
	writeLocation(&b, w.Source, w.Line, w.Path)
	b.WriteString(w.Message)
	return b.String()
}

func writeLocation(b *strings.Builder, source string, line int, path string) {
	switch {
	case source != "" && line > 0:
		b.WriteString(source + ":" + strconv.Itoa(line) + ": ")
	case source != "":
		b.WriteString(source + ": ")
	case line > 0:
		b.WriteString("line " + strconv.Itoa(line) + ": ")
	}
	if path != "" {
		b.WriteString(path + ": ")
	}
}

// Problems lists every *Problem inside err, in order, looking through
// wrapped and joined errors. It returns nil when there is none.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(err error) {
		// A type switch, not errors.As: every branch of a joined error
		// must be visited, and errors.As stops at the first match.
		switch e := err.(type) { //nolint:errorlint // unwraps by hand
		case nil:
		case *Problem:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// problemf builds the Err of a Problem: sentinel, then detail.
func problemf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
