package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/internal/fakenode"
	"muninn/tracer"
)

// ErrRunning is returned by a second call of Run.
var ErrRunning = errors.New("load generator already ran")

// maxShards bounds the producer goroutines of open-loop production.
const maxShards = 8

// Generator simulates Config.Nodes nodes. Make one with New, then call Run.
type Generator struct {
	cfg     Config
	log     *slog.Logger
	nodes   []*node
	mix     mix
	metrics *metricSet // nil without metrics

	connected atomic.Int64 // nodes whose connection is up

	lateWakeups  atomic.Uint64 // producer wakeups with a late batch (lateBatch)
	maxLate      atomic.Int64  // the latest of those batches, in nanoseconds
	lateDiscards atomic.Uint64 // objects discarded by late batches
	skipped      atomic.Uint64 // arrivals skipped because a wakeup was too late

	mu        sync.Mutex     // guards ran, stopped and the Add of producers
	ran       bool           // Run was called
	stopped   bool           // StopProducing was called
	stop      chan struct{}  // closed by StopProducing
	producers sync.WaitGroup // producer goroutines of Run
}

// node is one simulated node.
type node struct {
	name    string
	queue   *tracer.Queue
	metrics *ekg.MapSource
	fake    *fakenode.Node

	// Producer state, owned by the one goroutine that produces for this
	// node: its shard (open loop) or its refill goroutine (Saturate).
	build   *builder
	rng     *rand.Rand
	seq     uint64
	picks   []int
	scratch [][]byte

	produced    atomic.Uint64
	connections atomic.Int64
}

// New checks cfg and prepares the nodes; nothing runs before Run.
func New(cfg Config) (*Generator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:  cfg,
		log:  cfg.Log.With("component", "loadgen"),
		mix:  newMix(cfg.Sizes),
		stop: make(chan struct{}),
	}
	if cfg.Metrics > 0 {
		g.metrics = newMetricSet(cfg.Metrics, cfg.MetricsChange)
	}
	start := time.Now().UTC()
	for i := range cfg.Nodes {
		name := fmt.Sprintf("%s-%04d", cfg.NamePrefix, i)
		ds := &datapoint.Store{}
		ds.Set(datapoint.NodeInfoName, datapoint.NodeInfo{
			Name: name, Protocol: "Cardano", Version: "10.1.4", Commit: "1f4b0d8e2b7c5a6d9e0f1a2b3c4d5e6f7a8b9c0d",
			StartTime: start, SystemStartTime: time.Date(2017, 9, 23, 21, 44, 51, 0, time.UTC),
		}.JSON())
		src := ekg.NewMapSource()
		if g.metrics != nil {
			g.metrics.init(i, src)
		}
		q := tracer.NewQueue(cfg.QueueSize)
		g.nodes = append(g.nodes, &node{
			name:    name,
			queue:   q,
			metrics: src,
			fake: &fakenode.Node{
				Magic: cfg.Magic, Traces: q, Metrics: src, DataPoints: ds,
				Log: g.log.With("node", name),
			},
			build: newBuilder(name, cfg.PreEncoded),
			rng:   rand.New(rand.NewPCG(uint64(i), 0x6c6f6164)),
		})
	}
	return g, nil
}

// Run connects every node and produces until ctx ends, then closes the
// connections and returns nil. A node whose connection fails or ends
// dials again after a back-off of 100 ms doubling up to 5 s. Run may be
// called once.
func (g *Generator) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.ran {
		g.mu.Unlock()
		return ErrRunning
	}
	g.ran = true
	var starts []func()
	if !g.stopped {
		starts = g.producerLoops(ctx)
		g.producers.Add(len(starts))
	}
	g.mu.Unlock()

	var wg sync.WaitGroup
	for _, run := range starts {
		go func() {
			defer g.producers.Done()
			run()
		}()
	}
	for _, n := range g.nodes {
		wg.Go(func() { g.dialLoop(ctx, n) })
	}
	if g.metrics != nil {
		wg.Go(func() { g.metrics.run(ctx, g.nodes) })
	}
	g.log.Info("running", "count", len(g.nodes), "remote", g.cfg.Address)
	<-ctx.Done()
	wg.Wait()
	g.producers.Wait()
	return nil
}

// producerLoops returns the producer goroutines' bodies: one refill loop
// per node with Saturate, otherwise one loop per shard of nodes.
//
// Saturate refills from one goroutine per node, parked on that node's
// Queue.Taken channel. Waiting on many channels from a shard would need
// reflect.Select or a relay goroutine per node anyway; a parked goroutine
// costs a few KiB of stack and no CPU, a node's connection already has
// about seven, and the refill then runs at once on the take that made room,
// owns its node's producer state alone and needs no shared dirty list.
func (g *Generator) producerLoops(ctx context.Context) []func() {
	var loops []func()
	if g.cfg.Saturate {
		for _, n := range g.nodes {
			loops = append(loops, func() { g.refill(ctx, n) })
		}
		return loops
	}
	shards := min(runtime.GOMAXPROCS(0), maxShards, len(g.nodes))
	start := time.Now()
	for s := range shards {
		sh := &shard{g: g, sched: newSchedule(g.cfg), poisson: g.cfg.Arrival == Poisson,
			rng: rand.New(rand.NewPCG(uint64(s), 0x73686172))}
		for i := s; i < len(g.nodes); i += shards {
			sh.nodes = append(sh.nodes, g.nodes[i])
		}
		loops = append(loops, func() { sh.run(ctx, start) })
	}
	return loops
}

// StopProducing stops creating objects and returns once no producer is
// running; connections stay up so that queues can drain.
func (g *Generator) StopProducing() {
	g.mu.Lock()
	if !g.stopped {
		g.stopped = true
		close(g.stop)
	}
	g.mu.Unlock()
	g.producers.Wait()
}

// Drained reports whether every node's queue is empty and has a blocking
// request waiting on it: everything produced has reached the acceptor,
// which has asked for more.
func (g *Generator) Drained() bool {
	for _, n := range g.nodes {
		if n.queue.Len() > 0 || n.queue.Waiters() == 0 {
			return false
		}
	}
	return true
}

// Connected returns how many nodes have a connection whose handshake is
// done.
func (g *Generator) Connected() int { return int(g.connected.Load()) }

// Stats are the generator's counters, in total and per node.
type Stats struct {
	Produced, Discarded uint64
	Queued              int
	Connections         int // successful connections (handshake done) in total
	// The generator's own stalls (open loop). A node's batch is late
	// when its wakeup came so long after the batch's first arrival was
	// due that a quarter of the node's queue fell due meanwhile, at the
	// node's rate then in force (bursts included), or LateWakeup, if
	// that is sooner; and always when it was clamped (see Skipped).
	// LateWakeups counts the wakeups with at least one late batch,
	// MaxLate is the latest of those batches, and LateDiscards counts
	// the discards that happened while putting late batches, that is,
	// that are the generator's lateness rather than the acceptor's.
	LateWakeups  uint64
	MaxLate      time.Duration
	LateDiscards uint64
	// Skipped arrivals: when a wakeup is so late that more than half a
	// queue is due for a node at once, only half a queue is produced and
	// the rest is skipped (never produced, no sequence number). The
	// offered load was then lower than Config asked for. Such a batch
	// counts as late.
	Skipped uint64
	Nodes   []NodeStats
}

// NodeStats are one node's counters.
type NodeStats struct {
	Name                string
	Produced, Discarded uint64
	Queued              int
	Connections         int
}

// Stats returns the counters; it is safe to call at any time. While
// production runs, per-node values are read one after the other, so
// Produced may be ahead of Discarded+Queued plus what was delivered.
func (g *Generator) Stats() Stats {
	s := Stats{Nodes: make([]NodeStats, len(g.nodes)), LateWakeups: g.lateWakeups.Load(),
		MaxLate: time.Duration(g.maxLate.Load()), LateDiscards: g.lateDiscards.Load(), Skipped: g.skipped.Load()}
	for i, n := range g.nodes {
		ns := NodeStats{
			Name:        n.name,
			Produced:    n.produced.Load(),
			Discarded:   n.queue.Discarded(),
			Queued:      n.queue.Len(),
			Connections: int(n.connections.Load()),
		}
		s.Nodes[i] = ns
		s.Produced += ns.Produced
		s.Discarded += ns.Discarded
		s.Queued += ns.Queued
		s.Connections += ns.Connections
	}
	return s
}
