package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return ""
	}
	return string(b)
}

// TestSIGHUPReload: prometheusLabels and rotation follow a reload while
// the node stays connected; an invalid edit keeps the running
// configuration and says so.
func TestSIGHUPReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	root := filepath.Join(dir, "logs")
	port := strconv.Itoa(freePort(t))
	cfg := func(env string, limit int) string {
		return fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
hasPrometheus: {epHost: 127.0.0.1, epPort: %s}
prometheusLabels: {environment: %s}
rotation: {rpLogLimitBytes: %d, rpKeepFilesNum: 100, rpFrequencySecs: 1, rpMaxAgeHours: 24}
`, sock, root, port, env, limit)
	}
	m := startMuninn(t, dir, cfg("before", 1<<30))
	fwd := exec.Command(bin.forwarder, "--connect", sock, "--name", "steady", "--rate", "400", "--queue-size", "100000")
	out, err := os.Create(filepath.Join(dir, "fwd.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	fwd.Stdout = out
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	targets := "http://127.0.0.1:" + port + "/targets"
	waitFor(t, "the node in /targets", func() bool { return strings.Contains(httpGet(t, targets), `"environment":"before"`) })

	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg("after", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	m.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the new label in /targets", func() bool { return strings.Contains(httpGet(t, targets), `"environment":"after"`) })
	waitFor(t, "rotation at the new limit", func() bool {
		files, _ := filepath.Glob(filepath.Join(root, "steady", "node-*.json"))
		return len(files) >= 2
	})
	m.waitLog(func(r record) bool { return r["msg"] == "configuration reloaded" })

	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("networkMagic: [broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.cmd.Process.Signal(syscall.SIGHUP)
	m.waitLog(func(r record) bool { return strings.HasPrefix(fmt.Sprint(r["msg"]), "configuration reload rejected") })
	metrics := httpGet(t, "http://127.0.0.1:"+port+"/metrics")
	if !strings.Contains(metrics, "muninn_config_last_reload_successful 0\n") {
		t.Errorf("/metrics after a rejected reload lacks muninn_config_last_reload_successful 0")
	}
	if !strings.Contains(httpGet(t, targets), `"environment":"after"`) {
		t.Error("the running configuration was not kept after a rejected reload")
	}

	fwd.Process.Signal(syscall.SIGTERM)
	if err := fwd.Wait(); err != nil {
		t.Fatalf("forwarder: %v", err)
	}
	m.stop()
	b, err := os.ReadFile(filepath.Join(dir, "fwd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s forwarderSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Connections != 1 {
		t.Errorf("the node connected %d times: a reload dropped its connection", s.Connections)
	}
	got := seqs(t, filepath.Join(root, "steady"), "json")
	exactlyOnce(t, "across reloads", got, len(got))
}
