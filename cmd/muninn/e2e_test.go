package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real binaries: muninn, and
// muninn-forwarder playing cardano-nodes. They check correctness (every
// object on disk exactly once, across rotation, SIGTERM and restart), so
// the simulated nodes get queues large enough that the node's own
// discard-on-overflow cannot mask a fault; how much load Muninn takes
// without node-side discards is measured by the load tools, not here.

var bin struct{ muninn, forwarder string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "muninn-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.muninn = filepath.Join(dir, "muninn")
	bin.forwarder = filepath.Join(dir, "muninn-forwarder")
	for out, pkg := range map[string]string{bin.muninn: ".", bin.forwarder: "../muninn-forwarder"} {
		cmd := exec.Command("go", "build", "-race", "-o", out, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor polls cond until it holds or 60 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

type muninn struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	stdout string
	exited chan error
}

// startMuninn writes cfg into a fresh directory and runs muninn there.
func startMuninn(t *testing.T, dir, cfg string) *muninn {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &muninn{t: t, dir: dir, stdout: filepath.Join(dir, fmt.Sprintf("stdout-%d.json", time.Now().UnixNano())), exited: make(chan error, 1)}
	out, err := os.Create(m.stdout)
	if err != nil {
		t.Fatal(err)
	}
	banner, err := os.Create(m.stdout + ".stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer banner.Close()
	m.cmd = exec.Command(bin.muninn, "--config", path)
	m.cmd.Dir = dir
	m.cmd.Stdout = out
	m.cmd.Stderr = banner
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	go func() { m.exited <- m.cmd.Wait() }()
	t.Cleanup(func() {
		if m.cmd.ProcessState == nil {
			m.cmd.Process.Kill()
			<-m.exited
		}
	})
	m.waitLog(func(r record) bool { return r["msg"] == "started" })
	return m
}

type record map[string]any

func (m *muninn) records() []record {
	b, err := os.ReadFile(m.stdout)
	if err != nil {
		m.t.Fatal(err)
	}
	var out []record
	for _, line := range bytes.Split(b, []byte("\n")) {
		var r record
		if json.Unmarshal(line, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func (m *muninn) waitLog(match func(record) bool) record {
	m.t.Helper()
	var found record
	waitFor(m.t, "a log record", func() bool {
		select {
		case err := <-m.exited:
			m.t.Fatalf("muninn exited early: %v", err)
		default:
		}
		for _, r := range m.records() {
			if match(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// stop sends SIGTERM and checks for a clean exit.
func (m *muninn) stop() {
	m.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		m.t.Fatal(err)
	}
	if err := <-m.exited; err != nil {
		m.t.Fatalf("muninn exit: %v", err)
	}
}

// checkSessions: for every finished session, every object received was
// written.
func (m *muninn) checkSessions() (received uint64) {
	m.t.Helper()
	for _, r := range m.records() {
		if r["msg"] != "disconnected" {
			continue
		}
		rcv, wr := r["received"].(float64), r["count"].(float64)
		if rcv != wr {
			m.t.Errorf("session %v received %v objects and wrote %v", r["node"], rcv, wr)
		}
		received += uint64(rcv)
	}
	return received
}

type forwarderSummary struct {
	Name        string
	Produced    uint64
	Discarded   uint64
	Queued      int
	Connections int
	LastError   string
}

// forward runs muninn-forwarder to completion with args.
func forward(t *testing.T, args ...string) forwarderSummary {
	t.Helper()
	cmd := exec.Command(bin.forwarder, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("forwarder %v: %v\n%s", args, err, stderr.String())
	}
	var s forwarderSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("forwarder summary %q: %v", stdout.String(), err)
	}
	return s
}

var seqRE = regexp.MustCompile(`"seq":(\d+),`)

// linesSoFar counts the complete lines in dir's node-*.ext files while
// Muninn may still be writing them: a reader can see a write in progress
// (the file grown by part of a batch), so the strict checks of seqs are
// for files at rest.
func linesSoFar(t *testing.T, dir, ext string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "node-*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// seqs reads every ForMachine line under dir (all rotated files) and
// returns the sequence numbers in file order.
func seqs(t *testing.T, dir, ext string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "node-*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' || bytes.HasPrefix(b, []byte("\n")) {
			t.Errorf("%s: lines must end with a newline and the file must not start with an empty line", f)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if ext == "log" && !strings.HasPrefix(line, "{") {
				continue // human text: no sequence number
			}
			m := seqRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: line without a sequence number: %q", f, line)
			}
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
	}
	return out
}

// exactlyOnce checks that got holds 0..n-1, each once, in order.
func exactlyOnce(t *testing.T, what string, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d objects, want %d", what, len(got), n)
	}
	for i, s := range got {
		if s != i {
			t.Fatalf("%s: object %d has sequence number %d", what, i, s)
		}
	}
}

func TestSeveralNodesBothTransportsBothFormats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := filepath.Join(dir, network+".sock")
			if network == "tcp" {
				addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
			}
			root := filepath.Join(dir, network+"-logs")
			m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging:
  - {logRoot: %q, logMode: FileMode, logFormat: ForMachine}
  - {logRoot: %q, logMode: FileMode, logFormat: ForHuman}
`, addr, root, root))
			names := []string{"relay-1", "relay-2", "bp-1"}
			done := make(chan forwarderSummary, len(names))
			for _, name := range names {
				go func() {
					done <- forward(t, "--connect", addr, "--name", name, "--rate", "3000", "--count", "3000", "--queue-size", "10000")
				}()
			}
			for range names {
				if s := <-done; s.Discarded != 0 || s.Produced != 3000 {
					t.Fatalf("forwarder %+v", s)
				}
			}
			m.stop()
			for _, name := range names {
				exactlyOnce(t, name+" ForMachine", seqs(t, filepath.Join(root, name), "json"), 3000)
				if n := len(seqs(t, filepath.Join(root, name), "log")); n == 0 || n >= 3000 {
					t.Errorf("%s ForHuman: %d JSON lines among the human ones", name, n)
				}
			}
			m.checkSessions()
		})
	}
}

func TestConnectTo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "node.sock")
	port := strconv.Itoa(freePort(t))
	done := make(chan forwarderSummary, 2)
	// The nodes produce before Muninn dials them; a queue that holds
	// everything keeps them from discarding (node semantics) meanwhile.
	go func() {
		done <- forward(t, "--listen", sock, "--name", "unix-node", "--rate", "2000", "--count", "2000", "--queue-size", "5000")
	}()
	go func() {
		done <- forward(t, "--listen", "127.0.0.1:"+port, "--name", "tcp-node", "--rate", "2000", "--count", "2000", "--queue-size", "5000")
	}()
	root := filepath.Join(dir, "logs")
	m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: ConnectTo, contents: [%q, "127.0.0.1:%s"]}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, sock, port, root))
	for range 2 {
		if s := <-done; s.Discarded != 0 {
			t.Fatalf("forwarder %+v", s)
		}
	}
	m.stop()
	exactlyOnce(t, "unix-node", seqs(t, filepath.Join(root, "unix-node"), "json"), 2000)
	exactlyOnce(t, "tcp-node", seqs(t, filepath.Join(root, "tcp-node"), "json"), 2000)
}

func TestRotationUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
rotation: {rpLogLimitBytes: 100000, rpKeepFilesNum: 100, rpFrequencySecs: 1, rpMaxAgeHours: 24}
`, sock, root))
	s := forward(t, "--connect", sock, "--name", "rotating", "--rate", "2500", "--count", "10000", "--queue-size", "20000")
	if s.Discarded != 0 {
		t.Fatalf("forwarder %+v", s)
	}
	m.stop()
	nodeDir := filepath.Join(root, "rotating")
	exactlyOnce(t, "across rotations", seqs(t, nodeDir, "json"), 10000)
	files, _ := filepath.Glob(filepath.Join(nodeDir, "node-*.json"))
	sort.Strings(files)
	if len(files) < 3 {
		t.Fatalf("%d files: no rotation under load", len(files))
	}
	target, err := os.Readlink(filepath.Join(nodeDir, "node.json"))
	if err != nil || target != files[len(files)-1] || !filepath.IsAbs(target) {
		t.Fatalf("node.json -> %q (%v), want the newest file %s", target, err, files[len(files)-1])
	}
}

func TestHostileNameStaysInsideLogRoot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "a", "b", "logs")
	m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, sock, root))
	for _, name := range []string{"../../etc/x", "/", "..", strings.Repeat("n", 5000)} {
		forward(t, "--connect", sock, "--name", name, "--rate", "1000", "--count", "10")
	}
	m.stop()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), "node-") && !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Errorf("log file outside logRoot: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 4 {
		t.Errorf("%d node directories, want 4", len(entries))
	}
}

// TestSIGTERMMidStream: nodes keep sending while muninn is stopped;
// everything muninn received is on disk.
func TestSIGTERMMidStream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, sock, root))
	fwd := exec.Command(bin.forwarder, "--connect", sock, "--name", "busy", "--rate", "5000", "--queue-size", "1000000", "--max-reconnect-delay", "1s")
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fwd.Process.Signal(syscall.SIGTERM); fwd.Wait() }()
	waitFor(t, "objects on disk", func() bool { return linesSoFar(t, filepath.Join(root, "busy"), "json") > 2000 })
	m.stop()
	received := m.checkSessions()
	got := seqs(t, filepath.Join(root, "busy"), "json")
	exactlyOnce(t, "after SIGTERM", got, len(got))
	if uint64(len(got)) != received || received == 0 {
		t.Fatalf("%d objects on disk, %d received", len(got), received)
	}
}

// TestRestartWhileNodesReconnect: muninn is stopped and started again
// while a node keeps producing and reconnecting; across both runs every
// object is on disk exactly once.
func TestRestartWhileNodesReconnect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	cfg := fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, sock, root)
	m := startMuninn(t, dir, cfg)
	done := make(chan forwarderSummary, 1)
	const total = 6000
	go func() {
		done <- forward(t, "--connect", sock, "--name", "steady", "--rate", "1500", "--count", strconv.Itoa(total),
			"--queue-size", "100000", "--max-reconnect-delay", "1s")
	}()
	waitFor(t, "objects on disk", func() bool { return linesSoFar(t, filepath.Join(root, "steady"), "json") > 1000 })
	m.stop()
	m.checkSessions()
	m2 := startMuninn(t, dir, cfg)
	s := <-done
	m2.stop()
	m2.checkSessions()
	if s.Discarded != 0 || s.Connections < 2 {
		t.Fatalf("forwarder %+v", s)
	}
	exactlyOnce(t, "across a restart", seqs(t, filepath.Join(root, "steady"), "json"), total)
}

func TestBuiltInConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(bin.muninn)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "muninn.sock")
	waitFor(t, "the built-in socket", func() bool { _, err := os.Stat(sock); return err == nil })
	s := forward(t, "--connect", sock, "--name", "first-look", "--rate", "1000", "--count", "50")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if s.Discarded != 0 {
		t.Fatalf("forwarder %+v", s)
	}
	exactlyOnce(t, "built-in config", seqs(t, filepath.Join(dir, "logs", "first-look"), "json"), 50)
	if !strings.Contains(stderr.String(), "listening for nodes on unix "+sock) {
		t.Errorf("banner does not say where it listens:\n%s", stderr.String())
	}
}

func TestBadConfigExitsWithProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte("networkMagic: -1\nnetwork: {tag: Sideways, contents: x}\nlogging: []\n"), 0o644)
	cmd := exec.Command(bin.muninn, "--config", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	for _, want := range []string{path, "networkMagic", "network", "logging"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
