package fakenode_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/internal/fakenode"
	"muninn/internal/muxtest"
	"muninn/muxproto"
	"muninn/tracer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newNode(objects int) *fakenode.Node {
	q := tracer.NewQueue(objects)
	for i := range objects {
		q.Put(&tracer.TraceObject{
			Machine: `{"seq":` + strconv.Itoa(i) + `}`, Namespace: []string{"Test.Seq"},
			Severity: tracer.Info, Timestamp: tracer.TimeOf(time.Unix(1700000000, 0)), Hostname: "h", ThreadID: "1",
		})
	}
	ds := &datapoint.Store{}
	ds.Set(datapoint.NodeInfoName, datapoint.NodeInfo{Name: "relay-1", Protocol: "Cardano", Version: "10.1.4",
		StartTime: time.Unix(1700000000, 0).UTC(), SystemStartTime: time.Unix(1506203091, 0).UTC()}.JSON())
	return &fakenode.Node{
		Magic:      muxtest.Magic,
		Traces:     q,
		Metrics:    ekg.NewMapSource(ekg.Metric{Name: "cardano.node.metrics.blockNum_int", Value: ekg.Gauge(42)}),
		DataPoints: ds,
	}
}

// acceptorSide is Muninn's side of one connection in miniature: handshake,
// then all three acceptor roles at once.
type acceptorSide struct {
	mux     *muxproto.Mux
	traces  []string
	metrics []ekg.Metric
	info    datapoint.NodeInfo
}

func (a *acceptorSide) run(ctx context.Context, objects int) error {
	var mu sync.Mutex
	got := make(chan struct{})
	h := func(_ context.Context, b []tracer.TraceObject) error {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range b {
			a.traces = append(a.traces, o.Machine)
		}
		if len(a.traces) == objects {
			close(got)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dp := datapoint.NewAcceptor(a.mux.Channel(datapoint.Protocol), datapoint.AcceptorConfig{})
	polled := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 3)
	go func() {
		errc <- tracer.NewAcceptor(a.mux.Channel(tracer.Protocol), tracer.AcceptorConfig{StopGrace: time.Millisecond}, h).Run(ctx)
	}()
	go func() {
		errc <- ekg.NewAcceptor(a.mux.Channel(ekg.Protocol)).Poll(ctx, ekg.PollConfig{Period: time.Millisecond}, func(ms []ekg.Metric) {
			if len(ms) > 0 {
				a.metrics = ms
				once.Do(func() { close(polled) })
			}
		})
	}()
	go func() { errc <- dp.Run(ctx) }()
	var err error
	if a.info, err = dp.NodeInfo(ctx); err != nil {
		return fmt.Errorf("node info: %w", err)
	}
	for _, c := range []chan struct{}{got, polled} {
		select {
		case <-c:
		case err := <-errc:
			return fmt.Errorf("role ended early: %w", err)
		case <-time.After(20 * time.Second):
			return errors.New("timed out")
		}
	}
	cancel()
	for range 3 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			return fmt.Errorf("role ended with %w", err)
		}
	}
	return nil
}

// TestNodeAgainstAcceptors runs Muninn's acceptor roles against the node's
// forwarder roles over every transport, with either side connecting.
func TestNodeAgainstAcceptors(t *testing.T) {
	t.Parallel()
	const objects = 500
	for _, tr := range muxtest.Transports {
		for _, shape := range muxtest.Shapes {
			t.Run(fmt.Sprintf("%s/%s", tr, shape), func(t *testing.T) {
				t.Parallel()
				dialer, accepted := muxtest.Conns(t, tr)
				nodeConn, accConn := dialer, accepted
				accOwn, accHandshake := muxproto.FromResponder, muxproto.ServerHandshake
				if shape == muxtest.ConnectTo {
					nodeConn, accConn = accepted, dialer
					accOwn, accHandshake = muxproto.FromInitiator, muxproto.ClientHandshake
				}
				ctx := context.Background()
				node := newNode(objects)
				nodeErr := make(chan error, 1)
				go func() { nodeErr <- node.Serve(ctx, nodeConn, shape == muxtest.AcceptAt) }()

				if _, err := accHandshake(ctx, accConn, muxproto.HandshakeConfig{NetworkMagic: muxtest.Magic}); err != nil {
					t.Fatalf("handshake: %v", err)
				}
				mux, err := muxproto.New(accConn, accOwn,
					[]muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}, muxproto.Config{}, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				side := &acceptorSide{mux: mux}
				if err := side.run(ctx, objects); err != nil {
					mux.Close()
					t.Fatal(err)
				}
				mux.Close() // disconnect without MsgDone, as Muninn does
				if err := <-nodeErr; !errors.Is(err, muxproto.ErrPeerClosed) {
					t.Errorf("node ended with %v, want ErrPeerClosed", err)
				}
				for i, m := range side.traces {
					if want := `{"seq":` + strconv.Itoa(i) + `}`; m != want {
						t.Fatalf("trace %d = %s, want %s", i, m, want)
					}
				}
				if side.info.Name != "relay-1" || side.info.Version != "10.1.4" {
					t.Errorf("node info %+v", side.info)
				}
				if len(side.metrics) != 1 || side.metrics[0].Value != ekg.Gauge(42) {
					t.Errorf("metrics %+v", side.metrics)
				}
			})
		}
	}
}

// TestNodeEndsOnDone: MsgDone on any one mini-protocol ends the node's
// whole connection cleanly, as with a Haskell node.
func TestNodeEndsOnDone(t *testing.T) {
	t.Parallel()
	dialer, accepted := muxtest.Conns(t, "unix")
	node := newNode(1)
	nodeErr := make(chan error, 1)
	go func() { nodeErr <- node.Serve(context.Background(), dialer, true) }()
	if _, err := muxproto.ServerHandshake(context.Background(), accepted, muxproto.HandshakeConfig{NetworkMagic: muxtest.Magic}); err != nil {
		t.Fatal(err)
	}
	mux, err := muxproto.New(accepted, muxproto.FromResponder,
		[]muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	if err := ekg.NewAcceptor(mux.Channel(ekg.Protocol)).Done(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-nodeErr; err != nil {
		t.Fatalf("node ended with %v, want nil after MsgDone", err)
	}
	if err := mux.Wait(); !errors.Is(err, muxproto.ErrPeerClosed) {
		t.Fatalf("acceptor mux: %v, want ErrPeerClosed", err)
	}
}

// TestNodeRefusesWrongMagic: a node with another network magic is refused
// and Serve says why.
func TestNodeRefusesWrongMagic(t *testing.T) {
	t.Parallel()
	dialer, accepted := muxtest.Conns(t, "tcp")
	node := newNode(0)
	node.Magic = 1
	nodeErr := make(chan error, 1)
	go func() { nodeErr <- node.Serve(context.Background(), dialer, true) }()
	_, err := muxproto.ServerHandshake(context.Background(), accepted, muxproto.HandshakeConfig{NetworkMagic: muxtest.Magic})
	var re *muxproto.RefusedError
	if !errors.As(err, &re) || re.PeerMagic != 1 {
		t.Fatalf("server: %v", err)
	}
	if err := <-nodeErr; !errors.Is(err, muxproto.ErrHandshakeRefused) {
		t.Fatalf("node: %v", err)
	}
}
