package datapoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/datapoint"
	"muninn/internal/muxtest"
	"muninn/muxproto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait, so a bug fails the test instead of
// hanging it.
const testTimeout = 20 * time.Second

// eachPair runs test as parallel subtests over every transport and shape,
// with a fresh pair of Muxes and a context that ends with the test.
func eachPair(t *testing.T, test func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux)) {
	t.Helper()
	t.Parallel()
	for _, tr := range muxtest.Transports {
		for _, shape := range muxtest.Shapes {
			t.Run(fmt.Sprintf("%s/%s", tr, shape), func(t *testing.T) {
				t.Parallel()
				acc, fwd := muxtest.Pair(t, tr, shape, muxproto.Config{})
				ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
				defer cancel()
				test(t, ctx, acc, fwd)
			})
		}
	}
}

// runner runs one Run method in a goroutine the test owns.
type runner struct {
	done chan struct{} // closed when Run returned
	err  error
}

// goRun starts run(ctx) with a context that the test's cleanup cancels,
// waiting for run to return. cancel stops it earlier.
func goRun(t *testing.T, run func(context.Context) error) (r *runner, cancel context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r = &runner{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r, cancel
}

// wait returns what Run returned, failing the test if ctx ends first.
func (r *runner) wait(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		t.Fatalf("Run did not return: %v", ctx.Err())
		return nil
	}
}

// startBoth runs an Acceptor and a Forwarder over store.
func startBoth(t *testing.T, acc, fwd *muxproto.Mux, store *datapoint.Store) (*datapoint.Acceptor, *runner, context.CancelFunc) {
	t.Helper()
	a := datapoint.NewAcceptor(acc.Channel(datapoint.Protocol), datapoint.AcceptorConfig{})
	f := datapoint.NewForwarder(fwd.Channel(datapoint.Protocol), store)
	goRun(t, f.Run)
	r, cancel := goRun(t, a.Run)
	return a, r, cancel
}

func TestNodeInfoFromForwarder(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		store.Set(datapoint.NodeInfoName, []byte(t26JSON))
		a, _, _ := startBoth(t, acc, fwd, &store)
		ni, err := a.NodeInfo(ctx)
		if err != nil {
			t.Fatalf("NodeInfo: %v", err)
		}
		if !equalNodeInfo(ni, t26NodeInfo) {
			t.Errorf("got %+v, want %+v", ni, t26NodeInfo)
		}
		// One entry per name, in order, repeats answered twice, Nothing
		// for unknown names.
		items, err := a.Query(ctx, []string{"NodeInfo", "Foo", "NodeInfo"})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		want := []datapoint.Item{
			{Name: "NodeInfo", Value: []byte(t26JSON), Present: true},
			{Name: "Foo"},
			{Name: "NodeInfo", Value: []byte(t26JSON), Present: true},
		}
		if !equalItems(items, want) {
			t.Errorf("Query: got %+v, want %+v", items, want)
		}
		if items, err := a.Query(ctx, nil); err != nil || len(items) != 0 {
			t.Errorf("empty Query: got %+v, %v", items, err)
		}
		// The store is read at each request.
		store.Set("E", nil)
		if v, err := a.Value(ctx, "E"); err != nil || v == nil || len(v) != 0 {
			t.Errorf("Value(E) = %q, %v; want an empty value", v, err)
		}
		store.Delete("E")
		if _, err := a.Value(ctx, "E"); !errors.Is(err, datapoint.ErrNotAvailable) {
			t.Errorf("Value(E) after Delete: %v, want ErrNotAvailable", err)
		}
	})
}

func TestNotAvailable(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		a, _, _ := startBoth(t, acc, fwd, &store)
		if ni, err := a.NodeInfo(ctx); !errors.Is(err, datapoint.ErrNotAvailable) {
			t.Errorf("NodeInfo from an empty store: %+v, %v; want ErrNotAvailable", ni, err)
		}
		if v, err := a.Value(ctx, "Foo"); !errors.Is(err, datapoint.ErrNotAvailable) {
			t.Errorf("Value(Foo): %q, %v; want ErrNotAvailable", v, err)
		}
		store.Set(datapoint.NodeInfoName, []byte(`{"niName":"relay-1"}`))
		ni, err := a.NodeInfo(ctx)
		if !errors.Is(err, datapoint.ErrNotAvailable) || !errors.Is(err, datapoint.ErrInvalidNodeInfo) {
			t.Errorf("NodeInfo from invalid JSON: %+v, %v; want ErrNotAvailable and ErrInvalidNodeInfo", ni, err)
		}
	})
}

func TestConcurrentQueries(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		const names, askers, rounds = 20, 8, 25
		var store datapoint.Store
		for i := range names {
			store.Set(fmt.Sprintf("dp.%d", i), fmt.Appendf(nil, `{"i":%d}`, i))
		}
		a, _, _ := startBoth(t, acc, fwd, &store)
		var wg sync.WaitGroup
		errs := make(chan error, askers)
		for g := range askers {
			wg.Go(func() {
				for k := range rounds {
					i, j := (g+k)%names, (g*k+3)%names
					items, err := a.Query(ctx, []string{fmt.Sprintf("dp.%d", i), "missing", fmt.Sprintf("dp.%d", j)})
					if err != nil {
						errs <- err
						return
					}
					want := []datapoint.Item{
						{Name: fmt.Sprintf("dp.%d", i), Value: fmt.Appendf(nil, `{"i":%d}`, i), Present: true},
						{Name: "missing"},
						{Name: fmt.Sprintf("dp.%d", j), Value: fmt.Appendf(nil, `{"i":%d}`, j), Present: true},
					}
					if !equalItems(items, want) {
						errs <- fmt.Errorf("asker %d round %d: got %+v, want %+v", g, k, items, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// queryResult is what a Query in a goroutine returned.
type queryResult struct {
	items []datapoint.Item
	err   error
}

func goQuery(ctx context.Context, a *datapoint.Acceptor, names ...string) <-chan queryResult {
	c := make(chan queryResult, 1)
	go func() {
		items, err := a.Query(ctx, names)
		c <- queryResult{items, err}
	}()
	return c
}

func waitQuery(t *testing.T, ctx context.Context, c <-chan queryResult) queryResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-ctx.Done():
		t.Fatalf("Query did not return: %v", ctx.Err())
		return queryResult{}
	}
}

// node plays the node's side by hand on the forwarder channel.
type node struct {
	t  *testing.T
	ch *muxproto.Channel
}

// expect receives one message and checks its bytes.
func (n node) expect(ctx context.Context, want []byte) {
	n.t.Helper()
	got, err := n.ch.Recv(ctx)
	if err != nil {
		n.t.Fatalf("node receive: %v", err)
	}
	if !bytes.Equal(got, want) {
		n.t.Fatalf("node received %x, want %x", got, want)
	}
}

func (n node) send(ctx context.Context, msg []byte) {
	n.t.Helper()
	if err := n.ch.Send(ctx, msg); err != nil {
		n.t.Fatalf("node send: %v", err)
	}
}

func reply(items ...datapoint.Item) []byte {
	return datapoint.Encode(datapoint.MsgReply{Items: items})
}

func request(names ...string) []byte {
	return datapoint.Encode(datapoint.MsgRequest{Names: names})
}

// TestAbandonedQuery: an asker that gives up before the reply arrives
// does not get it, and the next asker gets its own reply.
func TestAbandonedQuery(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		a := datapoint.NewAcceptor(acc.Channel(datapoint.Protocol), datapoint.AcceptorConfig{})
		run, _ := goRun(t, a.Run)
		n := node{t, fwd.Channel(datapoint.Protocol)}

		// cardano-tracer's opening exchange: T24, answered by T28.
		n.expect(ctx, unhex(t, "820180"))
		n.send(ctx, unhex(t, "820380"))

		qctx, qcancel := context.WithCancel(ctx)
		first := goQuery(qctx, a, "NodeInfo")
		n.expect(ctx, unhex(t, "82019f684e6f6465496e666fff")) // T25
		qcancel()
		if r := waitQuery(t, ctx, first); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("abandoned query: %+v, %v; want context.Canceled", r.items, r.err)
		}

		second := goQuery(ctx, a, "B")
		n.send(ctx, unhex(t, t26Hex)) // the late reply to the first query
		n.expect(ctx, request("B"))
		n.send(ctx, reply(datapoint.Item{Name: "B", Value: []byte("2"), Present: true}))
		r := waitQuery(t, ctx, second)
		if want := []datapoint.Item{{Name: "B", Value: []byte("2"), Present: true}}; r.err != nil || !equalItems(r.items, want) {
			t.Fatalf("second query: %+v, %v; want %+v", r.items, r.err, want)
		}
		select {
		case <-run.done:
			t.Fatalf("Run ended: %v", run.err)
		default:
		}
	})
}

// TestSkipInitialRequest: with SkipInitialRequest the first message is the
// first query's.
func TestSkipInitialRequest(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		a := datapoint.NewAcceptor(acc.Channel(datapoint.Protocol), datapoint.AcceptorConfig{SkipInitialRequest: true, QueueSize: 1})
		goRun(t, a.Run)
		n := node{t, fwd.Channel(datapoint.Protocol)}
		q := goQuery(ctx, a, "NodeInfo")
		n.expect(ctx, unhex(t, "82019f684e6f6465496e666fff"))
		n.send(ctx, unhex(t, t26Hex))
		if r := waitQuery(t, ctx, q); r.err != nil || len(r.items) != 1 || !bytes.Equal(r.items[0].Value, []byte(t26JSON)) {
			t.Fatalf("query: %+v, %v", r.items, r.err)
		}
	})
}

// TestInvalidReply: a reply that does not decode, or does not answer every
// name, ends Run with a decode error, which the waiting asker also gets.
func TestInvalidReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
	}{
		{"definite byte string value", "82039f826145 81427b7d ff"},
		{"too few items", "820380"},
		{"too many items", "82039f8261458082614580ff"},
		{"a request instead", "820180"},
		{"MsgDone instead", "8102"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
				a := datapoint.NewAcceptor(acc.Channel(datapoint.Protocol), datapoint.AcceptorConfig{SkipInitialRequest: true})
				run, _ := goRun(t, a.Run)
				n := node{t, fwd.Channel(datapoint.Protocol)}
				q := goQuery(ctx, a, "E")
				n.expect(ctx, request("E"))
				n.send(ctx, unhex(t, tc.reply))
				if r := waitQuery(t, ctx, q); !errors.Is(r.err, muxproto.ErrDecode) {
					t.Errorf("query: %+v, %v; want ErrDecode", r.items, r.err)
				}
				if err := run.wait(t, ctx); !errors.Is(err, muxproto.ErrDecode) {
					t.Errorf("Run: %v, want ErrDecode", err)
				}
				if _, err := a.Query(ctx, []string{"E"}); !errors.Is(err, datapoint.ErrStopped) || !errors.Is(err, muxproto.ErrDecode) {
					t.Errorf("Query after Run: %v, want ErrStopped and ErrDecode", err)
				}
			})
		})
	}
}

// TestForwarderWire checks the Forwarder's bytes against T26 and T28, and
// that MsgDone ends it with nil.
func TestForwarderWire(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		store.Set(datapoint.NodeInfoName, []byte(t26JSON))
		f := datapoint.NewForwarder(fwd.Channel(datapoint.Protocol), &store)
		run, _ := goRun(t, f.Run)
		ch := acc.Channel(datapoint.Protocol)
		exchange := func(req, want string) {
			t.Helper()
			if err := ch.Send(ctx, unhex(t, req)); err != nil {
				t.Fatalf("send: %v", err)
			}
			got, err := ch.Recv(ctx)
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			if !bytes.Equal(got, unhex(t, want)) {
				t.Fatalf("reply to %s: got %x, want %s", req, got, want)
			}
		}
		exchange("820180", "820380")                           // T24 → T28
		exchange("82019f684e6f6465496e666fff", t26Hex)         // T25 → T26
		exchange("82019f63466f6fff", "82039f8263466f6f80ff")   // ["Foo"] → T27
		if err := ch.Send(ctx, unhex(t, "8102")); err != nil { // T29
			t.Fatalf("send MsgDone: %v", err)
		}
		if err := run.wait(t, ctx); err != nil {
			t.Fatalf("Forwarder.Run after MsgDone: %v, want nil", err)
		}
	})
}

// TestForwarderRejects: a message the node must not receive ends the
// Forwarder with a decode error.
func TestForwarderRejects(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		f := datapoint.NewForwarder(fwd.Channel(datapoint.Protocol), nil)
		run, _ := goRun(t, f.Run)
		if err := acc.Channel(datapoint.Protocol).Send(ctx, unhex(t, "820380")); err != nil {
			t.Fatalf("send: %v", err)
		}
		if err := run.wait(t, ctx); !errors.Is(err, muxproto.ErrDecode) {
			t.Fatalf("Forwarder.Run: %v, want ErrDecode", err)
		}
	})
}

// TestForwarderReplyBound: a request naming a value again and again, so
// that its reply would exceed MaxReplyBytes, ends the Forwarder with
// ErrReplyTooLarge before the reply is built; the same request naming it
// a few times is answered.
func TestForwarderReplyBound(t *testing.T) {
	value := bytes.Repeat([]byte("v"), 1<<10)
	request := func(times int) []byte {
		names := make([]string, times)
		for i := range names {
			names[i] = "Big"
		}
		return datapoint.Encode(datapoint.MsgRequest{Names: names})
	}
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		store.Set("Big", value)
		f := datapoint.NewForwarder(fwd.Channel(datapoint.Protocol), &store)
		run, _ := goRun(t, f.Run)
		ch := acc.Channel(datapoint.Protocol)
		if err := ch.Send(ctx, request(3)); err != nil {
			t.Fatalf("send: %v", err)
		}
		reply, err := ch.Recv(ctx)
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		items, err := datapoint.DecodeReply(reply)
		if err != nil || len(items) != 3 || !bytes.Equal(items[2].Value, value) {
			t.Fatalf("reply to three names: %d items, %v", len(items), err)
		}
		// 8 200 names of 1 KiB each come to over 8 MiB, in a request of 33 KB.
		big := request(datapoint.MaxReplyBytes/len(value) + 8)
		if err := ch.Send(ctx, big); err != nil {
			t.Fatalf("send: %v", err)
		}
		if err := run.wait(t, ctx); !errors.Is(err, datapoint.ErrReplyTooLarge) {
			t.Fatalf("Forwarder.Run after a request of %d bytes: %v, want ErrReplyTooLarge", len(big), err)
		}
	})
}

// TestQueryAfterRunEnded: once Run has returned, Query fails at once.
func TestQueryAfterRunEnded(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		store.Set(datapoint.NodeInfoName, []byte(t26JSON))
		a, run, stop := startBoth(t, acc, fwd, &store)
		if _, err := a.NodeInfo(ctx); err != nil {
			t.Fatalf("NodeInfo: %v", err)
		}
		stop()
		if err := run.wait(t, ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
		for range 3 { // also with the queue empty and free
			_, err := a.Query(ctx, []string{"NodeInfo"})
			if !errors.Is(err, datapoint.ErrStopped) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Query after Run: %v, want ErrStopped and context.Canceled", err)
			}
		}
		if err := a.Run(ctx); err == nil {
			t.Fatal("second Run returned nil")
		}
	})
}

// TestRunEndsOnMuxError: a failed connection ends Run with the Mux's
// error, and the asker gets it too.
func TestRunEndsOnMuxError(t *testing.T) {
	eachPair(t, func(t *testing.T, ctx context.Context, acc, fwd *muxproto.Mux) {
		var store datapoint.Store
		a, run, _ := startBoth(t, acc, fwd, &store)
		if _, err := a.Query(ctx, []string{"x"}); err != nil {
			t.Fatalf("Query: %v", err)
		}
		if err := fwd.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		select {
		case <-acc.Done():
		case <-ctx.Done():
			t.Fatal("acceptor Mux did not notice the closed connection")
		}
		if _, err := a.Query(ctx, []string{"x"}); !errors.Is(err, muxproto.ErrPeerClosed) {
			t.Errorf("Query: %v, want ErrPeerClosed", err)
		}
		if err := run.wait(t, ctx); !errors.Is(err, muxproto.ErrPeerClosed) {
			t.Errorf("Run: %v, want ErrPeerClosed", err)
		}
	})
}
