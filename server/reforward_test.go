package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/muxproto"
	"muninn/tracer"
)

// seqObj is object i of source node src.
func seqObj(src string, i int) tracer.TraceObject {
	return tracer.TraceObject{
		Human: "human " + strconv.Itoa(i), HasHuman: true,
		Machine:   `{"node":"` + src + `","seq":` + strconv.Itoa(i) + `}`,
		Namespace: []string{"Test.Seq"}, Severity: tracer.Info,
		Timestamp: tracer.TimeOf(time.Unix(1700000000, 0)), Hostname: src, ThreadID: strconv.Itoa(i),
	}
}

func seqObjs(src string, from, n int) []tracer.TraceObject {
	out := make([]tracer.TraceObject, n)
	for i := range n {
		out[i] = seqObj(src, from+i)
	}
	return out
}

// downPeer is a downstream acceptor (a cardano-tracer or another Muninn)
// built from the wire core.
type downPeer struct {
	ekg  *ekg.Acceptor
	dp   *datapoint.Acceptor
	mu   sync.Mutex
	got  []tracer.TraceObject
	stop func() // ends the connection; idempotent
}

type downPeerOpts struct {
	accepted bool // the reforwarder dialled this peer
	// stall: ask for one object at a time and never ask a third time, so
	// that the forwarder's ring fills up.
	stall bool
}

// newDownPeer handshakes on conn and asks for trace objects until the test
// ends or stop is called.
func newDownPeer(t *testing.T, conn net.Conn, o downPeerOpts) *downPeer {
	t.Helper()
	own, handshake := muxproto.FromInitiator, muxproto.ClientHandshake
	if o.accepted {
		own, handshake = muxproto.FromResponder, muxproto.ServerHandshake
	}
	hs := muxproto.HandshakeConfig{NetworkMagic: magic, Timeout: 10 * time.Second}
	if _, err := handshake(context.Background(), conn, hs); err != nil {
		conn.Close()
		t.Fatalf("downstream handshake: %v", err)
	}
	mux, err := muxproto.New(conn, own, reforwardProtocols, muxproto.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	p := &downPeer{
		ekg: ekg.NewAcceptor(mux.Channel(ekg.Protocol)),
		dp:  datapoint.NewAcceptor(mux.Channel(datapoint.Protocol), datapoint.AcceptorConfig{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{}) // closed by stop: a stalled handler returns
	cfg := tracer.AcceptorConfig{}
	if o.stall {
		cfg.RequestNum = 1
	}
	acc := tracer.NewAcceptor(mux.Channel(tracer.Protocol), cfg, func(_ context.Context, batch []tracer.TraceObject) error {
		p.mu.Lock()
		p.got = append(p.got, batch...)
		p.mu.Unlock()
		if o.stall {
			<-release
		}
		return nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2) // one per goroutine
	wg.Go(func() { errs <- acc.Run(ctx) })
	wg.Go(func() { errs <- p.dp.Run(ctx) })
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			cancel()
			close(release)
			if err := mux.Close(); err != nil {
				t.Errorf("close downstream mux: %v", err)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				// Each run ends with the connection: cancelled, or the
				// reforwarder went away first.
				if !errors.Is(err, context.Canceled) && !errors.Is(err, muxproto.ErrMuxClosed) &&
					!errors.Is(err, muxproto.ErrPeerClosed) {
					t.Errorf("downstream ended with %v", err)
				}
			}
		})
	}
	t.Cleanup(p.stop)
	return p
}

// from returns the objects received from source node src, in order.
func (p *downPeer) from(src string) []tracer.TraceObject {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []tracer.TraceObject
	for _, o := range p.got {
		if o.Hostname == src {
			out = append(out, o)
		}
	}
	return out
}

func (p *downPeer) all() []tracer.TraceObject {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// checkObjs fails unless got is exactly objects from..from+n-1 of src.
func checkObjs(t *testing.T, got []tracer.TraceObject, src string, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d objects, want %d", src, len(got), n)
	}
	for i, o := range got {
		if want := seqObj(src, from+i); o.Machine != want.Machine || o.Human != want.Human || o.ThreadID != want.ThreadID {
			t.Fatalf("%s object %d = %q, want %q", src, i, o.Machine, want.Machine)
		}
	}
}

// startReforwarder starts a reforwarder and shuts it down when the test ends.
func startReforwarder(t *testing.T, o ReforwardOptions) *Reforwarder {
	t.Helper()
	o.NetworkMagic = magic
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r, err := NewReforwarder(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	r.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return r
}

func listenEndpoint(t *testing.T, network string) Endpoint {
	if network == "unix" {
		return Endpoint{Net: "unix", Addr: filepath.Join(t.TempDir(), "reforward.sock")}
	}
	return Endpoint{Net: "tcp", Addr: "127.0.0.1:0"}
}

// connectDown connects a downstream acceptor to the reforwarder's first
// listener.
func connectDown(t *testing.T, r *Reforwarder, o downPeerOpts) *downPeer {
	t.Helper()
	a := r.Addrs()[0]
	conn, err := net.Dial(a.Network(), a.String())
	if err != nil {
		t.Fatal(err)
	}
	return newDownPeer(t, conn, o)
}

func waitDownstreams(t *testing.T, r *Reforwarder, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d downstreams", n), func() bool { return len(r.Downstreams()) == n })
}

// deliver offers objects 0..n-1 of src once p is attached (marker objects
// from src+"-ready" probe for that) and waits until p has all of them.
func deliver(t *testing.T, r *Reforwarder, p *downPeer, src string, n int) {
	t.Helper()
	marker := []tracer.TraceObject{seqObj(src+"-ready", 0)}
	waitFor(t, "downstream attached", func() bool {
		r.Offer(marker)
		return len(p.from(src+"-ready")) > 0
	})
	r.Offer(seqObjs(src, 0, n))
	waitFor(t, src+" delivered", func() bool { return len(p.from(src)) >= n })
	checkObjs(t, p.from(src), src, 0, n)
}

func TestReforwardFanOut(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			const perNode, batch = 300, 30
			r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, network)}, QueueSize: 2 * perNode})
			peers := []*downPeer{connectDown(t, r, downPeerOpts{}), connectDown(t, r, downPeerOpts{})}
			waitDownstreams(t, r, 2)
			// Two sessions offer concurrently, each its own node's batches.
			var wg sync.WaitGroup
			for _, src := range []string{"node-a", "node-b"} {
				wg.Go(func() {
					for i := 0; i < perNode; i += batch {
						r.Offer(seqObjs(src, i, batch))
					}
				})
			}
			wg.Wait()
			for i, p := range peers {
				waitFor(t, fmt.Sprintf("downstream %d has everything", i), func() bool { return len(p.all()) >= 2*perNode })
				if n := len(p.all()); n != 2*perNode {
					t.Fatalf("downstream %d: %d objects, want %d", i, n, 2*perNode)
				}
				checkObjs(t, p.from("node-a"), "node-a", 0, perNode)
				checkObjs(t, p.from("node-b"), "node-b", 0, perNode)
			}
		})
	}
}

func TestReforwardFilter(t *testing.T) {
	t.Parallel()
	obj := func(ns ...string) tracer.TraceObject { return tracer.TraceObject{Namespace: ns} }
	var (
		addBlock  = obj("ChainDB.AddBlockEvent.AddedToCurrentChain")
		chainDBX  = obj("ChainDBX.Other")
		chainSync = obj("ChainSync.Client.DownloadedHeader")
		segments  = obj("ChainDB", "AddBlockEvent")
		peerSel   = obj("Net", "PeerSelection", "Actions")
		peerSelX  = obj("Net.PeerSelectionX")
		peer      = obj("Net.Peer")
		chainDot  = obj("Chain.DB")
		empty     = obj()
	)
	all := []tracer.TraceObject{addBlock, chainDBX, chainSync, segments, peerSel, peerSelX, peer, chainDot, empty}
	tests := []struct {
		name string
		ns   [][]string
		pass []tracer.TraceObject
	}{
		{"null passes everything", nil, all},
		{"empty list passes nothing", [][]string{}, nil},
		{"ChainDB is a plain text prefix", [][]string{{"ChainDB"}}, []tracer.TraceObject{addBlock, chainDBX, segments}},
		{"Chain matches ChainDB and ChainSync", [][]string{{"Chain"}}, []tracer.TraceObject{addBlock, chainDBX, chainSync, segments, chainDot}},
		{"segments are joined with dots", [][]string{{"Net", "PeerSelection"}}, []tracer.TraceObject{peerSel, peerSelX}},
		{"a dotted element equals its segments", [][]string{{"ChainDB.AddBlockEvent"}}, []tracer.TraceObject{addBlock, segments}},
		{"several prefixes", [][]string{{"ChainSync"}, {"Net", "Peer"}}, []tracer.TraceObject{chainSync, peerSel, peerSelX, peer}},
		{"an empty prefix passes everything", [][]string{{}}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newNSFilter(tt.ns)
			var got []tracer.TraceObject
			for i := range all {
				if f.pass(&all[i]) {
					got = append(got, all[i])
				}
			}
			if !slices.EqualFunc(got, tt.pass, func(a, b tracer.TraceObject) bool { return slices.Equal(a.Namespace, b.Namespace) }) {
				t.Fatalf("passed %v, want %v", got, tt.pass)
			}
			if f.none() != (tt.ns != nil && len(tt.ns) == 0) {
				t.Fatalf("none() = %v", f.none())
			}
		})
	}

	// End to end, with reloads: what reaches a downstream is exactly what
	// passed the filter in force when it was offered, in order.
	t.Run("downstream", func(t *testing.T) {
		t.Parallel()
		r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, "tcp")},
			Namespaces: [][]string{{"Chain"}}})
		p := connectDown(t, r, downPeerOpts{})
		waitDownstreams(t, r, 1)
		tag := func(src string, objs ...tracer.TraceObject) []tracer.TraceObject {
			out := slices.Clone(objs)
			for i := range out {
				out[i].Hostname, out[i].Machine = src, strconv.Itoa(i)
			}
			return out
		}
		r.Offer(tag("chain", all...))
		r.SetNamespaces([][]string{})
		r.Offer(tag("none", all...))
		r.SetNamespaces([][]string{{"Net", "PeerSelection"}})
		r.Offer(tag("net", all...))
		r.SetNamespaces(nil)
		r.Offer(tag("all", peer, empty))
		want := slices.Concat(tag("chain", all...)[:4], tag("chain", all...)[7:8],
			tag("net", all...)[4:6], tag("all", peer, empty))
		waitFor(t, "every passing object", func() bool { return len(p.all()) >= len(want) })
		got := p.all()
		same := func(a, b tracer.TraceObject) bool {
			return a.Hostname == b.Hostname && a.Machine == b.Machine && slices.Equal(a.Namespace, b.Namespace)
		}
		if !slices.EqualFunc(got, want, same) {
			t.Fatalf("downstream received %v\nwant %v", got, want)
		}
	})
}

// logRecorder keeps the records logged through it.
type logRecorder struct {
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newLogRecorder() logRecorder { return logRecorder{mu: new(sync.Mutex), recs: new([]slog.Record)} }

func (h logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logRecorder) WithGroup(string) slog.Handler            { return h }
func (h logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, r.Clone())
	return nil
}

// counts returns the "count" attribute of every record with message msg.
func (h logRecorder) counts(msg string) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int64
	for _, r := range *h.recs {
		if r.Message != msg {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "count" {
				out = append(out, a.Value.Int64())
			}
			return true
		})
	}
	return out
}

// matching returns how many records have a message containing sub.
func (h logRecorder) matching(sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range *h.recs {
		if strings.Contains(r.Message, sub) {
			n++
		}
	}
	return n
}

const dropMsg = "dropped trace objects for a slow downstream"

func TestReforwardSlowDownstream(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			const ring, total = 16, 20 * 16
			var (
				mu    sync.Mutex
				drops = map[string]int{}
			)
			logs := newLogRecorder()
			r := startReforwarder(t, ReforwardOptions{
				AcceptAt: []Endpoint{listenEndpoint(t, network)}, QueueSize: ring,
				DropReportEvery: time.Hour, Log: slog.New(logs),
				OnDrop: func(name string, n int) {
					mu.Lock()
					drops[name] += n
					mu.Unlock()
				},
			})
			stalled := connectDown(t, r, downPeerOpts{stall: true})
			waitDownstreams(t, r, 1)
			stalledName := r.Downstreams()[0]
			fast := connectDown(t, r, downPeerOpts{})
			waitDownstreams(t, r, 2)
			// Offer many times the ring's capacity while one downstream is
			// stalled: each Offer returns, and the other downstream, which
			// keeps up, gets everything.
			for i := 0; i < total; i += ring {
				r.Offer(seqObjs("node", i, ring))
				waitFor(t, "fast downstream keeps up", func() bool { return len(fast.from("node")) >= i+ring })
			}
			checkObjs(t, fast.from("node"), "node", 0, total)
			if n := len(stalled.from("node")); n > 2 {
				t.Fatalf("stalled downstream received %d objects, want at most 2", n)
			}
			mu.Lock()
			got := drops[stalledName]
			if len(drops) != 1 || got < total-ring-2 || got > total-ring {
				t.Errorf("drops %v; want only %s, %d to %d", drops, stalledName, total-ring-2, total-ring)
			}
			mu.Unlock()
			// Logged at most once per DropReportEvery: the first drop only.
			if c := logs.counts(dropMsg); len(c) != 1 || c[0] < 1 {
				t.Fatalf("drop reports %v, want one", c)
			}
			// The rest is reported when the downstream goes away.
			stalled.stop()
			waitDownstreams(t, r, 1)
			waitFor(t, "final drop report", func() bool { return len(logs.counts(dropMsg)) == 2 })
			var sum int64
			for _, c := range logs.counts(dropMsg) {
				sum += c
			}
			if sum != int64(got) {
				t.Fatalf("drop reports add up to %d, OnDrop counted %d", sum, got)
			}
		})
	}
}

// deadliner is a listener whose Accept can time out.
type deadliner interface{ SetDeadline(time.Time) error }

// acceptDown accepts the reforwarder's connection on ln, within 20 s.
func acceptDown(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	if err := ln.(deadliner).SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("reforwarder did not connect: %v", err)
	}
	return conn
}

func TestReforwardConnectTo(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			ep := listenEndpoint(t, network)
			ln, err := net.Listen(ep.Net, ep.Addr)
			if err != nil {
				t.Fatal(err)
			}
			ep.Addr = ln.Addr().String() // the port to come back to
			r := startReforwarder(t, ReforwardOptions{ConnectTo: []Endpoint{ep}, MaxReconnectDelay: 50 * time.Millisecond})
			p := newDownPeer(t, acceptDown(t, ln), downPeerOpts{accepted: true})
			deliver(t, r, p, "before", 50)
			if got := r.Downstreams(); !slices.Equal(got, []string{ep.String()}) {
				t.Fatalf("downstreams %q, want %q", got, ep.String())
			}

			// The downstream restarts: the reforwarder dials it again.
			if err := ln.Close(); err != nil {
				t.Fatal(err)
			}
			p.stop()
			if ln, err = net.Listen(ep.Net, ep.Addr); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			p2 := newDownPeer(t, acceptDown(t, ln), downPeerOpts{accepted: true})
			deliver(t, r, p2, "after", 50)
			if n := len(p2.from("before")); n != 0 {
				t.Fatalf("restarted downstream received %d objects from before", n)
			}
		})
	}
}

func TestReforwardServesEKGAndNodeInfo(t *testing.T) {
	t.Parallel()
	self := ekg.NewMapSource(
		ekg.Metric{Name: "muninn_connections", Value: ekg.Gauge(3)},
		ekg.Metric{Name: "muninn_trace_objects_received_total", Value: ekg.Counter(1234)},
		ekg.Metric{Name: "muninn_version", Value: ekg.Label("0.1.0")},
	)
	ni := datapoint.NodeInfo{Name: "muninn-eu-1", Protocol: "Muninn", Version: "0.1.0", Commit: "abc123",
		StartTime: time.Unix(1700000000, 0).UTC(), SystemStartTime: time.Unix(1700000000, 0).UTC()}
	r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, "unix")}, Self: self, NodeInfo: ni})
	p := connectDown(t, r, downPeerOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	got, err := p.ekg.Request(ctx, ekg.Request{Kind: ekg.GetAllMetrics})
	if err != nil {
		t.Fatal(err)
	}
	if want := self.Sample(); !slices.Equal(got, want) {
		t.Fatalf("EKG answered %v, want %v", got, want)
	}
	self.Set("muninn_connections", ekg.Gauge(4))
	got, err = p.ekg.Request(ctx, ekg.Request{Kind: ekg.GetUpdatedMetrics})
	if err != nil {
		t.Fatal(err)
	}
	if want := []ekg.Metric{{Name: "muninn_connections", Value: ekg.Gauge(4)}}; !slices.Equal(got, want) {
		t.Fatalf("EKG updates %v, want %v", got, want)
	}

	info, err := p.dp.NodeInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != ni.Name || info.Protocol != ni.Protocol || info.Version != ni.Version || info.Commit != ni.Commit ||
		!info.StartTime.Equal(ni.StartTime) || !info.SystemStartTime.Equal(ni.SystemStartTime) {
		t.Fatalf("NodeInfo %+v, want %+v", info, ni)
	}
	if _, err := p.dp.Value(ctx, "NodeStartupInfo"); !errors.Is(err, datapoint.ErrNotAvailable) {
		t.Fatalf("NodeStartupInfo: %v, want not available", err)
	}
}

// TestReforwardDownstreamRequestBounds: a downstream that asks for
// NodeInfo tens of thousands of times in one request, or sends a request
// larger than DownstreamIngress, loses its own connection before Muninn
// builds or buffers megabytes for it; another downstream is answered as
// before.
func TestReforwardDownstreamRequestBounds(t *testing.T) {
	t.Parallel()
	ni := datapoint.NodeInfo{Name: "muninn-eu-1", Protocol: "Muninn", Version: "0.1.0",
		StartTime: time.Unix(1700000000, 0).UTC(), SystemStartTime: time.Unix(1700000000, 0).UTC()}
	r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, "unix")}, NodeInfo: ni})
	good := connectDown(t, r, downPeerOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	repeated := make([]string, datapoint.MaxReplyBytes/len(ni.JSON())+1)
	for i := range repeated {
		repeated[i] = datapoint.NodeInfoName
	}
	for _, tc := range []struct {
		what  string
		names []string
	}{
		{fmt.Sprintf("NodeInfo %d times", len(repeated)), repeated},
		{"a name of 2 MiB", []string{strings.Repeat("n", 2<<20)}},
	} {
		greedy := connectDown(t, r, downPeerOpts{})
		waitDownstreams(t, r, 2)
		if items, err := greedy.dp.Query(ctx, tc.names); err == nil {
			t.Fatalf("%s: answered with %d items", tc.what, len(items))
		}
		greedy.stop()
		waitDownstreams(t, r, 1)
		if info, err := good.dp.NodeInfo(ctx); err != nil || info.Name != ni.Name {
			t.Fatalf("after %s, the other downstream's NodeInfo: %+v, %v", tc.what, info, err)
		}
	}
}

func TestReforwardWrongMagic(t *testing.T) {
	t.Parallel()
	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, "tcp")}})
		good := connectDown(t, r, downPeerOpts{})
		a := r.Addrs()[0]
		conn, err := net.Dial(a.Network(), a.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = muxproto.ClientHandshake(context.Background(), conn, muxproto.HandshakeConfig{NetworkMagic: magic + 1})
		if !errors.Is(err, muxproto.ErrHandshakeRefused) {
			t.Fatalf("handshake with the wrong magic: %v, want refused", err)
		}
		deliver(t, r, good, "node", 100)
		waitDownstreams(t, r, 1)
	})
	t.Run("dialled", func(t *testing.T) {
		t.Parallel()
		badEP := listenEndpoint(t, "unix")
		bad, err := net.Listen(badEP.Net, badEP.Addr)
		if err != nil {
			t.Fatal(err)
		}
		refused := make(chan error, 1) // the first handshake's outcome
		var wg sync.WaitGroup
		wg.Go(func() { // refuse every attempt until the listener closes
			first := true
			for {
				conn, err := bad.Accept()
				if err != nil {
					return
				}
				_, err = muxproto.ServerHandshake(context.Background(), conn,
					muxproto.HandshakeConfig{NetworkMagic: magic + 1, Timeout: 10 * time.Second})
				conn.Close()
				if first {
					refused <- err
					first = false
				}
			}
		})
		defer wg.Wait()
		defer bad.Close()
		r := startReforwarder(t, ReforwardOptions{AcceptAt: []Endpoint{listenEndpoint(t, "tcp")},
			ConnectTo: []Endpoint{badEP}, MaxReconnectDelay: 50 * time.Millisecond})
		good := connectDown(t, r, downPeerOpts{})
		select {
		case err := <-refused:
			if !errors.Is(err, muxproto.ErrHandshakeRefused) {
				t.Fatalf("wrong-magic downstream: %v, want refused", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the reforwarder never dialled the wrong-magic downstream")
		}
		deliver(t, r, good, "node", 100)
		if got := r.Downstreams(); len(got) != 1 || got[0] == badEP.String() {
			t.Fatalf("downstreams %q", got)
		}
	})
}

func TestReforwardLifecycle(t *testing.T) {
	t.Parallel()
	discard := slog.New(slog.DiscardHandler)
	ep := Endpoint{Net: "tcp", Addr: "127.0.0.1:0"}
	bad := []struct {
		name string
		o    ReforwardOptions
	}{
		{"no endpoint", ReforwardOptions{Log: discard}},
		{"negative queue", ReforwardOptions{AcceptAt: []Endpoint{ep}, QueueSize: -1, Log: discard}},
		{"negative delay", ReforwardOptions{AcceptAt: []Endpoint{ep}, MaxReconnectDelay: -time.Second, Log: discard}},
		{"no logger", ReforwardOptions{AcceptAt: []Endpoint{ep}}},
		{"bad mux config", ReforwardOptions{AcceptAt: []Endpoint{ep}, Mux: muxproto.Config{SDUSize: -1}, Log: discard}},
	}
	for _, tt := range bad {
		if _, err := NewReforwarder(tt.o); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}

	r, err := NewReforwarder(ReforwardOptions{AcceptAt: []Endpoint{ep}, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	r.Serve()
	r.Serve() // a second call does nothing
	r.Offer(seqObjs("node", 0, 10))
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(); !errors.Is(err, ErrReforwarderClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
	r.Serve()
	r.Offer(seqObjs("node", 0, 10))
	if n := len(r.Addrs()); n != 0 {
		t.Fatalf("%d listeners open after Close", n)
	}
}

// Offer costs nothing while no downstream is connected, and nothing when
// the filter passes nothing. Not parallel: it counts allocations.
func TestReforwardOfferIdleIsFree(t *testing.T) {
	r, err := NewReforwarder(ReforwardOptions{AcceptAt: []Endpoint{{Net: "tcp", Addr: "127.0.0.1:0"}},
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	objs := seqObjs("node", 0, 100)
	if n := testing.AllocsPerRun(100, func() { r.Offer(objs) }); n != 0 {
		t.Fatalf("Offer with no downstream: %v allocations", n)
	}
	r.attach(&downstream{name: "test", ring: tracer.NewRing(1), log: slog.New(slog.DiscardHandler)})
	r.SetNamespaces([][]string{})
	if n := testing.AllocsPerRun(100, func() { r.Offer(objs) }); n != 0 {
		t.Fatalf("Offer with an empty filter: %v allocations", n)
	}
}
