package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/internal/fakenode"
	"muninn/logging"
	"muninn/muxproto"
	"muninn/tracer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const magic = 764824073

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

// newMetrics returns Muninn's own metrics on a registry of their own.
func newMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// newNode returns a simulated node named name holding n trace objects.
func newNode(name string, n int) *fakenode.Node {
	q := tracer.NewQueue(max(n, 1))
	for i := range n {
		q.Put(&tracer.TraceObject{
			Human: "human " + strconv.Itoa(i), HasHuman: i%2 == 0,
			Machine:   `{"node":"` + name + `","seq":` + strconv.Itoa(i) + `}`,
			Namespace: []string{"Test.Seq"}, Severity: tracer.Info,
			Timestamp: tracer.TimeOf(time.Unix(1700000000, 0)), Hostname: "h", ThreadID: "1",
		})
	}
	ds := &datapoint.Store{}
	if name != "" {
		ds.Set(datapoint.NodeInfoName, datapoint.NodeInfo{Name: name, Protocol: "Cardano", Version: "10.1.4",
			StartTime: time.Unix(1700000000, 0).UTC(), SystemStartTime: time.Unix(1506203091, 0).UTC()}.JSON())
	}
	return &fakenode.Node{
		Magic: magic, Traces: q, DataPoints: ds,
		Metrics: ekg.NewMapSource(ekg.Metric{Name: "cardano.node.metrics.blockNum_int", Value: ekg.Gauge(7)}),
	}
}

type harness struct {
	t    *testing.T
	root string
	srv  *Server
	logs *logging.Writer
	done chan error
}

// start runs a server with one ForMachine and one ForHuman entry.
func start(t *testing.T, opts Options) *harness {
	t.Helper()
	root := t.TempDir()
	logs, err := logging.New(logging.Config{
		Entries: []logging.Entry{{Root: root, Mode: logging.FileMode, Format: logging.ForMachine},
			{Root: root, Mode: logging.FileMode, Format: logging.ForHuman}},
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	opts.NetworkMagic = magic
	opts.Logs = logs
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	opts.EKGPeriod = 10 * time.Millisecond
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, root: root, srv: srv, logs: logs, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve() }()
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	if err := <-h.done; !errors.Is(err, ErrServerClosed) {
		h.t.Errorf("Serve = %v", err)
	}
	h.done <- ErrServerClosed // let a second stop pass
	if err := h.logs.Close(); err != nil {
		h.t.Errorf("close logs: %v", err)
	}
}

// lines returns every line of every file with extension ext in dir.
func lines(t *testing.T, dir, ext string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir) // not Glob: hostile names hold pattern characters
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "node-") && strings.HasSuffix(e.Name(), "."+ext) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	var out []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		fh.Close()
	}
	return out
}

func (h *harness) waitLines(dir, ext string, n int) []string {
	h.t.Helper()
	var got []string
	waitFor(h.t, fmt.Sprintf("%d lines in %s/*.%s", n, dir, ext), func() bool {
		got = lines(h.t, filepath.Join(h.root, dir), ext)
		return len(got) >= n
	})
	return got
}

func checkSeq(t *testing.T, got []string, name string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d lines, want %d", name, len(got), n)
	}
	for i, l := range got {
		if want := `{"node":"` + name + `","seq":` + strconv.Itoa(i) + `}`; l != want {
			t.Fatalf("%s line %d = %q, want %q", name, i, l, want)
		}
	}
}

// serveNode runs a node over conn until the test ends.
func serveNode(t *testing.T, n *fakenode.Node, conn net.Conn, dialled bool) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Serve(ctx, conn, dialled) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestAcceptAtNodes(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "muninn.sock")
			}
			h := start(t, Options{AcceptAt: []Endpoint{{Net: network, Addr: addr}}})
			bound := h.srv.Addrs()[0].String()
			const objects = 300
			for _, name := range []string{"relay-1", "relay-2", "bp-1"} {
				conn, err := net.Dial(network, bound)
				if err != nil {
					t.Fatal(err)
				}
				serveNode(t, newNode(name, objects), conn, true)
			}
			for _, name := range []string{"relay-1", "relay-2", "bp-1"} {
				checkSeq(t, h.waitLines(name, "json", objects), name, objects)
				human := h.waitLines(name, "log", objects)
				if human[0] != "human 0" || human[1] != `{"node":"`+name+`","seq":1}` {
					t.Fatalf("ForHuman lines %q", human[:2])
				}
			}
			waitFor(t, "three named nodes with metrics", func() bool {
				nodes := h.srv.Registry().Nodes()
				if len(nodes) != 3 {
					return false
				}
				for _, n := range nodes {
					id, ok := n.Identity()
					if v, found := n.Store().Snapshot().Lookup("cardano.node.metrics.blockNum_int"); !ok || id.Info == nil || !found || v != ekg.Gauge(7) {
						return false
					}
				}
				return true
			})
		})
	}
}

func TestConnectToNodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var eps []Endpoint
	for i, network := range []string{"unix", "tcp"} {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(dir, "node.sock")
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		eps = append(eps, Endpoint{Net: network, Addr: ln.Addr().String()})
		node := newNode("node-"+strconv.Itoa(i), 50)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			serveNode(t, node, conn, false)
		}()
	}
	h := start(t, Options{ConnectTo: eps})
	checkSeq(t, h.waitLines("node-0", "json", 50), "node-0", 50)
	checkSeq(t, h.waitLines("node-1", "json", 50), "node-1", 50)
}

// TestNameClash: a second live node with the same name, and one whose
// name differs but sanitises to the same directory, are kept apart from
// their very first batch.
func TestNameClash(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}})
	dial := func(name string) {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		serveNode(t, newNode(name, 5), conn, true)
	}
	dial("relay")
	checkSeq(t, h.waitLines("relay", "json", 5), "relay", 5)
	dial("relay")
	dial("x/relay") // directory "relay" as well
	waitFor(t, "three named nodes", func() bool {
		named := 0
		for _, n := range h.srv.Registry().Nodes() {
			if _, ok := n.Identity(); ok {
				named++
			}
		}
		return named == 3
	})
	dirs := map[string]bool{}
	for _, n := range h.srv.Registry().Nodes() {
		id, _ := n.Identity()
		if dirs[id.Dir] {
			t.Fatalf("directory %s used twice", id.Dir)
		}
		dirs[id.Dir] = true
	}
	if got := lines(t, filepath.Join(h.root, "relay"), "json"); len(got) != 5 {
		t.Fatalf("the first node's directory has %d lines, want its own 5", len(got))
	}
}

func TestNodeWithoutName(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "forwarder.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}})
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, newNode("", 3), conn, true)
	// NodeId of the first connection on this socket, as cardano-tracer
	// derives it, and its directory form.
	var id Identity
	waitFor(t, "the node to be named", func() bool {
		nodes := h.srv.Registry().Nodes()
		if len(nodes) == 1 {
			id, _ = nodes[0].Identity()
		}
		return id.Name != ""
	})
	if !strings.HasSuffix(id.Name, "forwardersock@0") || id.Info != nil {
		t.Fatalf("identity %+v", id)
	}
	if got := h.waitLines(id.Dir, "json", 3); len(got) != 3 {
		t.Fatalf("lines %q", got)
	}
}

func TestStaleSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // leaves the socket file behind, as a crash does
	if _, err := listen(Endpoint{Net: "unix", Addr: stale}); err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}

	live := filepath.Join(dir, "live.sock")
	ln2, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if _, err := listen(Endpoint{Net: "unix", Addr: live}); !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("live socket: err = %v, want ErrSocketInUse", err)
	}

	regular := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(regular, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := listen(Endpoint{Net: "unix", Addr: regular}); err == nil {
		t.Fatal("a regular file was replaced by a socket")
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep" {
		t.Fatalf("regular file changed: %q %v", b, err)
	}
}

// TestWrongMagicDoesNotDisturbOthers: a refused node leaves the server
// and other nodes running.
func TestWrongMagicDoesNotDisturbOthers(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}})
	bad := newNode("bad", 1)
	bad.Magic = 1
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Serve(context.Background(), conn, true); !errors.Is(err, muxproto.ErrHandshakeRefused) {
		t.Fatalf("wrong-magic node: %v", err)
	}
	conn2, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, newNode("good", 10), conn2, true)
	checkSeq(t, h.waitLines("good", "json", 10), "good", 10)
}

// TestShutdownWritesEverythingReceived: Shutdown with nodes mid-stream
// leaves every received object on disk, and closes the connections
// without MsgDone (a node sees the connection drop, not a clean end).
func TestShutdownWritesEverythingReceived(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "m.sock")
	// A generous grace: the node answers the outstanding request at once,
	// but a loaded test machine must not make that reply count as absent.
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, StopGrace: 5 * time.Second})
	node := newNode("busy", 2000)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- node.Serve(context.Background(), conn, true) }()
	h.waitLines("busy", "json", 1)
	h.stop()
	if err := <-served; err == nil {
		t.Fatal("node saw a clean end (MsgDone); Muninn must just disconnect")
	}
	taken := 2000 - node.Traces.Len()
	got := lines(t, filepath.Join(h.root, "busy"), "json")
	if len(got) != taken {
		t.Fatalf("%d objects on disk, %d taken from the node's queue", len(got), taken)
	}
	checkSeq(t, got, "busy", len(got))
}

func TestNodeIDs(t *testing.T) {
	t.Parallel()
	v4 := &net.TCPAddr{IP: net.IPv4(0, 0, 0, 0), Port: 34567}
	v6 := &net.TCPAddr{IP: net.IPv6unspecified, Port: 34567}
	peer := &net.TCPAddr{IP: net.IPv4(192, 168, 1, 20), Port: 41234}
	for _, tc := range []struct {
		got, want string
	}{
		{acceptedID(Endpoint{Net: "unix", Addr: "/abs/tmp/forwarder.sock", Raw: "/tmp/forwarder.sock"}, nil, nil, 1), "tmp-forwardersock@1"},
		{acceptedID(Endpoint{Net: "tcp", Addr: "0.0.0.0:34567"}, v4, peer, 0), "192168120:41234"},
		{dialledID(Endpoint{Net: "unix", Addr: "/run/cardano/node1.sock"}, nil), "run-cardano-node1sock"},
		{dialledID(Endpoint{Net: "tcp", Addr: "relay.example:3000"}, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 3000}), "10005:3000"},
	} {
		if tc.got != tc.want {
			t.Errorf("NodeId %q, want %q", tc.got, tc.want)
		}
	}
	if id := acceptedID(Endpoint{Net: "tcp", Addr: "[::]:34567"}, v6, peer, 0); !strings.Contains(id, "ffff") {
		t.Errorf("IPv4 peer on an IPv6 listener: %q", id)
	}
}

// TestNonASCIINameKeepsItsName: a name with nothing ASCII in it keeps its
// NodeName and directory, as in cardano-tracer; only its route falls back
// to the NodeId's slug.
func TestNonASCIINameKeepsItsName(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	n := r.add("tmp-forwardersock@0", "peer", time.Unix(0, 0))
	id := r.name(n, "東京ノード", nil)
	if id.Name != "東京ノード" || id.Dir != "東京ノード" || id.Slug != "tmp-forwardersock0" {
		t.Fatalf("identity %+v", id)
	}
}

// TestNodeSeriesForgotten: a node's trace series last as long as its
// session. Nodes without a name get a new one per connection, so series
// kept after the session would grow without bound.
func TestNodeSeriesForgotten(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	sock := filepath.Join(t.TempDir(), "m.sock")
	h := start(t, Options{AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, Metrics: m})
	// series returns the node_name label of every per-node series.
	series := func() []string {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, mf := range mfs {
			if !strings.HasPrefix(mf.GetName(), "muninn_trace_") {
				continue
			}
			for _, s := range mf.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "node_name" {
						names = append(names, mf.GetName()+"{"+l.GetValue()+"}")
					}
				}
			}
		}
		return names
	}
	for i := range 3 {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { newNode("", 3).Serve(ctx, conn, true) })
		var id Identity
		waitFor(t, "the node to be named", func() bool {
			if nodes := h.srv.Registry().Nodes(); len(nodes) == 1 {
				id, _ = nodes[0].Identity()
			}
			return id.Name != ""
		})
		h.waitLines(id.Dir, "json", 3)
		waitFor(t, "the node's series", func() bool { return len(series()) == 4 })
		if got := series(); !strings.Contains(got[0], "@"+strconv.Itoa(i)+"}") {
			t.Errorf("connection %d: series %q", i, got)
		}
		cancel()
		conn.Close()
		wg.Wait()
		waitFor(t, "the session to end", func() bool { return len(h.srv.Registry().Nodes()) == 0 })
		waitFor(t, "the series to go", func() bool { return len(series()) == 0 })
	}
}
