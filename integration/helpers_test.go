package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	pollEvery    = 200 * time.Millisecond // how often a condition is checked
	phaseTimeout = 60 * time.Second       // how long one condition may take to hold
	stopGrace    = 10 * time.Second       // SIGTERM to SIGKILL
	tailBytes    = 4000                   // how much of a log a failure prints
)

// proc is a child process whose output goes to a file.
type proc struct {
	name string
	log  string
	tail int64 // bytes of log printed on failure
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed
}

// logSet remembers every child's log so that a failure can show them.
type logSet struct{ procs []*proc }

// watchLogs returns the set of logs to print when t fails. Call it
// before starting anything: cleanups run last-in first-out, so the logs
// are printed after every child has stopped and flushed.
func watchLogs(t *testing.T) *logSet {
	ls := &logSet{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range ls.procs {
			t.Logf("---- last %d bytes of %s (%s) ----\n%s", p.tail, p.name, p.log, tail(p.log, p.tail))
		}
	})
	return ls
}

func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	if st.Size() > n {
		if _, err := f.Seek(-n, io.SeekEnd); err != nil {
			return err.Error()
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// start runs bin with args in dir, stdout and stderr to logPath, and
// stops it (SIGTERM, then SIGKILL after stopGrace) when t ends.
func (ls *logSet) start(t *testing.T, name, logPath, dir, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	p := &proc{name: name, log: logPath, tail: tailBytes, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = f
	p.cmd.Stderr = f
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	ls.procs = append(ls.procs, p)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

func (p *proc) stop() {
	if ok, _ := p.exited(); ok {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only if it has just exited
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// errPermanent marks a condition that waiting cannot fix.
type errPermanent struct{ error }

// eventually calls check every pollEvery until it returns nil, and fails
// the test with check's last error if that takes longer than timeout,
// if check returns an errPermanent, or if one of the watched processes
// exits.
func eventually(t *testing.T, what string, timeout time.Duration, watch []*proc, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		var perm errPermanent
		if errors.As(err, &perm) {
			t.Fatalf("%s: %v", what, err)
		}
		for _, p := range watch {
			if ok, werr := p.exited(); ok {
				t.Fatalf("%s: %s exited (%v) while waiting; last state: %v", what, p.name, werr, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state: %v", what, timeout, err)
		}
		time.Sleep(pollEvery) // polling a condition, bounded by the deadline
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// socketPath returns a Unix socket path in dir, or in a shorter
// temporary directory when dir is too long for sun_path.
func socketPath(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "muninn.sock")
	if len(p) < 100 {
		return p
	}
	short, err := os.MkdirTemp("", "mn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	return filepath.Join(short, "muninn.sock")
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// httpGet fetches u with the given Accept header ("" sends none).
func httpGet(u, accept string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, resp.Header, b, err
}

// promAPI is a client for Prometheus's HTTP API.
type promAPI struct{ base string }

// get decodes the data of a successful API reply into out. A reply with
// status "error" and errorType "bad_data" (e.g. a PromQL syntax error)
// is permanent.
func (c promAPI) get(path string, q url.Values, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	code, _, body, err := httpGet(u, "application/json")
	if err != nil {
		return err
	}
	var r struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: HTTP %d, undecodable reply %.200q: %v", path, code, body, err)
	}
	if r.Status != "success" {
		err := fmt.Errorf("GET %s: HTTP %d, %s: %s", u, code, r.ErrorType, r.Error)
		if r.ErrorType == "bad_data" {
			return errPermanent{err}
		}
		return err
	}
	return json.Unmarshal(r.Data, out)
}

// apiTarget is one entry of /api/v1/targets.
type apiTarget struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Labels           map[string]string `json:"labels"`
	ScrapePool       string            `json:"scrapePool"`
	ScrapeURL        string            `json:"scrapeUrl"`
	LastError        string            `json:"lastError"`
	Health           string            `json:"health"`
}

func (c promAPI) targets(pool string) ([]apiTarget, error) {
	var d struct {
		Active []apiTarget `json:"activeTargets"`
	}
	if err := c.get("/api/v1/targets", url.Values{"state": {"active"}}, &d); err != nil {
		return nil, err
	}
	var out []apiTarget
	for _, tg := range d.Active {
		if tg.ScrapePool == pool {
			out = append(out, tg)
		}
	}
	return out, nil
}

func describeTargets(ts []apiTarget) string {
	if len(ts) == 0 {
		return "no targets"
	}
	var b strings.Builder
	for _, tg := range ts {
		fmt.Fprintf(&b, "\n  %s node_name=%q instance=%q health=%s lastError=%q", tg.ScrapeURL,
			tg.Labels["node_name"], tg.Labels["instance"], tg.Health, tg.LastError)
	}
	return b.String()
}

// series is one element of an instant vector.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s series) value() string {
	v, _ := s.Value[1].(string)
	return v
}

// query runs an instant query. A scalar or string result is returned as
// one series without labels.
func (c promAPI) query(expr string) ([]series, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := c.get("/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "vector":
		var out []series
		return out, json.Unmarshal(d.Result, &out)
	case "scalar", "string":
		var v [2]any
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, err
		}
		return []series{{Metric: map[string]string{}, Value: v}}, nil
	}
	return nil, errPermanent{fmt.Errorf("query %q: result type %q, want an instant vector", expr, d.ResultType)}
}

// labelValues is what Grafana's label_values(match, label) shows.
func (c promAPI) labelValues(label, match string) ([]string, error) {
	var out []string
	err := c.get("/api/v1/label/"+url.PathEscape(label)+"/values", url.Values{"match[]": {match}}, &out)
	return out, err
}

func nodeNamesOf(ss []series) map[string]bool {
	out := map[string]bool{}
	for _, s := range ss {
		if n, ok := s.Metric["node_name"]; ok {
			out[n] = true
		}
	}
	return out
}

// missing lists the names in want that have is lacks.
func missing(want []string, have map[string]bool) []string {
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}
