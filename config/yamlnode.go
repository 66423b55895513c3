package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits on the work one document may cause. Aliases let a small file
// describe a huge tree; every node visited counts, aliased ones each time.
const (
	maxSteps      = 1 << 17
	maxMergeDepth = 32
	maxAliasChain = 64
)

// decoder walks a yaml.Node tree against cardano-tracer's schema,
// collecting problems and warnings instead of stopping at the first.
type decoder struct {
	source   string
	workDir  string
	problems []*Problem
	warnings []Warning
	// lines maps key paths to the line of their key (or list item).
	lines     map[string]int
	steps     int
	exhausted bool
}

// value is one node of the document with its key path and line. n has
// been through deref: no alias, and nil when the key is absent or null.
type value struct {
	path string
	line int
	n    *yaml.Node
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func (d *decoder) fail(v value, err error) { d.failAt(v.path, v.line, err) }

func (d *decoder) failAt(path string, line int, err error) {
	if d.exhausted {
		return
	}
	d.problems = append(d.problems, &Problem{Source: d.source, Path: path, Line: line, Err: err})
}

func (d *decoder) warn(path string, line int, format string, args ...any) {
	if d.exhausted {
		return
	}
	d.warnings = append(d.warnings, Warning{Source: d.source, Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// step counts one unit of work and reports whether the budget allows it.
func (d *decoder) step() bool {
	if d.exhausted {
		return false
	}
	d.steps++
	if d.steps > maxSteps {
		d.failAt("", 0, problemf(ErrInvalid, "document too complex: more than %d nodes, counting each use of an alias", maxSteps))
		d.exhausted = true
		return false
	}
	return true
}

// deref follows aliases and returns nil for a null scalar.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	n = followAlias(n)
	if n == nil || !d.step() {
		return nil
	}
	if n.Kind == yaml.ScalarNode && classify(n) == scalarNull {
		return nil
	}
	return n
}

func followAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasChain {
			return nil
		}
		n = n.Alias
	}
	return n
}

// scalarKind is what Data.Yaml makes of a scalar.
type scalarKind uint8

const (
	scalarNull scalarKind = iota
	scalarBool
	scalarNumber
	scalarString
)

// classify follows Data.Yaml (cardano-tracer's YAML library), not YAML 1.2:
// quoted, folded and !!str-tagged scalars are strings; otherwise null,
// Null, NULL, ~ and the empty scalar are null; y, yes, on, true and n, no,
// off, false, each in lower case, UPPER case or Title case, are booleans;
// numbers follow parseNumber; everything else is a string.
func classify(n *yaml.Node) scalarKind {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.FoldedStyle) != 0 ||
		n.Style&yaml.TaggedStyle != 0 && n.ShortTag() == "!!str" {
		return scalarString
	}
	switch n.Value {
	case "null", "Null", "NULL", "~", "":
		return scalarNull
	}
	if _, ok := boolWord(n.Value); ok {
		return scalarBool
	}
	if _, _, ok := parseNumber(n.Value); ok {
		return scalarNumber
	}
	return scalarString
}

// boolWord reads Data.Yaml's boolean words (YAML 1.1 style). They are
// accepted for boolean keys, exactly as cardano-tracer accepts them; any
// other case mix ("yEs") is a string there, and so here.
func boolWord(s string) (value, ok bool) {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE":
		return true, true
	case "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// describe names what a node is, for error messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "null"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch classify(n) {
		case scalarBool:
			return "the boolean " + strconv.Quote(n.Value)
		case scalarNumber:
			return "the number " + n.Value
		case scalarNull:
			return "null"
		}
		return "the string " + strconv.Quote(clip(n.Value))
	}
	return "an unsupported node"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// pair is one key of a mapping after merges: the value is not yet
// dereferenced.
type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs lists a mapping's keys the way Data.Yaml builds an object: a
// repeated key replaces the earlier value (with a warning), and "<<" merges
// the keys of a mapping, or of a list of mappings, that are not set yet.
// Warnings are only given at depth 0, so that a merged anchor does not
// repeat its own warnings at every use.
func (d *decoder) pairs(v value, m *yaml.Node, depth int) ([]pair, map[string]int) {
	var out []pair
	idx := make(map[string]int, len(m.Content)/2)
	merged := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !d.step() {
			break
		}
		k := followAlias(m.Content[i])
		line := m.Content[i].Line
		if k == nil || k.Kind != yaml.ScalarNode {
			if depth == 0 {
				d.failAt(v.path, line, problemf(ErrType, "a mapping key must be a scalar, got %s", describe(k)))
			}
			continue
		}
		key, val := k.Value, m.Content[i+1]
		if key == "<<" {
			if sources, ok := d.mergeSources(val); ok {
				if depth >= maxMergeDepth {
					d.failAt(joinKey(v.path, key), line, problemf(ErrInvalid, "merge keys nested more than %d deep", maxMergeDepth))
					continue
				}
				for _, src := range sources {
					sub, _ := d.pairs(v, src, depth+1)
					for _, p := range sub {
						if !d.step() {
							break
						}
						if _, set := idx[p.key]; !set {
							idx[p.key] = len(out)
							out = append(out, p)
							merged[p.key] = true
						}
					}
				}
				continue
			}
		}
		if j, set := idx[key]; set {
			if !merged[key] && depth == 0 {
				d.warn(joinKey(v.path, key), line, "duplicate key: this value replaces the one on line %d", out[j].line)
			}
			delete(merged, key)
			out[j] = pair{key: key, line: line, val: val}
			continue
		}
		idx[key] = len(out)
		out = append(out, pair{key: key, line: line, val: val})
	}
	return out, idx
}

// mergeSources returns the mappings a "<<" value merges, and false when
// the value is not a merge (then "<<" is an ordinary key, as in Data.Yaml).
// Entries of a list that are not mappings are ignored.
func (d *decoder) mergeSources(val *yaml.Node) ([]*yaml.Node, bool) {
	n := followAlias(val)
	if n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{n}, true
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			if c = followAlias(c); c != nil && c.Kind == yaml.MappingNode {
				out = append(out, c)
			}
		}
		return out, true
	}
	return nil, false
}

// object is a mapping with a known set of keys.
type object struct {
	d     *decoder
	v     value
	pairs []pair
	idx   map[string]int
	used  []bool
	known []string
}

// object opens v as a mapping, or records ErrType and returns nil.
func (d *decoder) object(v value) *object {
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		d.fail(v, problemf(ErrType, "expected a mapping, got %s", describe(v.n)))
		return nil
	}
	ps, idx := d.pairs(v, v.n, 0)
	return &object{d: d, v: v, pairs: ps, idx: idx, used: make([]bool, len(ps))}
}

// get returns the value of key; n is nil when it is absent or null.
func (o *object) get(key string) value {
	o.known = append(o.known, key)
	path := joinKey(o.v.path, key)
	i, ok := o.idx[key]
	if !ok {
		return value{path: path, line: o.v.line}
	}
	o.used[i] = true
	p := o.pairs[i]
	o.d.lines[path] = p.line
	return value{path: path, line: p.line, n: o.d.deref(p.val)}
}

// require is get for a required key: absent or null is ErrMissing.
func (o *object) require(key string) (value, bool) {
	v := o.get(key)
	if v.n == nil {
		o.d.fail(v, ErrMissing)
		return v, false
	}
	return v, true
}

// finish warns about every key that no get asked for. notes gives a
// message for known leftovers (removed keys).
func (o *object) finish(notes map[string]string) {
	for i, p := range o.pairs {
		if o.used[i] {
			continue
		}
		msg := "unknown key, ignored"
		if note, ok := notes[p.key]; ok {
			msg = note
		} else if s := suggest(p.key, o.known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		o.d.warn(joinKey(o.v.path, p.key), p.line, "%s", msg)
	}
}

// suggest returns the known key closest to an unknown one, if it is close:
// the same ignoring case, one a prefix of the other, or at most two edits.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	lk := strings.ToLower(key)
	for _, k := range known {
		lc := strings.ToLower(k)
		dist := editDistance(lk, lc)
		if len(lk) >= 4 && len(lc) >= 4 && (strings.HasPrefix(lk, lc) || strings.HasPrefix(lc, lk)) {
			dist = min(dist, 1)
		}
		if dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for short key names.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list opens v as a sequence, or records ErrType.
func (d *decoder) list(v value) ([]value, bool) {
	if v.n == nil || v.n.Kind != yaml.SequenceNode {
		d.fail(v, problemf(ErrType, "expected a list, got %s", describe(v.n)))
		return nil, false
	}
	items := make([]value, 0, len(v.n.Content))
	for i, c := range v.n.Content {
		p := indexPath(v.path, i)
		d.lines[p] = c.Line
		items = append(items, value{path: p, line: c.Line, n: d.deref(c)})
		if d.exhausted {
			return nil, false
		}
	}
	return items, true
}

// stringMap reads a mapping of free-form keys to strings.
func (d *decoder) stringMap(v value) (map[string]string, bool) {
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		d.fail(v, problemf(ErrType, "expected a mapping, got %s", describe(v.n)))
		return nil, false
	}
	ps, _ := d.pairs(v, v.n, 0)
	m := make(map[string]string, len(ps))
	ok := true
	for _, p := range ps {
		pv := value{path: joinKey(v.path, p.key), line: p.line, n: d.deref(p.val)}
		s, err := asString(pv)
		if err != nil {
			d.fail(pv, err)
			ok = false
			continue
		}
		m[p.key] = s
	}
	return m, ok
}

// sortByLine orders problems and warnings by line; unknown lines go last.
func sortByLine[T any](xs []T, line func(T) int) {
	key := func(x T) int {
		if l := line(x); l > 0 {
			return l
		}
		return int(^uint(0) >> 1)
	}
	sort.SliceStable(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
}
