package ekg_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"muninn/ekg"
)

func TestJSONTreeGolden(t *testing.T) {
	t.Parallel()
	out := ekg.AppendJSON(nil, fixtureSnapshot(t), clock)
	var indented bytes.Buffer
	if err := json.Indent(&indented, out, "", "  "); err != nil {
		t.Fatalf("tree is not JSON: %v\n%s", err, out)
	}
	golden(t, "tree.json", append(indented.Bytes(), '\n'))

	// The paths tools such as gLiveView read.
	var tree map[string]any
	if err := json.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"cardano.node.metrics.blockNum_int.val":                11834567.0,
		"cardano.node.metrics.blockNum_int.type":               "g",
		"cardano.node.metrics.density_real.val":                "4.9871e-2",
		"cardano.node.metrics.density_real.type":               "l",
		"cardano.node.metrics.forks_counter.type":              "c",
		"ekg.server_timestamp_ms.val":                          float64(clock.UnixMilli()),
		"rts.gc.bytes_allocated.val":                           918273645.0,
		"cardano.node.metrics.Forge.about-to-lead_counter.val": 4242.0,
	} {
		var v any = tree
		for seg := range strings.SplitSeq(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: not an object at %q", path, seg)
			}
			v = m[seg]
		}
		if v != want {
			t.Errorf("%s = %v, want %v", path, v, want)
		}
	}
}

// treeOf builds the expected tree the plain way, for names without the
// leaf-and-prefix case.
func treeOf(ms []ekg.Metric, ts int64) map[string]any {
	root := map[string]any{}
	add := func(name string, leaf map[string]any) {
		segs := strings.Split(name, ".")
		m := root
		for _, s := range segs[:len(segs)-1] {
			next, ok := m[s].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[s] = next
			}
			m = next
		}
		m[segs[len(segs)-1]] = leaf
	}
	for _, mt := range ms {
		switch mt.Value.Kind {
		case ekg.KindCounter:
			add(mt.Name, map[string]any{"type": "c", "val": float64(mt.Value.Int)})
		case ekg.KindGauge:
			add(mt.Name, map[string]any{"type": "g", "val": float64(mt.Value.Int)})
		default:
			add(mt.Name, map[string]any{"type": "l", "val": mt.Value.Text})
		}
	}
	add(ekg.TimestampName, map[string]any{"type": "c", "val": float64(ts)})
	return root
}

func TestJSONTreeShapes(t *testing.T) {
	t.Parallel()
	g := ekg.Gauge
	for _, tc := range []struct {
		name string
		ms   []ekg.Metric
		want string // without the timestamp
	}{
		{"empty", nil, `{}`},
		{"flat", []ekg.Metric{{"b", g(2)}, {"a", g(1)}}, `{"a":{"type":"g","val":1},"b":{"type":"g","val":2}}`},
		{"nested and '-' before '.'", []ekg.Metric{{"a-c", g(3)}, {"a.b", g(1)}, {"a.c", g(2)}},
			`{"a":{"b":{"type":"g","val":1},"c":{"type":"g","val":2}},"a-c":{"type":"g","val":3}}`},
		{"leaf and prefix merge, keys sorted", []ekg.Metric{{"a.b", g(1)}, {"a.b.c", g(2)}, {"a.b.u", g(3)}, {"a.b.z", g(4)}},
			`{"a":{"b":{"c":{"type":"g","val":2},"type":"g","u":{"type":"g","val":3},"val":1,"z":{"type":"g","val":4}}}}`},
		{"leaf and deeper prefix", []ekg.Metric{{"a", ekg.Label("x")}, {"a.b.c", g(2)}},
			`{"a":{"b":{"c":{"type":"g","val":2}},"type":"l","val":"x"}}`},
		{"children named type and val are left out", []ekg.Metric{{"a", g(1)}, {"a.type", g(2)}, {"a.val.x", g(3)}, {"a.value", g(4)}},
			`{"a":{"type":"g","val":1,"value":{"type":"g","val":4}}}`},
		{"type and val below a plain object stay", []ekg.Metric{{"a.type", g(2)}, {"a.val", g(3)}},
			`{"a":{"type":{"type":"g","val":2},"val":{"type":"g","val":3}}}`},
		{"empty segments", []ekg.Metric{{"", g(1)}, {"a..b", g(2)}, {"a.", g(3)}, {".", g(4)}},
			`{"":{"":{"type":"g","val":4},"type":"g","val":1},"a":{"":{"b":{"type":"g","val":2},"type":"g","val":3}}}`},
		{"escaping", []ekg.Metric{{"q\"\\\n\x01\x7f", ekg.Label("\"\\\t\r\n\x00é")}, {"bad\xff", ekg.Label("x\xfey")}},
			`{"bad\ufffd":{"type":"l","val":"x\ufffdy"},"q\"\\\n\u0001` + "\x7f" + `":{"type":"l","val":"\"\\\t\r\n\u0000é"}}`},
		{"negative and extreme", []ekg.Metric{{"n", g(-9223372036854775808)}, {"p", ekg.Counter(9223372036854775807)}},
			`{"n":{"type":"g","val":-9223372036854775808},"p":{"type":"c","val":9223372036854775807}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ekg.NewStore()
			s.Apply(tc.ms)
			out := ekg.AppendJSON(nil, s.Snapshot(), clock)
			if !json.Valid(out) {
				t.Fatalf("invalid JSON %s", out)
			}
			if got := string(out); got != sortedSplice(t, tc.want) {
				t.Errorf("got  %s\nwant %s", got, sortedSplice(t, tc.want))
			}
		})
	}
}

// sortedSplice adds the timestamp subtree to a root object given as JSON
// without it, at its sorted place ("ekg" among the root keys).
func sortedSplice(t *testing.T, obj string) string {
	t.Helper()
	const ts = `"ekg":{"server_timestamp_ms":{"type":"c","val":1784797012345}}`
	if obj == "{}" {
		return "{" + ts + "}"
	}
	// Find the root keys and their spans by decoding token by token.
	dec := json.NewDecoder(strings.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.(string) > "ekg" {
			at := int(start)
			if obj[at] == ',' {
				at++
			}
			return obj[:at] + ts + "," + obj[at:]
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return obj[:len(obj)-1] + "," + ts + "}"
}

func TestJSONTreeMatchesPlainTree(t *testing.T) {
	t.Parallel()
	ms := realistic300()
	s := ekg.NewStore()
	s.Apply(ms)
	var got map[string]any
	if err := json.Unmarshal(ekg.AppendJSON(nil, s.Snapshot(), clock), &got); err != nil {
		t.Fatal(err)
	}
	if want := treeOf(ms, clock.UnixMilli()); !reflect.DeepEqual(got, want) {
		t.Errorf("tree differs from the plain construction")
	}
}

func TestJSONTreeNodeTimestamp(t *testing.T) {
	t.Parallel()
	s := ekg.NewStore()
	s.Apply([]ekg.Metric{{ekg.TimestampName, ekg.Counter(5)}, {"ekg.x", ekg.Gauge(1)}, {"ekg.server_timestamp_ms.sub", ekg.Gauge(2)}})
	got := string(ekg.AppendJSON(nil, s.Snapshot(), clock))
	want := `{"ekg":{"server_timestamp_ms":{"sub":{"type":"g","val":2},"type":"c","val":1784797012345},"x":{"type":"g","val":1}}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestJSONMetric(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot(t)
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"cardano.node.metrics.blockNum_int", `{"type":"g","val":11834567}`, true},
		{"cardano.node.metrics.density_real", `{"type":"l","val":"4.9871e-2"}`, true},
		{"rts.gc.bytes_allocated", `{"type":"c","val":918273645}`, true},
		{ekg.TimestampName, `{"type":"c","val":1784797012345}`, true},
		{"cardano.node.metrics", "", false}, // a prefix is no metric
		{"cardano.node.metrics.missing", "", false},
		{"", "", false},
	} {
		got, ok := ekg.AppendJSONMetricAt([]byte("x"), snap, tc.name, clock)
		if ok != tc.ok || string(got) != "x"+tc.want {
			t.Errorf("AppendJSONMetricAt(%q) = %s, %v; want x%s, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if b, ok := ekg.AppendJSONMetric(nil, snap, ekg.TimestampName); !ok || !json.Valid(b) {
		t.Errorf("AppendJSONMetric(timestamp) = %s, %v", b, ok)
	}
	if _, ok := ekg.AppendJSONMetric(nil, nil, "x"); ok {
		t.Error("a nil snapshot has a metric")
	}
}
