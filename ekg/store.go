package ekg

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unique"
)

// Store holds one node connection's metrics with the semantics of
// cardano-tracer's acceptor store (ekg-forward's storeMetrics,
// BEHAVIOUR.md §f.3):
//
//   - a counter only goes up: a first report sets it to the reported value
//     (even a negative one); later, a report above the exposed value raises
//     it to the report, i.e. the positive difference to the store's own
//     counter is added, and a report at or below it changes nothing. The
//     difference is taken against the store's own counter, not against the
//     node's previous report, exactly as ekg-forward does: after reports
//     100, 50, 60 the counter stays 100 until the node reports more than
//     100;
//   - gauges and labels are overwritten;
//   - a metric whose kind changes takes the new kind and is treated as a
//     first report (cardano-tracer fails on it instead: ekg-core refuses to
//     register a name twice);
//   - metrics are never removed; the store is dropped with the connection.
//
// Unlike cardano-tracer's, a store is bounded, so that a node reporting
// new names, or ever longer label texts, on every poll cannot make Muninn
// grow without end: it keeps at most its limit of names
// (DefaultMaxMetrics unless told otherwise), no name longer than
// MaxNameLen, and names and label texts of BytesPerMetric bytes per name
// of its limit in all. A real node reports a few hundred metrics, with
// names of under a hundred bytes and short labels.
//
// One goroutine calls Apply (the poll loop; concurrent calls are
// serialised); any number of readers call Snapshot, which never blocks and
// never waits for Apply.
type Store struct {
	mu  sync.Mutex // serialises Apply; readers never take it
	cur atomic.Pointer[Snapshot]
	lim limits
}

// DefaultMaxMetrics is the most names a store holds unless told otherwise.
const DefaultMaxMetrics = 20000

// MaxNameLen is the longest metric name, in bytes, a store keeps.
const MaxNameLen = 1024

// BytesPerMetric is, per name of a store's limit, how many bytes of names
// and label texts it holds in all: about 10 MB at DefaultMaxMetrics.
const BytesPerMetric = 512

// NewStore returns an empty store that holds up to DefaultMaxMetrics names.
func NewStore() *Store { return NewStoreLimit(0) }

// Limits returns the most names, and the most bytes of names and label
// texts, the store holds.
func (s *Store) Limits() (names, bytes int) { return s.lim.names, s.lim.bytes }

// NewStoreLimit returns an empty store that holds up to max names
// (DefaultMaxMetrics when max is 0 or less).
func NewStoreLimit(max int) *Store {
	if max <= 0 {
		max = DefaultMaxMetrics
	}
	s := &Store{lim: limits{names: max, bytes: math.MaxInt}}
	if max < math.MaxInt/BytesPerMetric {
		s.lim.bytes = max * BytesPerMetric
	}
	s.cur.Store(&emptySnapshot)
	return s
}

var emptySnapshot Snapshot

// Snapshot returns the current metrics. The snapshot never changes; a
// later Apply publishes a new one.
func (s *Store) Snapshot() *Snapshot { return s.cur.Load() }

// class is how a sample is exposed, fixed when its value is stored.
type class uint8

const (
	clsCounter  class = iota // EKG counter
	clsGauge                 // EKG gauge
	clsNumber                // label holding a number (_real): TYPE gauge, text copied
	clsInfo                  // label "{k="v",…} v": TYPE info (gauge under text 0.0.4)
	clsInfoNode              // clsInfo with its own node_name label: /metrics leaves it out
	clsBad                   // label no format can carry (not a number, broken label set): left out
)

func (c class) kind() Kind {
	switch c {
	case clsCounter:
		return KindCounter
	case clsGauge:
		return KindGauge
	}
	return KindLabel
}

func classOf(v Value) class {
	switch v.Kind {
	case KindCounter:
		return clsCounter
	case KindGauge:
		return clsGauge
	}
	return classifyLabel(v.Text)
}

// sample is one metric in a snapshot, 16 bytes. Its name is
// Snapshot.names[previous sample's end:end]; for a counter or gauge val is
// the value, for a label the index of its text in Snapshot.texts.
type sample struct {
	end uint32
	cls class
	val int64
}

// Snapshot is an immutable view of a store: its metrics sorted by internal
// name, with counters as exposed. The order compares names segment by
// segment (a '.' sorts before every other byte), which is the order of the
// EKG JSON tree; for names without '.' it is byte order.
//
// A Snapshot is safe for concurrent use; a nil *Snapshot is empty.
type Snapshot struct {
	names   string                // every name, concatenated in sample order
	namesH  unique.Handle[string] // keeps names shared with other stores
	samples []sample              // sorted by name, see compareNames
	texts   []string              // label texts
	lay     *layout               // derived from the names alone; nil when empty
	size    int                   // bytes of names and label texts
}

// layout is what the writers derive from the set of names; snapshots share
// it until a name is added. Only empty snapshots have none.
type layout struct {
	// skip lists, ascending, the samples an exposition leaves out for each
	// setting of metricsNoSuffix (index 1 for true): names that give no
	// valid Prometheus name, names that give the tracer's own
	// ekg_server_timestamp_ms, and every name but the first that gives the
	// same Prometheus name.
	skip [2][]uint32

	// help caches the help lookups of the last Help used with this layout.
	help atomic.Pointer[helpIndex]
}

func (sn *Snapshot) skips(noSuffix bool) []uint32 {
	if sn.lay == nil {
		return nil
	}
	if noSuffix {
		return sn.lay.skip[1]
	}
	return sn.lay.skip[0]
}

// Size returns the bytes of the names and label texts held.
func (sn *Snapshot) Size() int {
	if sn == nil {
		return 0
	}
	return sn.size
}

// Len returns the number of metrics.
func (sn *Snapshot) Len() int {
	if sn == nil {
		return 0
	}
	return len(sn.samples)
}

func (sn *Snapshot) name(i int) string {
	start := uint32(0)
	if i > 0 {
		start = sn.samples[i-1].end
	}
	return sn.names[start:sn.samples[i].end]
}

func (sn *Snapshot) value(i int) Value {
	sm := &sn.samples[i]
	switch k := sm.cls.kind(); k {
	case KindCounter, KindGauge:
		return Value{Kind: k, Int: sm.val}
	}
	return Label(sn.texts[sm.val])
}

// search returns the position of name, or where it would be inserted.
func (sn *Snapshot) search(name string) (int, bool) {
	if sn == nil {
		return 0, false
	}
	return bsearch(len(sn.samples), func(i int) int { return compareNames(sn.name(i), name) })
}

// bsearch is a binary search over n ordered items: cmp(i) compares item i
// with the target.
func bsearch(n int, cmp func(int) int) (int, bool) {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmp(m) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && cmp(lo) == 0
}

// Lookup returns the value of the named metric, counters as exposed.
func (sn *Snapshot) Lookup(name string) (Value, bool) {
	i, ok := sn.search(name)
	if !ok {
		return Value{}, false
	}
	return sn.value(i), true
}

// All yields the metrics in the snapshot's order.
func (sn *Snapshot) All() iter.Seq[Metric] {
	return func(yield func(Metric) bool) {
		for i := range sn.Len() {
			if !yield(Metric{Name: sn.name(i), Value: sn.value(i)}) {
				return
			}
		}
	}
}

// compareNames orders internal names segment by segment: byte order, but
// a '.' sorts before every other byte, so that "a.b" < "a.b.c" < "a-c"
// (the order of the keys in the JSON tree).
func compareNames(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	// Skip the common prefix (often "cardano.node.metrics.") 8 bytes at a
	// time.
	for i+8 <= n && load64(a, i) == load64(b, i) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	x, y := int(a[i]), int(b[i])
	if x == '.' {
		x = -1
	}
	if y == '.' {
		y = -1
	}
	return cmp.Compare(x, y)
}

// load64 reads 8 bytes of s at i (the compiler makes it one load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Apply merges one poll response into the store and publishes the result.
// Metrics the response repeats are applied in order; values of a Kind
// other than counter, gauge and label are ignored. Apply copies the names
// and the label texts it keeps, so that nothing it keeps pins the message
// or the decoder's string of all the response's texts. A response that
// changes nothing publishes nothing.
//
// It returns how many reports it left out: those of names longer than
// MaxNameLen, those of new names once the store holds its limit of names,
// and those that would take its names and label texts over their bytes (a
// label then keeps its text). Reports are decided in the response's order,
// each against the store as the reports before it have left it: within a
// response, and across polls, the first come are taken.
func (s *Store) Apply(ms []Metric) (dropped int) {
	if len(ms) == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.cur.Load()
	next, dropped, ok := update(prev, ms, s.lim)
	if !ok {
		next, dropped = rebuild(prev, ms, s.lim) // a new name or a new kind: rare
	}
	if next != nil {
		s.cur.Store(next)
	}
	return dropped
}

// limits are a store's bounds.
type limits struct{ names, bytes int }

// fits reports whether a store holding names names and size bytes can
// take a new name that adds cost bytes.
func (l limits) fits(names, size, cost int) bool {
	return names < l.names && size+cost <= l.bytes
}

// over reports whether a store holding size bytes would go over its bytes
// if a value grew by grows (a shrinking value never is).
func (l limits) over(size, grows int) bool { return grows > 0 && size+grows > l.bytes }

// textLen is what a value adds to a store's bytes.
func textLen(v Value) int {
	if v.Kind == KindLabel {
		return len(v.Text)
	}
	return 0
}

// merge returns the value a metric holding old has after the report v.
func merge(old, v Value) Value {
	if old.Kind == KindCounter && v.Kind == KindCounter {
		v.Int = max(v.Int, old.Int)
	}
	return v
}

// update returns prev with the values of ms, or nil when nothing changes,
// and the number of reports left out (see Apply). It copies the samples or
// the label texts, never the names. It fails (false) when a name is new
// and fits, or when a name changes its kind; it decides every other report
// as rebuild would, in the response's order.
func update(prev *Snapshot, ms []Metric, lim limits) (_ *Snapshot, dropped int, _ bool) {
	var (
		samples []sample // copy of prev.samples, made on the first change
		texts   []string // copy of prev.texts, made on the first label change
		size    = prev.Size()
	)
	for _, m := range ms {
		if m.Value.Kind > KindLabel {
			continue // not a kind the store keeps
		}
		if len(m.Name) > MaxNameLen {
			dropped++
			continue
		}
		i, ok := prev.search(m.Name)
		if !ok {
			if !lim.fits(prev.Len(), size, len(m.Name)+textLen(m.Value)) {
				dropped++
				continue
			}
			return nil, 0, false
		}
		if prev.samples[i].cls.kind() != m.Value.Kind {
			return nil, 0, false
		}
		sm := prev.samples[i]
		if samples != nil {
			sm = samples[i]
		}
		if m.Value.Kind != KindLabel {
			v := m.Value.Int
			if m.Value.Kind == KindCounter {
				v = max(v, sm.val)
			}
			if v == sm.val {
				continue
			}
			sm.val = v
		} else {
			cur := prev.texts[sm.val]
			if texts != nil {
				cur = texts[sm.val]
			}
			if cur == m.Value.Text {
				continue
			}
			grows := len(m.Value.Text) - len(cur)
			if lim.over(size, grows) {
				dropped++
				continue
			}
			size += grows
			if texts == nil {
				texts = slices.Clone(prev.texts)
			}
			texts[sm.val] = strings.Clone(m.Value.Text) // not the response's string of all its texts
			c := classifyLabel(m.Value.Text)
			if c == sm.cls {
				continue
			}
			sm.cls = c
		}
		if samples == nil {
			samples = slices.Clone(prev.samples)
		}
		samples[i] = sm
	}
	if samples == nil && texts == nil {
		return nil, dropped, true
	}
	next := &Snapshot{names: prev.names, namesH: prev.namesH, samples: prev.samples, texts: prev.texts, lay: prev.lay, size: size}
	if samples != nil {
		next.samples = samples
	}
	if texts != nil {
		next.texts = texts
	}
	return next, dropped, true
}

// entry is a metric while a snapshot is rebuilt.
type entry struct {
	name string
	v    Value
}

// rebuild returns prev with ms applied in order, for responses that add
// names or change kinds, and the number of reports left out (see Apply);
// nil when it takes none. It first decides each report in the response's
// order, against the store as the reports before it have left it, then
// merges the reports it takes.
func rebuild(prev *Snapshot, ms []Metric, lim limits) (_ *Snapshot, dropped int) {
	var (
		in      = make([]Metric, 0, len(ms)) // the reports taken
		now     = make(map[string]Value)     // the values this response has set so far
		names   = prev.Len()
		size    = prev.Size()
		changed = false
	)
	for _, m := range ms {
		if m.Value.Kind > KindLabel {
			continue // not a kind the store keeps
		}
		if len(m.Name) > MaxNameLen {
			dropped++
			continue
		}
		cur, ok := now[m.Name]
		if !ok {
			cur, ok = prev.Lookup(m.Name)
		}
		v := m.Value
		if !ok {
			if !lim.fits(names, size, len(m.Name)+textLen(v)) {
				dropped++
				continue
			}
			names++
			size += len(m.Name) + textLen(v)
			changed = true
		} else {
			v = merge(cur, v)
			grows := textLen(v) - textLen(cur)
			if lim.over(size, grows) {
				dropped++
				continue
			}
			size += grows
			changed = changed || v != cur
		}
		now[m.Name] = v
		if m.Value.Kind == KindLabel {
			m.Value.Text = strings.Clone(m.Value.Text) // not the response's string of all its texts
		}
		in = append(in, m)
	}
	if !changed {
		return nil, dropped
	}
	// Stable, so that the reports of one name keep their order.
	slices.SortStableFunc(in, func(a, b Metric) int { return compareNames(a.Name, b.Name) })
	es := make([]entry, 0, prev.Len()+len(in))
	i, j := 0, 0
	for i < prev.Len() || j < len(in) {
		c := 1
		if i < prev.Len() {
			c = -1
			if j < len(in) {
				c = compareNames(prev.name(i), in[j].Name)
			}
		}
		var e entry
		switch {
		case c < 0:
			es = append(es, entry{prev.name(i), prev.value(i)})
			i++
			continue
		case c == 0:
			e = entry{prev.name(i), merge(prev.value(i), in[j].Value)}
			i++
		default:
			e = entry{in[j].Name, in[j].Value}
		}
		for j++; j < len(in) && in[j].Name == e.name; j++ {
			e.v = merge(e.v, in[j].Value)
		}
		es = append(es, e)
	}
	return build(es), dropped
}

// build makes the compact snapshot of es, which is sorted and unique, and
// derives its layout. Names beyond 4 GiB in total are left out (the
// ingress limits make that impossible in practice).
func build(es []entry) *Snapshot {
	size, nLabels := 0, 0
	for i, e := range es {
		if size+len(e.name) > math.MaxUint32 {
			es = es[:i]
			break
		}
		size += len(e.name)
		if e.v.Kind == KindLabel {
			nLabels++
		}
	}
	var names strings.Builder // its String does not copy
	names.Grow(size)
	sn := &Snapshot{samples: make([]sample, len(es)), size: size}
	if nLabels > 0 {
		sn.texts = make([]string, 0, nLabels)
	}
	for i, e := range es {
		names.WriteString(e.name)
		sm := sample{end: uint32(names.Len()), cls: classOf(e.v)}
		if e.v.Kind == KindLabel {
			sm.val = int64(len(sn.texts))
			sn.texts = append(sn.texts, e.v.Text)
			sn.size += len(e.v.Text)
		} else {
			sm.val = e.v.Int
		}
		sn.samples[i] = sm
	}
	// Nodes that run the same software report the same names: a thousand
	// of them share one copy of the names (about 19 KB for 300 metrics)
	// instead of holding one each. The copy lives as long as a snapshot
	// holds its handle.
	sn.namesH = unique.Make(names.String())
	sn.names = sn.namesH.Value()
	sn.lay = deriveLayout(sn)
	return sn
}
