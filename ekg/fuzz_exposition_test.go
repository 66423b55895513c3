package ekg_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"muninn/ekg"
)

// fuzzMetrics makes a small response from fuzzed parts: two names, a
// third that nests one below the other, with kinds chosen by k.
func fuzzMetrics(name1, name2, text string, n int64, k uint8) []ekg.Metric {
	value := func(k uint8) ekg.Value {
		switch k % 3 {
		case 0:
			return ekg.Counter(n)
		case 1:
			return ekg.Gauge(-n)
		}
		return ekg.Label(text)
	}
	return []ekg.Metric{
		{Name: name1, Value: value(k)},
		{Name: name2, Value: value(k >> 2)},
		{Name: name1 + "." + name2, Value: value(k >> 4)},
		{Name: name2 + "_int", Value: ekg.Label(text)},
		{Name: "x." + name1, Value: ekg.Label("{a=\"" + text + "\"} 1")},
	}
}

var reNumericSample = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(\{node_name="(?:[^"\\\n]|\\[\\"n])*"\})? -?[0-9]+$`)

// FuzzExposition: for any names and label texts, both formats are made of
// well-formed lines (no raw newline from the input splits a line), every
// metric name matches [a-zA-Z_][a-zA-Z0-9_]*, every counter and gauge
// sample is "name value" (or name{node_name="…"} value), and Prometheus'
// text parser accepts the text 0.0.4 output, per node and aggregated.
func FuzzExposition(f *testing.F) {
	f.Add("cardano.node.metrics.blockNum_int", "rts.gc.bytes_allocated", "4.9871e-2", int64(11834567), uint8(0x24), "relay1")
	f.Add("a\nb", "9x", "{a=\"b\"} 1", int64(-1), uint8(0xff), "n\"\\\n")
	f.Add("", "_int", "x\ny", int64(0), uint8(0x12), "")
	f.Add("ekg.server_timestamp_ms", "ekg-server-timestamp_ms", "NaN", int64(1), uint8(0x01), "\xff")
	f.Add("a", "a", "{} 1", int64(3), uint8(0x3a), "x")
	f.Fuzz(func(t *testing.T, name1, name2, text string, n int64, k uint8, node string) {
		s := ekg.NewStore()
		s.Apply(fuzzMetrics(name1, name2, text, n, k))
		snap := s.Snapshot()
		for _, noSuffix := range []bool{false, true} {
			e := ekg.Exposition{NoSuffix: noSuffix}
			for _, format := range []ekg.Format{ekg.OpenMetrics, ekg.Text004} {
				outs := [][]byte{
					e.Append(nil, snap, format, clock),
					e.AppendAll(nil, []ekg.NodeSnapshot{{Name: node, Snap: snap}, {Name: "other", Snap: snap}}, format, clock, true),
				}
				for _, out := range outs {
					checkNumericSamples(t, snap, out, noSuffix)
					if format == ekg.Text004 {
						parseText(t, out)
					}
				}
			}
		}
	})
}

// checkNumericSamples checks the line structure, and that each counter
// and gauge sample line is exactly a name and an integer.
func checkNumericSamples(t *testing.T, snap *ekg.Snapshot, out []byte, noSuffix bool) {
	t.Helper()
	samples := checkLines(t, out, true)
	// The family belongs to the first name in snapshot order that gives it.
	numeric := map[string]bool{"ekg_server_timestamp_ms": true}
	seen := map[string]bool{"ekg_server_timestamp_ms": true}
	for m := range snap.All() {
		fam := ekg.FamilyName(m.Name, noSuffix)
		if !seen[fam] {
			seen[fam] = true
			numeric[fam] = m.Value.Kind != ekg.KindLabel
		}
	}
	for _, l := range samples {
		if name := l[:strings.IndexAny(l, "{ ")]; numeric[name] && !reNumericSample.MatchString(l) {
			t.Fatalf("numeric sample line %q is malformed", l)
		}
	}
}

// FuzzJSONTree: the EKG JSON tree and each metric's leaf are valid JSON
// for any names and label texts.
func FuzzJSONTree(f *testing.F) {
	f.Add("cardano.node.metrics.blockNum_int", "rts.gc.bytes_allocated", "4.9871e-2", int64(1), uint8(0x24))
	f.Add("a..b", ".", "\"\\\x00\n\xff", int64(-1), uint8(0xff))
	f.Add("type", "val", "", int64(0), uint8(0x2a))
	f.Add("ekg", "server_timestamp_ms", "\u2028", int64(5), uint8(0x00))
	f.Fuzz(func(t *testing.T, name1, name2, text string, n int64, k uint8) {
		ms := fuzzMetrics(name1, name2, text, n, k)
		ms = append(ms, ekg.Metric{Name: name1 + ".type", Value: ekg.Gauge(n)}, ekg.Metric{Name: name2 + ".val.x", Value: ekg.Label(text)})
		s := ekg.NewStore()
		s.Apply(ms)
		snap := s.Snapshot()
		out := ekg.AppendJSON(nil, snap, clock)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON tree %q", out)
		}
		var tree map[string]any
		if err := json.Unmarshal(out, &tree); err != nil {
			t.Fatalf("tree does not decode: %v", err)
		}
		for m := range snap.All() {
			leaf, ok := ekg.AppendJSONMetricAt(nil, snap, m.Name, clock)
			if !ok || !json.Valid(leaf) {
				t.Fatalf("leaf of %q: %q, %v", m.Name, leaf, ok)
			}
		}
	})
}
