package tracer_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"muninn/internal/muxtest"
	"muninn/muxproto"
	"muninn/tracer"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for time to pass
	}
}

func object(seq int) tracer.TraceObject {
	return tracer.TraceObject{
		Machine:   `{"seq":` + strconv.Itoa(seq) + `}`,
		Namespace: []string{"Test.Seq"},
		Severity:  tracer.Info, Detail: tracer.DNormal,
		Timestamp: tracer.TimeOf(time.Unix(1700000000, int64(seq))),
		Hostname:  "h", ThreadID: "1",
	}
}

// TestAcceptorForwarder streams objects from a forwarder's queue to an
// acceptor over every transport and both shapes and checks that each
// arrives exactly once, in order, with small request sizes so that many
// requests are needed.
func TestAcceptorForwarder(t *testing.T) {
	t.Parallel()
	const total = 3000
	for _, tr := range muxtest.Transports {
		for _, shape := range muxtest.Shapes {
			t.Run(fmt.Sprintf("%s/%s", tr, shape), func(t *testing.T) {
				t.Parallel()
				acc, fwd := muxtest.Pair(t, tr, shape, muxproto.Config{})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				q := tracer.NewQueue(total)
				fwdErr := make(chan error, 1)
				go func() { fwdErr <- tracer.NewForwarder(fwd.Channel(tracer.Protocol), q).Run(ctx) }()

				var got []string
				done := make(chan struct{})
				h := func(_ context.Context, batch []tracer.TraceObject) error {
					for _, o := range batch {
						got = append(got, o.Machine)
					}
					if len(got) == total {
						close(done)
					}
					return nil
				}
				accErr := make(chan error, 1)
				go func() {
					accErr <- tracer.NewAcceptor(acc.Channel(tracer.Protocol), tracer.AcceptorConfig{RequestNum: 7, StopGrace: time.Millisecond}, h).Run(ctx)
				}()
				for i := range total {
					o := object(i)
					if q.Put(&o) != 0 {
						t.Fatal("queue discarded objects")
					}
				}
				select {
				case <-done:
				case err := <-accErr:
					t.Fatalf("acceptor ended early: %v", err)
				case <-time.After(20 * time.Second):
					t.Fatalf("received %d of %d", len(got), total)
				}
				cancel()
				if err := <-accErr; !errors.Is(err, context.Canceled) {
					t.Errorf("acceptor: %v", err)
				}
				acc.Close()
				if err := <-fwdErr; err == nil {
					t.Error("forwarder ended without error after the connection closed")
				}
				for i, m := range got {
					if want := object(i).Machine; m != want {
						t.Fatalf("object %d = %s, want %s", i, m, want)
					}
				}
			})
		}
	}
}

// TestAcceptorPipelines checks that the next request is already answered
// while the handler still holds the previous batch.
func TestAcceptorPipelines(t *testing.T) {
	t.Parallel()
	acc, fwd := muxtest.Pair(t, "pipe", muxtest.AcceptAt, muxproto.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := tracer.NewQueue(10)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); tracer.NewForwarder(fwd.Channel(tracer.Protocol), q).Run(ctx) }()
	gate := make(chan struct{})
	batches := make(chan []tracer.TraceObject, 2)
	h := func(ctx context.Context, b []tracer.TraceObject) error {
		batches <- b
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		defer wg.Done()
		tracer.NewAcceptor(acc.Channel(tracer.Protocol), tracer.AcceptorConfig{}, h).Run(ctx)
	}()
	a, b := object(1), object(2)
	q.Put(&a)
	if first := <-batches; len(first) != 1 || first[0].Machine != a.Machine {
		t.Fatalf("first batch %v", first)
	}
	q.Put(&b) // the handler is still blocked on the first batch
	waitFor(t, "the second batch to be taken while the handler is busy", func() bool { return q.Len() == 0 })
	gate <- struct{}{}
	if second := <-batches; len(second) != 1 || second[0].Machine != b.Machine {
		t.Fatalf("second batch %v", second)
	}
	close(gate)
	cancel()
	acc.Close()
	wg.Wait()
}

// TestAcceptorPoolBatches: with PoolBatches, batches given back by the
// handler are decoded into again, and every object still arrives once,
// in order, intact.
func TestAcceptorPoolBatches(t *testing.T) {
	t.Parallel()
	acc, fwd := muxtest.Pair(t, "pipe", muxtest.AcceptAt, muxproto.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := tracer.NewQueue(1000)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); tracer.NewForwarder(fwd.Channel(tracer.Protocol), q).Run(ctx) }()
	const total = 600
	next, batches := 0, 0
	arrays := map[*tracer.TraceObject]bool{}
	done := make(chan error, 1)
	var a *tracer.Acceptor
	h := func(_ context.Context, b []tracer.TraceObject) error {
		batches++
		arrays[&b[:1][0]] = true
		for i := range b {
			if want := object(next); b[i].Machine != want.Machine || b[i].NamespaceString() != "Test.Seq" || b[i].Hostname != "h" {
				done <- fmt.Errorf("object %d arrived as %+v", next, b[i])
				return errors.New("stop")
			}
			next++
		}
		muxproto.ReleaseMessage(a.LastReply())
		tracer.ReleaseBatch(b)
		if next == total {
			done <- nil
		}
		return nil
	}
	ch := acc.Channel(tracer.Protocol)
	ch.PoolMessages()
	a = tracer.NewAcceptor(ch, tracer.AcceptorConfig{RequestNum: 7, PoolBatches: true}, h)
	go func() { defer wg.Done(); a.Run(ctx) }()
	for i := range total {
		o := object(i)
		q.Put(&o)
		if i%5 == 4 {
			waitFor(t, "the queue to drain", func() bool { return q.Len() == 0 })
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	acc.Close()
	wg.Wait()
	// Without the pool every batch is a new array; with it most reuse one
	// (the race detector drops a quarter of the pool's puts on purpose).
	if len(arrays) > batches*3/4 {
		t.Errorf("%d batches in %d arrays: the released batches were not reused", batches, len(arrays))
	}
}

// TestAcceptorRejectsBadReplies: an empty reply to a blocking request and
// a reply larger than requested end the acceptor with typed errors.
func TestAcceptorRejectsBadReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply []tracer.TraceObject
		want  error
	}{
		{"empty", nil, tracer.ErrEmptyReply},
		{"too many", []tracer.TraceObject{object(1), object(2), object(3)}, tracer.ErrTooManyObjects},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acc, fwd := muxtest.Pair(t, "pipe", muxtest.ConnectTo, muxproto.Config{})
			fch := fwd.Channel(tracer.Protocol)
			errc := make(chan error, 1)
			go func() {
				h := func(context.Context, []tracer.TraceObject) error { return nil }
				errc <- tracer.NewAcceptor(acc.Channel(tracer.Protocol), tracer.AcceptorConfig{RequestNum: 2}, h).Run(context.Background())
			}()
			if _, err := fch.Recv(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := fch.Send(context.Background(), tracer.EncodeReply(tc.reply)); err != nil {
				t.Fatal(err)
			}
			err := <-errc
			if !errors.Is(err, tc.want) || !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("Run = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestForwarderSemantics covers the node side: non-blocking requests are
// answered at once, replies hold the oldest objects first and at most the
// number asked for, MsgDone ends Run cleanly, and a full queue discards
// everything it holds.
func TestForwarderSemantics(t *testing.T) {
	t.Parallel()
	acc, fwd := muxtest.Pair(t, "unix", muxtest.AcceptAt, muxproto.Config{})
	ach := acc.Channel(tracer.Protocol)
	ctx := context.Background()
	q := tracer.NewQueue(3)
	errc := make(chan error, 1)
	go func() { errc <- tracer.NewForwarder(fwd.Channel(tracer.Protocol), q).Run(ctx) }()

	ask := func(req tracer.Request) []tracer.TraceObject {
		t.Helper()
		if err := ach.Send(ctx, tracer.EncodeRequest(req)); err != nil {
			t.Fatal(err)
		}
		raw, err := ach.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := tracer.DecodeReply(raw)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	if got := ask(tracer.Request{Blocking: false, Count: 10}); len(got) != 0 {
		t.Fatalf("non-blocking on empty queue: %d objects", len(got))
	}
	for i := range 5 { // the 4th Put finds the queue full and discards 1..3
		o := object(i)
		q.Put(&o)
	}
	if q.Discarded() != 3 || q.Len() != 2 {
		t.Fatalf("discarded %d, len %d; want 3, 2", q.Discarded(), q.Len())
	}
	if got := ask(tracer.Request{Blocking: true, Count: 1}); len(got) != 1 || got[0].Machine != object(3).Machine {
		t.Fatalf("first reply %v", got)
	}
	if got := ask(tracer.Request{Blocking: true, Count: 10}); len(got) != 1 || got[0].Machine != object(4).Machine {
		t.Fatalf("second reply %v", got)
	}
	if err := ach.Send(ctx, tracer.EncodeDone()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run after MsgDone = %v", err)
	}
}
