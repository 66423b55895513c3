// Command muninn-perf runs Muninn's performance suite: the same-run
// ceiling probe and Muninn, each a fresh process on a unix socket, driven
// by the in-process load generator (internal/loadgen) and watched by the
// log tailer (internal/tailer). It prints every run, then the targets of
// docs/PERFORMANCE.md with Muninn's figures as ratios to the probe's, and
// writes all results as JSON.
//
//	scripts/perf.sh            # the whole suite, about 20 minutes
//	scripts/perf.sh --quick    # shortened windows and a 1-minute soak
//
// Timing belongs here, never in unit tests.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"muninn/internal/loadgen"
)

// loRequestNum is cardano-tracer's default, used by both acceptors.
const loRequestNum = 100

// binaries says how acceptors are started: the two programs, and the
// CPUs they are pinned to (taskset list; empty: not pinned).
type binaries struct{ muninn, probe, cpus string }

type options struct {
	bins           binaries
	nodes          []int
	warmup, window time.Duration
	soak           time.Duration
	phases         map[string]bool
	jsonOut, work  string
	keep           bool
	retries        int
	// rate, when set, replaces the suite: each node count in nodes gets
	// repeat probe/Muninn pairs at this many objects per second per node.
	rate   float64
	repeat int
}

func main() {
	loadgen.RigGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muninn-perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var nodes, phases string
	quick := fs.Bool("quick", false, "short windows (4 s) and a 1-minute soak: a smoke run, not a measurement")
	fs.StringVar(&o.bins.muninn, "muninn", "", "muninn binary (required)")
	fs.StringVar(&o.bins.probe, "probe", "", "muninn-probe binary (required)")
	fs.StringVar(&o.bins.cpus, "acceptor-cpus", "", "pin each acceptor to these CPUs (a taskset list such as 1 or 2-3); run muninn-perf itself on the others")
	fs.StringVar(&nodes, "nodes", "1,10,100,1000", "node counts for the saturation runs (T1)")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "warm-up of each run, once every node is connected")
	fs.DurationVar(&o.window, "window", 15*time.Second, "measured interval of each run")
	fs.DurationVar(&o.soak, "soak", 10*time.Minute, "length of the soak (T7)")
	fs.StringVar(&phases, "phases", "t1,t2,t3,burst,t5,soak", "phases to run (t2 includes T4)")
	fs.StringVar(&o.jsonOut, "json", "", "write every result and the target table here as JSON")
	fs.StringVar(&o.work, "work", "", "work directory; the acceptors' log trees go there (default: a new temporary one, removed at the end)")
	fs.IntVar(&o.retries, "retries", 2, "run a phase's run again, up to this many times, while the hypervisor took 5 % or more of the machine in its window; the quietest is kept")
	fs.Float64Var(&o.rate, "rate", 0, "instead of the suite: run probe/Muninn pairs at this many objects per second per node, for each of --nodes (no T1 first, no verdicts)")
	fs.IntVar(&o.repeat, "repeat", 1, "with --rate: pairs per node count")
	fs.BoolVar(&o.keep, "keep", false, "keep each run's directory (logs, configuration) instead of removing it after the run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.retries < 0 {
		fmt.Fprintln(stderr, "muninn-perf: --retries must not be negative")
		return 2
	}
	if o.rate < 0 || o.repeat < 1 {
		fmt.Fprintln(stderr, "muninn-perf: --rate must not be negative and --repeat must be at least 1")
		return 2
	}
	if *quick {
		o.warmup, o.window, o.soak = time.Second, 4*time.Second, time.Minute
	}
	for f := range strings.SplitSeq(nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "muninn-perf: --nodes: %q is not a positive count\n", f)
			return 2
		}
		o.nodes = append(o.nodes, n)
	}
	o.phases = map[string]bool{}
	for p := range strings.SplitSeq(phases, ",") {
		o.phases[strings.TrimSpace(p)] = true
	}
	if o.bins.muninn == "" || o.bins.probe == "" {
		fmt.Fprintln(stderr, "muninn-perf: give --muninn and --probe (scripts/perf.sh builds both)")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.work == "" {
		dir, err := os.MkdirTemp("", "muninn-perf-")
		if err != nil {
			fmt.Fprintln(stderr, "muninn-perf:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		o.work = dir
	}
	s := &suite{o: o, log: log, out: stdout}
	err := errors.Join(s.run(ctx), errors.Join(s.retryErrs...))
	targets := s.targets()
	printTargets(stdout, targets)
	if o.jsonOut != "" {
		if werr := writeJSON(o.jsonOut, s, targets); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "muninn-perf:", err)
		return 1
	}
	return 0
}

// suite runs the phases in order; later phases take their load from
// Muninn's saturation throughput measured by the first.
type suite struct {
	o       options
	log     *slog.Logger
	out     io.Writer
	results []result
	t1      map[int][2]result // N → probe, muninn
	pairs   int               // probe/Muninn pairs started, for their order
	// retryErrs are retries that failed after an earlier attempt had
	// succeeded: the earlier one is kept, the suite goes on, and the
	// failure is reported at the end (and fails the command).
	retryErrs []error
	// execute performs one run; nil: the real one (tests replace it).
	execute func(context.Context, spec) (result, error)
}

func (s *suite) exec(ctx context.Context, sp spec) (result, error) {
	if sp.Warmup == 0 {
		sp.Warmup = s.o.warmup
	}
	if sp.Window == 0 {
		sp.Window = s.o.window
	}
	run := s.execute
	if run == nil {
		run = func(ctx context.Context, sp spec) (result, error) {
			return execute(ctx, sp, s.o.bins, s.o.work, s.o.keep, s.log)
		}
	}
	// A run whose window the hypervisor took a share of measures the
	// machine's neighbours more than the software: repeat it, within
	// --retries, and keep the quietest. Not the soak: its ten minutes
	// average the steal out, and repeating them costs too much.
	tries := 1
	if sp.Window <= retryWindow {
		tries += s.o.retries
	}
	var best result
	for i := range tries {
		fmt.Fprintf(s.out, "run %-28s %-6s … ", sp.Name, sp.Kind)
		r, err := run(ctx, sp)
		if err != nil {
			fmt.Fprintln(s.out, "failed:", err)
			err = fmt.Errorf("%s (%s): %w", sp.Name, sp.Kind, err)
			if i == 0 {
				return r, err
			}
			// A failed retry is a finding (an acceptor that crashed, a
			// rig that broke), but the earlier attempt measured: keep it
			// and go on, and report the failure at the end.
			s.retryErrs = append(s.retryErrs, fmt.Errorf("retry %d: %w", i, err))
			fmt.Fprintf(s.out, "    retry %d failed: keeping the earlier attempt; reported at the end\n", i)
			break
		}
		fmt.Fprintf(s.out, "%9.0f objects/s (tailed %.0f)  cpu %5.2fs (%.3f s/100k)  p99 %s  rss %s  discarded %d/%d (generator late %d×, max %.0f ms, %d; skipped %d)  missing %d  dup %d  lost %d  steal %.1f%% (acceptor %.1f%%, rig %.1f%%)  rig cpu %.0f%%\n",
			r.Throughput, r.TailedPerSec, r.CPUSecs, r.CPUPer100k, ms(r.LatencyP99us), mb(r.RSSEnd), r.DiscardedWin, r.Discarded,
			r.GenLate, r.GenMaxLateMs, r.GenLateDisc, r.GenSkipped, r.Missing, r.Duplicates, r.Lost, r.StealPct, r.AcceptorStealPct, r.RigStealPct, r.RigCPUPct)
		if i == 0 || r.StealPct < best.StealPct {
			best = r
		}
		best.Attempts = i + 1
		if r.StealPct < noisySteal {
			break
		}
		if i+1 < tries {
			fmt.Fprintf(s.out, "    steal %.1f%% ≥ %.0f%%: running it again (%d more at most)\n", r.StealPct, noisySteal, tries-i-1)
		}
	}
	if best.Attempts > 1 {
		fmt.Fprintf(s.out, "    kept the run with %.1f%% steal of %d\n", best.StealPct, best.Attempts)
	}
	s.results = append(s.results, best)
	return best, nil
}

// order gives the kinds of the next probe/Muninn pair. The first
// pair runs the probe first, the next Muninn first, and so on, so that a
// drift of the machine within the hour, or whatever the first run of a
// pair leaves behind (page cache, a warm rig), does not always favour the
// same side of the ratios.
func (s *suite) order() []kind {
	s.pairs++
	if s.pairs%2 == 1 {
		return []kind{probeKind, muninnKind}
	}
	return []kind{muninnKind, probeKind}
}

// pair runs sp for the probe and for Muninn, in the order the next pair
// takes, and returns the probe's result and Muninn's, in that order.
func (s *suite) pair(ctx context.Context, sp spec) ([2]result, error) {
	var out [2]result
	for _, k := range s.order() {
		sp.Kind = k
		r, err := s.exec(ctx, sp)
		if err != nil {
			return out, err
		}
		out[slices.Index([]kind{probeKind, muninnKind}, k)] = r
	}
	return out, nil
}

// retryWindow is the longest window a noisy run is repeated for.
const retryWindow = time.Minute

// syncBurst is what a syncing node adds to its trace rate, in objects per
// second: about 1000 against some 100 in normal operation.
const syncBurst = 1000

// burstSpec is the burst phase's run, made for the probe and for Muninn:
// ten nodes at base objects per second each, and for 2 s in every 10 at
// base plus syncBurst, as if every node began to sync at once. (loadgen's
// Burst.Rate replaces the rate during a burst; it does not add to it.)
func burstSpec(base float64, window time.Duration) spec {
	return spec{Name: "burst N=10", Nodes: 10, Rate: base,
		Burst:  loadgen.Burst{Every: 10 * time.Second, Length: 2 * time.Second, Rate: base + syncBurst},
		Window: max(window, 20*time.Second)}
}

func (s *suite) run(ctx context.Context) error {
	pin := "not pinned"
	if s.o.bins.cpus != "" {
		pin = "on CPUs " + s.o.bins.cpus
	}
	fmt.Fprintf(s.out, "muninn-perf: %s/%s, Go %s, %d CPUs for the generator and tailer, acceptors %s; warm-up %v, window %v\n",
		runtime.GOOS, runtime.GOARCH, runtime.Version(), runtime.NumCPU(), pin, s.o.warmup, s.o.window)
	if s.o.rate > 0 {
		return s.runFixed(ctx)
	}
	s.t1 = map[int][2]result{}
	// T1 always runs first: every other load is a fraction of it.
	for _, n := range s.o.nodes {
		pair, err := s.pair(ctx, spec{Name: fmt.Sprintf("T1 saturate N=%d", n), Nodes: n, Saturate: true})
		if err != nil {
			return err
		}
		s.t1[n] = pair
		fmt.Fprintf(s.out, "    T1 N=%d: muninn/probe = %.2f\n", n, ratio(pair[1].Throughput, pair[0].Throughput))
	}
	rate := func(n int, frac float64) float64 { return frac * s.t1[n][1].Throughput / float64(n) }
	have := func(n int) bool { _, ok := s.t1[n]; return ok }
	if s.o.phases["t2"] {
		for _, n := range []int{10, 100} {
			if !have(n) {
				continue
			}
			if _, err := s.pair(ctx, spec{Name: fmt.Sprintf("T2/T4 half N=%d", n), Nodes: n, Rate: rate(n, 0.5)}); err != nil {
				return err
			}
		}
	}
	if s.o.phases["t3"] {
		for _, n := range []int{10, 100, 1000} {
			if !have(n) {
				continue
			}
			if _, err := s.pair(ctx, spec{Name: fmt.Sprintf("T3 quarter N=%d", n), Nodes: n, Rate: rate(n, 0.25)}); err != nil {
				return err
			}
		}
	}
	if s.o.phases["burst"] && have(10) {
		if _, err := s.pair(ctx, burstSpec(rate(10, 0.25), s.o.window)); err != nil {
			return err
		}
	}
	if s.o.phases["t5"] {
		if _, err := s.exec(ctx, spec{Name: "T5 idle N=1000", Kind: muninnKind, Nodes: 1000, Idle: true, Warmup: 5 * time.Second}); err != nil {
			return err
		}
		if _, err := s.exec(ctx, spec{Name: "T5/T6 idle N=1000 M=300", Kind: muninnKind, Nodes: 1000, Idle: true, Metrics: 300,
			Warmup: 5 * time.Second, Scrape: true}); err != nil {
			return err
		}
	}
	if s.o.phases["soak"] {
		n := 100
		if !have(n) {
			n = s.o.nodes[len(s.o.nodes)-1]
		}
		sp := spec{Name: fmt.Sprintf("T7 soak N=%d", n), Kind: muninnKind, Nodes: n, Rate: rate(n, 0.5),
			Window: s.o.soak, Sample: min(10*time.Second, s.o.soak/6), Metrics: 50}
		if _, err := s.exec(ctx, sp); err != nil {
			return err
		}
	}
	return nil
}

// runFixed runs --repeat probe/Muninn pairs at --rate for each node
// count, and prints Muninn's figures as ratios to the probe's after each
// pair: a fixed load, the same for every build and every hour, for
// comparing changes and for measuring a point the suite's fractions of
// T1 do not hit.
func (s *suite) runFixed(ctx context.Context) error {
	for _, n := range s.o.nodes {
		for range s.o.repeat {
			pair, err := s.pair(ctx, spec{Name: fmt.Sprintf("fixed N=%d at %g/s", n, s.o.rate), Nodes: n, Rate: s.o.rate})
			if err != nil {
				return err
			}
			p, m := pair[0], pair[1]
			fmt.Fprintf(s.out, "    N=%d at %g/s: muninn/probe CPU per object %.2f, p50 %.2f, p99 %.2f; discarded in the window %d/%d\n",
				n, s.o.rate, ratio(m.CPUPer100k, p.CPUPer100k), ratio(m.LatencyP50us, p.LatencyP50us), ratio(m.LatencyP99us, p.LatencyP99us), m.DiscardedWin, p.DiscardedWin)
		}
	}
	return nil
}

// target is one line of the verdict.
type target struct {
	ID      string `json:"id"`
	What    string `json:"what"`
	Measure string `json:"measured"`
	Pass    bool   `json:"pass"`
	// Noisy: the hypervisor stole at least noisySteal of the machine's
	// time in a run the verdict rests on, so the verdict says more about
	// the machine than about the software; repeat it.
	Noisy bool `json:"noisy,omitempty"`
	// RigBound: an absolute target (CPU, latency, discards) that the
	// same-run probe misses too, or a run it rests on whose rig was at
	// least busyRig busy: the figure is the rig's and the machine's as
	// much as the acceptor's. Printed with the verdict, which it does not
	// change.
	RigBound bool `json:"rigBound,omitempty"`
}

// busyRig is the rig's CPU use, in per cent of its CPUs, from which it
// answers for its nodes and reads their lines late enough to be part of
// what an absolute target measures.
const busyRig = 90.0

// noisySteal is the steal, in per cent of the machine's time in a run's
// window, from which a verdict is marked noisy.
const noisySteal = 5.0

func (s *suite) targets() []target {
	var ts []target
	// add records a verdict resting on the runs rs.
	add := func(id, what, measured string, pass bool, rs ...result) *target {
		t := target{ID: id, What: what, Measure: measured, Pass: pass}
		for _, r := range rs {
			if r.StealPct >= noisySteal {
				t.Noisy = true
				t.Measure += fmt.Sprintf("; steal %.1f%% in the %s run", r.StealPct, r.Kind)
			}
		}
		ts = append(ts, t)
		return &ts[len(ts)-1]
	}
	// rigBound marks t when the probe of the same run misses the same
	// absolute target or the rig was busy in a run t rests on.
	rigBound := func(t *target, probeMisses bool, rs ...result) {
		var why []string
		if probeMisses {
			why = append(why, "the probe misses it too")
		}
		for _, r := range rs {
			if r.RigCPUPct >= busyRig {
				why = append(why, fmt.Sprintf("the rig %.0f%% busy in the %s run", r.RigCPUPct, r.Kind))
			}
		}
		if len(why) > 0 {
			t.RigBound = true
			t.Measure += "; rig-bound: " + strings.Join(why, ", ")
		}
	}
	// tailNote says when the rig's tailer read fewer lines in the window
	// than the acceptor was handed (by more than 2 %): it fell behind, and
	// the latencies it measured include its own backlog.
	tailNote := func(rs ...result) string {
		var out string
		for _, r := range rs {
			if r.WindowDelivered > 0 && float64(r.WindowLines) < 0.98*float64(r.WindowDelivered) {
				out += fmt.Sprintf("; the tailer read %.0f%% of the %s run's objects in the window", 100*float64(r.WindowLines)/float64(r.WindowDelivered), r.Kind)
			}
		}
		return out
	}
	// Gaps Muninn causes are objects taken from a node but not on disk
	// (Lost) and lines written twice; every other gap is a node-side
	// discard, counted by the generator. Discards while the nodes connect
	// (a node produces before it is connected, as a real one does) are
	// outside the measured window.
	//
	// An open-loop run whose generator skipped more than 1 % of the
	// window's arrivals (it could not keep the rate on a loaded machine)
	// did not offer the load asked for: it cannot pass.
	//
	// intact: everything a node handed over is on disk once; clean: and
	// nothing was discarded in the window, at the load asked for.
	intact := func(r result) bool { return r.Lost == 0 && r.Duplicates == 0 && r.Missing == r.Discarded }
	clean := func(r result) bool { return intact(r) && r.DiscardedWin == 0 && offered(r) }
	ns := make([]int, 0, len(s.t1))
	for n := range s.t1 {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	for _, n := range ns {
		p, m := s.t1[n][0], s.t1[n][1]
		want := 0.5
		if n >= 1000 {
			want = 0.4
		}
		rt := ratio(m.Throughput, p.Throughput)
		add("T1", fmt.Sprintf("saturated ingest N=%d ≥ %.0f%% of the probe, no gaps", n, want*100),
			fmt.Sprintf("%.0f vs %.0f objects/s = %.0f%%; missing %d, dup %d, lost %d%s", m.Throughput, p.Throughput, rt*100, m.Missing, m.Duplicates, m.Lost, tailNote(p, m)),
			rt >= want && clean(m), p, m)
	}
	for _, r := range s.results {
		switch {
		case strings.HasPrefix(r.Name, "T2/T4") && r.Kind == muninnKind:
			probe := s.find(r.Name, probeKind)
			t := add("T2", r.Name+": ≤ 0.16 CPU-s per 100 000 objects",
				fmt.Sprintf("%.3f s (probe %.3f s, ratio %.2f)%s", r.CPUPer100k, probe.CPUPer100k, ratio(r.CPUPer100k, probe.CPUPer100k), skipNote(r)),
				r.CPUPer100k <= 0.16 && r.WindowDelivered > 0 && offered(r), probe, r)
			rigBound(t, probe.CPUPer100k > 0.16, probe, r)
			t = add("T4", r.Name+": no node-side discards (queueSize 192, loRequestNum 100)",
				fmt.Sprintf("%d discarded in the window (%d in all; %d in batches of the generator's own late wakeups; the probe %d), missing %d, lost %d of %d",
					r.DiscardedWin, r.Discarded, r.GenLateDisc, probe.DiscardedWin, r.Missing, r.Lost, r.Produced)+skipNote(r), clean(r), r)
			rigBound(t, probe.DiscardedWin > 0, probe, r)
		case strings.HasPrefix(r.Name, "T3") && r.Kind == muninnKind:
			probe := s.find(r.Name, probeKind)
			limit := 5000.0
			if r.Nodes >= 1000 {
				limit = 25000
			}
			t := add("T3", fmt.Sprintf("%s: enqueue→line p99 ≤ %s", r.Name, ms(limit)),
				fmt.Sprintf("p50 %s, p99 %s, p99.9 %s (probe p50 %s, p99 %s; ratio %.2f); %d discarded in the window%s%s", ms(r.LatencyP50us), ms(r.LatencyP99us), ms(r.LatencyP999),
					ms(probe.LatencyP50us), ms(probe.LatencyP99us), ratio(r.LatencyP99us, probe.LatencyP99us), r.DiscardedWin, skipNote(r), tailNote(probe, r)),
				r.LatencyP99us <= limit && clean(r), probe, r)
			rigBound(t, probe.LatencyP99us > limit, probe, r)
		case strings.HasPrefix(r.Name, "burst") && r.Kind == muninnKind:
			probe := s.find(r.Name, probeKind)
			t := add("burst", fmt.Sprintf("%s: %.0f objects/s per node, %.0f in the bursts (2 s in every 10), no discards", r.Name, r.RatePerNode, r.BurstRate),
				fmt.Sprintf("%d discarded in the window (%d in all; the probe %d), missing %d, p99 %s (the probe %s)%s",
					r.DiscardedWin, r.Discarded, probe.DiscardedWin, r.Missing, ms(r.LatencyP99us), ms(probe.LatencyP99us), skipNote(r)), clean(r), probe, r)
			rigBound(t, probe.DiscardedWin > 0, probe, r)
		case r.Name == "T5 idle N=1000":
			per := float64(int64(r.RSSEnd)-int64(r.BaseRSS)) / float64(r.Nodes)
			add("T5", "RSS per idle connected node ≤ 64 KiB",
				fmt.Sprintf("%.1f KiB (%s with 1000 nodes, %s with none)", per/1024, mb(r.RSSEnd), mb(r.BaseRSS)), per <= 64<<10, r)
		case strings.HasPrefix(r.Name, "T5/T6"):
			add("T5", "RSS ≤ 128 MB for 1000 nodes × 300 metrics",
				fmt.Sprintf("%s (%s after the scrapes below; peak %s)", mb(r.RSSEnd), mb(r.RSSAfterScrape), mb(r.PeakRSS)), r.RSSEnd <= 128e6, r)
			add("T6", "scrape of one node with 1000 connected: p99 ≤ 1 ms (HTTP over loopback)",
				fmt.Sprintf("p99 %s; /metrics with 300 000 series %.1f ms", ms(r.ScrapeP99us), r.ScrapeAllMs), r.ScrapeP99us <= 1000, r)
		case strings.HasPrefix(r.Name, "T7"):
			flat := func(a, b int) bool { d := b - a; return d <= max(5, a/50) && -d <= max(5, a/50) }
			add("T7", r.Name+": RSS slope ≤ 0.5 MB/min, goroutines and fds flat",
				fmt.Sprintf("slope %.3f MB/min; rss %s→%s; goroutines %d→%d; fds %d→%d; lost %d, duplicated %d (node-side discards: %d)",
					r.RSSSlope, mb(r.RSSStart), mb(r.RSSEnd), r.GoroutStart, r.GoroutEnd, r.FDsStart, r.FDsEnd, r.Lost, r.Duplicates, r.Discarded),
				r.RSSSlope <= 0.5 && flat(r.GoroutStart, r.GoroutEnd) && flat(r.FDsStart, r.FDsEnd) && intact(r), r)
		}
	}
	return ts
}

// offered reports whether the generator produced (nearly) all the
// arrivals of the window.
func offered(r result) bool { return r.GenSkipped*100 <= r.WindowProd+r.GenSkipped }

// skipNote says how much load the generator skipped, when it did.
func skipNote(r result) string {
	if r.GenSkipped == 0 {
		return ""
	}
	return fmt.Sprintf("; the generator skipped %d of %d arrivals", r.GenSkipped, r.WindowProd+r.GenSkipped)
}

func (s *suite) find(name string, k kind) result {
	for _, r := range s.results {
		if r.Name == name && r.Kind == k {
			return r
		}
	}
	return result{}
}

func printTargets(w io.Writer, ts []target) {
	if len(ts) == 0 { // --rate, or a run that stopped before any verdict
		return
	}
	fmt.Fprintln(w, "\ntargets:")
	noisy, bound := false, false
	for _, t := range ts {
		v := "PASS"
		if !t.Pass {
			v = "FAIL"
		}
		if t.Noisy {
			v += "?"
			noisy = true
		}
		if t.RigBound {
			v += "*"
			bound = true
		}
		fmt.Fprintf(w, "  %-5s %-6s %s\n        %s\n", t.ID, v, t.What, t.Measure)
	}
	if noisy {
		fmt.Fprintf(w, "?: the hypervisor stole %.0f %% or more of the acceptor's or the rig's CPUs' time in a run this verdict rests on;\n"+
			"   repeat that phase (--phases, --nodes) when the machine is quieter\n", noisySteal)
	}
	if bound {
		fmt.Fprintf(w, "*: rig-bound: the same-run probe misses this absolute target too, or the rig was %.0f %% busy or more in a run\n"+
			"   it rests on; the figure measures the rig and the machine as much as the acceptor\n", busyRig)
	}
}

func writeJSON(path string, s *suite, ts []target) error {
	b, err := json.MarshalIndent(struct {
		CPUs    int      `json:"cpus"`
		Go      string   `json:"go"`
		Window  float64  `json:"windowSecs"`
		Results []result `json:"results"`
		Targets []target `json:"targets"`
	}{runtime.NumCPU(), runtime.Version(), s.o.window.Seconds(), s.results, ts}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(us float64) string { return strconv.FormatFloat(us/1000, 'f', 2, 64) + " ms" }

func mb(b uint64) string { return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + " MB" }
