package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Option changes how Parse and Load work.
type Option func(*options)

type options struct {
	workDir string
}

// WithWorkDir sets the directory that relative paths (logRoot, Unix
// socket addresses, certificate and metricsHelp files) are resolved
// against. The default is the process's working directory, which is what
// cardano-tracer uses; tests pass a fixed one.
func WithWorkDir(dir string) Option {
	return func(o *options) { o.workDir = dir }
}

// Load reads and parses the configuration file at path. See Parse.
func Load(path string, opts ...Option) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, opts...)
}

// Parse decodes a cardano-tracer configuration (YAML, or JSON, which is
// YAML) and validates it. source names the data in problems and warnings,
// normally the file name.
//
// On success it returns the Config, with every default applied, and the
// warnings (unknown keys and the like) for the caller to log. On failure
// the Config is nil and the error joins one *Problem per problem found in
// the whole file (see Problems); the warnings are returned too, since an
// unknown key often explains a missing one.
func Parse(data []byte, source string, opts ...Option) (*Config, []Warning, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	workDir, err := resolveWorkDir(o.workDir)
	if err != nil {
		return nil, nil, err
	}
	return parse(data, source, workDir)
}

func resolveWorkDir(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		return wd, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	return abs, nil
}

func parse(data []byte, source, workDir string) (*Config, []Warning, error) {
	d := &decoder{source: source, workDir: workDir, lines: map[string]int{}}
	var cfg *Config
	if root, ok := d.document(data); ok {
		cfg = d.config(root)
	}
	if cfg != nil {
		decodeProblems := slices.Clone(d.problems)
		cfg.check(func(path string, err error) {
			if !overlaps(decodeProblems, path) {
				d.failAt(path, d.lineOf(path), err)
			}
		})
	}
	if len(d.problems) == 0 {
		d.dedupe(cfg)
	}
	sortByLine(d.warnings, func(w Warning) int { return w.Line })
	if len(d.problems) > 0 {
		sortByLine(d.problems, func(p *Problem) int { return p.Line })
		errs := make([]error, len(d.problems))
		for i, p := range d.problems {
			errs[i] = p
		}
		return nil, d.warnings, errors.Join(errs...)
	}
	return cfg, d.warnings, nil
}

// document decodes the YAML text into the root value. cardano-tracer
// rejects a stream of several documents, and so does Muninn.
func (d *decoder) document(data []byte) (value, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := decodeNode(dec, &doc)
	switch {
	case errors.Is(err, io.EOF):
		d.failAt("", 0, problemf(ErrType, "the document is empty; expected a mapping with networkMagic, network and logging"))
		return value{}, false
	case err != nil:
		d.failAt("", syntaxLine(err), fmt.Errorf("%w: %w", ErrSyntax, err))
		return value{}, false
	}
	var next yaml.Node
	switch err := decodeNode(dec, &next); {
	case err == nil:
		d.failAt("", next.Line, problemf(ErrInvalid, "a second YAML document starts here; the file must hold exactly one"))
	case !errors.Is(err, io.EOF):
		d.failAt("", syntaxLine(err), fmt.Errorf("%w: %w", ErrSyntax, err))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.failAt("", 0, problemf(ErrType, "expected a mapping"))
		return value{}, false
	}
	root := value{line: doc.Content[0].Line, n: d.deref(doc.Content[0])}
	return root, true
}

// decodeNode runs the YAML parser, turning a panic inside it into an
// error: a configuration file must never crash the process.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failure: %v", r)
		}
	}()
	return dec.Decode(n)
}

// syntaxLine finds the line number in a yaml.v3 error ("yaml: line 3:
// ..."). yaml.v3 has no typed syntax error, so this reads the text; it only
// fills Problem.Line and decides nothing.
func syntaxLine(err error) int {
	const marker = "line "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0
	}
	digits, _ := cutDigits(msg[i+len(marker):])
	n, convErr := strconv.Atoi(digits)
	if convErr != nil {
		return 0
	}
	return n
}

// lineOf is the line of a key path, or of its nearest parent that has one.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		cut := max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['))
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return 0
}

// overlaps reports whether a decoding problem was already recorded at
// path, above it, or below it: then Validate's view of that key (a zero
// value left by the failed decoding) would only repeat it.
func overlaps(problems []*Problem, path string) bool {
	for _, p := range problems {
		if p.Path == path || within(path, p.Path) || within(p.Path, path) {
			return true
		}
	}
	return false
}

// within reports whether path lies strictly under parent.
func within(path, parent string) bool {
	if parent == "" {
		return true
	}
	if !strings.HasPrefix(path, parent) || len(path) == len(parent) {
		return false
	}
	c := path[len(parent)]
	return c == '.' || c == '['
}

// dedupe drops exact duplicates in logging and in ConnectTo lists, keeping
// the first, as cardano-tracer does. Entries are compared after paths were
// made absolute, so "logs" and "./logs" are one entry.
func (d *decoder) dedupe(c *Config) {
	c.Logging = dropDuplicates(c.Logging, func(i int) {
		p := indexPath("logging", i)
		d.warn(p, d.lineOf(p), "duplicate logging entry, dropped")
	})
	nets := []struct {
		path string
		n    *Network
	}{{"network", &c.Network}}
	if c.HasForwarding != nil {
		nets = append(nets, struct {
			path string
			n    *Network
		}{"hasForwarding[0]", &c.HasForwarding.Network})
	}
	for _, nw := range nets {
		if nw.n.Mode != ConnectTo {
			continue
		}
		nw.n.Addresses = dropDuplicatesBy(nw.n.Addresses, func(a Address) [2]string { return [2]string{a.Net, a.Addr} }, func(i int) {
			p := indexPath(nw.path+".contents", i)
			d.warn(p, d.lineOf(p), "duplicate address, dropped")
		})
	}
}

func dropDuplicates[T comparable](xs []T, dropped func(i int)) []T {
	return dropDuplicatesBy(xs, func(x T) T { return x }, dropped)
}

func dropDuplicatesBy[T any, K comparable](xs []T, key func(T) K, dropped func(i int)) []T {
	seen := make(map[K]bool, len(xs))
	out := xs[:0:0]
	for i, x := range xs {
		k := key(x)
		if seen[k] {
			dropped(i)
			continue
		}
		seen[k] = true
		out = append(out, x)
	}
	return out
}
