package ekg_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"muninn/ekg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// clock is the fixed scrape time of the golden files.
var clock = time.UnixMilli(1784797012345)

// buildInfo is cardano-node's cardano_build_info label (BEHAVIOUR.md §f.3).
const buildInfo = `{version_major="10",version_minor="5",version_patch="1",version="10.5.1",` +
	`revision="1f63dbf2ab39e0b32bf6901dc203866d3e37de08",compiler_name="ghc",compiler_version="9.6.7",` +
	`compiler_version_major="9",compiler_version_minor="6",compiler_version_patch="7",` +
	`architecture="x86_64",os_name="linux"} 1`

// nodeMetrics is a realistic poll response of a relay: every kind, the
// example values of §f.3 and names from the dashboards of §k, plus a few
// that the exposition must leave out.
func nodeMetrics() []ekg.Metric {
	const p = "cardano.node.metrics."
	return []ekg.Metric{
		{Name: p + "blockNum_int", Value: ekg.Gauge(11834567)},
		{Name: p + "slotNum_int", Value: ekg.Gauge(150123456)},
		{Name: p + "epoch_int", Value: ekg.Gauge(560)},
		{Name: p + "slotInEpoch_int", Value: ekg.Gauge(123456)},
		{Name: p + "density_real", Value: ekg.Label("4.9871e-2")},
		{Name: p + "forks_counter", Value: ekg.Counter(3)},
		{Name: p + "cardano_build_info", Value: ekg.Label(buildInfo)},
		{Name: p + "Forge.about-to-lead_counter", Value: ekg.Counter(4242)},
		{Name: p + "node.start.time_int", Value: ekg.Gauge(1784790000)},
		{Name: p + "served.block_counter", Value: ekg.Counter(17)},
		{Name: p + "blockfetchclient.blockdelay.cdfOne_real", Value: ekg.Label("0.75")},
		{Name: p + "blockfetchclient.blockdelay_real", Value: ekg.Label("1.2e7")},
		{Name: p + "blockfetchclient.blocksize_int", Value: ekg.Gauge(87654)},
		{Name: p + "Mem.resident_int", Value: ekg.Gauge(9876543210)},
		{Name: p + "peerSelection.Hot_int", Value: ekg.Gauge(20)},
		{Name: p + "peerSelection.Warm_int", Value: ekg.Gauge(50)},
		{Name: p + "peerSelection.Cold_int", Value: ekg.Gauge(120)},
		{Name: p + "txsInMempool_int", Value: ekg.Gauge(0)},
		{Name: p + "txsProcessedNum_counter", Value: ekg.Counter(98765)},
		{Name: p + "remainingKESPeriods_int", Value: ekg.Gauge(-3)},
		{Name: p + "blockReplayProgress_real", Value: ekg.Label("100.0")},
		{Name: p + "Stat.cputicks_int", Value: ekg.Gauge(5551212)},
		{Name: p + "nodeName", Value: ekg.Label("relay-1")}, // not a number: left out
		{Name: "rts.gc.bytes_allocated", Value: ekg.Counter(918273645)},
		{Name: "rts.gc.max_bytes_used", Value: ekg.Gauge(5811512)},
		{Name: "rts.gc.cpu_ms", Value: ekg.Counter(73310)},
		{Name: "rts.gc.num_gcs", Value: ekg.Counter(1234)},
		{Name: "rts.gc.current_bytes_used", Value: ekg.Gauge(4194304)},
		{Name: "rts.gc.peak_megabytes_allocated", Value: ekg.Gauge(612)},
		{Name: "9lives", Value: ekg.Gauge(9)},     // starts with a digit: left out
		{Name: "***", Value: ekg.Gauge(1)},        // sanitises to nothing: left out
		{Name: "odd name!", Value: ekg.Gauge(-1)}, // odd_name
	}
}

// helpTexts is a metricsHelp in the style of cardano-tracer's sample,
// with texts that need escaping.
func helpTexts() map[string]string {
	return map[string]string{
		"blockNum":             "Number of blocks in this chain fragment.",
		"Mem.resident":         "Kernel-reported RSS\nsee \"man proc\", C:\\ style",
		"forks":                "Number of forks.",
		"rts.gc.cpu_ms":        "CPU time spent in GC.",
		"ekg.server_timestamp": "Time of the scrape.",
		"unused":               "",
	}
}

func fixtureSnapshot(t testing.TB) *ekg.Snapshot {
	t.Helper()
	s := ekg.NewStore()
	s.Apply(nodeMetrics())
	return s.Snapshot()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, with their numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var sb strings.Builder
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			fmt.Fprintf(&sb, "line %d:\n  want %q\n  got  %q\n", i+1, a, b)
		}
	}
	return sb.String()
}

var (
	reName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// checkLines checks that an exposition is made of well-formed lines: TYPE
// and HELP comments with a valid name, samples whose name is valid, and,
// if eof, one final "# EOF". It returns the sample lines.
func checkLines(t testing.TB, out []byte, eof bool) []string {
	t.Helper()
	s := string(out)
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("output does not end with a newline: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if eof {
		if lines[len(lines)-1] != "# EOF" {
			t.Fatalf("last line %q, want # EOF", lines[len(lines)-1])
		}
		lines = lines[:len(lines)-1]
	}
	var samples []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "# TYPE "):
			f := strings.Split(l, " ")
			if len(f) != 4 || !reName.MatchString(f[2]) {
				t.Fatalf("bad TYPE line %q", l)
			}
			switch f[3] {
			case "counter", "gauge", "info":
			default:
				t.Fatalf("bad type in %q", l)
			}
		case strings.HasPrefix(l, "# HELP "):
			f := strings.SplitN(l, " ", 4)
			if len(f) != 4 || !reName.MatchString(f[2]) {
				t.Fatalf("bad HELP line %q", l)
			}
		case strings.HasPrefix(l, "#"):
			t.Fatalf("unexpected comment %q", l)
		default:
			end := strings.IndexAny(l, "{ ")
			if end < 0 || !reName.MatchString(l[:end]) {
				t.Fatalf("bad sample line %q", l)
			}
			samples = append(samples, l)
		}
	}
	return samples
}
