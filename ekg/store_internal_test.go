package ekg

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestSnapshotDoesNotWaitForApply reads while an Apply holds the store:
// Snapshot returns at once with the last published snapshot (were it to
// wait, the test would hang).
func TestSnapshotDoesNotWaitForApply(t *testing.T) {
	t.Parallel()
	s := NewStore()
	s.Apply([]Metric{{Name: "a", Value: Gauge(1)}})
	s.mu.Lock() // an Apply in progress
	defer s.mu.Unlock()
	if v, ok := s.Snapshot().Lookup("a"); !ok || v != Gauge(1) {
		t.Errorf("a = %v, %v", v, ok)
	}
}

// TestSampleSize keeps the per-metric cost of a snapshot at 16 bytes.
func TestSampleSize(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(sample{}); n != 16 {
		t.Errorf("sample is %d bytes, want 16", n)
	}
}

// TestUnknownKindIgnored: a value of no known kind changes nothing.
func TestUnknownKindIgnored(t *testing.T) {
	t.Parallel()
	s := NewStore()
	s.Apply([]Metric{{Name: "a", Value: Value{Kind: 7, Int: 1}}, {Name: "b", Value: Gauge(2)}})
	s.Apply([]Metric{{Name: "b", Value: Value{Kind: 3, Text: "x"}}})
	if s.Snapshot().Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Snapshot().Len())
	}
	if v, _ := s.Snapshot().Lookup("b"); v != Gauge(2) {
		t.Errorf("b = %v", v)
	}
}

func TestValidLabelSet(t *testing.T) {
	t.Parallel()
	many := func(n int, dup bool) string {
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, "l%d=\"v\"", i)
		}
		if dup {
			sb.WriteString(`,l3="again"`)
		}
		sb.WriteString("} 1")
		return sb.String()
	}
	for _, tc := range []struct {
		s           string
		ok, hasNode bool
	}{
		{`{} 1`, true, false},
		{`{a="b"} 1`, true, false},
		{`{a="b",node_name="n"} 0.5`, true, true},
		{`{_a1="\\\"\n"} +Inf`, true, false},
		{many(16, false), true, false},
		{many(17, false), true, false},
		{many(100, false), true, false},
		{many(100, true), false, false},
		{many(10, true), false, false},
		{`{a="b"}1`, false, false},
		{`{a="b"} `, false, false},
		{`{a="b" } 1`, false, false},
		{`{ a="b"} 1`, false, false},
		{`{a="b",} 1`, false, false},
		{`{,a="b"} 1`, false, false},
		{`{a="b"`, false, false},
		{`{a="b\"} 1`, false, false},
		{`{a=""} 1 2`, false, false},
		{`{a="b"} 0x1p3`, false, false},
		{`{`, false, false},
		{`{}`, false, false},
		{"{a=\"b\xff\"} 1", false, false},
	} {
		ok, hasNode := validLabelSet(tc.s)
		if ok != tc.ok || (ok && hasNode != tc.hasNode) {
			t.Errorf("validLabelSet(%q) = %v, %v; want %v, %v", tc.s, ok, hasNode, tc.ok, tc.hasNode)
		}
	}
}

// TestStoresShareNames: stores of nodes reporting the same names hold one
// copy of them between them, through rebuilds and updates, and a store
// with other names has its own.
func TestStoresShareNames(t *testing.T) {
	t.Parallel()
	metrics := func(v int64, extra string) []Metric {
		var ms []Metric
		for i := range 50 {
			// A fresh string each time, as a decoded response gives.
			ms = append(ms, Metric{Name: strings.Clone(fmt.Sprintf("cardano.node.metric%d", i)), Value: Gauge(v)})
		}
		if extra != "" {
			ms = append(ms, Metric{Name: extra, Value: Gauge(v)})
		}
		return ms
	}
	data := func(s *Store) *byte { return unsafe.StringData(s.Snapshot().names) }
	a, b, c := NewStore(), NewStore(), NewStore()
	a.Apply(metrics(1, ""))
	b.Apply(metrics(2, ""))
	c.Apply(metrics(3, "other"))
	if data(a) != data(b) {
		t.Error("two stores with the same names hold two copies")
	}
	if data(a) == data(c) {
		t.Error("stores with different names share them")
	}
	b.Apply(metrics(5, "")) // an update keeps the shared names
	if data(a) != data(b) {
		t.Error("an update gave the store a copy of its own")
	}
	if v, ok := b.Snapshot().Lookup("cardano.node.metric7"); !ok || v != Gauge(5) {
		t.Errorf("after the update metric7 = %v, %v", v, ok)
	}
	a.Apply(metrics(1, "other")) // a rebuild to c's names shares c's
	if data(a) != data(c) {
		t.Error("a rebuild to another store's names made a copy")
	}
}

// TestHelpCacheSkipsLongNames: a name longer than maxCachedName is looked
// up each time and never kept, so a node's long names do not stay in the
// cache after it has gone; a short one is kept.
func TestHelpCacheSkipsLongNames(t *testing.T) {
	t.Parallel()
	h := NewHelp(map[string]string{"mem": "memory"})
	long := strings.Repeat("x", maxCachedName) + "mem"
	for range 2 {
		if i := h.index(long); i != 0 {
			t.Fatalf("index(long name) = %d, want 0", i)
		}
	}
	if n := len(h.cache); n != 0 {
		t.Fatalf("%d names cached after a long name, want 0", n)
	}
	if i := h.index("rts.mem.live"); i != 0 || len(h.cache) != 1 {
		t.Fatalf("index(short name) = %d with %d cached, want 0 with 1", i, len(h.cache))
	}
}
