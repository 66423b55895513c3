package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/internal/loadgen"
	"muninn/muxproto"
	"muninn/tracer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		says string // in stderr
	}{
		{"unknown flag", []string{"--connect", "x", "--bogus"}, "bogus"},
		{"no connect", nil, "--connect"},
		{"argument", []string{"--connect", "x", "extra"}, "unexpected"},
		{"no nodes", []string{"--connect", "x", "--nodes", "0"}, "Nodes"},
		{"negative rate", []string{"--connect", "x", "--rate", "-1"}, "Rate"},
		{"arrival", []string{"--connect", "x", "--arrival", "bursty"}, "--arrival"},
		{"two sizes", []string{"--connect", "x", "--sizes", "1,2"}, "--sizes"},
		{"word size", []string{"--connect", "x", "--sizes", "a,b,c"}, "--sizes"},
		{"zero sizes", []string{"--connect", "x", "--sizes", "0,0,0"}, "--sizes"},
		{"magic", []string{"--connect", "x", "--magic", "4294967296"}, "--magic"},
		{"queue", []string{"--connect", "x", "--queue-size", "0"}, "--queue-size"},
		{"burst", []string{"--connect", "x", "--burst-every", "1s"}, "Burst.Length"},
		{"change", []string{"--connect", "x", "--metrics-change", "2"}, "MetricsChange"},
		{"log level", []string{"--connect", "x", "--log-level", "loud"}, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr, make(chan os.Signal)); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.says) || stdout.Len() > 0 {
				t.Errorf("stderr %q does not mention %s (stdout %q)", &stderr, tt.says, &stdout)
			}
		})
	}
}

// acceptor answers nodes on a Unix socket with a handshake and the
// TraceObject acceptor role only, counting objects.
type acceptor struct {
	ln      net.Listener
	objects atomic.Int64
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startAcceptor(t *testing.T) *acceptor {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "a.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &acceptor{ln: ln, cancel: cancel}
	a.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			a.wg.Go(func() {
				if err := a.serve(ctx, conn); err != nil && ctx.Err() == nil && !errors.Is(err, muxproto.ErrPeerClosed) {
					t.Logf("acceptor: %v", err)
				}
			})
		}
	})
	t.Cleanup(func() {
		cancel()
		ln.Close()
		a.wg.Wait()
	})
	return a
}

func (a *acceptor) serve(ctx context.Context, conn net.Conn) error {
	if _, err := muxproto.ServerHandshake(ctx, conn, muxproto.HandshakeConfig{NetworkMagic: loadgen.DefaultMagic}); err != nil {
		return errors.Join(err, conn.Close())
	}
	mux, err := muxproto.New(conn, muxproto.FromResponder,
		[]muxproto.ProtocolNum{ekg.Protocol, tracer.Protocol, datapoint.Protocol}, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return errors.Join(err, conn.Close())
	}
	defer mux.Close()
	return tracer.NewAcceptor(mux.Channel(tracer.Protocol), tracer.AcceptorConfig{StopGrace: time.Millisecond},
		func(_ context.Context, b []tracer.TraceObject) error {
			a.objects.Add(int64(len(b)))
			return nil
		}).Run(ctx)
}

func decodeSummary(t *testing.T, stdout *bytes.Buffer) summary {
	t.Helper()
	var s summary
	dec := json.NewDecoder(stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("summary: %v in %s", err, stdout)
	}
	return s
}

// TestRun produces for a short while against an acceptor, drains and
// prints a summary that adds up.
func TestRun(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		extra []string
	}{
		{"open loop", []string{"--rate", "300", "--arrival", "uniform", "--metrics", "30"}},
		{"saturate", []string{"--saturate", "--pre-encoded", "--sizes", "1,1,1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := startAcceptor(t)
			var stdout, stderr bytes.Buffer
			args := append([]string{"--connect", a.ln.Addr().String(), "--nodes", "3", "--duration", "300ms", "--drain", "20s"}, tt.extra...)
			if code := run(args, &stdout, &stderr, make(chan os.Signal)); code != 0 {
				t.Fatalf("exit %d; stderr %s", code, &stderr)
			}
			s := decodeSummary(t, &stdout)
			// The acceptor asks again before its handler has the last
			// batch, so that batch may still be on its way.
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for deadline := time.Now().Add(10 * time.Second); uint64(a.objects.Load()) < s.Delivered && time.Now().Before(deadline); {
				<-tick.C
			}
			if !s.Drained || s.Nodes != 3 || len(s.PerNode) != 3 || s.Connections != 3 || s.Produced == 0 ||
				s.Queued != 0 || s.Delivered != s.Produced-s.Discarded || s.Delivered != uint64(a.objects.Load()) ||
				s.PerSecond <= 0 || s.Elapsed < s.Producing || s.Producing < 0.3 {
				t.Errorf("summary %+v; acceptor received %d", s, a.objects.Load())
			}
			if s.PerNode[2].Name != "load-0002" {
				t.Errorf("node names %+v", s.PerNode)
			}
		})
	}
}

// TestSignal: a signal ends production early, a second one cuts the
// drain short; the summary still comes out.
func TestSignal(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "stalled.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // accepts nothing: the nodes never get through the handshake
	sigs := make(chan os.Signal, 2)
	sigs <- syscall.SIGTERM
	sigs <- syscall.SIGINT
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--connect", ln.Addr().String(), "--duration", "0"}, &stdout, &stderr, sigs); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, &stderr)
	}
	if s := decodeSummary(t, &stdout); s.Drained || s.Connections != 0 {
		t.Errorf("summary %+v", s)
	}
}
