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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// kind is the acceptor under test.
type kind string

const (
	probeKind  kind = "probe"
	muninnKind kind = "muninn"
)

// server is one acceptor process, started fresh for one run.
type server struct {
	kind    kind
	dir     string // the run's work directory
	logRoot string // where its trace files go
	sock    string // the unix socket the nodes dial
	http    string // muninn: host:port of the Prometheus server
	cmd     *exec.Cmd
	stderr  *bytes.Buffer
	exited  chan struct{} // closed when the process has ended
	waitErr error         // set before exited is closed
}

// startServer starts the acceptor of kind k in a fresh directory under
// base and waits until it accepts connections.
func startServer(ctx context.Context, k kind, bins binaries, base string, loRequestNum int) (*server, error) {
	dir, err := os.MkdirTemp(base, string(k)+"-")
	if err != nil {
		return nil, err
	}
	s := &server{kind: k, dir: dir, logRoot: filepath.Join(dir, "logs"), sock: filepath.Join(dir, "accept.sock"),
		stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	if err := os.Mkdir(s.logRoot, 0o755); err != nil {
		return nil, err
	}
	var ready func() bool
	switch k {
	case probeKind:
		s.cmd = exec.Command(bins.probe, "--listen", s.sock, "--dir", s.logRoot,
			"--request-num", strconv.Itoa(loRequestNum))
	case muninnKind:
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.http = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cfg := filepath.Join(dir, "config.yaml")
		// Production-shaped: rotation and pruning on (10 MiB files, the
		// newest 4 kept once older than a minute, so a long run's disk use
		// stays bounded; the tailer reads a file while it is written),
		// Prometheus on, EKG polled every second, cardano-tracer's default
		// loRequestNum.
		text := fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
rotation: {rpFrequencySecs: 10, rpLogLimitBytes: 10485760, rpKeepFilesNum: 3, rpMaxAgeMinutes: 1}
hasPrometheus: {epHost: 127.0.0.1, epPort: %d}
ekgRequestFreq: 1
loRequestNum: %d
`, s.sock, s.logRoot, port, loRequestNum)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			return nil, err
		}
		s.cmd = exec.Command(bins.muninn, "--config", cfg)
		ready = func() bool {
			resp, err := http.Get("http://" + s.http + "/")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
	}
	if bins.cpus != "" {
		// taskset execs the acceptor, so the pid stays the acceptor's.
		args := append([]string{"-c", bins.cpus, s.cmd.Path}, s.cmd.Args[1:]...)
		s.cmd = exec.Command("taskset", args...)
	}
	s.cmd.Dir = dir
	s.cmd.Env = acceptorEnv(os.Environ())
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", k, err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			if !signalled && k == probeKind && strings.Contains(sc.Text(), `"listening"`) {
				signalled = true
				close(listening)
			}
		}
		if _, err := io.Copy(io.Discard, out); err != nil && !errors.Is(err, os.ErrClosed) {
			return
		}
	}()
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready != nil && fileExists(s.sock) && ready() {
			return s, nil
		}
		select {
		case <-listening:
			listening = nil
			if ready == nil {
				return s, nil
			}
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before it was ready: %v: %s", k, s.waitErr, tail(s.stderr.String()))
		case <-deadline.C:
			s.stop()
			return nil, fmt.Errorf("%s not ready after 30 s: %s", k, tail(s.stderr.String()))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// stop ends the process with SIGTERM (SIGKILL after 30 s) and waits.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		<-s.exited
		return fmt.Errorf("%s did not stop within 30 s of SIGTERM", s.kind)
	}
	if s.waitErr != nil {
		return fmt.Errorf("%s: %w: %s", s.kind, s.waitErr, tail(s.stderr.String()))
	}
	return nil
}

// remove deletes the run's directory: a saturated run writes gigabytes.
func (s *server) remove() error { return os.RemoveAll(s.dir) }

// procStats is what /proc says of a process at one moment.
type procStats struct {
	At         time.Time
	CPU        time.Duration // user + system
	RSS        uint64        // bytes
	PeakRSS    uint64        // bytes (VmHWM)
	OpenFDs    int
	Threads    int
	Goroutines int // muninn only, and only where read (withGoroutines): go_goroutines from /metrics; -1 when unknown
}

func (s *server) stats() (procStats, error) {
	pid := s.cmd.Process.Pid
	st := procStats{At: time.Now(), Goroutines: -1}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) may hold spaces; fields are counted
	// after its closing parenthesis.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stm, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return st, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	st.CPU = time.Duration(ut+stm) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			st.RSS = n << 10
		case "VmHWM":
			st.PeakRSS = n << 10
		case "Threads":
			st.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return st, err
	}
	st.OpenFDs = len(fds)
	return st, nil
}

// withGoroutines adds go_goroutines to st (muninn only). It renders
// Muninn's whole /metrics, which takes a while with many nodes and
// metrics and leaves buffers behind: read it after a window's figures,
// never between them.
func (s *server) withGoroutines(st procStats) procStats {
	if s.kind == muninnKind {
		if g, err := s.goroutines(); err == nil {
			st.Goroutines = g
		}
	}
	return st
}

// goroutines reads go_goroutines from muninn's /metrics.
func (s *server) goroutines() (int, error) {
	resp, err := http.Get("http://" + s.http + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no go_goroutines in /metrics")
}

// nodeRoutes returns muninn's "/" list: node name → route.
func (s *server) nodeRoutes() (map[string]string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.http+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode /: %w", err)
	}
	return m, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// cpuTicks is one CPU's steal time and total time in clock ticks.
type cpuTicks struct{ steal, total uint64 }

// allCPUs is the key of the machine's summed line in readCPUTicks' map.
const allCPUs = -1

// readCPUTicks returns each CPU's ticks from /proc/stat (key n for cpun,
// allCPUs for the sum), or nil where there is none. Steal is time a
// virtual CPU was ready but the hypervisor ran something else: on a
// shared machine it is the noise in every figure, and a stall of it
// longer than a node's queue lasts is a discard no acceptor can prevent.
func readCPUTicks() map[int]cpuTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	out := map[int]cpuTicks{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		key := allCPUs
		if f[0] != "cpu" {
			if key, err = strconv.Atoi(f[0][3:]); err != nil {
				continue
			}
		}
		// user nice system idle iowait irq softirq steal; the guest fields
		// after them are already counted in user and nice.
		var t cpuTicks
		for i, v := range f[1:9] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil
			}
			t.total += n
			if i == 7 {
				t.steal = n
			}
		}
		out[key] = t
	}
	return out
}

// stealPct is the share of the CPUs' time between a and b that the
// hypervisor took, in per cent: of the CPUs in cpus, or of the machine
// when cpus is empty.
func stealPct(a, b map[int]cpuTicks, cpus []int) float64 {
	if len(cpus) == 0 {
		cpus = []int{allCPUs}
	}
	var steal, total uint64
	for _, c := range cpus {
		x, y := a[c], b[c]
		if y.total <= x.total || y.steal < x.steal {
			continue
		}
		steal += y.steal - x.steal
		total += y.total - x.total
	}
	if total == 0 {
		return 0
	}
	return 100 * float64(steal) / float64(total)
}

// cpuSplit returns the CPUs of a taskset list (such as "1", "2-3" or
// "0,2-3") and the machine's other CPUs: the acceptor's and the rig's.
// Both are empty when list is empty (nothing pinned).
func cpuSplit(list string, all map[int]cpuTicks) (acceptor, rig []int, err error) {
	if list == "" {
		return nil, nil, nil
	}
	in := map[int]bool{}
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err := errors.Join(err1, err2); err != nil || b < a {
			return nil, nil, fmt.Errorf("CPU list %q: bad part %q", list, part)
		}
		for c := a; c <= b; c++ {
			in[c] = true
			acceptor = append(acceptor, c)
		}
	}
	for c := range all {
		if c != allCPUs && !in[c] {
			rig = append(rig, c)
		}
	}
	slices.Sort(rig)
	return acceptor, rig, nil
}

// acceptorEnv is the environment an acceptor is started with: the rig's,
// without the garbage collector's settings. GOGC and GOMEMLIMIT tune the
// rig (see loadgen.RigGC); passed on, they would also replace Muninn's
// own collector policy, which follows its live heap, with a fixed one,
// and the suite would measure something other than what operators run.
func acceptorEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
