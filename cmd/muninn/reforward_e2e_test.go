package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

var hostRE = regexp.MustCompile(`"host":"([^"]*)"`)

// seqsByHost reads every ForMachine line under dir and groups the sequence
// numbers by the host field (one simulated node per host).
func seqsByHost(t *testing.T, dir string) map[string][]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "node-*.json"))
	out := map[string][]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range regexp.MustCompile("\n").Split(string(b), -1) {
			h, s := hostRE.FindStringSubmatch(line), seqRE.FindStringSubmatch(line)
			if h == nil || s == nil {
				continue
			}
			n, _ := strconv.Atoi(s[1])
			out[h[1]] = append(out[h[1]], n)
		}
	}
	return out
}

// TestReforwardingChain: nodes → Muninn A → Muninn B and Muninn C, which
// both dial A's re-forwarding socket. Every object reaches both, exactly
// once and in order per source node, while A keeps its own files.
func TestReforwardingChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	aSock, rfSock := filepath.Join(dir, "a.sock"), filepath.Join(dir, "reforward.sock")
	roots := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		roots[n] = filepath.Join(dir, n+"-logs")
		os.MkdirAll(filepath.Join(dir, n), 0o755)
	}
	a := startMuninn(t, filepath.Join(dir, "a"), fmt.Sprintf(`networkMagic: 764824073
network: {tag: AcceptAt, contents: %q}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
hasForwarding:
  - {tag: AcceptAt, contents: %q}
  - null
  - {queueSize: 100000}
`, aSock, roots["a"], rfSock))
	var downstream []*muninn
	for _, n := range []string{"b", "c"} {
		m := startMuninn(t, filepath.Join(dir, n), fmt.Sprintf(`networkMagic: 764824073
network: {tag: ConnectTo, contents: [%q]}
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, rfSock, roots[n]))
		m.waitLog(func(r record) bool { return r["msg"] == "node named" })
		downstream = append(downstream, m)
	}
	const each = 2000
	done := make(chan forwarderSummary, 2)
	for _, host := range []string{"h1", "h2"} {
		go func() {
			done <- forward(t, "--connect", aSock, "--name", "node-"+host, "--host", host, "--rate", "2000",
				"--count", strconv.Itoa(each), "--queue-size", "100000")
		}()
	}
	for range 2 {
		if s := <-done; s.Discarded != 0 {
			t.Fatalf("forwarder %+v", s)
		}
	}
	for _, n := range []string{"b", "c"} {
		root := roots[n]
		waitFor(t, "everything at "+root, func() bool {
			got := seqsByHost(t, root)
			return len(got["h1"]) >= each && len(got["h2"]) >= each
		})
	}
	a.stop()
	for _, m := range downstream {
		m.stop()
	}
	for _, n := range []string{"a", "b", "c"} {
		got := seqsByHost(t, roots[n])
		for _, host := range []string{"h1", "h2"} {
			exactlyOnce(t, n+"/"+host, got[host], each)
		}
	}
}
