package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"slices"
	"syscall"
	"time"

	"muninn/internal/loadgen"
	"muninn/internal/tailer"
)

// spec is one run: one fresh acceptor process driven by the load
// generator and watched by the tailer.
type spec struct {
	Name      string
	Kind      kind
	Nodes     int
	Saturate  bool          // closed loop: the acceptor's maximum throughput
	Rate      float64       // objects/s per node (open loop, Poisson)
	Burst     loadgen.Burst // zero: none
	Metrics   int           // EKG metrics per node
	Idle      bool          // no traces: memory of connected nodes
	Warmup    time.Duration // after every node is connected, before measuring
	Window    time.Duration // the measured interval
	Sample    time.Duration // take process samples this often during the window (0: start and end only)
	QueueSize int           // node forwarding queue (default 192)
	Scrape    bool          // muninn: time node-route and /metrics scrapes
}

// result is what one run measured. Durations are in microseconds and CPU
// in seconds, so the JSON reads without units.
type result struct {
	Name             string  `json:"name"`
	Kind             kind    `json:"kind"`
	Nodes            int     `json:"nodes"`
	Saturate         bool    `json:"saturate,omitempty"`
	RatePerNode      float64 `json:"ratePerNode,omitempty"`
	BurstRate        float64 `json:"burstRatePerNode,omitempty"` // during a burst, instead of RatePerNode
	Metrics          int     `json:"metrics,omitempty"`
	WindowSecs       float64 `json:"windowSecs"`
	WindowLines      uint64  `json:"windowLines"`     // lines the tailer read during the window
	WindowDelivered  uint64  `json:"windowDelivered"` // objects the nodes handed to the acceptor during the window
	Throughput       float64 `json:"throughput"`      // objects handed to the acceptor per second during the window
	TailedPerSec     float64 `json:"tailedPerSec"`    // lines the tailer read per second during the window: below Throughput when the rig's tailer fell behind
	CPUSecs          float64 `json:"cpuSecs"`         // the acceptor's CPU during the window
	CPUPer100k       float64 `json:"cpuPer100k,omitempty"`
	LatencyP50us     float64 `json:"latencyP50us,omitempty"`
	LatencyP99us     float64 `json:"latencyP99us,omitempty"`
	LatencyP999      float64 `json:"latencyP999us,omitempty"`
	LatencyMaxus     float64 `json:"latencyMaxus,omitempty"`
	Produced         uint64  `json:"produced"`
	Discarded        uint64  `json:"discarded"`             // node-side, whole-queue overflow, over the whole run
	DiscardedWin     uint64  `json:"discardedWindow"`       // of those, during the measured window
	GenLate          uint64  `json:"generatorLateWakeups"`  // in the window: the generator itself woke late (loadgen.Stats.LateWakeups)
	GenLateDisc      uint64  `json:"generatorLateDiscards"` // window discards in the batches of those wakeups
	GenMaxLateMs     float64 `json:"generatorMaxLateMs"`    // the latest wakeup of the whole run, connecting included
	StealPct         float64 `json:"stealPct"`              // the larger of the two below: a run is noisy from noisySteal
	AcceptorStealPct float64 `json:"acceptorStealPct"`      // of the acceptor's CPUs' time in the window, taken by the hypervisor (of all CPUs' when not pinned)
	RigStealPct      float64 `json:"rigStealPct"`           // the same for the other CPUs, the rig's
	Attempts         int     `json:"attempts"`              // runs made of this spec: more than 1 when steal made the suite repeat it
	RigCPUPct        float64 `json:"rigCPUPct"`             // the generator and tailer's CPU in the window, % of the CPUs they may use
	GenSkipped       uint64  `json:"generatorSkipped"`      // arrivals the late generator skipped in the window
	WindowProd       uint64  `json:"windowProduced"`        // objects produced in the window
	Lines            uint64  `json:"lines"`
	Missing          uint64  `json:"missing"`    // gaps in the per-node sequences on disk
	Duplicates       uint64  `json:"duplicates"` // lines seen twice
	Lost             int64   `json:"lost"`       // taken from the nodes but not on disk at the end
	Malformed        uint64  `json:"malformed,omitempty"`
	BaseRSS          uint64  `json:"baseRSS"` // right after start, no node
	RSSStart         uint64  `json:"rssStart"`
	RSSEnd           uint64  `json:"rssEnd"`
	PeakRSS          uint64  `json:"peakRSS"`
	FDsStart         int     `json:"fdsStart"`
	FDsEnd           int     `json:"fdsEnd"`
	GoroutStart      int     `json:"goroutinesStart,omitempty"`
	GoroutEnd        int     `json:"goroutinesEnd,omitempty"`
	RSSSlope         float64 `json:"rssSlopeMBperMin,omitempty"`
	ScrapeP99us      float64 `json:"scrapeNodeP99us,omitempty"`
	ScrapeAllMs      float64 `json:"scrapeAllMs,omitempty"`
	RSSAfterScrape   uint64  `json:"rssAfterScrape,omitempty"`
	Samples          []point `json:"samples,omitempty"`
}

// point is one process sample of a soak.
type point struct {
	Secs       float64 `json:"secs"`
	RSS        uint64  `json:"rss"`
	FDs        int     `json:"fds"`
	Goroutines int     `json:"goroutines"`
}

// execute performs one run.
func execute(ctx context.Context, sp spec, bins binaries, base string, keep bool, log *slog.Logger) (res result, err error) {
	res = result{Name: sp.Name, Kind: sp.Kind, Nodes: sp.Nodes, Saturate: sp.Saturate, Metrics: sp.Metrics}
	if !sp.Saturate && !sp.Idle {
		res.RatePerNode = sp.Rate
		res.BurstRate = sp.Burst.Rate
	}
	srv, err := startServer(ctx, sp.Kind, bins, base, loRequestNum)
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
		if keep {
			return
		}
		if rerr := srv.remove(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	base0, err := srv.stats()
	if err != nil {
		return res, err
	}
	res.BaseRSS = base0.RSS

	tl, err := tailer.New(tailer.Config{Root: srv.logRoot, Log: log})
	if err != nil {
		return res, err
	}
	tctx, stopTail := context.WithCancel(context.WithoutCancel(ctx))
	tailDone := make(chan error, 1)
	go func() { tailDone <- tl.Run(tctx) }()
	defer func() {
		stopTail()
		if terr := <-tailDone; terr != nil && err == nil {
			err = fmt.Errorf("tailer: %w", terr)
		}
	}()

	rate := sp.Rate
	if sp.Idle {
		rate = 0
	}
	gen, err := loadgen.New(loadgen.Config{
		Nodes: sp.Nodes, Address: srv.sock, Rate: rate, Saturate: sp.Saturate, Burst: sp.Burst,
		Metrics: sp.Metrics, MetricsChange: 0.1, PreEncoded: true, QueueSize: sp.QueueSize, Log: log,
	})
	if err != nil {
		return res, err
	}
	gctx, stopGen := context.WithCancel(context.WithoutCancel(ctx))
	genDone := make(chan error, 1)
	go func() { genDone <- gen.Run(gctx) }()
	defer func() {
		stopGen()
		if gerr := <-genDone; gerr != nil && err == nil {
			err = fmt.Errorf("load generator: %w", gerr)
		}
	}()

	if err := waitUntil(ctx, 120*time.Second, func() bool { return gen.Connected() == sp.Nodes }); err != nil {
		return res, fmt.Errorf("%d of %d nodes connected: %w", gen.Connected(), sp.Nodes, err)
	}
	if err := sleep(ctx, sp.Warmup); err != nil {
		return res, err
	}
	// The window's figures are read back to back at each end, each cheap:
	// nothing that takes the acceptor's time (such as rendering its
	// /metrics) comes between them.
	s0, err := srv.stats()
	if err != nil {
		return res, err
	}
	ticks0 := readCPUTicks()
	rig0 := selfCPU()
	r0 := tl.Report()
	g0 := gen.Stats()
	tl.ResetLatency()
	if sp.Sample > 0 {
		s0 = srv.withGoroutines(s0)
	}
	res.RSSStart, res.FDsStart, res.GoroutStart = s0.RSS, s0.OpenFDs, s0.Goroutines

	var samples []procStats
	if sp.Sample > 0 {
		samples = append(samples, s0)
		for end := s0.At.Add(sp.Window); time.Until(end) > 0; {
			if err := sleep(ctx, min(sp.Sample, time.Until(end))); err != nil {
				return res, err
			}
			st, err := srv.stats()
			if err != nil {
				return res, err
			}
			samples = append(samples, srv.withGoroutines(st))
		}
	} else if err := sleep(ctx, sp.Window); err != nil {
		return res, err
	}
	s1, err := srv.stats()
	if err != nil {
		return res, err
	}
	ticks1 := readCPUTicks()
	rig1 := selfCPU()
	r1 := tl.Report()
	g1 := gen.Stats()
	if sp.Sample > 0 {
		s1 = srv.withGoroutines(s1)
	}
	win := s1.At.Sub(s0.At)
	res.RigCPUPct = 100 * (rig1 - rig0).Seconds() / win.Seconds() / float64(runtime.NumCPU())
	accCPUs, rigCPUs, err := cpuSplit(bins.cpus, ticks0)
	if err != nil {
		return res, err
	}
	res.AcceptorStealPct = stealPct(ticks0, ticks1, accCPUs)
	res.RigStealPct = stealPct(ticks0, ticks1, rigCPUs)
	res.StealPct = max(res.AcceptorStealPct, res.RigStealPct)
	if sp.Scrape && sp.Kind == muninnKind {
		// After the window's figures: the scrapes' buffers are not the
		// memory of idle nodes, and are reported on their own.
		if res.ScrapeP99us, res.ScrapeAllMs, err = scrape(ctx, srv); err != nil {
			return res, err
		}
		after, err := srv.stats()
		if err != nil {
			return res, err
		}
		res.RSSAfterScrape = after.RSS
	}
	res.DiscardedWin = g1.Discarded - g0.Discarded
	res.GenLate, res.GenLateDisc = g1.LateWakeups-g0.LateWakeups, g1.LateDiscards-g0.LateDiscards
	res.GenMaxLateMs = float64(g1.MaxLate.Microseconds()) / 1000
	res.GenSkipped, res.WindowProd = g1.Skipped-g0.Skipped, g1.Produced-g0.Produced
	res.WindowSecs = win.Seconds()
	res.WindowLines = r1.Lines - r0.Lines
	res.WindowDelivered = uint64(max(0, delivered(g1)-delivered(g0)))
	res.Throughput = float64(res.WindowDelivered) / win.Seconds()
	res.TailedPerSec = float64(res.WindowLines) / win.Seconds()
	res.CPUSecs = (s1.CPU - s0.CPU).Seconds()
	if res.WindowDelivered > 0 {
		res.CPUPer100k = res.CPUSecs * 1e5 / float64(res.WindowDelivered)
	}
	lat := r1.Latency
	res.LatencyP50us, res.LatencyP99us = us(lat.P50), us(lat.P99)
	res.LatencyP999, res.LatencyMaxus = us(lat.P999), us(lat.Max)
	res.RSSEnd, res.PeakRSS, res.FDsEnd, res.GoroutEnd = s1.RSS, s1.PeakRSS, s1.OpenFDs, s1.Goroutines
	if len(samples) > 0 {
		samples = append(samples, s1)
		res.Samples, res.RSSSlope = soakSeries(samples)
	}

	// Stop producing, let the queues drain into the acceptor and the
	// lines reach the tailer, then account for every object.
	gen.StopProducing()
	if err := waitUntil(ctx, 120*time.Second, gen.Drained); err != nil {
		return res, fmt.Errorf("node queues did not drain: %w", err)
	}
	st := gen.Stats()
	want := st.Produced - st.Discarded
	if err := waitProgress(ctx, 15*time.Second, 10*time.Minute, func() uint64 { return distinct(tl.Report()) }, want); err != nil {
		log.Warn("not every delivered object reached the files; counted as lost", "name", sp.Name, "err", err)
	}
	fin := tl.Report()
	res.Produced, res.Discarded = st.Produced, st.Discarded
	res.Lines, res.Missing, res.Duplicates, res.Malformed = fin.Lines, fin.Missing, fin.Duplicates, fin.Malformed
	res.Lost = int64(want) - int64(distinct(fin))
	return res, nil
}

// delivered is how many objects the nodes have handed to the acceptor:
// what they produced, less what they discarded and what they still hold.
// Stats reads the nodes one after the other, so it may run a little ahead;
// over a window that error is a few objects per node at each end.
func delivered(st loadgen.Stats) int64 {
	return int64(st.Produced) - int64(st.Discarded) - int64(st.Queued)
}

// waitProgress waits until count() reaches want, as long as it keeps
// growing: it gives up after stall without growth, or after limit in all.
// The tailer that counts may lag the acceptor by seconds on a busy rig
// and still be catching up.
func waitProgress(ctx context.Context, stall, limit time.Duration, count func() uint64, want uint64) error {
	deadline := time.Now().Add(limit)
	last, lastAt := count(), time.Now()
	for last < want {
		now := time.Now()
		switch {
		case now.After(deadline):
			return fmt.Errorf("%d of %d after %v", last, want, limit)
		case now.Sub(lastAt) > stall:
			return fmt.Errorf("%d of %d, no progress for %v", last, want, stall)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
		if n := count(); n > last {
			last, lastAt = n, time.Now()
		}
	}
	return nil
}

func distinct(r tailer.Report) uint64 {
	var n uint64
	for _, nr := range r.Nodes {
		n += nr.Distinct
	}
	return n
}

// scrape times 1000 GETs of one node's route and 5 of /metrics.
func scrape(ctx context.Context, srv *server) (nodeP99us, allMs float64, err error) {
	routes, err := srv.nodeRoutes()
	if err != nil {
		return 0, 0, err
	}
	if len(routes) == 0 {
		return 0, 0, errors.New("no node routes")
	}
	names := make([]string, 0, len(routes))
	for n := range routes {
		names = append(names, n)
	}
	slices.Sort(names)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.http+path, nil)
		if err != nil {
			return 0, err
		}
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return time.Since(t), nil
	}
	var ds []time.Duration
	for i := range 1000 {
		d, err := get(routes[names[i%len(names)]])
		if err != nil {
			return 0, 0, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	nodeP99us = us(ds[(len(ds)*99+99)/100-1]) // nearest rank: the 990th of 1000
	var total time.Duration
	for range 5 {
		d, err := get("/metrics")
		if err != nil {
			return 0, 0, err
		}
		total += d
	}
	return nodeP99us, float64(total.Microseconds()) / 5000, nil
}

// soakSeries turns samples into points and the least-squares RSS slope in
// MB per minute over the samples after the first fifth (warm-up).
func soakSeries(ss []procStats) ([]point, float64) {
	t0 := ss[0].At
	pts := make([]point, len(ss))
	for i, s := range ss {
		pts[i] = point{Secs: s.At.Sub(t0).Seconds(), RSS: s.RSS, FDs: s.OpenFDs, Goroutines: s.Goroutines}
	}
	fit := pts[len(pts)/5:]
	if len(fit) < 2 {
		return pts, 0
	}
	var sx, sy, sxx, sxy float64
	for _, p := range fit {
		x, y := p.Secs/60, float64(p.RSS)/1e6
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	n := float64(len(fit))
	den := n*sxx - sx*sx
	if den == 0 {
		return pts, 0
	}
	return pts, (n*sxy - sx*sy) / den
}

func us(d time.Duration) float64 { return math.Round(float64(d)/1e3*10) / 10 }

// waitUntil polls cond every 20 ms until it holds, ctx ends or limit
// passes.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// selfCPU is the CPU time this process (the generator and the tailer)
// has used so far. A rig near 100 % of its CPUs answers the acceptor's
// requests late, and its nodes discard for that reason.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
