package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"muninn/datapoint"
	"muninn/muxproto"
	"muninn/tracer"
)

// recorder is a slog handler that keeps the records the server logs, so
// that a test can check which reason a connection was closed with.
type recorder struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	msg   string
	attrs map[string]string
}

type recHandler struct {
	r     *recorder
	attrs []slog.Attr
}

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recHandler) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{msg: rec.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, lr)
	h.r.mu.Unlock()
	return nil
}
func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h recHandler) WithGroup(string) slog.Handler { return h }

// reasons returns the reason of every "disconnected" or "handshake
// failed" line logged so far.
func (r *recorder) reasons() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, lr := range r.recs {
		if lr.msg == "disconnected" || lr.msg == "handshake failed" {
			out = append(out, lr.attrs["reason"])
		}
	}
	return out
}

// hostileHarness is a server on a unix socket with its own metrics and a
// diagnostic log that is recorded (start() discards it).
type hostileHarness struct {
	*harness
	m    *Metrics
	rec  *recorder
	sock string
}

// startHostile is start() with Metrics and a recording logger.
func startHostile(t *testing.T, opts Options) *hostileHarness {
	t.Helper()
	m, _ := newMetrics(t)
	sock := filepath.Join(t.TempDir(), "m.sock")
	rec := &recorder{}
	opts.AcceptAt = []Endpoint{{Net: "unix", Addr: sock}}
	opts.Metrics = m
	opts.Log = slog.New(recHandler{r: rec})
	return &hostileHarness{harness: start(t, opts), m: m, rec: rec, sock: sock}
}

// honest connects an honest node with n objects; its objects must all arrive.
func (hh *hostileHarness) honest(t *testing.T, name string, n int) {
	t.Helper()
	conn, err := net.Dial("unix", hh.sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, newNode(name, n), conn, true)
}

func (hh *hostileHarness) reason(r CloseReason) float64 {
	return testutil.ToFloat64(hh.m.disconnects.WithLabelValues(string(r)))
}

// expectOnly waits until reason r has been counted once and checks that
// no other reason was counted and that the log line carries r.
func (hh *hostileHarness) expectOnly(t *testing.T, r CloseReason) {
	t.Helper()
	waitFor(t, "disconnect with reason "+string(r), func() bool { return hh.reason(r) >= 1 })
	for _, other := range allReasons {
		want := 0.0
		if other == r {
			want = 1
		}
		if got := hh.reason(other); got != want {
			t.Errorf("muninn_disconnects_total{reason=%q} = %v, want %v", other, got, want)
		}
	}
	waitFor(t, "the reason in the log", func() bool { return len(hh.rec.reasons()) >= 1 })
	if got := hh.rec.reasons(); len(got) != 1 || got[0] != string(r) {
		t.Errorf("logged reasons %q, want [%q]", got, r)
	}
}

// peer is a hostile node speaking raw bytes.
type peer struct {
	t    *testing.T
	conn net.Conn
	reqs chan []byte   // payloads of SDUs Muninn sent on mini-protocol 2
	eof  chan struct{} // closed when the reader saw the connection end
}

func dialPeer(t *testing.T, sock string) *peer {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, conn: conn, reqs: make(chan []byte, 64), eof: make(chan struct{})}
	t.Cleanup(func() { conn.Close() })
	return p
}

// handshake runs an honest client handshake, then starts reading what
// Muninn sends.
func (p *peer) handshake() {
	p.t.Helper()
	if _, err := muxproto.ClientHandshake(context.Background(), p.conn,
		muxproto.HandshakeConfig{NetworkMagic: magic, Timeout: 10 * time.Second}); err != nil {
		p.t.Fatalf("client handshake: %v", err)
	}
	p.read()
}

// read starts the peer's reader: it parses SDUs and hands over those on
// mini-protocol 2; the rest is discarded.
func (p *peer) read() {
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(p.eof)
		var hb [muxproto.HeaderSize]byte
		for {
			if _, err := io.ReadFull(p.conn, hb[:]); err != nil {
				return
			}
			n := binary.BigEndian.Uint16(hb[6:8])
			w := binary.BigEndian.Uint16(hb[4:6])
			payload := make([]byte, n)
			if _, err := io.ReadFull(p.conn, payload); err != nil {
				return
			}
			if muxproto.ProtocolNum(w&0x7fff) == muxproto.ProtoTraceObject {
				select {
				case p.reqs <- payload:
				default:
				}
			}
		}
	})
	p.t.Cleanup(func() { p.conn.Close(); wg.Wait() })
}

func (p *peer) write(b []byte) error {
	_, err := p.conn.Write(b)
	return err
}

func sdu(dir muxproto.Direction, proto muxproto.ProtocolNum, length int, payload []byte) []byte {
	var hb [muxproto.HeaderSize]byte
	muxproto.Header{Dir: dir, Proto: proto, Length: uint16(length)}.Encode(&hb)
	return append(hb[:], payload...)
}

func (p *peer) send(proto muxproto.ProtocolNum, payload []byte) {
	p.t.Helper()
	if err := p.write(sdu(muxproto.FromInitiator, proto, len(payload), payload)); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// request waits for Muninn's trace request and decodes it.
func (p *peer) request() tracer.Request {
	p.t.Helper()
	select {
	case b := <-p.reqs:
		msg, err := tracer.DecodeRequest(b)
		if err != nil {
			p.t.Fatalf("decode request %x: %v", b, err)
		}
		r, ok := msg.(tracer.Request)
		if !ok {
			p.t.Fatalf("message %T, want a request", msg)
		}
		return r
	case <-time.After(20 * time.Second):
		p.t.Fatal("no trace request")
	}
	return tracer.Request{}
}

func (p *peer) waitClosed() {
	p.t.Helper()
	select {
	case <-p.eof:
	case <-time.After(20 * time.Second):
		p.t.Fatal("Muninn did not close the connection")
	}
}

func objects(n int) []tracer.TraceObject {
	out := make([]tracer.TraceObject, n)
	for i := range out {
		out[i] = tracer.TraceObject{Machine: fmt.Sprintf(`{"hostile":%d}`, i), Namespace: []string{"Hostile"},
			Severity: tracer.Info, Timestamp: tracer.TimeOf(time.Unix(1700000000, 0)), Hostname: "h", ThreadID: "1"}
	}
	return out
}

// TestHostilePeers: each hostile peer loses only its own connection, with
// a typed reason that is logged and counted; an honest node on the same
// server loses nothing.
func TestHostilePeers(t *testing.T) {
	t.Parallel()
	const honestN = 40
	for _, tc := range []struct {
		name   string
		opts   Options
		reason CloseReason
		play   func(t *testing.T, p *peer)
	}{
		{"wrong_magic", Options{}, ReasonHandshakeRefused, func(t *testing.T, p *peer) {
			_, err := muxproto.ClientHandshake(context.Background(), p.conn, muxproto.HandshakeConfig{NetworkMagic: 1})
			if !errors.Is(err, muxproto.ErrHandshakeRefused) {
				t.Errorf("client handshake: %v, want refused", err)
			}
		}},
		{"unsupported_versions_only", Options{}, ReasonHandshakeRefused, func(t *testing.T, p *peer) {
			propose := muxproto.ProposeVersions{Versions: []muxproto.VersionParam{
				{Version: 2, Data: muxproto.MagicData(magic)}, {Version: 7, Data: muxproto.MagicData(magic)}}}
			payload := muxproto.EncodeHandshake(propose)
			if err := p.write(sdu(muxproto.FromInitiator, muxproto.ProtoHandshake, len(payload), payload)); err != nil {
				t.Fatal(err)
			}
			var hb [muxproto.HeaderSize]byte
			if _, err := io.ReadFull(p.conn, hb[:]); err != nil {
				t.Fatalf("no refusal: %v", err)
			}
			h, _ := muxproto.DecodeHeader(&hb)
			reply := make([]byte, h.Length)
			if _, err := io.ReadFull(p.conn, reply); err != nil {
				t.Fatal(err)
			}
			msg, err := muxproto.DecodeHandshake(reply)
			if r, ok := msg.(muxproto.Refuse); err != nil || !ok || r.Reason.Kind != muxproto.RefuseVersionMismatch {
				t.Errorf("reply %#v (%v), want a version-mismatch refusal", msg, err)
			}
		}},
		{"garbage_instead_of_handshake", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			payload := []byte{0xff, 0xfe, 0x00, 0x13}
			if err := p.write(sdu(muxproto.FromInitiator, muxproto.ProtoHandshake, len(payload), payload)); err != nil {
				t.Fatal(err)
			}
			p.read()
			p.waitClosed()
		}},
		{"garbage_after_handshake", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			p.send(muxproto.ProtoTraceObject, []byte{0xff, 0xff, 0xff, 0xff})
			p.waitClosed()
		}},
		{"invalid_message_after_handshake", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			p.request()
			p.send(muxproto.ProtoTraceObject, []byte{0x81, 0x18, 0x63}) // [99]: well-formed, no such message
			p.waitClosed()
		}},
		{"message_over_limit", Options{Mux: muxproto.Config{MaxMessageSize: 16 << 10}}, ReasonIngressOverrun, func(t *testing.T, p *peer) {
			p.handshake()
			p.request()
			// The start of a 1 MB byte string: never completes, outgrows the limit.
			payload := append([]byte{0x5a, 0x00, 0x10, 0x00, 0x00}, make([]byte, 40000)...)
			p.send(muxproto.ProtoTraceObject, payload)
			p.waitClosed()
		}},
		{"zero_length_sdu", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			if err := p.write(sdu(muxproto.FromInitiator, muxproto.ProtoTraceObject, 0, nil)); err != nil {
				t.Fatal(err)
			}
			p.waitClosed()
		}},
		{"unknown_mini_protocol", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			p.send(9, []byte{0x80})
			p.waitClosed()
		}},
		{"wrong_direction_bit", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			payload := tracer.EncodeReply(objects(1))
			if err := p.write(sdu(muxproto.FromResponder, muxproto.ProtoTraceObject, len(payload), payload)); err != nil {
				t.Fatal(err)
			}
			p.waitClosed()
		}},
		{"truncated_sdu_then_silence", Options{Mux: muxproto.Config{SDUTimeout: 200 * time.Millisecond}}, ReasonTimeout, func(t *testing.T, p *peer) {
			p.handshake()
			p.request()
			reply := tracer.EncodeReply(objects(1))
			if err := p.write(sdu(muxproto.FromInitiator, muxproto.ProtoTraceObject, len(reply), reply[:len(reply)/2])); err != nil {
				t.Fatal(err)
			}
			p.waitClosed()
		}},
		{"more_objects_than_requested", Options{RequestNum: 2}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			if r := p.request(); !r.Blocking || r.Count != 2 {
				t.Errorf("request %+v, want a blocking request for 2", r)
			}
			p.send(muxproto.ProtoTraceObject, tracer.EncodeReply(objects(3)))
			p.waitClosed()
		}},
		{"empty_reply_to_blocking_request", Options{}, ReasonProtocolViolation, func(t *testing.T, p *peer) {
			p.handshake()
			if r := p.request(); !r.Blocking {
				t.Errorf("request %+v, want blocking", r)
			}
			p.send(muxproto.ProtoTraceObject, tracer.EncodeReply(nil))
			p.waitClosed()
		}},
		{"slowloris_handshake", Options{HandshakeTimeout: 300 * time.Millisecond}, ReasonHandshakeTimeout, func(t *testing.T, p *peer) {
			// Each byte comes well within the timeout; the whole
			// handshake does not.
			payload := muxproto.EncodeHandshake(muxproto.ProposeVersions{Versions: []muxproto.VersionParam{
				{Version: 1, Data: muxproto.MagicData(magic)}}})
			msg := sdu(muxproto.FromInitiator, muxproto.ProtoHandshake, len(payload), payload)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			for i := range msg[:len(msg)-1] { // never the last byte
				if err := p.write(msg[i : i+1]); err != nil {
					break // Muninn gave up
				}
				<-tick.C
			}
			p.read()
			p.waitClosed()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("slow handshake closed after %v", d)
			}
		}},
		{"slow_byte_per_interval_over_timeout", Options{HandshakeTimeout: 300 * time.Millisecond}, ReasonHandshakeTimeout, func(t *testing.T, p *peer) {
			payload := muxproto.EncodeHandshake(muxproto.ProposeVersions{Versions: []muxproto.VersionParam{
				{Version: 1, Data: muxproto.MagicData(magic)}}})
			msg := sdu(muxproto.FromInitiator, muxproto.ProtoHandshake, len(payload), payload)
			p.read()
			tick := time.NewTicker(400 * time.Millisecond) // slower than the timeout
			defer tick.Stop()
			start := time.Now()
		drip:
			for i := range msg {
				if err := p.write(msg[i : i+1]); err != nil {
					break
				}
				select {
				case <-tick.C:
				case <-p.eof:
					break drip
				}
			}
			p.waitClosed()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("slow handshake closed after %v", d)
			}
		}},
		{"silent_after_connect", Options{HandshakeTimeout: 300 * time.Millisecond}, ReasonHandshakeTimeout, func(t *testing.T, p *peer) {
			p.read()
			p.waitClosed()
		}},
		{"disconnect_mid_sdu", Options{}, ReasonPeerClosed, func(t *testing.T, p *peer) {
			p.handshake()
			p.request()
			reply := tracer.EncodeReply(objects(1))
			if err := p.write(sdu(muxproto.FromInitiator, muxproto.ProtoTraceObject, len(reply), reply[:len(reply)/2])); err != nil {
				t.Fatal(err)
			}
			p.conn.Close()
		}},
		{"disconnect_mid_message", Options{}, ReasonPeerClosed, func(t *testing.T, p *peer) {
			p.handshake()
			p.request()
			reply := tracer.EncodeReply(objects(1))
			p.send(muxproto.ProtoTraceObject, reply[:len(reply)/2]) // a whole SDU, half a message
			p.conn.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hh := startHostile(t, tc.opts)
			hh.honest(t, "honest", honestN)
			p := dialPeer(t, hh.sock)
			tc.play(t, p)
			hh.expectOnly(t, tc.reason)
			checkSeq(t, hh.waitLines("honest", "json", honestN), "honest", honestN)
			waitFor(t, "only the honest node registered", func() bool { return len(hh.srv.Registry().Nodes()) == 1 })
			if got := hh.reason(tc.reason); got != 1 {
				t.Errorf("reason %s counted %v times", tc.reason, got)
			}
		})
	}
}

// TestHalfMessageThenSilence: a complete SDU holding half a reply, then
// silence, is legal idleness: the connection stays up, the honest node is
// unaffected, and Shutdown still completes.
func TestHalfMessageThenSilence(t *testing.T) {
	t.Parallel()
	const sduTimeout = 100 * time.Millisecond
	hh := startHostile(t, Options{Mux: muxproto.Config{SDUTimeout: sduTimeout}})
	hh.honest(t, "honest", 40)
	p := dialPeer(t, hh.sock)
	p.handshake()
	p.request()
	reply := tracer.EncodeReply(objects(3))
	p.send(muxproto.ProtoTraceObject, reply[:len(reply)/2])
	sent := time.Now()
	checkSeq(t, hh.waitLines("honest", "json", 40), "honest", 40)
	// Several SDU timeouts pass without the connection being dropped.
	waitFor(t, "ten SDU timeouts to pass", func() bool { return time.Since(sent) > 10*sduTimeout })
	select {
	case <-p.eof:
		t.Fatal("Muninn closed a connection that was only idle mid-message")
	default:
	}
	for _, r := range allReasons {
		if got := hh.reason(r); got != 0 {
			t.Fatalf("disconnect %s counted %v times while both nodes were connected", r, got)
		}
	}
	if n := len(hh.srv.Registry().Nodes()); n != 2 {
		t.Fatalf("%d nodes registered, want 2", n)
	}
	begin := time.Now()
	hh.stop()
	t.Logf("Shutdown with a half-received reply took %v", time.Since(begin).Round(time.Millisecond))
	p.waitClosed()
	if got := hh.reason(ReasonShutdown); got != 2 {
		t.Errorf("shutdown disconnects %v, want 2", got)
	}
}

// TestConnectCycles: many connect/disconnect cycles leave no node in the
// registry, no connection counted, and no goroutine or file descriptor
// behind.
//
// Not parallel: it compares process-wide goroutine and fd counts, which
// other running tests would disturb; non-parallel top-level tests run
// while the parallel ones are paused.
func TestConnectCycles(t *testing.T) {
	const cycles = 10000 // as the hardening issue asks; about 3 s under -race
	fds := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("no /proc/self/fd: %v", err)
		}
		return len(es)
	}
	goroutinesBefore, fdsBefore := runtime.NumGoroutine(), fds()
	func() {
		hh := startHostile(t, Options{})
		defer hh.stop()
		for i := range cycles {
			conn, err := net.Dial("unix", hh.sock)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				if _, err := muxproto.ClientHandshake(context.Background(), conn,
					muxproto.HandshakeConfig{NetworkMagic: magic}); err != nil {
					t.Fatalf("cycle %d: handshake: %v", i, err)
				}
			}
			conn.Close()
		}
		waitFor(t, "every cycle to be counted", func() bool {
			var sum float64
			for _, r := range allReasons {
				sum += hh.reason(r)
			}
			return sum == cycles
		})
		if got := hh.reason(ReasonPeerClosed); got != cycles {
			for _, r := range allReasons {
				t.Logf("%s: %v", r, hh.reason(r))
			}
			t.Errorf("peer_closed %v, want %d", got, cycles)
		}
		if n := len(hh.srv.Registry().Nodes()); n != 0 {
			t.Errorf("%d nodes left in the registry", n)
		}
		for _, st := range []string{stateHandshaking, stateConnected} {
			if v := testutil.ToFloat64(hh.m.connections.WithLabelValues(st)); v != 0 {
				t.Errorf("muninn_connections{state=%q} = %v", st, v)
			}
		}
	}()
	var g, f int
	waitFor(t, "goroutines and fds back to their baseline", func() bool {
		g, f = runtime.NumGoroutine(), fds()
		return g <= goroutinesBefore && f <= fdsBefore
	})
	t.Logf("%d cycles: goroutines %d before, %d after; fds %d before, %d after", cycles, goroutinesBefore, g, fdsBefore, f)
}

// TestHostileNames: NodeInfo names that try to escape the log root, carry
// NUL or control characters, are not ASCII, are very long, collide after
// sanitising, or take a reserved route, keep every file under the root
// and every directory and slug unique.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	names := []string{
		"../../../../etc/evil", "../", "..", ".", "/abs/path", "/", "a/b/c", "x\x00y", "\x00",
		"ctl\x01\x1b[31mred\x7f", "line\nbreak", "tab\there", "東京ノード", "😀", "\xff\xfe",
		strings.Repeat("L", 10000), strings.Repeat("é", 5000),
		"relay", "relay/", "x/relay", "y/../relay", "RELAY", "re lay", "re_lay",
		"targets", "metrics", "x/targets", "Metrics", "",
	}
	const n = 5
	hh := startHostile(t, Options{NameTimeout: 5 * time.Second})
	for i, name := range names {
		label := fmt.Sprintf("h%02d", i)
		node := newNode(label, n)
		ds := &datapoint.Store{}
		ds.Set(datapoint.NodeInfoName, datapoint.NodeInfo{Name: name, Protocol: "Cardano", Version: "10.1.4",
			StartTime: time.Unix(1700000000, 0).UTC(), SystemStartTime: time.Unix(1506203091, 0).UTC()}.JSON())
		node.DataPoints = ds
		conn, err := net.Dial("unix", hh.sock)
		if err != nil {
			t.Fatal(err)
		}
		serveNode(t, node, conn, true)
	}
	waitFor(t, "every node named", func() bool {
		nodes := hh.srv.Registry().Nodes()
		if len(nodes) != len(names) {
			return false
		}
		for _, nd := range nodes {
			if _, ok := nd.Identity(); !ok {
				return false
			}
		}
		return true
	})
	dirs, slugs, nodeNames := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, nd := range hh.srv.Registry().Nodes() {
		id, _ := nd.Identity()
		if dirs[id.Dir] || slugs[id.Slug] || nodeNames[id.Name] {
			t.Errorf("identity %+v: name, directory or slug used twice", id)
		}
		dirs[id.Dir], slugs[id.Slug], nodeNames[id.Name] = true, true, true
		if testing.Verbose() {
			given := ""
			if id.Info != nil {
				given = id.Info.Name
			}
			t.Logf("given %.40q → name %.40q dir %.40q slug %.40q", given, id.Name, id.Dir, id.Slug)
		}
		if id.Dir == "" || id.Dir == "." || id.Dir == ".." || strings.ContainsAny(id.Dir, "/\x00") || len(id.Dir) > 255 {
			t.Errorf("unsafe directory %q for %q", id.Dir, id.Name)
		}
		if id.Slug == "" || id.Slug == "targets" || id.Slug == "metrics" || strings.ContainsAny(id.Slug, "/?#%\x00") {
			t.Errorf("unsafe slug %q for %q", id.Slug, id.Name)
		}
		if id.Info == nil {
			t.Errorf("node %q: NodeInfo lost", id.Name)
			continue
		}
		// Every object of this node is in its own directory.
		label := ""
		for i, name := range names {
			if jsonRoundTrip(t, name) == id.Info.Name {
				label = fmt.Sprintf("h%02d", i)
			}
		}
		if label == "" {
			t.Errorf("node %q: NodeInfo name %q not one of ours", id.Name, id.Info.Name)
			continue
		}
		// Not hh.waitLines: its Glob reads "[" in a directory name as a pattern.
		var got []string
		waitFor(t, "objects in "+id.Dir, func() bool {
			got = linesIn(t, filepath.Join(hh.root, id.Dir), ".json")
			return len(got) >= n
		})
		checkSeq(t, got, label, n)
	}
	if t.Failed() {
		return
	}
	// Nothing outside the root but the socket.
	root, err := filepath.EvalSymlinks(hh.root)
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(root)
	sockDir, _ := filepath.EvalSymlinks(filepath.Dir(hh.sock))
	err = filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case path == parent || path == root || path == sockDir || path == filepath.Join(sockDir, "m.sock"):
			return nil
		case strings.HasPrefix(path, root+string(filepath.Separator)):
			rel, _ := filepath.Rel(root, path)
			if parts := strings.Split(rel, string(filepath.Separator)); len(parts) > 2 || !dirs[parts[0]] {
				t.Errorf("unexpected path under the root: %q", rel)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				target, err := filepath.EvalSymlinks(path)
				if err != nil {
					t.Errorf("symlink %s: %v", rel, err)
				} else if !strings.HasPrefix(target, root+string(filepath.Separator)) {
					t.Errorf("symlink %s points outside the root: %s", rel, target)
				}
			}
			return nil
		}
		t.Errorf("file outside the log root: %s", path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allReasons {
		if got := hh.reason(r); got != 0 {
			t.Errorf("disconnect %s counted %v times", r, got)
		}
	}
}

// jsonRoundTrip is what a name becomes on its way through NodeInfo's JSON
// (invalid UTF-8 turns into U+FFFD).
func jsonRoundTrip(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// linesIn returns every line of the node-*<ext> files in dir, whatever
// characters dir holds.
func linesIn(t *testing.T, dir, ext string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "node-") || !strings.HasSuffix(e.Name(), ext) {
			continue
		}
		fh, err := os.Open(filepath.Join(dir, e.Name()))
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
