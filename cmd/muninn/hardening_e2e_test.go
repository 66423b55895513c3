package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSIGKILLAndRestart: Muninn is killed mid-stream and started again on
// the same socket path (the dead process leaves its socket file behind).
// The node reconnects; every file stays readable line by line (at most a
// file's last line may be cut), and no object is written twice.
func TestSIGKILLAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	cfg := fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, sock, root)
	m := startMuninn(t, dir, cfg)
	fwd := exec.Command(bin.forwarder, "--connect", sock, "--name", "survivor", "--rate", "3000",
		"--count", "12000", "--queue-size", "1000000", "--max-reconnect-delay", "1s")
	var out bytes.Buffer
	fwd.Stdout = &out
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	nodeDir := filepath.Join(root, "survivor")
	waitFor(t, "objects on disk", func() bool { return countLines(t, nodeDir) > 2000 })
	if err := m.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-m.exited
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("expected the killed process to leave its socket behind: %v", err)
	}
	m2 := startMuninn(t, dir, cfg) // must remove the stale socket and listen
	if err := fwd.Wait(); err != nil {
		t.Fatalf("forwarder: %v", err)
	}
	m2.stop()
	var s forwarderSummary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Connections < 2 {
		t.Fatalf("the node did not reconnect: %+v", s)
	}

	seen := map[int]bool{}
	files, _ := filepath.Glob(filepath.Join(nodeDir, "node-*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		for i, line := range lines {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				if i == len(lines)-1 {
					continue // the last line of a file written when the process died may be cut
				}
				t.Fatalf("%s line %d is damaged: %q", f, i+1, line)
			}
			n := int(v["data"].(map[string]any)["seq"].(float64))
			if seen[n] {
				t.Fatalf("object %d written twice", n)
			}
			seen[n] = true
		}
	}
	// What the killed process had received but not written is lost (the
	// node gave it up); everything the second process received is there.
	received := m2.checkSessions()
	if received == 0 || len(seen) < int(received) {
		t.Fatalf("%d objects on disk; the restarted Muninn received %d", len(seen), received)
	}
}

func countLines(t *testing.T, dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "node-*.json"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// TestHTTPAbuseDoesNotAffectIngestion: slow header writers, oversized
// headers, unknown paths and hundreds of concurrent scrapes while a node
// streams: every trace object still lands exactly once.
func TestHTTPAbuseDoesNotAffectIngestion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	port := strconv.Itoa(freePort(t))
	addr := "127.0.0.1:" + port
	m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
hasPrometheus: {epHost: 127.0.0.1, epPort: %s}
muninnLimits: {httpMaxConcurrentRequests: 16, httpReadHeaderTimeoutSecs: 1}
`, sock, root, port))
	done := make(chan forwarderSummary, 1)
	go func() {
		done <- forward(t, "--connect", sock, "--name", "busy", "--rate", "3000", "--count", "6000", "--queue-size", "100000")
	}()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	// Slow clients: open connections that never finish their headers.
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n")
	}
	// An oversized header. The server answers 431 and closes after its
	// limit, so the answer is read while the rest is still being written:
	// read after the write, it could be lost to the reset that the unread
	// rest provokes.
	if c, err := net.Dial("tcp", addr); err == nil {
		status := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			status <- line
		}()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 1<<20))
		if got := <-status; !strings.Contains(got, "431") {
			t.Errorf("oversized header answered %q, want 431", got)
		}
		c.Close()
	}
	// Hundreds of concurrent scrapes and unknown paths until the node is done.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 300}}
	defer client.CloseIdleConnections()
	for i := range 300 {
		wg.Go(func() {
			path := "/metrics"
			if i%3 == 0 {
				path = "/no-such-node/" + strconv.Itoa(i)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get("http://" + addr + path)
				if err != nil {
					continue
				}
				res.Body.Close()
				mu.Lock()
				codes[res.StatusCode]++
				mu.Unlock()
			}
		})
	}
	s := <-done
	close(stop)
	wg.Wait()
	m.stop()
	if s.Discarded != 0 {
		t.Fatalf("forwarder %+v", s)
	}
	exactlyOnce(t, "under HTTP abuse", seqs(t, filepath.Join(root, "busy"), "json"), 6000)
	if codes[200] == 0 || codes[404] == 0 {
		t.Errorf("scrape results %v: expected successes and 404s", codes)
	}
	t.Logf("HTTP answers during the stream: %v", codes)

}

// TestBrokenStdoutPipe: with its standard output a pipe whose reader has
// gone, Muninn keeps running when it next logs (here, a reload) and stops
// cleanly on SIGTERM, instead of dying of SIGPIPE.
func TestBrokenStdoutPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	cfg := fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
hasPrometheus: {epHost: 127.0.0.1, epPort: %s}
`, filepath.Join(dir, "m.sock"), filepath.Join(dir, "logs"), port)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin.muninn, "--config", path)
	cmd.Stdout, cmd.Stderr = w, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reaped := false // set once exited has been received
	t.Cleanup(func() {
		if !reaped {
			cmd.Process.Kill()
			<-exited
		}
	})
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"msg":"started"`) {
				started <- true
				return
			}
		}
		started <- false
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatal("standard output ended before the start-up line")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no start-up line")
	}
	r.Close() // the reader goes away
	reloads := regexp.MustCompile(`(?m)^muninn_config_reloads_total\{[^}]*\} (\d+)$`)
	for i := range 3 {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP %d: %v", i+1, err)
		}
		// Each reload logs a line into the broken pipe; wait until it is
		// done, or until muninn has died of it.
		waitFor(t, fmt.Sprintf("reload %d", i+1), func() bool {
			select {
			case err := <-exited:
				reaped = true
				t.Fatalf("muninn exited after writing to a broken pipe: %v", err)
			default:
			}
			n := 0
			for _, m := range reloads.FindAllStringSubmatch(httpGet(t, "http://127.0.0.1:"+port+"/metrics"), -1) {
				k, _ := strconv.Atoi(m[1])
				n += k
			}
			return n > i
		})
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		reaped = true
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
