package ekg_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"muninn/ekg"
	"muninn/internal/muxtest"
	"muninn/muxproto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds each connected test; a hang fails instead of blocking.
const testTimeout = 20 * time.Second

// rig is one connection: an Acceptor on one side, a Forwarder running over
// src on the other.
type rig struct {
	ctx    context.Context
	acc    *ekg.Acceptor
	src    *ekg.MapSource
	runEnd chan struct{} // closed when Forwarder.Run has returned
	runErr error         // valid after runEnd is closed
}

// runErrNow waits for Forwarder.Run to return and gives its error.
func (r *rig) runErrNow(t *testing.T) error {
	t.Helper()
	select {
	case <-r.runEnd:
		return r.runErr
	case <-r.ctx.Done():
		t.Fatal("Forwarder.Run did not return")
		return nil
	}
}

// eachConn runs fn as a parallel subtest over every transport and shape,
// each with its own connection and a forwarder over src (nil: no Source).
func eachConn(t *testing.T, src func() *ekg.MapSource, fn func(t *testing.T, r *rig)) {
	t.Helper()
	for _, tr := range muxtest.Transports {
		for _, shape := range muxtest.Shapes {
			t.Run(fmt.Sprintf("%s/%s", tr, shape), func(t *testing.T) {
				t.Parallel()
				accMux, fwdMux := muxtest.Pair(t, tr, shape, muxproto.Config{})
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				r := &rig{ctx: ctx, acc: ekg.NewAcceptor(accMux.Channel(ekg.Protocol)), runEnd: make(chan struct{})}
				var fwd *ekg.Forwarder
				if src != nil {
					r.src = src()
					fwd = ekg.NewForwarder(fwdMux.Channel(ekg.Protocol), r.src)
				} else {
					fwd = ekg.NewForwarder(fwdMux.Channel(ekg.Protocol), nil)
				}
				go func() {
					defer close(r.runEnd)
					r.runErr = fwd.Run(ctx)
				}()
				// Runs before Pair's cleanup closes the Muxes.
				t.Cleanup(func() {
					cancel()
					<-r.runEnd
				})
				fn(t, r)
			})
		}
	}
}

func nodeSource() *ekg.MapSource {
	return ekg.NewMapSource(
		ekg.Metric{Name: "rts.gc.num_gcs", Value: ekg.Counter(42)},
		ekg.Metric{Name: "Mem.resident", Value: ekg.Gauge(123456789)},
		ekg.Metric{Name: "node.version", Value: ekg.Label("10.1.4")},
	)
}

// asMap turns a response into a map, failing on duplicate names.
func asMap(t *testing.T, ms []ekg.Metric) map[string]ekg.Value {
	t.Helper()
	m := make(map[string]ekg.Value, len(ms))
	for _, mt := range ms {
		if _, dup := m[mt.Name]; dup {
			t.Fatalf("metric %q twice in %v", mt.Name, ms)
		}
		m[mt.Name] = mt.Value
	}
	return m
}

func request(t *testing.T, r *rig, req ekg.Request) map[string]ekg.Value {
	t.Helper()
	ms, err := r.acc.Request(r.ctx, req)
	if err != nil {
		t.Fatalf("Request(%v): %v", req.Kind, err)
	}
	return asMap(t, ms)
}

func wantMetrics(t *testing.T, what string, got, want map[string]ekg.Value) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

var (
	getAll     = ekg.Request{Kind: ekg.GetAllMetrics}
	getUpdated = ekg.Request{Kind: ekg.GetUpdatedMetrics}
)

func TestGetAllMetrics(t *testing.T) {
	t.Parallel()
	eachConn(t, nodeSource, func(t *testing.T, r *rig) {
		all := asMap(t, r.src.Sample())
		wantMetrics(t, "first GetAllMetrics", request(t, r, getAll), all)
		wantMetrics(t, "second GetAllMetrics", request(t, r, getAll), all)
		r.src.Delete("node.version")
		delete(all, "node.version")
		wantMetrics(t, "after a delete", request(t, r, getAll), all)
	})
}

func TestGetUpdatedMetrics(t *testing.T) {
	t.Parallel()
	eachConn(t, nodeSource, func(t *testing.T, r *rig) {
		wantMetrics(t, "first GetUpdatedMetrics", request(t, r, getUpdated), asMap(t, r.src.Sample()))
		wantMetrics(t, "nothing changed", request(t, r, getUpdated), map[string]ekg.Value{})

		r.src.Set("rts.gc.num_gcs", ekg.Counter(43))
		r.src.Set("Mem.resident", ekg.Gauge(123456789)) // same value: not an update
		r.src.Set("new", ekg.Gauge(-1))
		r.src.Delete("node.version") // removals are never announced
		wantMetrics(t, "after changes", request(t, r, getUpdated), map[string]ekg.Value{
			"rts.gc.num_gcs": ekg.Counter(43),
			"new":            ekg.Gauge(-1),
		})

		// A kind change with the same number is a change.
		r.src.Set("new", ekg.Counter(-1))
		// A metric that comes back is new again, since last sent forgot it.
		r.src.Set("node.version", ekg.Label("10.1.4"))
		wantMetrics(t, "kind change and return", request(t, r, getUpdated), map[string]ekg.Value{
			"new":          ekg.Counter(-1),
			"node.version": ekg.Label("10.1.4"),
		})

		// GetAllMetrics also sets last sent.
		r.src.Set("rts.gc.num_gcs", ekg.Counter(44))
		request(t, r, getAll)
		wantMetrics(t, "after GetAllMetrics", request(t, r, getUpdated), map[string]ekg.Value{})
	})
}

func TestGetMetrics(t *testing.T) {
	t.Parallel()
	eachConn(t, nodeSource, func(t *testing.T, r *rig) {
		named := ekg.Request{Kind: ekg.GetMetrics, Names: []string{"Mem.resident", "no.such.metric", "node.version", "Mem.resident"}}
		wantMetrics(t, "GetMetrics", request(t, r, named), map[string]ekg.Value{
			"Mem.resident": ekg.Gauge(123456789),
			"node.version": ekg.Label("10.1.4"),
		})
		only := ekg.Request{Kind: ekg.GetMetrics, Names: []string{"no.such.metric"}}
		wantMetrics(t, "GetMetrics of an unknown name", request(t, r, only), map[string]ekg.Value{})
		// The named metrics were merged into last sent; the rest is new.
		wantMetrics(t, "GetUpdatedMetrics after GetMetrics", request(t, r, getUpdated), map[string]ekg.Value{
			"rts.gc.num_gcs": ekg.Counter(42),
		})
	})
}

func TestNegativeAndExtremeValues(t *testing.T) {
	t.Parallel()
	values := func() *ekg.MapSource {
		return ekg.NewMapSource(
			ekg.Metric{Name: "g.neg", Value: ekg.Gauge(-5)},
			ekg.Metric{Name: "g.min", Value: ekg.Gauge(math.MinInt64)},
			ekg.Metric{Name: "g.max", Value: ekg.Gauge(math.MaxInt64)},
			ekg.Metric{Name: "c.neg", Value: ekg.Counter(-1)},
			ekg.Metric{Name: "c.max", Value: ekg.Counter(math.MaxInt64)},
			ekg.Metric{Name: "l.empty", Value: ekg.Label("")},
			ekg.Metric{Name: "l.utf8", Value: ekg.Label("Grüße, 世界")},
			ekg.Metric{Name: "", Value: ekg.Counter(0)},
		)
	}
	eachConn(t, values, func(t *testing.T, r *rig) {
		wantMetrics(t, "GetAllMetrics", request(t, r, getAll), asMap(t, r.src.Sample()))
	})
}

func TestNilSource(t *testing.T) {
	t.Parallel()
	eachConn(t, nil, func(t *testing.T, r *rig) {
		for _, req := range []ekg.Request{getAll, getUpdated, {Kind: ekg.GetMetrics, Names: []string{"a"}}} {
			wantMetrics(t, req.Kind.String(), request(t, r, req), map[string]ekg.Value{})
		}
	})
}

func TestDoneEndsForwarder(t *testing.T) {
	t.Parallel()
	eachConn(t, nodeSource, func(t *testing.T, r *rig) {
		request(t, r, getUpdated)
		if err := r.acc.Done(r.ctx); err != nil {
			t.Fatalf("Done: %v", err)
		}
		if err := r.runErrNow(t); err != nil {
			t.Fatalf("Forwarder.Run after MsgDone = %v, want nil", err)
		}
		if _, err := r.acc.Request(r.ctx, getAll); !errors.Is(err, ekg.ErrProtocolDone) {
			t.Fatalf("Request after Done = %v, want ErrProtocolDone", err)
		}
		if err := r.acc.Done(r.ctx); !errors.Is(err, ekg.ErrProtocolDone) {
			t.Fatalf("second Done = %v, want ErrProtocolDone", err)
		}
	})
}

// snapshotter returns a Poll callback that hands each response to the
// returned channel, and gives up when ctx ends.
func snapshotter(ctx context.Context) (func([]ekg.Metric), <-chan []ekg.Metric) {
	ch := make(chan []ekg.Metric) // unbuffered: Poll waits for the test
	return func(ms []ekg.Metric) {
		select {
		case ch <- ms:
		case <-ctx.Done():
		}
	}, ch
}

func TestPoll(t *testing.T) {
	t.Parallel()
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprintf("full=%v", full), func(t *testing.T) {
			t.Parallel()
			eachConn(t, nodeSource, func(t *testing.T, r *rig) {
				pollCtx, stop := context.WithCancel(r.ctx)
				defer stop()
				fn, snaps := snapshotter(pollCtx)
				pollErr := make(chan error, 1)
				go func() { pollErr <- r.acc.Poll(pollCtx, ekg.PollConfig{Period: 2 * time.Millisecond, Full: full}, fn) }()

				next := func() map[string]ekg.Value {
					t.Helper()
					select {
					case ms := <-snaps:
						return asMap(t, ms)
					case err := <-pollErr:
						t.Fatalf("Poll ended early: %v", err)
					case <-r.ctx.Done():
						t.Fatal("no snapshot in time")
					}
					return nil
				}

				all := asMap(t, r.src.Sample())
				wantMetrics(t, "first snapshot", next(), all)
				// Poll is blocked in fn until we take a snapshot, so this
				// change lands before the next request or the one after.
				r.src.Set("rts.gc.num_gcs", ekg.Counter(100))
				all["rts.gc.num_gcs"] = ekg.Counter(100)
				want := all
				if !full {
					want = map[string]ekg.Value{"rts.gc.num_gcs": ekg.Counter(100)}
				}
				for {
					got := next()
					if got["rts.gc.num_gcs"] == ekg.Counter(100) {
						wantMetrics(t, "snapshot after a change", got, want)
						break
					}
					if full {
						wantMetrics(t, "full snapshot before the change", got, asMap(t, nodeSource().Sample()))
					} else if len(got) != 0 {
						t.Fatalf("delta before the change should be empty, got %v", got)
					}
				}
				if !full {
					wantMetrics(t, "snapshot with no change", next(), map[string]ekg.Value{})
				}

				stop()
				if err := <-pollErr; !errors.Is(err, context.Canceled) {
					t.Fatalf("Poll after cancel = %v, want context.Canceled", err)
				}
				// The protocol is still usable, even if Poll was stopped
				// while a response was outstanding.
				request(t, r, getAll)
				if err := r.acc.Done(r.ctx); err != nil {
					t.Fatalf("Done: %v", err)
				}
				if err := r.runErrNow(t); err != nil {
					t.Fatalf("Forwarder.Run after MsgDone = %v, want nil", err)
				}
			})
		})
	}
}

func TestPollRejectsNegativePeriod(t *testing.T) {
	t.Parallel()
	acc := ekg.NewAcceptor(nil) // never used: the period is checked first
	err := acc.Poll(context.Background(), ekg.PollConfig{Period: -time.Second}, func([]ekg.Metric) {})
	if err == nil {
		t.Fatal("Poll with a negative period succeeded")
	}
}

func TestRequestInvalid(t *testing.T) {
	t.Parallel()
	acc := ekg.NewAcceptor(nil) // never used: nothing is sent
	_, err := acc.Request(context.Background(), ekg.Request{Kind: ekg.GetMetrics})
	if !errors.Is(err, ekg.ErrInvalidRequest) {
		t.Fatalf("Request(GetMetrics without names) = %v, want ErrInvalidRequest", err)
	}
}

// TestRequestCancelledThenResumed leaves a response outstanding and checks
// that the next request is not answered with it.
func TestRequestCancelledThenResumed(t *testing.T) {
	t.Parallel()
	for _, tr := range muxtest.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			accMux, fwdMux := muxtest.Pair(t, tr, muxtest.AcceptAt, muxproto.Config{})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			acc := ekg.NewAcceptor(accMux.Channel(ekg.Protocol))
			fwd := fwdMux.Channel(ekg.Protocol)

			// A scripted forwarder: once the first request is in, it makes
			// the acceptor give up on it, and answers it only afterwards.
			short, stop := context.WithCancel(ctx)
			defer stop()
			release := make(chan struct{})
			script := make(chan error, 1)
			go func() {
				script <- func() error {
					for i, answer := range [][]ekg.Metric{
						{{Name: "stale", Value: ekg.Counter(1)}},
						{{Name: "fresh", Value: ekg.Counter(2)}},
					} {
						if _, err := fwd.Recv(ctx); err != nil {
							return err
						}
						if i == 0 {
							stop()
							select {
							case <-release:
							case <-ctx.Done():
								return ctx.Err()
							}
						}
						if err := fwd.Send(ctx, ekg.Encode(ekg.MsgResp{Metrics: answer})); err != nil {
							return err
						}
					}
					return nil
				}()
			}()

			if _, err := acc.Request(short, getAll); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Request = %v, want context.Canceled", err)
			}
			close(release)
			ms, err := acc.Request(ctx, getAll)
			if err != nil {
				t.Fatalf("Request after a cancelled one: %v", err)
			}
			wantMetrics(t, "resumed", asMap(t, ms), map[string]ekg.Value{"fresh": ekg.Counter(2)})
			if err := <-script; err != nil {
				t.Fatalf("scripted forwarder: %v", err)
			}
		})
	}
}

// TestPeerViolations checks that a message not allowed in the state, from
// either side, ends the receiving role with a decode error.
func TestPeerViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hex  string
	}{
		{"MsgDone", "8101"},
		{"MsgReq", "82008100"},
		{"indefinite envelope", "9f01820080ff"},
	}
	for _, tt := range tests {
		t.Run("to acceptor/"+tt.name, func(t *testing.T) {
			t.Parallel()
			accMux, fwdMux := muxtest.Pair(t, "pipe", muxtest.ConnectTo, muxproto.Config{})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			acc := ekg.NewAcceptor(accMux.Channel(ekg.Protocol))
			fwd := fwdMux.Channel(ekg.Protocol)
			script := make(chan error, 1)
			go func() {
				if _, err := fwd.Recv(ctx); err != nil {
					script <- err
					return
				}
				script <- fwd.Send(ctx, unhex(t, tt.hex))
			}()
			_, err := acc.Request(ctx, getUpdated)
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("Request = %v, want ErrDecode", err)
			}
			if err := <-script; err != nil {
				t.Fatalf("scripted forwarder: %v", err)
			}
			// The error sticks: the stream can no longer be trusted.
			if _, err := acc.Request(ctx, getUpdated); !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("second Request = %v, want ErrDecode", err)
			}
		})
	}
	for _, hx := range []string{"8201820080", "8200820180", "8104"} {
		t.Run("to forwarder/"+hx, func(t *testing.T) {
			t.Parallel()
			accMux, fwdMux := muxtest.Pair(t, "pipe", muxtest.AcceptAt, muxproto.Config{})
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := accMux.Channel(ekg.Protocol).Send(ctx, unhex(t, hx)); err != nil {
				t.Fatalf("send: %v", err)
			}
			err := ekg.NewForwarder(fwdMux.Channel(ekg.Protocol), nodeSource()).Run(ctx)
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("Forwarder.Run = %v, want ErrDecode", err)
			}
		})
	}
}

// TestForwarderEndsWithMux checks that Run returns the Mux's error when the
// connection goes away.
func TestForwarderEndsWithMux(t *testing.T) {
	t.Parallel()
	accMux, fwdMux := muxtest.Pair(t, "unix", muxtest.AcceptAt, muxproto.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- ekg.NewForwarder(fwdMux.Channel(ekg.Protocol), nodeSource()).Run(ctx) }()
	accMux.Close()
	if err := <-runErr; !errors.Is(err, muxproto.ErrPeerClosed) {
		t.Fatalf("Forwarder.Run = %v, want ErrPeerClosed", err)
	}
}

func TestMapSource(t *testing.T) {
	t.Parallel()
	var s ekg.MapSource // the zero value is usable
	if got := s.Sample(); len(got) != 0 {
		t.Fatalf("empty source sampled %v", got)
	}
	s.Set("b", ekg.Gauge(2))
	s.Set("a", ekg.Counter(1))
	s.Set("b", ekg.Gauge(-2))
	s.Delete("missing")
	got := s.Sample()
	want := []ekg.Metric{{Name: "a", Value: ekg.Counter(1)}, {Name: "b", Value: ekg.Gauge(-2)}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Sample = %v, want %v (sorted)", got, want)
	}
	got[0].Name = "changed"
	if s.Sample()[0].Name != "a" {
		t.Fatal("Sample shares its slice with the source")
	}
	s.Delete("a")
	if got := s.Sample(); len(got) != 1 || got[0].Name != "b" {
		t.Fatalf("after Delete: %v", got)
	}
}

// TestPollSpread: with Spread the pause after the first response is a
// random fraction of Period, and every later one is Period; without it
// every pause is Period.
func TestPollSpread(t *testing.T) {
	t.Parallel()
	const period = time.Second
	pauses := func(t *testing.T, spread bool) []time.Duration {
		var got []time.Duration
		synctest.Test(t, func(t *testing.T) {
			accMux, fwdMux := muxtest.Pair(t, "pipe", muxtest.AcceptAt, muxproto.Config{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fwdDone := make(chan struct{})
			go func() {
				defer close(fwdDone)
				ekg.NewForwarder(fwdMux.Channel(ekg.Protocol), nodeSource()).Run(ctx)
			}()
			last := time.Now()
			err := ekg.NewAcceptor(accMux.Channel(ekg.Protocol)).Poll(ctx, ekg.PollConfig{Period: period, Spread: spread}, func([]ekg.Metric) {
				got = append(got, time.Since(last))
				last = time.Now()
				if len(got) == 5 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Poll = %v, want context.Canceled", err)
			}
			cancel()
			<-fwdDone
		})
		return got[1:] // the first poll is at once
	}
	seen := map[time.Duration]bool{}
	for range 10 {
		p := pauses(t, true)
		if p[0] >= period {
			t.Fatalf("spread first pause %v, want less than %v", p[0], period)
		}
		seen[p[0]] = true
		for _, d := range p[1:] {
			if d != period {
				t.Fatalf("spread later pauses %v, want %v", p[1:], period)
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("10 spread first pauses took only %d values", len(seen))
	}
	for _, d := range pauses(t, false) {
		if d != period {
			t.Fatalf("pause %v without spread, want %v", d, period)
		}
	}
}
