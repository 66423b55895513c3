// Command muninn-loadgen simulates many cardano-nodes towards one trace
// acceptor (Muninn, cardano-tracer or muninn-probe) for performance runs:
// each node has its own connection, forwarding queue, NodeInfo and EKG
// metrics, and produces trace objects shaped like cardano-node's, with a
// per-node "seq" and an "enqueued" time in every toMachine line (see
// internal/loadgen).
//
// It produces for --duration (or until SIGINT or SIGTERM), then stops
// producing and waits up to --drain for every queue to reach the acceptor
// (a further signal cuts that short), closes the connections and prints a
// JSON summary on stdout. Diagnostics go to stderr as JSON. Bad flags exit
// with status 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"muninn/internal/loadgen"
	"muninn/tracer"
)

func main() {
	loadgen.RigGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// options are the flags besides those that map onto loadgen.Config.
type options struct {
	duration, drain time.Duration
	logLevel        slog.Level
}

// summary is printed as JSON at the end.
type summary struct {
	Nodes       int     `json:"nodes"`
	Produced    uint64  `json:"produced"`
	Discarded   uint64  `json:"discarded"`
	Queued      int     `json:"queued"`
	Delivered   uint64  `json:"delivered"` // produced - discarded - queued
	Connections int     `json:"connections"`
	Drained     bool    `json:"drained"`
	Producing   float64 `json:"producingSeconds"`
	Elapsed     float64 `json:"elapsedSeconds"`   // producing and draining
	PerSecond   float64 `json:"objectsPerSecond"` // delivered / elapsed
	PerNode     []node  `json:"perNode"`
}

type node struct {
	Name        string `json:"name"`
	Produced    uint64 `json:"produced"`
	Discarded   uint64 `json:"discarded"`
	Queued      int    `json:"queued"`
	Connections int    `json:"connections"`
}

// run is the command; sigs, when not nil, replaces SIGINT and SIGTERM
// (tests).
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	cfg, o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errFlagParse) {
			fmt.Fprintln(stderr, "muninn-loadgen:", err)
		}
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	cfg.Log = log
	g, err := loadgen.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "muninn-loadgen:", err)
		return 2
	}
	if sigs == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(c)
		sigs = c
	}
	s := drive(g, o, sigs, log)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		fmt.Fprintln(stderr, "muninn-loadgen: write summary:", err)
		return 1
	}
	return 0
}

// drive runs the generator through its phases and sums it up.
func drive(g *loadgen.Generator, o options, sigs <-chan os.Signal, log *slog.Logger) summary {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- g.Run(ctx) }()

	var end <-chan time.Time
	if o.duration > 0 {
		t := time.NewTimer(o.duration)
		defer t.Stop()
		end = t.C
	}
	select {
	case <-end:
	case sig := <-sigs:
		log.Info("stopping production on a signal", "reason", sig.String())
	}
	g.StopProducing()
	produced := time.Since(start)

	drained := waitDrained(g, o.drain, sigs, log)
	elapsed := time.Since(start)
	st := g.Stats()
	cancel()
	if err := <-done; err != nil {
		log.Error("load generator", "err", err)
	}
	s := summary{
		Nodes: len(st.Nodes), Produced: st.Produced, Discarded: st.Discarded, Queued: st.Queued,
		Delivered: st.Produced - st.Discarded - uint64(st.Queued), Connections: st.Connections,
		Drained: drained, Producing: produced.Seconds(), Elapsed: elapsed.Seconds(),
	}
	s.PerSecond = float64(s.Delivered) / elapsed.Seconds()
	for _, n := range st.Nodes {
		s.PerNode = append(s.PerNode, node(n))
	}
	return s
}

// waitDrained waits up to limit for every queue to have reached the
// acceptor, checking every 10 ms, or until a signal.
func waitDrained(g *loadgen.Generator, limit time.Duration, sigs <-chan os.Signal, log *slog.Logger) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !g.Drained() {
		select {
		case <-deadline.C:
			log.Warn("queues did not drain in time", "duration", limit, "count", g.Stats().Queued)
			return false
		case sig := <-sigs:
			log.Warn("draining cut short by a signal", "reason", sig.String())
			return false
		case <-tick.C:
		}
	}
	return true
}

// errFlagParse: the flag package has already printed the problem.
var errFlagParse = errors.New("flag parse error")

func parseFlags(args []string, stderr io.Writer) (loadgen.Config, options, error) {
	fs := flag.NewFlagSet("muninn-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      loadgen.Config
		o        options
		magic    uint64
		arrival  string
		sizes    string
		logLevel string
	)
	fs.IntVar(&cfg.Nodes, "nodes", 1, "simulated nodes, each on its own connection")
	fs.StringVar(&cfg.Address, "connect", "", "acceptor address (the tracer's AcceptAt): a Unix socket path or host:port (required)")
	fs.Uint64Var(&magic, "magic", loadgen.DefaultMagic, "network magic")
	fs.StringVar(&cfg.NamePrefix, "name-prefix", "load", `node i is named "<prefix>-%04d"`)
	fs.Float64Var(&cfg.Rate, "rate", 10, "mean trace objects per second per node (open loop)")
	fs.StringVar(&arrival, "arrival", "poisson", "inter-arrival times: poisson or uniform")
	fs.DurationVar(&cfg.Burst.Every, "burst-every", 0, "start a burst this often (0: no bursts)")
	fs.DurationVar(&cfg.Burst.Length, "burst-length", 0, "length of each burst")
	fs.Float64Var(&cfg.Burst.Rate, "burst-rate", 0, "objects per second per node during a burst, instead of --rate")
	fs.BoolVar(&cfg.Saturate, "saturate", false, "closed loop: keep every queue full, never discard, ignore --rate")
	fs.StringVar(&sizes, "sizes", "60,35,5", "relative weights of small, medium and large objects")
	fs.IntVar(&cfg.QueueSize, "queue-size", tracer.DefaultQueueSize, "each node's forwarding queue capacity")
	fs.IntVar(&cfg.Metrics, "metrics", 0, "EKG metrics per node")
	fs.Float64Var(&cfg.MetricsChange, "metrics-change", 0.1, "share of the metrics that change each second")
	fs.BoolVar(&cfg.PreEncoded, "pre-encoded", false, "encode each kind once per node and patch copies (a cheaper generator)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to produce (0: until SIGINT or SIGTERM)")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "how long to wait for the queues to drain afterwards")
	fs.StringVar(&logLevel, "log-level", "info", "diagnostics level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, o, err
		}
		return cfg, o, errFlagParse
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if cfg.Address == "" {
		errs = append(errs, errors.New("--connect: required"))
	}
	if magic == 0 || magic > math.MaxUint32 {
		errs = append(errs, fmt.Errorf("--magic %d: must be 1..%d", magic, uint64(math.MaxUint32)))
	}
	cfg.Magic = uint32(magic)
	a, err := loadgen.ParseArrival(arrival)
	if err != nil {
		errs = append(errs, fmt.Errorf("--arrival: %w", err))
	}
	cfg.Arrival = a
	if cfg.Sizes, err = parseSizes(sizes); err != nil {
		errs = append(errs, fmt.Errorf("--sizes: %w", err))
	}
	if cfg.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("--queue-size %d: must be at least 1", cfg.QueueSize))
	}
	if o.duration < 0 || o.drain < 0 {
		errs = append(errs, errors.New("--duration and --drain: must not be negative"))
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	return cfg, o, errors.Join(errs...)
}

// parseSizes parses "small,medium,large" weights, not all zero.
func parseSizes(s string) (loadgen.SizeMix, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return loadgen.SizeMix{}, fmt.Errorf("%q: want three weights, small,medium,large", s)
	}
	var w [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return loadgen.SizeMix{}, fmt.Errorf("%q: weights are integers >= 0", s)
		}
		w[i] = n
	}
	if w == [3]int{} {
		return loadgen.SizeMix{}, fmt.Errorf("%q: at least one weight must be positive", s)
	}
	return loadgen.SizeMix{Small: w[0], Medium: w[1], Large: w[2]}, nil
}
