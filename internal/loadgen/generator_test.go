package loadgen

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// running is a Generator whose Run goroutine the test owns.
type running struct {
	*Generator
	cancel context.CancelFunc
	done   chan error // Run's result, capacity 1
}

func startGenerator(t *testing.T, cfg Config) *running {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Generator: g, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- g.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and checks that it returned nil; a second call is a
// no-op.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v, want nil", err)
	}
	if n := r.Connected(); n != 0 {
		t.Errorf("Connected after Run = %d", n)
	}
}

func nodeName(i int) string { return fmt.Sprintf("load-%04d", i) }

// drain stops producing and waits until the acceptor holds everything
// that was produced and not discarded.
func drain(t *testing.T, g *running, a *testAcceptor) Stats {
	t.Helper()
	g.StopProducing()
	waitFor(t, "queues to drain", g.Drained)
	s := g.Stats()
	for _, ns := range s.Nodes {
		waitFor(t, ns.Name+"'s objects to arrive", func() bool {
			return uint64(a.count(ns.Name)) == ns.Produced-ns.Discarded
		})
	}
	return s
}

// checkDelivered checks each node's objects as the acceptor received
// them: valid lines, sequence numbers increasing (contiguous from 0 when
// nothing was discarded), enqueue times before arrival.
func checkDelivered(t *testing.T, a *testAcceptor, s Stats, start time.Time) {
	t.Helper()
	for _, ns := range s.Nodes {
		got := a.received(ns.Name)
		if uint64(len(got)) != ns.Produced-ns.Discarded || ns.Queued != 0 {
			t.Errorf("%s: %d objects arrived; produced %d, discarded %d, queued %d",
				ns.Name, len(got), ns.Produced, ns.Discarded, ns.Queued)
		}
		next := uint64(0)
		for i, r := range got {
			l, _ := checkLine(t, r.obj.Machine, ns.Name)
			enq := time.Unix(0, l.Data.Enqueued)
			if enq.Before(start) || enq.After(r.at) {
				t.Fatalf("%s seq %d: enqueued %v, not between start %v and arrival %v", ns.Name, l.Data.Seq, enq, start, r.at)
			}
			switch {
			case ns.Discarded == 0 && l.Data.Seq != next:
				t.Fatalf("%s: object %d has seq %d, want %d", ns.Name, i, l.Data.Seq, next)
			case l.Data.Seq < next:
				t.Fatalf("%s: seq %d after %d", ns.Name, l.Data.Seq, next-1)
			}
			next = l.Data.Seq + 1
		}
	}
}

// TestDelivery runs nodes against an acceptor in every production mode
// until each has delivered a few hundred objects, then drains them and
// checks everything that arrived.
func TestDelivery(t *testing.T) {
	t.Parallel()
	const nodes, each = 4, 300
	tests := []struct {
		name string
		cfg  Config
	}{
		{"poisson", Config{Rate: 2000, QueueSize: 4000}},
		{"poisson pre-encoded", Config{Rate: 2000, QueueSize: 4000, PreEncoded: true}},
		{"uniform bursts", Config{Rate: 500, Arrival: Uniform, QueueSize: 4000,
			Burst: Burst{Every: 50 * time.Millisecond, Length: 10 * time.Millisecond, Rate: 10000}}},
		{"saturate", Config{Saturate: true, QueueSize: 50}},
		{"saturate pre-encoded", Config{Saturate: true, PreEncoded: true, Sizes: SizeMix{Small: 2, Medium: 2, Large: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := startAcceptor(t, nil)
			cfg := tt.cfg
			cfg.Nodes, cfg.Address, cfg.Metrics, cfg.MetricsChange = nodes, a.addr, 40, 0.25
			start := time.Now()
			g := startGenerator(t, cfg)
			waitFor(t, "every node to connect", func() bool { return g.Connected() == nodes })
			for i := range nodes {
				waitFor(t, nodeName(i)+"'s objects and metrics", func() bool {
					return a.count(nodeName(i)) >= each && a.metricCount(nodeName(i)) == 40
				})
			}
			s := drain(t, g, a)
			checkDelivered(t, a, s, start)
			if cfg.Saturate && s.Discarded != 0 {
				t.Errorf("Saturate discarded %d objects", s.Discarded)
			}
			if s.Connections != nodes {
				t.Errorf("%d connections, want %d", s.Connections, nodes)
			}
			for i := range nodes {
				if c := a.connections(nodeName(i)); c != 1 {
					t.Errorf("NodeInfo of %s arrived on %d connections, want 1", nodeName(i), c)
				}
			}
		})
	}
}

// TestSaturateKeepsDelivering: in closed loop the queues stay topped up
// while the acceptor takes objects, and nothing is ever discarded.
func TestSaturateKeepsDelivering(t *testing.T) {
	t.Parallel()
	a := startAcceptor(t, nil)
	g := startGenerator(t, Config{Nodes: 2, Address: a.addr, Saturate: true, QueueSize: 20, Rate: 0})
	for round := 1; round <= 3; round++ {
		for i := range 2 {
			waitFor(t, "more objects", func() bool { return a.count(nodeName(i)) >= round*300 })
		}
		if s := g.Stats(); s.Discarded != 0 || s.Queued > 2*20 {
			t.Fatalf("round %d: %+v", round, s)
		}
	}
	checkDelivered(t, a, drain(t, g, a), time.Time{})
}

// TestStalledAcceptor: an acceptor that never asks for objects makes the
// queues overflow; each overflow discards a whole queue, and every object
// produced is either discarded or still queued.
func TestStalledAcceptor(t *testing.T) {
	t.Parallel()
	const nodes, queue = 3, 16
	a := startAcceptor(t, func(a *testAcceptor) { a.stalled = true })
	g := startGenerator(t, Config{Nodes: nodes, Address: a.addr, Rate: 5000, Arrival: Uniform, QueueSize: queue})
	waitFor(t, "every node to connect", func() bool { return g.Connected() == nodes })
	waitFor(t, "discards", func() bool {
		for _, ns := range g.Stats().Nodes {
			if ns.Discarded < 5*queue {
				return false
			}
		}
		return true
	})
	g.StopProducing()
	for _, ns := range g.Stats().Nodes {
		if ns.Produced != ns.Discarded+uint64(ns.Queued) || ns.Discarded%queue != 0 || ns.Queued > queue {
			t.Errorf("%s: produced %d, discarded %d, queued %d", ns.Name, ns.Produced, ns.Discarded, ns.Queued)
		}
	}
	if g.Drained() {
		t.Error("Drained with full queues")
	}
}

// TestRedial: a node whose connection ends dials again, and objects
// produced meanwhile are delivered on the new connection.
func TestRedial(t *testing.T) {
	t.Parallel()
	const nodes = 3
	a := startAcceptor(t, func(a *testAcceptor) { a.closeFirst = true })
	g := startGenerator(t, Config{Nodes: nodes, Address: a.addr, Rate: 200, QueueSize: 10000, PreEncoded: true})
	waitFor(t, "second connections", func() bool { return g.Stats().Connections == 2*nodes && g.Connected() == nodes })
	for i := range nodes {
		waitFor(t, "objects", func() bool { return a.count(nodeName(i)) >= 20 })
	}
	s := drain(t, g, a)
	checkDelivered(t, a, s, time.Time{})
	for _, ns := range s.Nodes {
		if ns.Connections != 2 || a.connections(ns.Name) != 2 {
			t.Errorf("%s: %d connections, acceptor saw %d", ns.Name, ns.Connections, a.connections(ns.Name))
		}
	}
}

// TestRedialBeforeAcceptor: nodes started before their acceptor listens
// keep dialling until it does.
func TestRedialBeforeAcceptor(t *testing.T) {
	t.Parallel()
	addr := filepath.Join(t.TempDir(), "late.sock")
	g := startGenerator(t, Config{Nodes: 2, Address: addr, Rate: 100})
	a := startAcceptor(t, func(a *testAcceptor) { a.addr = addr })
	waitFor(t, "every node to connect", func() bool { return g.Connected() == 2 })
	for i := range 2 {
		waitFor(t, "objects", func() bool { return a.count(nodeName(i)) >= 5 })
	}
	checkDelivered(t, a, drain(t, g, a), time.Time{})
}

// Run runs once; StopProducing before Run means nothing is produced.
func TestRunOnce(t *testing.T) {
	t.Parallel()
	a := startAcceptor(t, nil)
	g, err := New(Config{Nodes: 1, Address: a.addr, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	g.StopProducing()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "a connection", func() bool { return g.Connected() == 1 })
	if err := g.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	waitFor(t, "an idle, drained node", g.Drained)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := g.Stats(); s.Produced != 0 || s.Connections != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestNoteWakeup(t *testing.T) {
	t.Parallel()
	g := &Generator{}
	for _, late := range []time.Duration{time.Millisecond, 3 * time.Millisecond, 0, 2 * time.Millisecond} {
		g.noteWakeup(late)
	}
	if st := g.Stats(); st.LateWakeups != 4 || st.MaxLate != 3*time.Millisecond {
		t.Errorf("LateWakeups %d, MaxLate %v; want 4 and 3ms", st.LateWakeups, st.MaxLate)
	}
}

func TestClampBatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k, max, want int
		skip         uint64
	}{
		{1, 96, 1, 0}, {96, 96, 96, 0}, {97, 96, 96, 1}, {5000, 96, 96, 4904}, {3, 1, 1, 2},
	} {
		if got, skip := clampBatch(tc.k, tc.max); got != tc.want || skip != tc.skip {
			t.Errorf("clampBatch(%d, %d) = %d, %d; want %d, %d", tc.k, tc.max, got, skip, tc.want, tc.skip)
		}
	}
}
