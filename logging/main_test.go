package logging

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"muninn/tracer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is a settable clock; with step > 0 every reading advances it.
type testClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock(s string) *testClock {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err) // constant input
	}
	return &testClock{t: t}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects diagnostic output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// count counts log records whose message is msg.
func (l *logBuffer) count(msg string) int {
	return strings.Count(l.String(), "msg=\""+msg+"\"")
}

func newWriter(t testing.TB, cfg Config) *Writer {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Writer.Close: %v", err)
		}
	})
	return w
}

func openNode(t testing.TB, w *Writer, dir string) *NodeLog {
	t.Helper()
	n, err := w.Open(Node{Name: dir, Dir: dir})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("NodeLog.Close: %v", err)
		}
	})
	return n
}

func write(t testing.TB, n *NodeLog, batch ...tracer.TraceObject) {
	t.Helper()
	if err := n.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// logFiles lists the log files of ext in dir, oldest first.
func logFiles(t testing.TB, dir, ext string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	var names []string
	for _, e := range ents {
		if _, ok := parseLogName(e.Name(), ext); ok {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	return string(b)
}

// checkLink checks that node.<ext> in dir is an absolute symlink to name.
func checkLink(t testing.TB, dir, ext, name string) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, linkName(ext)))
	if err != nil {
		t.Fatalf("Readlink: %v", err)
	}
	if want := filepath.Join(dir, name); target != want || !filepath.IsAbs(target) {
		t.Errorf("node.%s -> %q, want %q", ext, target, want)
	}
}

// The test vectors of the tracer package (T13, T14).
const (
	t13Machine = `{"at":"2024-01-01T00:00:00.123456789Z","ns":"ChainDB.AddBlockEvent.AddedToCurrentChain","data":{"kind":"AddedToCurrentChain"},"sev":"Notice","thread":"42","host":"relay-1"}`
	t14Machine = `{"at":"2024-01-01T00:00:01Z","ns":"Node.Demo","data":{"kind":"Demo"},"sev":"Info","thread":"7","host":"relay-1"}`
)

func t13Object() tracer.TraceObject {
	return tracer.TraceObject{
		Human: "Chain extended, new tip: 0a1b2c", HasHuman: true,
		Machine:   t13Machine,
		Namespace: []string{"ChainDB.AddBlockEvent.AddedToCurrentChain"},
		Severity:  tracer.Notice, Detail: tracer.DNormal,
		Timestamp: tracer.UTCTime{Sec: 1704067200, Pico: 123456789000},
		Hostname:  "relay-1", ThreadID: "42",
	}
}

func t14Object() tracer.TraceObject {
	return tracer.TraceObject{
		Machine:   t14Machine,
		Namespace: []string{"Node.Demo"},
		Severity:  tracer.Info, Detail: tracer.DMinimal,
		Timestamp: tracer.UTCTime{Sec: 1704067201},
		Hostname:  "relay-1", ThreadID: "7",
	}
}

// multiLineObject has a toHuman spanning three lines.
func multiLineObject() tracer.TraceObject {
	return tracer.TraceObject{
		Human:     "Peer selection counters:\n  hot 2\n  warm 5",
		HasHuman:  true,
		Machine:   `{"at":"2024-01-01T00:00:02.5Z","ns":"Net.PeerSelection.Counters","data":{"hot":2,"warm":5},"sev":"Info","thread":"55","host":"relay-1"}`,
		Namespace: []string{"Net", "PeerSelection", "Counters"},
		Severity:  tracer.Info,
		Timestamp: tracer.UTCTime{Sec: 1704067202, Pico: 500000000000},
		Hostname:  "relay-1", ThreadID: "ThreadId 55",
	}
}
