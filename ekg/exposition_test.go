package ekg_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"muninn/ekg"
)

func TestFamilyName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		noSuffix bool
		want     string
		valid    bool
	}{
		{"cardano.node.metrics.blockNum_int", false, "cardano_node_metrics_blockNum_int", true},
		{"cardano.node.metrics.blockNum_int", true, "cardano_node_metrics_blockNum", true},
		{"cardano.node.metrics.Forge.about-to-lead_counter", false, "cardano_node_metrics_Forge_about_to_lead_counter", true},
		{"cardano.node.metrics.Forge.about-to-lead_counter", true, "cardano_node_metrics_Forge_about_to_lead", true},
		{"cardano.node.metrics.Mem.resident_int", false, "cardano_node_metrics_Mem_resident_int", true},
		{"cardano.node.metrics.node.start.time_int", false, "cardano_node_metrics_node_start_time_int", true},
		{"cardano.node.metrics.served.block_counter", false, "cardano_node_metrics_served_block_counter", true},
		{"cardano.node.metrics.blockfetchclient.blockdelay.cdfOne_real", true, "cardano_node_metrics_blockfetchclient_blockdelay_cdfOne", true},
		{"cardano.node.metrics.cardano_build_info", true, "cardano_node_metrics_cardano_build_info", true},
		{"rts.gc.bytes_allocated", false, "rts_gc_bytes_allocated", true},
		{"a b-c.d", false, "a_b_c_d", true},
		{"Grüße!x", false, "Grex", true},    // non-ASCII and punctuation deleted, case kept
		{"x_int_real", true, "x_int", true}, // only the final suffix goes
		{"x_integer", true, "x_integer", true},
		{"x.int", true, "x_int", true},              // a '.' is not '_' yet when the suffix is removed
		{"_counter", true, "", false},               // nothing left
		{"***", false, "", false},                   // nothing left
		{"9lives", false, "9lives", false},          // a leading digit is invalid
		{"-9lives", false, "_9lives", true},         // '-' becomes '_'
		{"\xff\x00\n", false, "", false},            // bytes deleted
		{"TOTAL_total", false, "TOTAL_total", true}, // no _total handling
	} {
		got := ekg.FamilyName(tc.name, tc.noSuffix)
		if got != tc.want {
			t.Errorf("FamilyName(%q, %v) = %q, want %q", tc.name, tc.noSuffix, got, tc.want)
		}
		if v := ekg.ValidFamily([]byte(got)); v != tc.valid {
			t.Errorf("ValidFamily(%q) = %v, want %v", got, v, tc.valid)
		}
	}
}

func TestExpositionGolden(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot(t)
	help := ekg.NewHelp(helpTexts())
	for _, tc := range []struct {
		file     string
		f        ekg.Format
		noSuffix bool
	}{
		{"openmetrics.prom", ekg.OpenMetrics, false},
		{"text004.prom", ekg.Text004, false},
		{"openmetrics_nosuffix.prom", ekg.OpenMetrics, true},
		{"text004_nosuffix.prom", ekg.Text004, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			var skipped atomic.Uint64
			e := ekg.Exposition{NoSuffix: tc.noSuffix, Help: help, Skipped: &skipped}
			out := e.Append(nil, snap, tc.f, clock)
			golden(t, tc.file, out)
			checkLines(t, out, true)
			if got := skipped.Load(); got != 3 { // nodeName, 9lives, ***
				t.Errorf("Skipped = %d, want 3", got)
			}
			if tc.f == ekg.Text004 {
				mfs := parseText(t, out)
				if mf := mfs[ekg.FamilyName("cardano.node.metrics.cardano_build_info", tc.noSuffix)]; mf.GetType() != dto.MetricType_GAUGE {
					t.Errorf("build info typed %v under text 0.0.4, want gauge", mf.GetType())
				}
			} else if !bytes.Contains(out, []byte("# TYPE cardano_node_metrics_cardano_build_info info\n")) {
				t.Error("build info not typed info under OpenMetrics")
			}
		})
	}
}

// parseText parses a text 0.0.4 exposition as Prometheus' own parser does.
func parseText(t testing.TB, out []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("text 0.0.4 output does not parse: %v\n%s", err, out)
	}
	return mfs
}

// TestExpositionValues checks the parsed values and types against the
// fixture, and the suffix-less names.
func TestExpositionValues(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot(t)
	for _, noSuffix := range []bool{false, true} {
		e := ekg.Exposition{NoSuffix: noSuffix}
		mfs := parseText(t, e.Append(nil, snap, ekg.Text004, clock))
		check := func(internal string, typ dto.MetricType, val float64) {
			t.Helper()
			name := ekg.FamilyName(internal, noSuffix)
			mf, ok := mfs[name]
			if !ok {
				t.Errorf("noSuffix=%v: %s missing", noSuffix, name)
				return
			}
			if mf.GetType() != typ {
				t.Errorf("%s: type %v, want %v", name, mf.GetType(), typ)
			}
			m := mf.GetMetric()[0]
			var got float64
			switch typ {
			case dto.MetricType_COUNTER:
				got = m.GetCounter().GetValue()
			default:
				got = m.GetGauge().GetValue()
			}
			if got != val {
				t.Errorf("%s = %v, want %v", name, got, val)
			}
		}
		check("cardano.node.metrics.blockNum_int", dto.MetricType_GAUGE, 11834567)
		check("cardano.node.metrics.forks_counter", dto.MetricType_COUNTER, 3)
		check("cardano.node.metrics.density_real", dto.MetricType_GAUGE, 4.9871e-2)
		check("cardano.node.metrics.blockfetchclient.blockdelay_real", dto.MetricType_GAUGE, 1.2e7)
		check("cardano.node.metrics.remainingKESPeriods_int", dto.MetricType_GAUGE, -3)
		check("cardano.node.metrics.cardano_build_info", dto.MetricType_GAUGE, 1)
		check("rts.gc.bytes_allocated", dto.MetricType_COUNTER, 918273645)
		check("odd name!", dto.MetricType_GAUGE, -1)
		check(ekg.TimestampName, dto.MetricType_COUNTER, float64(clock.UnixMilli()))
		labels := mfs[ekg.FamilyName("cardano.node.metrics.cardano_build_info", noSuffix)].GetMetric()[0].GetLabel()
		if len(labels) != 12 || labels[3].GetName() != "version" || labels[3].GetValue() != "10.5.1" {
			t.Errorf("build info labels %v", labels)
		}
	}
}

// TestExpositionLeavesOut covers every sample the writer must not write.
func TestExpositionLeavesOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ms       []ekg.Metric
		noSuffix bool
		want     string // the samples written, without the timestamp
		skipped  uint64
	}{
		{
			name: "same Prometheus name: the first in snapshot order wins",
			ms:   []ekg.Metric{{Name: "a_b", Value: ekg.Gauge(2)}, {Name: "a.b", Value: ekg.Gauge(1)}, {Name: "a-b", Value: ekg.Gauge(3)}},
			want: "a_b 1\n", skipped: 2,
		},
		{
			name:     "suffixes collide without them",
			ms:       []ekg.Metric{{Name: "x_int", Value: ekg.Gauge(1)}, {Name: "x_real", Value: ekg.Label("2.5")}, {Name: "x_counter", Value: ekg.Counter(3)}},
			noSuffix: true,
			want:     "x 3\n", skipped: 2,
		},
		{
			name: "suffixes kept do not collide",
			ms:   []ekg.Metric{{Name: "x_int", Value: ekg.Gauge(1)}, {Name: "x_real", Value: ekg.Label("2.5")}, {Name: "x_counter", Value: ekg.Counter(3)}},
			want: "x_counter 3\nx_int 1\nx_real 2.5\n",
		},
		{
			name: "the node's own timestamp",
			ms:   []ekg.Metric{{Name: "ekg.server_timestamp_ms", Value: ekg.Counter(5)}, {Name: "ekg-server-timestamp_ms", Value: ekg.Gauge(6)}},
			want: "", skipped: 2,
		},
		{
			name: "invalid names",
			ms:   []ekg.Metric{{Name: "", Value: ekg.Gauge(1)}, {Name: "0", Value: ekg.Gauge(1)}, {Name: ".9", Value: ekg.Gauge(1)}, {Name: "é9", Value: ekg.Gauge(1)}},
			want: "_9 1\n", skipped: 3,
		},
		{
			name: "labels",
			ms: []ekg.Metric{
				{Name: "num", Value: ekg.Label("-Inf")},
				{Name: "nan", Value: ekg.Label("NaN")},
				{Name: "word", Value: ekg.Label("relay")},
				{Name: "hex", Value: ekg.Label("0x1p-2")},
				{Name: "under", Value: ekg.Label("1_000")},
				{Name: "space", Value: ekg.Label(" 1")},
				{Name: "huge", Value: ekg.Label("1e999")},
				{Name: "empty", Value: ekg.Label("")},
				{Name: "info_empty", Value: ekg.Label("{} 1")},
				{Name: "info_esc", Value: ekg.Label(`{a="x\"y\\z\n"} 1`)},
				{Name: "info_nl", Value: ekg.Label("{a=\"x\ny\"} 1")},
				{Name: "info_trail", Value: ekg.Label(`{a="x",} 1`)},
				{Name: "info_dup", Value: ekg.Label(`{a="x",a="y"} 1`)},
				{Name: "info_badname", Value: ekg.Label(`{1a="x"} 1`)},
				{Name: "info_badesc", Value: ekg.Label(`{a="\t"} 1`)},
				{Name: "info_noval", Value: ekg.Label(`{a="x"}`)},
				{Name: "info_badval", Value: ekg.Label(`{a="x"} one`)},
				{Name: "info_unquoted", Value: ekg.Label(`{a=x} 1`)},
				{Name: "info_open", Value: ekg.Label(`{a="x} 1`)},
				{Name: "info_utf8", Value: ekg.Label("{a=\"\xff\"} 1")},
				{Name: "info_node", Value: ekg.Label(`{node_name="x"} 1`)},
			},
			want:    "info_empty{} 1\ninfo_esc{a=\"x\\\"y\\\\z\\n\"} 1\ninfo_node{node_name=\"x\"} 1\nnan NaN\nnum -Inf\n",
			skipped: 16,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ekg.NewStore()
			s.Apply(tc.ms)
			var skipped atomic.Uint64
			e := ekg.Exposition{NoSuffix: tc.noSuffix, Skipped: &skipped}
			for _, f := range []ekg.Format{ekg.OpenMetrics, ekg.Text004} {
				out := e.Append(nil, s.Snapshot(), f, clock)
				samples := checkLines(t, out, true)
				got := strings.Join(samples[:len(samples)-1], "\n")
				if got != "" {
					got += "\n"
				}
				if got != tc.want {
					t.Errorf("%v: samples\n%s\nwant\n%s", f, got, tc.want)
				}
				if f == ekg.Text004 {
					parseText(t, out)
				}
			}
			if got := skipped.Load(); got != 2*tc.skipped {
				t.Errorf("Skipped = %d over two calls, want %d", got, 2*tc.skipped)
			}
		})
	}
}

func TestExpositionEmpty(t *testing.T) {
	t.Parallel()
	want := "# TYPE ekg_server_timestamp_ms counter\nekg_server_timestamp_ms 1784797012345\n# EOF\n"
	var e ekg.Exposition
	for _, snap := range []*ekg.Snapshot{nil, ekg.NewStore().Snapshot()} {
		if got := string(e.Append(nil, snap, ekg.OpenMetrics, clock)); got != want {
			t.Errorf("empty exposition %q, want %q", got, want)
		}
	}
}

func TestExpositionAllocs(t *testing.T) {
	snap := fixtureSnapshot(t)
	e := ekg.Exposition{Help: ekg.NewHelp(helpTexts())}
	b := e.Append(nil, snap, ekg.OpenMetrics, clock) // warms the help cache
	if n := testing.AllocsPerRun(100, func() { b = e.Append(b[:0], snap, ekg.OpenMetrics, clock) }); n != 0 {
		t.Errorf("Append allocates %v times per call", n)
	}
}

func TestContentType(t *testing.T) {
	t.Parallel()
	if got := ekg.OpenMetrics.ContentType(); got != "application/openmetrics-text;version=1.0.0;charset=utf-8" {
		t.Error(got)
	}
	if got := ekg.Text004.ContentType(); got != "text/plain;version=0.0.4;charset=utf-8" {
		t.Error(got)
	}
}
