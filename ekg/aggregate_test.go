package ekg_test

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"muninn/ekg"
)

// fleet returns three nodes: the fixture relay, a block producer that
// disagrees on one type, spells one name differently and has an awkward
// name, and a node without metrics yet.
func fleet(t testing.TB) []ekg.NodeSnapshot {
	bp := ekg.NewStore()
	bp.Apply([]ekg.Metric{
		{Name: "cardano.node.metrics.blockNum_int", Value: ekg.Gauge(11834566)},
		{Name: "cardano.node.metrics.forks_counter", Value: ekg.Gauge(2)}, // a gauge here, a counter on the relay
		{Name: "cardano.node.metrics.Mem-resident_int", Value: ekg.Gauge(123)},
		{Name: "cardano.node.metrics.nodeIsLeader_int", Value: ekg.Gauge(1)},
		{Name: "cardano.node.metrics.cardano_build_info", Value: ekg.Label(`{version="10.6.0"} 1`)},
		{Name: "cardano.node.metrics.density_real", Value: ekg.Label("5.0e-2")},
		{Name: "cardano.node.metrics.empty_info", Value: ekg.Label(`{} 1`)},
		{Name: "cardano.node.metrics.own_node_info", Value: ekg.Label(`{node_name="x"} 1`)}, // cannot merge: left out
		{Name: "rts.gc.bytes_allocated", Value: ekg.Counter(1000)},
	})
	return []ekg.NodeSnapshot{
		{Name: "relay1_3001", Snap: fixtureSnapshot(t)},
		{Name: "bp \"1\"\\\n\xff", Snap: bp.Snapshot()},
		{Name: "idle", Snap: nil},
	}
}

func TestAppendAllGolden(t *testing.T) {
	t.Parallel()
	nodes := fleet(t)
	help := ekg.NewHelp(helpTexts())
	for _, tc := range []struct {
		file string
		f    ekg.Format
		eof  bool
	}{
		{"aggregate.prom", ekg.Text004, false},
		{"aggregate_openmetrics.prom", ekg.OpenMetrics, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			var skipped atomic.Uint64
			e := ekg.Exposition{Help: help, Skipped: &skipped}
			out := e.AppendAll(nil, nodes, tc.f, clock, tc.eof)
			golden(t, tc.file, out)
			samples := checkLines(t, out, tc.eof)
			if got := skipped.Load(); got != 4 { // relay: nodeName, 9lives, ***; bp: own_node_info
				t.Errorf("Skipped = %d, want 4", got)
			}
			for _, s := range samples {
				if !strings.Contains(s, `{node_name="`) {
					t.Errorf("sample without node_name first: %q", s)
				}
			}
			if tc.f != ekg.Text004 {
				return
			}
			mfs := parseText(t, out)
			for name, want := range map[string]int{
				"cardano_node_metrics_blockNum_int":       2,
				"cardano_node_metrics_Mem_resident_int":   2,
				"cardano_node_metrics_nodeIsLeader_int":   1,
				"cardano_node_metrics_cardano_build_info": 2,
				"cardano_node_metrics_forks_counter":      2,
				"ekg_server_timestamp_ms":                 3,
				"rts_gc_max_bytes_used":                   1,
			} {
				if got := len(mfs[name].GetMetric()); got != want {
					t.Errorf("%s: %d samples, want %d", name, got, want)
				}
			}
			if typ := mfs["cardano_node_metrics_forks_counter"].GetType(); typ != dto.MetricType_UNTYPED {
				t.Errorf("forks_counter typed %v although the nodes disagree", typ)
			}
			bi := mfs["cardano_node_metrics_cardano_build_info"].GetMetric()[1].GetLabel()
			if bi[0].GetName() != "node_name" || bi[0].GetValue() != "bp \"1\"\\\n\uFFFD" || bi[1].GetValue() != "10.6.0" {
				t.Errorf("merged build info labels %v", bi)
			}
		})
	}
}

func TestAppendAllEdges(t *testing.T) {
	t.Parallel()
	var e ekg.Exposition
	if got := string(e.AppendAll(nil, nil, ekg.OpenMetrics, clock, true)); got != "# EOF\n" {
		t.Errorf("no nodes, eof: %q", got)
	}
	if got := e.AppendAll(nil, nil, ekg.Text004, clock, false); len(got) != 0 {
		t.Errorf("no nodes: %q", got)
	}
	// Reusing the pooled scratch must not mix calls.
	a := e.AppendAll(nil, fleet(t), ekg.Text004, clock, false)
	b := e.AppendAll(nil, fleet(t)[:1], ekg.Text004, clock, false)
	c := e.AppendAll(nil, fleet(t), ekg.Text004, clock, false)
	if !bytes.Equal(a, c) || bytes.Equal(a, b) {
		t.Error("AppendAll depends on earlier calls")
	}
	// Same names, different classes; a family of left-out samples only.
	n1, n2, n3 := ekg.NewStore(), ekg.NewStore(), ekg.NewStore()
	n1.Apply([]ekg.Metric{{Name: "x", Value: ekg.Label("1.5")}, {Name: "y", Value: ekg.Label("word")}})
	n2.Apply([]ekg.Metric{{Name: "x", Value: ekg.Label("word")}, {Name: "y", Value: ekg.Label("word")}})
	n3.Apply([]ekg.Metric{{Name: "x", Value: ekg.Gauge(7)}, {Name: "y", Value: ekg.Label("word")}})
	got := string(e.AppendAll(nil, []ekg.NodeSnapshot{{"a", n1.Snapshot()}, {"b", n2.Snapshot()}, {"c", n3.Snapshot()}}, ekg.OpenMetrics, clock, true))
	want := "# TYPE x gauge\nx{node_name=\"a\"} 1.5\nx{node_name=\"c\"} 7\n" +
		"# TYPE ekg_server_timestamp_ms counter\n" +
		"ekg_server_timestamp_ms{node_name=\"a\"} 1784797012345\nekg_server_timestamp_ms{node_name=\"b\"} 1784797012345\n" +
		"ekg_server_timestamp_ms{node_name=\"c\"} 1784797012345\n# EOF\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// With metricsNoSuffix the families lose their suffixes and still group.
	e.NoSuffix = true
	out := e.AppendAll(nil, fleet(t), ekg.Text004, clock, false)
	mfs := parseText(t, out)
	if got := len(mfs["cardano_node_metrics_blockNum"].GetMetric()); got != 2 {
		t.Errorf("blockNum without suffix: %d samples, want 2\n%s", got, out)
	}
}

// TestAppendAllMatchesPerNode renders pseudo-random fleets, whose nodes
// share some names and not others, and checks that /metrics holds exactly
// each node's own exposition, labelled.
func TestAppendAllMatchesPerNode(t *testing.T) {
	t.Parallel()
	pool := []ekg.Metric{
		{Name: "a.b", Value: ekg.Gauge(1)}, {Name: "a_b", Value: ekg.Gauge(2)}, {Name: "a-c", Value: ekg.Counter(3)},
		{Name: "c.x_int", Value: ekg.Gauge(4)}, {Name: "c.x_real", Value: ekg.Label("0.5")}, {Name: "c.x", Value: ekg.Label("{k=\"v\"} 1")},
		{Name: "d", Value: ekg.Label("word")}, {Name: "e.f.g", Value: ekg.Counter(5)}, {Name: "e.f", Value: ekg.Gauge(-6)},
		{Name: "rts.gc.num_gcs", Value: ekg.Counter(7)}, {Name: "9z", Value: ekg.Gauge(8)}, {Name: "z", Value: ekg.Label("{} 2")},
	}
	x := uint64(7)
	rnd := func(n uint64) uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x % n }
	for round := range 50 {
		nodes := make([]ekg.NodeSnapshot, 1+rnd(8))
		for i := range nodes {
			s := ekg.NewStore()
			var ms []ekg.Metric
			for _, m := range pool {
				if rnd(3) > 0 {
					m.Value.Int += int64(i)
					if rnd(5) == 0 { // another kind on this node
						m.Value = ekg.Gauge(int64(i))
					}
					ms = append(ms, m)
				}
			}
			s.Apply(ms)
			nodes[i] = ekg.NodeSnapshot{Name: fmt.Sprintf("n%d", i), Snap: s.Snapshot()}
			if rnd(4) == 0 && i > 0 {
				nodes[i].Snap = nodes[i-1].Snap // same names, as in a fleet
			}
		}
		for _, noSuffix := range []bool{false, true} {
			e := ekg.Exposition{NoSuffix: noSuffix}
			all := seriesOf(t, parseText(t, e.AppendAll(nil, nodes, ekg.Text004, clock, false)))
			want := map[string]float64{}
			for _, n := range nodes {
				for k, v := range seriesOf(t, parseText(t, e.Append(nil, n.Snap, ekg.Text004, clock))) {
					want[strings.Replace(k, "{", `{node_name="`+n.Name+`",`, 1)] = v
				}
			}
			if !maps.Equal(all, want) {
				t.Fatalf("round %d noSuffix=%v:\n/metrics %v\nper node %v", round, noSuffix, all, want)
			}
		}
	}
}

// seriesOf flattens parsed families to "name{l="v",…}" → value, labels in
// the parser's order, a trailing comma after each.
func seriesOf(t *testing.T, mfs map[string]*dto.MetricFamily) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var sb strings.Builder
			sb.WriteString(name + "{")
			for _, l := range m.GetLabel() {
				fmt.Fprintf(&sb, "%s=%q,", l.GetName(), l.GetValue())
			}
			sb.WriteString("}")
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out[sb.String()] = v
		}
	}
	return out
}
