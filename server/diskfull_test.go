package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"muninn/logging"
	"muninn/tracer"
)

// mountTmpfs mounts a tmpfs of the given size at dir, or skips the test
// (saying why) where that is not possible.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test needs root to mount a size-limited tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// TestDiskFull: when the log disk fills up, Muninn stops taking traces from
// the node (its queue holds them), keeps retrying, and once there is room
// again writes every object exactly once. A second logging entry on a
// healthy disk keeps every batch taken from the node meanwhile.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "logs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, root, "128k")
	healthy := filepath.Join(base, "healthy")
	logs, err := logging.New(logging.Config{
		Entries: []logging.Entry{
			{Root: root, Mode: logging.FileMode, Format: logging.ForMachine},
			{Root: healthy, Mode: logging.FileMode, Format: logging.ForMachine},
		},
		Log:      slog.New(slog.DiscardHandler),
		RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	sock := filepath.Join(base, "m.sock")
	srv, err := New(Options{NetworkMagic: magic, AcceptAt: []Endpoint{{Net: "unix", Addr: sock}}, Logs: logs,
		Log: slog.New(slog.DiscardHandler), EKGPeriod: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	}()

	const total = 2000 // about 300 KB of lines: more than the disk holds
	node := newNode("full", 0)
	node.Traces = tracer.NewQueue(total)
	for i := range total {
		obj := tracer.TraceObject{Machine: `{"node":"full","seq":` + itoa(i) + `,"pad":"` + strings.Repeat("p", 100) + `"}`,
			Namespace: []string{"Test.Seq"}, Hostname: "h", ThreadID: "1"}
		node.Traces.Put(&obj)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, node, conn, true)

	// The disk fills; Muninn stops asking, so the node's queue stops
	// draining with objects still in it.
	var stalled int
	waitFor(t, "the writer to stall on the full disk", func() bool {
		before := node.Traces.Len()
		// The property is the absence of progress, which takes an interval
		// to observe; the poll around it still ends on the condition.
		time.Sleep(300 * time.Millisecond)
		stalled = node.Traces.Len()
		return stalled > 0 && stalled == before
	})
	// The healthy entry holds every batch the writer took, including the
	// one the full disk refuses.
	full, kept := completeLines(t, filepath.Join(root, "full")), lines(t, filepath.Join(healthy, "full"), "json")
	if len(kept) <= full || len(kept) > total-stalled {
		t.Errorf("healthy entry holds %d lines, the full one %d, %d taken from the node: want more than the full one", len(kept), full, total-stalled)
	}
	// Metrics keep being served while the disk is full.
	web := srv.NewHTTP(PrometheusConfig{})
	for _, path := range []string{"/", "/full", "/metrics"} {
		rec := httptest.NewRecorder()
		web.PrometheusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK || (path == "/" && !strings.Contains(rec.Body.String(), `"full"`)) {
			t.Fatalf("GET %s during the disk fault: %d %.200s", path, rec.Code, rec.Body.String())
		}
	}
	if out, err := exec.Command("mount", "-o", "remount,size=16m", root).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	for _, dir := range []string{filepath.Join(root, "full"), filepath.Join(healthy, "full")} {
		waitFor(t, "every object after the disk had room again", func() bool { return len(lines(t, dir, "json")) >= total })
		got := lines(t, dir, "json")
		if len(got) != total {
			t.Fatalf("%s: %d lines, want %d", dir, len(got), total)
		}
		for i, l := range got {
			if !strings.Contains(l, `"seq":`+itoa(i)+`,`) {
				t.Fatalf("%s: line %d is %.60q: lost, duplicated or out of order", dir, i, l)
			}
		}
	}
	t.Logf("the node still held %d of %d objects while the disk was full", stalled, total)
}

func itoa(i int) string { return strconv.Itoa(i) }

// completeLines counts the newline-terminated lines in dir's .json files.
func completeLines(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "node-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), "\n")
	}
	return n
}
