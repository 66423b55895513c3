package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"

	"muninn/datapoint"
	"muninn/ekg"
	"muninn/internal/fakenode"
	"muninn/muxproto"
	"muninn/tracer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const magic = 764824073

// lines collects what run prints, one line at a time.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out chan string // cap 4: run prints two lines
}

func newLines() *lines { return &lines{out: make(chan string, 4)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.buf.Next(i + 1))
		select {
		case l.out <- line:
		default:
			return 0, errors.New("too many lines")
		}
	}
}

func (l *lines) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.out:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no line printed")
		return ""
	}
}

// started is a probe running in the background.
type started struct {
	dir    string
	addr   string
	out    *lines
	cancel context.CancelFunc
	errc   chan error // cap 1: run's result
}

func startProbe(t *testing.T, listen string, requestNum uint16, lockstep bool) *started {
	t.Helper()
	s := &started{dir: filepath.Join(t.TempDir(), "out"), out: newLines(), errc: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	o := options{listen: listen, dir: s.dir, magic: magic, requestNum: requestNum, lockstep: lockstep}
	go func() { s.errc <- run(ctx, o, s.out) }()
	var l struct{ Listening string }
	if err := json.Unmarshal([]byte(s.out.next(t)), &l); err != nil || l.Listening == "" {
		cancel()
		t.Fatalf("listening line: %v %+v", err, l)
	}
	s.addr = l.Listening
	return s
}

// stop ends the probe and returns its summary.
func (s *started) stop(t *testing.T) summary {
	t.Helper()
	s.cancel()
	if err := <-s.errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	var sum summary
	if err := json.Unmarshal([]byte(s.out.next(t)), &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

func object(host string, seq int) tracer.TraceObject {
	return tracer.TraceObject{
		Machine:   fmt.Sprintf(`{"at":"2025-01-01T00:00:00Z","ns":"Test.Seq","data":{"kind":"Seq","seq":%d,"enqueued":1},"sev":"Info","thread":"1","host":"%s"}`, seq, host),
		Namespace: []string{"Test.Seq"}, Severity: tracer.Info,
		Timestamp: tracer.TimeOf(time.Unix(1700000000, 0)), Hostname: host, ThreadID: "1",
	}
}

func newNode(t *testing.T, host string, objects int, nodeMagic uint32) *fakenode.Node {
	t.Helper()
	q := tracer.NewQueue(objects)
	for i := range objects {
		o := object(host, i)
		if n := q.Put(&o); n != 0 {
			t.Fatalf("queue discarded %d objects", n)
		}
	}
	return &fakenode.Node{Magic: nodeMagic, Traces: q, Metrics: ekg.NewMapSource(), DataPoints: &datapoint.Store{}}
}

// waitDrained waits until the probe has every object of the node and has
// asked again: lock-step, it has then flushed them all.
func waitDrained(t *testing.T, q *tracer.Queue) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for q.Len() > 0 || q.Waiters() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %d left, %d waiters", q.Len(), q.Waiters())
		}
		<-tick.C
	}
}

// Nodes connect to the probe; every object lands exactly once, in order,
// in its connection's file.
func TestEveryObjectOnceInOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		listen     func(t *testing.T) string
		requestNum uint16
		lockstep   bool
	}{
		{"unix", func(t *testing.T) string { return filepath.Join(t.TempDir(), "probe.sock") }, 100, false},
		{"tcp", func(*testing.T) string { return "127.0.0.1:0" }, 100, false},
		{"one per request", func(t *testing.T) string { return filepath.Join(t.TempDir(), "probe.sock") }, 1, false},
		{"lockstep", func(t *testing.T) string { return filepath.Join(t.TempDir(), "probe.sock") }, 100, true},
		{"lockstep one per request", func(t *testing.T) string { return filepath.Join(t.TempDir(), "probe.sock") }, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startProbe(t, tt.listen(t), tt.requestNum, tt.lockstep)
			const nodes, per = 4, 2000
			network, addr := splitAddr(p.addr)
			nctx, ncancel := context.WithCancel(context.Background())
			defer ncancel()
			served := make(chan error, nodes) // one result per node
			var queues []*tracer.Queue
			for i := range nodes {
				n := newNode(t, fmt.Sprintf("load-%04d", i), per, magic)
				queues = append(queues, n.Traces)
				conn, err := net.Dial(network, addr)
				if err != nil {
					t.Fatal(err)
				}
				go func() { served <- n.Serve(nctx, conn, true) }()
			}
			for _, q := range queues {
				waitDrained(t, q)
			}
			sum := p.stop(t)
			ncancel()
			for range nodes {
				// The probe closed the connection, or the cancel came first.
				if err := <-served; !errors.Is(err, muxproto.ErrPeerClosed) && !errors.Is(err, context.Canceled) {
					t.Errorf("node: %v", err)
				}
			}
			if sum.Connections != nodes || sum.Objects != nodes*per || sum.Failed != 0 {
				t.Errorf("summary %+v", sum)
			}
			files, err := filepath.Glob(filepath.Join(p.dir, "conn-*.json"))
			if err != nil || len(files) != nodes {
				t.Fatalf("files %v, %v", files, err)
			}
			hosts := map[string]bool{}
			var total uint64
			for _, f := range files {
				host, size := checkFile(t, f, per)
				if hosts[host] {
					t.Errorf("%s in two files", host)
				}
				hosts[host] = true
				total += size
			}
			if total != sum.Bytes {
				t.Errorf("files hold %d bytes, summary says %d", total, sum.Bytes)
			}
		})
	}
}

// checkFile checks that a connection's file holds one node's objects 0 to
// per-1 in order, and returns the node and the file's size.
func checkFile(t *testing.T, path string, per int) (string, uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var host string
	var size uint64
	seq := 0
	for sc.Scan() {
		line := sc.Text()
		size += uint64(len(line)) + 1
		if seq == 0 {
			host = line[strings.LastIndex(line, `"host":"`)+8 : len(line)-2]
		}
		if want := object(host, seq).Machine; line != want {
			t.Fatalf("%s line %d: %s, want %s", path, seq+1, line, want)
		}
		seq++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if seq != per {
		t.Errorf("%s: %d objects, want %d", path, seq, per)
	}
	return host, size
}

// A node with another network magic is refused; the probe carries on.
func TestRefusedHandshake(t *testing.T) {
	t.Parallel()
	p := startProbe(t, filepath.Join(t.TempDir(), "probe.sock"), 100, false)
	network, addr := splitAddr(p.addr)
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	err = newNode(t, "load-0001", 1, magic+1).Serve(context.Background(), conn, true)
	if !errors.Is(err, muxproto.ErrHandshakeRefused) {
		t.Errorf("Serve: %v, want a refusal", err)
	}
	sum := p.stop(t)
	if sum.Connections != 1 || sum.Objects != 0 || sum.Failed != 1 {
		t.Errorf("summary %+v", sum)
	}
	if files, err := filepath.Glob(filepath.Join(p.dir, "*")); err != nil || len(files) != 0 {
		t.Errorf("files %v, %v", files, err)
	}
}

func TestCommandFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"no listen", []string{"--dir", "x"}},
		{"no dir", []string{"--listen", "x.sock"}},
		{"magic too large", []string{"--listen", "x.sock", "--dir", "x", "--magic", "4294967296"}},
		{"request-num zero", []string{"--listen", "x.sock", "--dir", "x", "--request-num", "0"}},
		{"request-num too large", []string{"--listen", "x.sock", "--dir", "x", "--request-num", "65536"}},
		{"unknown flag", []string{"--nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if code := command(tt.args, io.Discard, io.Discard); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
		})
	}
}

func TestSplitAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, network string }{
		{"127.0.0.1:3000", "tcp"},
		{"[::1]:3000", "tcp"},
		{"localhost:0", "tcp"},
		{"/run/probe.sock", "unix"},
		{"/tmp/a:1", "unix"},
		{"probe.sock", "unix"},
		{"host:port", "unix"},
	}
	for _, tt := range tests {
		if network, addr := splitAddr(tt.in); network != tt.network || addr != tt.in {
			t.Errorf("%s: %s %s", tt.in, network, addr)
		}
	}
}

// reply encodes a reply of n objects of about 500 bytes, the size of a
// node's ChainDB traces.
func reply(n int) []byte {
	objs := make([]tracer.TraceObject, n)
	for i := range objs {
		objs[i] = object("load-0001", i)
		objs[i].Machine = strings.Replace(objs[i].Machine, `"enqueued":1`, `"enqueued":1,"tip":"`+strings.Repeat("9f3a", 80)+`"`, 1)
	}
	msg := tracer.EncodeReply(objs)
	return msg[:len(msg):len(msg)] // not a pooled size: ReleaseMessage leaves it alone
}

// The probe decodes each reply in place, as Muninn does: the objects'
// text aliases the message, which it releases only once they are written.
func TestDecodeBatchAliasesMessage(t *testing.T) {
	t.Parallel()
	msg := reply(3)
	batch, err := decodeBatch(msg, 100)
	if err != nil || len(batch) != 3 {
		t.Fatalf("decodeBatch: %d objects, %v", len(batch), err)
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
	for i, o := range batch {
		p := uintptr(unsafe.Pointer(unsafe.StringData(o.Machine)))
		if p < base || p+uintptr(len(o.Machine)) > base+uintptr(len(msg)) {
			t.Errorf("object %d: toMachine is a copy, not the message's bytes", i)
		}
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	p := &probe{o: options{requestNum: 100}}
	n, written, err := p.handle(msg, w)
	if err != nil || n != 3 || written != out.Len() {
		t.Fatalf("handle: %d objects, %d bytes, %v; %d bytes out", n, written, err, out.Len())
	}
	for i, line := range strings.SplitAfter(out.String(), "\n")[:3] {
		if want := batch[i].Machine + "\n"; line != want {
			t.Errorf("line %d: %q, want %q", i+1, line, want)
		}
	}
}

// A reply that is empty, holds more objects than asked for, or is not a
// well-formed reply ends the connection with a decode error, and nothing
// is written.
func TestDecodeBatchRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", tracer.EncodeReply(nil)},
		{"too many", reply(3)},
		{"truncated", reply(2)[:100]},
		{"not a reply", tracer.EncodeRequest(tracer.Request{Blocking: true, Count: 2})},
		{"not CBOR", []byte{0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p := &probe{o: options{requestNum: 2}}
			n, written, err := p.handle(tt.msg, bufio.NewWriter(&out))
			if !errors.Is(err, muxproto.ErrDecode) || n != 0 || written != 0 || out.Len() != 0 {
				t.Errorf("handle: %d objects, %d bytes, %v; %d bytes out", n, written, err, out.Len())
			}
		})
	}
}

// BenchmarkHandle measures the probe's work per reply of 100 objects of
// about 500 bytes: decode, check, write, flush and release.
func BenchmarkHandle(b *testing.B) {
	msg := reply(100)
	w := bufio.NewWriterSize(io.Discard, writeBuffer)
	p := &probe{o: options{requestNum: 100}}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if n, _, err := p.handle(msg, w); err != nil || n != 100 {
			b.Fatalf("handle: %d objects, %v", n, err)
		}
	}
}
