package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"muninn/ekg"
	"muninn/internal/fakenode"
	"muninn/muxproto"
	"muninn/tracer"
)

// TestMaxConnections: the connection over the limit is refused and
// counted; the node already connected carries on.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, MaxConnections: 1, Metrics: m})
	first, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, newNode("first", 10), first, true)
	checkSeq(t, h.waitLines("first", "json", 10), "first", 10)
	second, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := newNode("second", 1).Serve(context.Background(), second, true); !errors.Is(err, muxproto.ErrPeerClosed) {
		t.Fatalf("node over the limit: %v, want the connection closed", err)
	}
	waitFor(t, "the refusal to be counted", func() bool { return testutil.ToFloat64(m.refused) == 1 })
	if n := len(h.srv.Registry().Nodes()); n != 1 {
		t.Fatalf("%d nodes registered, want 1", n)
	}
}

// TestMaxConnectionsConcurrent: connections arriving together, as from
// the accept loops of several endpoints, never exceed the limit.
func TestMaxConnectionsConcurrent(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: filepath.Join(t.TempDir(), "m.sock")}}, MaxConnections: 10, Metrics: m})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		peers []net.Conn
	)
	defer func() {
		for _, c := range peers {
			c.Close()
		}
	}()
	for i := range 4 {
		wg.Go(func() {
			for k := range 25 {
				ours, theirs := net.Pipe() // a silent node: its session waits for the handshake
				mu.Lock()
				peers = append(peers, theirs)
				mu.Unlock()
				h.srv.startSession(h.srv.soft, ours, fmt.Sprintf("pipe-%d-%d", i, k), false)
			}
		})
	}
	wg.Wait()
	if live, refused := h.srv.live.Load(), testutil.ToFloat64(m.refused); live != 10 || refused != 90 {
		t.Errorf("%d sessions running, %v refused; want 10 and 90", live, refused)
	}
}

// TestOversizedIngressClosesOnlyThatConnection: a node whose reply exceeds
// the per-message limit is disconnected with the overrun counted; another
// node's traces keep arriving.
func TestOversizedIngressClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, Metrics: m,
		Mux: muxproto.Config{IngressLimit: 64 << 10, MaxMessageSize: 32 << 10}})
	big := newNode("big", 0)
	huge := tracer.TraceObject{Machine: strings.Repeat("x", 100<<10), Namespace: []string{"Big"}, Hostname: "h", ThreadID: "1"}
	big.Traces.Put(&huge)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	bigErr := make(chan error, 1)
	go func() { bigErr <- big.Serve(context.Background(), conn, true) }()
	good, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, newNode("good", 50), good, true)
	if err := <-bigErr; !errors.Is(err, muxproto.ErrPeerClosed) {
		t.Fatalf("oversized node: %v", err)
	}
	waitFor(t, "the overrun to be counted", func() bool { return testutil.ToFloat64(m.ingressOverruns) == 1 })
	checkSeq(t, h.waitLines("good", "json", 50), "good", 50)
}

// TestHTTPConcurrencyLimit: requests over the limit get 503 at once.
func TestHTTPConcurrencyLimit(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := limitConcurrency(1, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first request never started")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("second request: %d, want 503", w.Code)
	}
	close(release)
	wg.Wait()
	w = httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil)); close(done) }()
	<-entered // the slot was given back: the next request is served
	<-done
	if w.Code != http.StatusOK {
		t.Fatalf("after release: %d", w.Code)
	}
}

// TestMetricsPerNodeLimit: a node reporting more metric names than
// maxMetricsPerNode, and a name too long to keep, has the rest left out,
// counted and warned about once per connection, while the names it has
// keep being updated, its traces are written, and a node beside it is
// untouched.
func TestMetricsPerNodeLimit(t *testing.T) {
	t.Parallel()
	const limit = 50
	m, _ := newMetrics(t)
	logs := newLogRecorder()
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, MaxMetricsPerNode: limit, Metrics: m,
		Log: slog.New(logs)})
	greedy, good := newNode("greedy", 5), newNode("good", 5)
	src := greedy.Metrics.(*ekg.MapSource)
	for i := range 3 * limit {
		src.Set(fmt.Sprintf("greedy.m%04d", i), ekg.Counter(int64(i)))
	}
	src.Set("greedy."+strings.Repeat("x", ekg.MaxNameLen), ekg.Gauge(1))
	for _, n := range []*fakenode.Node{greedy, good} {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		serveNode(t, n, conn, true)
	}
	checkSeq(t, h.waitLines("greedy", "json", 5), "greedy", 5)
	checkSeq(t, h.waitLines("good", "json", 5), "good", 5)
	store := func(name string) *ekg.Snapshot {
		for _, n := range h.srv.Registry().Nodes() {
			if id, ok := n.Identity(); ok && id.Name == name {
				return n.Store().Snapshot()
			}
		}
		return nil
	}
	// The first poll leaves out 3·limit + 2 − limit reports; later ones
	// bring only what changed (ekgRequestFull is off).
	perPoll := float64(2*limit + 2)
	waitFor(t, "the first poll of the greedy node", func() bool { return testutil.ToFloat64(m.ekgDropped) == perPoll })
	src.Set("cardano.node.metrics.blockNum_int", ekg.Gauge(8))
	src.Set("greedy.zzz", ekg.Gauge(1))
	waitFor(t, "the kept metric to be updated and the new one left out", func() bool {
		v, ok := store("greedy").Lookup("cardano.node.metrics.blockNum_int")
		return ok && v == ekg.Gauge(8) && testutil.ToFloat64(m.ekgDropped) == perPoll+1
	})
	sn := store("greedy")
	if sn.Len() != limit {
		t.Fatalf("the greedy node's store holds %d names, want %d", sn.Len(), limit)
	}
	if v, ok := sn.Lookup(fmt.Sprintf("greedy.m%04d", limit-2)); !ok || v != ekg.Counter(limit-2) {
		t.Fatalf("greedy.m%04d = %v, %v: the first names in order should be kept", limit-2, v, ok)
	}
	if n := store("good").Len(); n != 1 {
		t.Fatalf("the good node's store holds %d names, want 1", n)
	}
	if n := logs.matching("muninnLimits.maxMetricsPerNode (50)"); n != 1 {
		t.Fatalf("warned %d times, want once", n)
	}
}
