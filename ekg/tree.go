package ekg

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendJSON appends a snapshot as ekg-wai's nested JSON object
// (BEHAVIOUR.md §f.6): each name split at every '.', each metric a leaf
// {"type":"c"|"g"|"l","val":…} (a number for counters and gauges, a
// string for labels), plus the tracer's ekg.server_timestamp_ms counter
// with now in Unix milliseconds (a node's own metric of that name is left
// out). Keys are sorted by code point at every level. A nil snap is empty.
//
// A name that is both a metric and a prefix of others (a.b and a.b.c)
// gives one object holding the leaf's "type" and "val" and the children,
// keys sorted: {"a":{"b":{"c":{…},"type":"g","val":1}}}. ekg-json (which
// folds the names in hash order into aeson objects) does the same when
// the shorter name comes first, and replaces the children with the leaf
// otherwise; Muninn always merges. A child named "type" or "val" of such a
// leaf (a.b.type, a.b.val.x) is left out: the leaf's own fields win, so no
// key repeats. Empty segments (a..b, a trailing '.') are keys "" as in
// ekg-json. Keys and strings are escaped as JSON requires; invalid UTF-8
// becomes U+FFFD, so two names differing only in invalid bytes can give
// the same key in one object.
func AppendJSON(b []byte, snap *Snapshot, now time.Time) []byte {
	w := treeWriter{b: b, snap: snap, ts: now.UnixMilli()}
	w.stack = w.frames[:0]
	w.run()
	return w.b
}

// AppendJSONMetric appends the leaf object of one metric,
// {"type":…,"val":…}, for ekg-wai's /<node>/a/b/c (name "a.b.c"), and
// reports whether the snapshot has it. For TimestampName it writes the
// current time, as AppendJSONMetricAt with time.Now().
func AppendJSONMetric(b []byte, snap *Snapshot, name string) ([]byte, bool) {
	if name == TimestampName {
		return AppendJSONMetricAt(b, snap, name, time.Now())
	}
	return AppendJSONMetricAt(b, snap, name, time.Time{})
}

// AppendJSONMetricAt is AppendJSONMetric with the time for TimestampName.
func AppendJSONMetricAt(b []byte, snap *Snapshot, name string, now time.Time) ([]byte, bool) {
	if name == TimestampName {
		return appendLeaf(b, KindCounter, now.UnixMilli(), ""), true
	}
	i, ok := snap.search(name)
	if !ok {
		return b, false
	}
	sm := snap.samples[i]
	k := sm.cls.kind()
	if k == KindLabel {
		return appendLeaf(b, k, 0, snap.texts[sm.val]), true
	}
	return appendLeaf(b, k, sm.val, ""), true
}

func appendLeaf(b []byte, k Kind, n int64, text string) []byte {
	switch k {
	case KindCounter:
		b = append(b, `{"type":"c","val":`...)
	case KindGauge:
		b = append(b, `{"type":"g","val":`...)
	default:
		b = append(b, `{"type":"l","val":`...)
		b = appendJSONString(b, text)
		return append(b, '}')
	}
	b = strconv.AppendInt(b, n, 10)
	return append(b, '}')
}

// frame is one open JSON object: the root, or the object of a key.
type frame struct {
	key     string // the name segment of this object (unused for the root)
	members int    // members written so far
	leaf    bool   // the object also holds a metric's "type" and "val"
	kind    Kind
	val     int64
	text    string
	wrote   int // leaf fields written: 0, 1 ("type") or 2 ("val" too)
}

// treeWriter writes the tree in one pass over the snapshot, whose order
// (segment by segment) is a depth-first walk of the tree with sorted keys.
type treeWriter struct {
	b      []byte
	snap   *Snapshot
	ts     int64
	frames [16]frame
	stack  []frame // open objects; stack[0] is the root
}

// item is one metric to write.
type item struct {
	name string
	kind Kind
	val  int64
	text string
}

// at returns the i-th metric of the merged sequence of the snapshot and
// the timestamp counter (at position ts), and whether there is one.
func (w *treeWriter) at(i, ts int) (item, bool) {
	switch {
	case i == ts:
		return item{name: TimestampName, kind: KindCounter, val: w.ts}, true
	case i > ts:
		i--
	}
	if i >= w.snap.Len() {
		return item{}, false
	}
	sm := w.snap.samples[i]
	it := item{name: w.snap.name(i), kind: sm.cls.kind(), val: sm.val}
	if it.kind == KindLabel {
		it.text, it.val = w.snap.texts[sm.val], 0
	}
	return it, true
}

func (w *treeWriter) run() {
	// Where the timestamp goes; a node's metric of the same name is skipped.
	ts, dup := w.snap.search(TimestampName)
	w.stack = append(w.stack, frame{})
	w.b = append(w.b, '{')
	advance := func(i int) int {
		if i++; dup && i == ts+1 {
			i++
		}
		return i
	}
	i := 0
	cur, ok := w.at(i, ts)
	for ok {
		j := advance(i)
		next, hasNext := w.at(j, ts)
		w.write(cur, hasNext && len(next.name) > len(cur.name) &&
			next.name[len(cur.name)] == '.' && strings.HasPrefix(next.name, cur.name))
		i, cur, ok = j, next, hasNext
	}
	for len(w.stack) > 0 {
		w.close()
	}
}

// write writes one metric; parent tells that later names lie below it.
func (w *treeWriter) write(it item, parent bool) {
	// Segments of the name shared with the open objects stay open.
	rest := it.name
	depth := 1
	for depth < len(w.stack) {
		seg, tail, more := strings.Cut(rest, ".")
		if !more || seg != w.stack[depth].key {
			break
		}
		rest = tail
		depth++
	}
	for len(w.stack) > depth {
		w.close()
	}
	first, _, _ := strings.Cut(rest, ".")
	if top := &w.stack[len(w.stack)-1]; top.leaf && (first == "type" || first == "val") {
		return // the leaf's own field wins
	}
	for {
		seg, tail, more := strings.Cut(rest, ".")
		w.key(seg)
		if !more {
			if parent {
				w.b = append(w.b, '{')
				w.stack = append(w.stack, frame{key: seg, leaf: true, kind: it.kind, val: it.val, text: it.text})
			} else {
				w.b = appendLeaf(w.b, it.kind, it.val, it.text)
			}
			return
		}
		w.b = append(w.b, '{')
		w.stack = append(w.stack, frame{key: seg})
		rest = tail
	}
}

// key writes the key of a new member of the innermost object, first
// writing the object's own leaf fields that sort before it.
func (w *treeWriter) key(k string) {
	top := &w.stack[len(w.stack)-1]
	if top.leaf {
		w.leafFields(top, k, false)
	}
	if top.members > 0 {
		w.b = append(w.b, ',')
	}
	top.members++
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

// leafFields writes the leaf fields of f that sort before key k; all of
// them when last.
func (w *treeWriter) leafFields(f *frame, k string, last bool) {
	if f.wrote == 0 && (last || "type" < k) {
		if f.members > 0 {
			w.b = append(w.b, ',')
		}
		f.members++
		w.b = append(w.b, `"type":`...)
		switch f.kind {
		case KindCounter:
			w.b = append(w.b, `"c"`...)
		case KindGauge:
			w.b = append(w.b, `"g"`...)
		default:
			w.b = append(w.b, `"l"`...)
		}
		f.wrote = 1
	}
	if f.wrote == 1 && (last || "val" < k) {
		w.b = append(w.b, `,"val":`...)
		f.members++
		if f.kind == KindLabel {
			w.b = appendJSONString(w.b, f.text)
		} else {
			w.b = strconv.AppendInt(w.b, f.val, 10)
		}
		f.wrote = 2
	}
}

// close ends the innermost object.
func (w *treeWriter) close() {
	top := &w.stack[len(w.stack)-1]
	if top.leaf {
		w.leafFields(top, "", true)
	}
	w.b = append(w.b, '}')
	w.stack = w.stack[:len(w.stack)-1]
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: '"' and '\\' escaped,
// \n, \r and \t by name, other control characters as \u00XX, invalid
// UTF-8 as \ufffd; everything else as is (as aeson does).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, `\ufffd`...)
			}
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
