package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSoakSlope(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	var ss []procStats
	for i := range 61 { // 10 minutes, every 10 s, 1 MB per minute
		ss = append(ss, procStats{At: t0.Add(time.Duration(i) * 10 * time.Second), RSS: uint64(20e6 + float64(i)*1e6/6)})
	}
	pts, slope := soakSeries(ss)
	if len(pts) != 61 || math.Abs(slope-1) > 1e-6 {
		t.Errorf("slope %v over %d points, want 1 MB/min", slope, len(pts))
	}
	if _, flat := soakSeries(ss[:1]); flat != 0 {
		t.Errorf("one sample: slope %v, want 0", flat)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	probe := result{Name: "T1 saturate N=10", Kind: probeKind, Nodes: 10, Throughput: 100_000}
	s := &suite{t1: map[int][2]result{
		10:   {probe, {Name: "T1 saturate N=10", Kind: muninnKind, Nodes: 10, Throughput: 60_000}},
		1000: {probe, {Name: "T1 saturate N=1000", Kind: muninnKind, Nodes: 1000, Throughput: 45_000, Lost: 1}},
	}}
	s.results = []result{
		{Name: "T2/T4 half N=10", Kind: probeKind, CPUPer100k: 0.1, WindowDelivered: 1},
		{Name: "T2/T4 half N=10", Kind: muninnKind, CPUPer100k: 0.15, WindowDelivered: 1, Discarded: 192, Missing: 192},
		{Name: "T3 quarter N=1000", Kind: muninnKind, Nodes: 1000, LatencyP99us: 20_000},
		{Name: "T5 idle N=1000", Kind: muninnKind, Nodes: 1000, BaseRSS: 10e6, RSSEnd: 10e6 + 1000*70<<10},
		{Name: "burst N=10", Kind: probeKind, Nodes: 10, Discarded: 384, DiscardedWin: 384, Missing: 384},
		{Name: "burst N=10", Kind: muninnKind, Nodes: 10, RatePerNode: 18_000, BurstRate: 19_000},
	}
	got := map[string]bool{}
	for _, tg := range s.targets() {
		got[tg.ID+" "+strings.Fields(tg.What)[0]+" "+strings.Fields(tg.What)[1]] = tg.Pass
	}
	want := map[string]bool{
		"T1 saturated ingest": false, // N=1000: 45 % is enough, but an object was lost
		"T2 T2/T4 half":       true,
		"T4 T2/T4 half":       true, // the discards were before the window
		"T3 T3 quarter":       true, // 20 ms ≤ 25 ms at N=1000
		"T5 RSS per":          false,
		"burst burst N=10:":   true, // the probe's discards are context, not the verdict
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: pass = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	// N=10 passes at 60 %; both T1 lines are there.
	n := 0
	for _, tg := range s.targets() {
		if tg.ID == "T1" {
			n++
			if strings.Contains(tg.What, "N=10 ") != tg.Pass {
				t.Errorf("%s: pass = %v", tg.What, tg.Pass)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d T1 lines, want 2", n)
	}
	for _, tg := range s.targets() {
		if tg.ID == "burst" && (!strings.Contains(tg.What, "19000 in the bursts") || !strings.Contains(tg.Measure, "the probe 384")) {
			t.Errorf("burst verdict %q: %q", tg.What, tg.Measure)
		}
	}
}

// TestBurstSpecs: the burst phase raises each node's rate by syncBurst
// during a burst (loadgen's Burst.Rate replaces the rate, so it must be
// the sum). That it measures the probe in the same run is TestPairOrder's.
func TestBurstSpecs(t *testing.T) {
	t.Parallel()
	sp := burstSpec(18_000, 15*time.Second)
	if sp.Rate != 18_000 || sp.Burst.Rate != 18_000+syncBurst || sp.Burst.Every != 10*time.Second || sp.Burst.Length != 2*time.Second {
		t.Errorf("rate %v, burst %+v", sp.Rate, sp.Burst)
	}
	if sp.Window < 20*time.Second {
		t.Errorf("window %v shorter than two burst periods", sp.Window)
	}
}

// TestCPUTicks: the counters read from /proc/stat grow, per CPU and
// summed, and steal is a part of the total.
func TestCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat here")
	}
	a := readCPUTicks()
	b := a
	for deadline := time.Now().Add(5 * time.Second); b[allCPUs].total == a[allCPUs].total && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // the counters move a clock tick at a time
		b = readCPUTicks()
	}
	if len(a) < 2 {
		t.Fatalf("%d lines read, want the sum and at least one CPU", len(a))
	}
	for c, x := range a {
		y := b[c]
		if x.total == 0 || y.total < x.total || x.steal > x.total || y.steal < x.steal || y.steal-x.steal > y.total-x.total {
			t.Fatalf("cpu %d: steal %d→%d of total %d→%d", c, x.steal, y.steal, x.total, y.total)
		}
	}
	if p := stealPct(a, b, nil); p < 0 || p > 100 {
		t.Fatalf("steal %.1f%%", p)
	}
}

// TestStealOfCPUs: steal is judged on the CPUs it is asked of, so steal
// on the acceptor's one CPU does not count at half strength, and a taskset
// list names the acceptor's CPUs and leaves the rest to the rig.
func TestStealOfCPUs(t *testing.T) {
	a := map[int]cpuTicks{allCPUs: {0, 2000}, 0: {0, 1000}, 1: {0, 1000}}
	b := map[int]cpuTicks{allCPUs: {100, 3000}, 0: {0, 1500}, 1: {100, 1500}}
	acc, rig, err := cpuSplit("1", a)
	if err != nil || !slices.Equal(acc, []int{1}) || !slices.Equal(rig, []int{0}) {
		t.Fatalf("cpuSplit(1) = %v, %v, %v", acc, rig, err)
	}
	if got := stealPct(a, b, acc); got != 20 {
		t.Errorf("acceptor's steal %.1f%%, want 20%%", got)
	}
	if got := stealPct(a, b, rig); got != 0 {
		t.Errorf("rig's steal %.1f%%, want 0", got)
	}
	if got := stealPct(a, b, nil); got != 10 {
		t.Errorf("machine's steal %.1f%%, want 10%%", got)
	}
	four := map[int]cpuTicks{allCPUs: {}, 0: {}, 1: {}, 2: {}, 3: {}}
	if acc, rig, err := cpuSplit("0,2-3", four); err != nil || !slices.Equal(acc, []int{0, 2, 3}) || !slices.Equal(rig, []int{1}) {
		t.Errorf("cpuSplit(0,2-3) = %v, %v, %v", acc, rig, err)
	}
	if acc, rig, err := cpuSplit("", four); err != nil || acc != nil || rig != nil {
		t.Errorf("cpuSplit(\"\") = %v, %v, %v", acc, rig, err)
	}
	for _, bad := range []string{"x", "3-1", "1-", ","} {
		if _, _, err := cpuSplit(bad, four); err == nil {
			t.Errorf("cpuSplit(%q): no error", bad)
		}
	}
}

// TestWaitProgress: the final accounting waits for a tailer that is still
// catching up, however long past the stall interval, and gives up on one
// that has stopped.
func TestWaitProgress(t *testing.T) {
	t.Parallel()
	// A tailer that has read one more line at every look: it reaches 30
	// only after some 29 looks 20 ms apart, well past the 100 ms stall.
	var n atomic.Uint64
	start := time.Now()
	if err := waitProgress(context.Background(), 100*time.Millisecond, time.Minute, func() uint64 { return n.Add(1) }, 30); err != nil {
		t.Fatalf("catching up: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("caught up after %v, before the stall interval: the case tests nothing", d)
	}
	start = time.Now()
	err := waitProgress(context.Background(), 100*time.Millisecond, time.Minute, n.Load, n.Load()+1)
	if err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("stopped: err %v after %v", err, time.Since(start))
	}
}

// TestRigBoundVerdicts: an absolute target that the same-run probe misses
// too, or whose runs had a busy rig, is marked rig-bound with its reason,
// and the verdict itself stays; a tailer that fell behind is named.
func TestRigBoundVerdicts(t *testing.T) {
	t.Parallel()
	t1 := result{Name: "T1 saturate N=100", Kind: muninnKind, Nodes: 100, Throughput: 100_000, WindowDelivered: 1_500_000, WindowLines: 1_200_000}
	s := &suite{t1: map[int][2]result{100: {{Name: t1.Name, Kind: probeKind, Nodes: 100, Throughput: 100_000, WindowDelivered: 1_500_000, WindowLines: 1_490_000}, t1}}}
	s.results = []result{
		{Name: "T3 quarter N=10", Kind: probeKind, Nodes: 10, LatencyP99us: 6000},
		{Name: "T3 quarter N=10", Kind: muninnKind, Nodes: 10, LatencyP99us: 7000, RigCPUPct: 50},
		{Name: "T3 quarter N=100", Kind: probeKind, Nodes: 100, LatencyP99us: 4000, RigCPUPct: 50},
		{Name: "T3 quarter N=100", Kind: muninnKind, Nodes: 100, LatencyP99us: 7000, RigCPUPct: 50},
		{Name: "T2/T4 half N=10", Kind: probeKind, CPUPer100k: 0.1, WindowDelivered: 1},
		{Name: "T2/T4 half N=10", Kind: muninnKind, CPUPer100k: 0.2, WindowDelivered: 1, RigCPUPct: 95},
	}
	byWhat := map[string]target{}
	for _, tg := range s.targets() {
		byWhat[tg.ID+" "+strings.SplitN(tg.What, ":", 2)[0]] = tg
	}
	for _, c := range []struct {
		key      string
		pass     bool
		bound    bool
		contains string
	}{
		{"T3 T3 quarter N=10", false, true, "rig-bound: the probe misses it too"},
		{"T3 T3 quarter N=100", false, false, "ratio 1.75"},
		{"T2 T2/T4 half N=10", false, true, "rig-bound: the rig 95% busy in the muninn run"},
		{"T4 T2/T4 half N=10", true, true, "the rig 95% busy"},
		{"T1 saturated ingest N=100 ≥ 50% of the probe, no gaps", true, false, "the tailer read 80% of the muninn run's objects"},
	} {
		tg, ok := byWhat[c.key]
		if !ok {
			t.Errorf("%s: no verdict (have %v)", c.key, byWhat)
			continue
		}
		if tg.Pass != c.pass || tg.RigBound != c.bound || !strings.Contains(tg.Measure, c.contains) {
			t.Errorf("%s: pass %v, rig-bound %v, %q; want %v, %v and %q", c.key, tg.Pass, tg.RigBound, tg.Measure, c.pass, c.bound, c.contains)
		}
	}
	if strings.Contains(byWhat["T1 saturated ingest N=100 ≥ 50% of the probe, no gaps"].Measure, "probe run's objects") {
		t.Error("a tailer within 2 % of what was delivered is named as behind")
	}
	var out strings.Builder
	printTargets(&out, s.targets())
	if !strings.Contains(out.String(), "FAIL*") || !strings.Contains(out.String(), "*: rig-bound:") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// TestNoisyVerdicts: a verdict resting on a run with steal at or over
// noisySteal is marked noisy and says so; the others are not.
func TestNoisyVerdicts(t *testing.T) {
	probe := result{Name: "T1 saturate N=10", Kind: probeKind, Nodes: 10, Throughput: 100_000, StealPct: 1}
	s := &suite{t1: map[int][2]result{
		10:  {probe, {Name: "T1 saturate N=10", Kind: muninnKind, Nodes: 10, Throughput: 90_000, StealPct: 4.9}},
		100: {{Name: "T1 saturate N=100", Kind: probeKind, Nodes: 100, Throughput: 100_000, StealPct: 12.5}, {Name: "T1 saturate N=100", Kind: muninnKind, Nodes: 100, Throughput: 90_000}},
	}}
	ts := s.targets()
	if len(ts) != 2 || ts[0].Noisy || !ts[1].Noisy || !strings.Contains(ts[1].Measure, "steal 12.5% in the probe run") {
		t.Fatalf("targets = %+v", ts)
	}
	var out strings.Builder
	printTargets(&out, ts)
	if !strings.Contains(out.String(), "PASS? ") || !strings.Contains(out.String(), "?: the hypervisor stole") {
		t.Errorf("printed:\n%s", out.String())
	}
}

func TestAcceptorEnv(t *testing.T) {
	got := acceptorEnv([]string{"PATH=/bin", "GOGC=800", "HOME=/root", "GOMEMLIMIT=1GiB", "GOGCX=1", "MY_GOGC=2"})
	want := []string{"PATH=/bin", "HOME=/root", "GOGCX=1", "MY_GOGC=2"}
	if !slices.Equal(got, want) {
		t.Errorf("acceptorEnv = %q, want %q", got, want)
	}
}

// TestExecRetries: a run with 5 % steal or more is repeated within
// --retries and the quietest kept; a quiet run, or one with a window
// too long to repeat, runs once.
func TestExecRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		steals       []float64
		retries      int
		window       time.Duration
		keep         float64
		attempts     int
		noisyVerdict bool
	}{
		{"quiet", []float64{1, 30}, 2, 15 * time.Second, 1, 1, false},
		{"quiet at the second", []float64{30, 2, 40}, 2, 15 * time.Second, 2, 2, false},
		{"never quiet", []float64{30, 12, 40}, 2, 15 * time.Second, 12, 3, true},
		{"no retries", []float64{30, 2}, 0, 15 * time.Second, 30, 1, true},
		{"soak", []float64{30, 2}, 2, 10 * time.Minute, 30, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			calls := 0
			s := &suite{o: options{retries: tc.retries, window: tc.window}, out: &out,
				execute: func(_ context.Context, sp spec) (result, error) {
					r := result{Name: sp.Name, Kind: sp.Kind, Nodes: sp.Nodes, StealPct: tc.steals[calls]}
					calls++
					return r, nil
				}}
			r, err := s.exec(context.Background(), spec{Name: "burst N=10", Kind: muninnKind, Nodes: 10})
			if err != nil {
				t.Fatal(err)
			}
			if r.StealPct != tc.keep || r.Attempts != tc.attempts || calls != tc.attempts {
				t.Errorf("kept steal %v after %d attempts (%d calls), want %v after %d\n%s", r.StealPct, r.Attempts, calls, tc.keep, tc.attempts, out.String())
			}
			if len(s.results) != 1 || s.results[0].StealPct != r.StealPct || s.results[0].Attempts != r.Attempts {
				t.Errorf("results %+v, want only the kept run", s.results)
			}
			for _, tg := range s.targets() {
				if tg.Noisy != tc.noisyVerdict {
					t.Errorf("%s: noisy = %v, want %v", tg.What, tg.Noisy, tc.noisyVerdict)
				}
			}
		})
	}
}

// TestPairOrder: the probe and Muninn take turns at running first, pair
// after pair, across the phases; T1's pairs are still stored by kind.
func TestPairOrder(t *testing.T) {
	t.Parallel()
	var got []string
	s := &suite{o: options{nodes: []int{10, 100}, phases: map[string]bool{"t2": true, "t3": true, "burst": true}}, out: io.Discard,
		execute: func(_ context.Context, sp spec) (result, error) {
			got = append(got, sp.Name+" "+string(sp.Kind))
			tp := 1000.0
			if sp.Kind == muninnKind {
				tp = 900
			}
			return result{Name: sp.Name, Kind: sp.Kind, Nodes: sp.Nodes, Throughput: tp}, nil
		}}
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"T1 saturate N=10 probe", "T1 saturate N=10 muninn",
		"T1 saturate N=100 muninn", "T1 saturate N=100 probe",
		"T2/T4 half N=10 probe", "T2/T4 half N=10 muninn",
		"T2/T4 half N=100 muninn", "T2/T4 half N=100 probe",
		"T3 quarter N=10 probe", "T3 quarter N=10 muninn",
		"T3 quarter N=100 muninn", "T3 quarter N=100 probe",
		"burst N=10 probe", "burst N=10 muninn",
	}
	if !slices.Equal(got, want) {
		t.Errorf("runs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, n := range []int{10, 100} {
		if p := s.t1[n]; p[0].Kind != probeKind || p[1].Kind != muninnKind || p[1].Throughput != 900 {
			t.Errorf("T1 N=%d pair %+v, want the probe then muninn", n, p)
		}
	}
}

// TestFailedRetry: a retry that fails keeps the attempt before it, lets
// the suite go on, and is reported at the end; a first attempt that fails
// still stops the suite.
func TestFailedRetry(t *testing.T) {
	t.Parallel()
	boom := errors.New("acceptor exited")
	for _, tc := range []struct {
		name    string
		errs    []error
		wantErr bool
		keep    float64
	}{
		{"retry fails", []error{nil, boom}, false, 30},
		{"first fails", []error{boom}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			calls := 0
			s := &suite{o: options{retries: 2, window: 15 * time.Second}, out: &out,
				execute: func(_ context.Context, sp spec) (result, error) {
					err := tc.errs[calls]
					calls++
					return result{Name: sp.Name, Kind: sp.Kind, Nodes: sp.Nodes, StealPct: 30}, err
				}}
			r, err := s.exec(context.Background(), spec{Name: "T3 quarter N=10", Kind: muninnKind, Nodes: 10})
			if (err != nil) != tc.wantErr || !errors.Is(err, boom) && tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if len(s.results) != 0 || len(s.retryErrs) != 0 {
					t.Errorf("results %+v, retry errors %v after a failed first attempt", s.results, s.retryErrs)
				}
				return
			}
			if calls != len(tc.errs) || r.StealPct != tc.keep || r.Attempts != 1 || len(s.results) != 1 {
				t.Errorf("%d calls, kept %+v, results %d\n%s", calls, r, len(s.results), out.String())
			}
			if len(s.retryErrs) != 1 || !errors.Is(s.retryErrs[0], boom) {
				t.Errorf("retry errors %v, want the failed retry", s.retryErrs)
			}
		})
	}
}

// TestFixedRate: --rate replaces the suite with pairs at that load, the
// pairs alternating as in the suite, each followed by Muninn's ratios to
// the probe; no T1 runs and no verdict is made.
func TestFixedRate(t *testing.T) {
	t.Parallel()
	var got []string
	var out strings.Builder
	s := &suite{o: options{nodes: []int{10, 100}, rate: 500, repeat: 2, phases: map[string]bool{"t2": true, "t3": true}}, out: &out,
		execute: func(_ context.Context, sp spec) (result, error) {
			got = append(got, fmt.Sprintf("%s %s %d %g", sp.Name, sp.Kind, sp.Nodes, sp.Rate))
			r := result{Name: sp.Name, Kind: sp.Kind, Nodes: sp.Nodes, CPUPer100k: 0.1, LatencyP50us: 1000, LatencyP99us: 4000}
			if sp.Kind == muninnKind {
				r.CPUPer100k, r.LatencyP99us, r.DiscardedWin = 0.3, 2000, 192
			}
			return r, nil
		}}
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fixed N=10 at 500/s probe 10 500", "fixed N=10 at 500/s muninn 10 500",
		"fixed N=10 at 500/s muninn 10 500", "fixed N=10 at 500/s probe 10 500",
		"fixed N=100 at 500/s probe 100 500", "fixed N=100 at 500/s muninn 100 500",
		"fixed N=100 at 500/s muninn 100 500", "fixed N=100 at 500/s probe 100 500",
	}
	if !slices.Equal(got, want) {
		t.Errorf("runs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	line := "N=100 at 500/s: muninn/probe CPU per object 3.00, p50 1.00, p99 0.50; discarded in the window 192/0"
	if c := strings.Count(out.String(), line); c != 2 {
		t.Errorf("%d ratio lines %q in\n%s", c, line, out.String())
	}
	if tg := s.targets(); len(tg) != 0 {
		t.Errorf("verdicts %+v for fixed-rate pairs", tg)
	}
	var stderr strings.Builder
	for _, args := range [][]string{{"--rate", "-1"}, {"--rate", "10", "--repeat", "0"}} {
		if code := run(append(args, "--muninn", "m", "--probe", "p"), io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
