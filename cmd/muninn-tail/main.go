// Command muninn-tail follows the trace log files under a directory while
// they are written (Muninn's and cardano-tracer's node-<time stamp>.json
// files, or the probe's conn-<n>.json) and, when it stops, prints what it
// read per node as one JSON object on stdout: lines, malformed lines,
// distinct, missing and duplicate sequence numbers, files, files removed
// before they were read, and the latency from each object's enqueue time
// to the moment its line became readable. Diagnostics go to stderr as JSON.
//
// It stops on SIGINT or SIGTERM, or after --duration, reading every file
// to its end first.
//
// Latencies are printed in microseconds, as numbers with a fraction:
//
//	"latencyUs": {"count": 1000, "p50": 812.5, "p90": …, "p99": …, "p999": …, "max": …}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"muninn/internal/tailer"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	root     string
	duration time.Duration
	rescan   time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muninn-tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.root, "root", "", "directory whose log files are followed (required)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until SIGINT or SIGTERM)")
	fs.DurationVar(&o.rescan, "rescan", tailer.DefaultRescan, "period of the full rescan that catches missed file events")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.root == "" || fs.NArg() > 0 || o.duration < 0 || o.rescan <= 0 {
		fmt.Fprintln(stderr, "muninn-tail: give --root, no arguments, a non-negative --duration and a positive --rescan")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := follow(ctx, o, stdout, log); err != nil {
		log.Error("muninn-tail", "err", err)
		return 1
	}
	return 0
}

// follow runs the tailer until ctx ends or the duration has passed, then
// prints its report.
func follow(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) error {
	tl, err := tailer.New(tailer.Config{Root: o.root, Rescan: o.rescan, Log: log})
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if err := tl.Run(ctx); err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(reportJSON(tl.Report())); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

type report struct {
	Lines              uint64          `json:"lines"`
	Malformed          uint64          `json:"malformed"`
	ClockSkew          uint64          `json:"clockSkew"`
	Files              int             `json:"files"`
	FilesRemovedUnread int             `json:"filesRemovedUnread"`
	Missing            uint64          `json:"missing"`
	Duplicates         uint64          `json:"duplicates"`
	Latency            percentiles     `json:"latencyUs"`
	Nodes              map[string]node `json:"nodes"`
}

type node struct {
	Lines      uint64      `json:"lines"`
	Distinct   uint64      `json:"distinct"`
	MaxSeq     uint64      `json:"maxSeq"`
	Missing    uint64      `json:"missing"`
	Duplicates uint64      `json:"duplicates"`
	Latency    percentiles `json:"latencyUs"`
}

// percentiles are in microseconds.
type percentiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func percentilesJSON(p tailer.Percentiles) percentiles {
	return percentiles{Count: p.Count, P50: micros(p.P50), P90: micros(p.P90), P99: micros(p.P99), P999: micros(p.P999), Max: micros(p.Max)}
}

func reportJSON(r tailer.Report) report {
	out := report{
		Lines: r.Lines, Malformed: r.Malformed, ClockSkew: r.ClockSkew,
		Files: r.Files, FilesRemovedUnread: r.FilesRemovedUnread,
		Missing: r.Missing, Duplicates: r.Duplicates,
		Latency: percentilesJSON(r.Latency),
		Nodes:   make(map[string]node, len(r.Nodes)),
	}
	for name, n := range r.Nodes {
		out.Nodes[name] = node{Lines: n.Lines, Distinct: n.Distinct, MaxSeq: n.MaxSeq,
			Missing: n.Missing, Duplicates: n.Duplicates, Latency: percentilesJSON(n.Latency)}
	}
	return out
}
