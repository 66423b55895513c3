package loadgen

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"
	"muninn/tracer"
)

// testAcceptor is the acceptor side in miniature, on a Unix socket: per
// connection a handshake, then Muninn's TraceObject, EKG and DataPoint
// acceptor roles, collecting what arrives by node.
type testAcceptor struct {
	addr    string
	stalled bool // never request trace objects
	// closeFirst ends each node's first connection once its NodeInfo has
	// arrived, before asking for any object.
	closeFirst bool

	logf   func(format string, args ...any)
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   map[string]int        // connections per NodeInfo name
	objs    map[string][]received // objects per Hostname
	metrics map[string]int        // metrics in the last EKG sample, per node
}

type received struct {
	obj tracer.TraceObject
	at  time.Time // when the batch reached the handler
}

func startAcceptor(t *testing.T, mod func(*testAcceptor)) *testAcceptor {
	t.Helper()
	a := &testAcceptor{
		addr:    filepath.Join(t.TempDir(), "a.sock"),
		logf:    t.Logf,
		conns:   map[string]int{},
		objs:    map[string][]received{},
		metrics: map[string]int{},
	}
	if mod != nil {
		mod(a)
	}
	ln, err := net.Listen("unix", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			a.wg.Go(func() {
				if err := a.serve(ctx, conn); err != nil && ctx.Err() == nil {
					a.logf("acceptor connection: %v", err)
				}
			})
		}
	})
	t.Cleanup(a.stop)
	return a
}

func (a *testAcceptor) stop() {
	a.cancel()
	if err := a.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		panic(err)
	}
	a.wg.Wait()
}

func (a *testAcceptor) serve(ctx context.Context, conn net.Conn) error {
	if _, err := muxproto.ServerHandshake(ctx, conn, muxproto.HandshakeConfig{NetworkMagic: DefaultMagic}); err != nil {
		return errors.Join(err, conn.Close())
	}
	mux, err := muxproto.New(conn, muxproto.FromResponder,
		[]muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return errors.Join(err, conn.Close())
	}
	defer mux.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var roles sync.WaitGroup
	defer roles.Wait()
	defer cancel()
	role := func(run func() error) {
		roles.Go(func() {
			// A role ends with ctx or with the connection; anything else
			// is worth seeing in the test log.
			if err := run(); err != nil && ctx.Err() == nil && !errors.Is(err, muxproto.ErrPeerClosed) &&
				!errors.Is(err, muxproto.ErrMuxClosed) {
				a.logf("acceptor role: %v", err)
			}
		})
	}
	dp := datapoint.NewAcceptor(mux.Channel(datapoint.Protocol), datapoint.AcceptorConfig{})
	role(func() error { return dp.Run(ctx) })
	info, err := dp.NodeInfo(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.conns[info.Name]++
	first := a.conns[info.Name] == 1
	a.mu.Unlock()
	if a.closeFirst && first {
		return nil
	}
	role(func() error {
		return ekg.NewAcceptor(mux.Channel(ekg.Protocol)).Poll(ctx, ekg.PollConfig{Period: 20 * time.Millisecond, Full: true}, func(ms []ekg.Metric) {
			a.mu.Lock()
			a.metrics[info.Name] = len(ms)
			a.mu.Unlock()
		})
	})
	if !a.stalled {
		role(func() error {
			return tracer.NewAcceptor(mux.Channel(tracer.Protocol), tracer.AcceptorConfig{StopGrace: time.Millisecond},
				func(_ context.Context, batch []tracer.TraceObject) error {
					now := time.Now()
					a.mu.Lock()
					defer a.mu.Unlock()
					for _, o := range batch { // checkLine compares the host in toMachine
						a.objs[o.Hostname] = append(a.objs[o.Hostname], received{obj: o, at: now})
					}
					return nil
				}).Run(ctx)
		})
	}
	select {
	case <-ctx.Done():
	case <-mux.Done():
	}
	return nil
}

// received returns a copy of what node name has delivered so far.
func (a *testAcceptor) received(name string) []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]received(nil), a.objs[name]...)
}

func (a *testAcceptor) count(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.objs[name])
}

func (a *testAcceptor) connections(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conns[name]
}

func (a *testAcceptor) metricCount(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.metrics[name]
}
