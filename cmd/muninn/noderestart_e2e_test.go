package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestNodeRestart: a node restarts (a new process with a new queue) in
// both modes. Muninn picks it up again — in ConnectTo by dialling it again
// — and writes the new run completely; what the first run delivered is on
// disk as a gap-free prefix, nothing twice.
func TestNodeRestart(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"AcceptAt", "ConnectTo"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			muninnSock, nodeSock := filepath.Join(dir, "m.sock"), filepath.Join(dir, "node.sock")
			root := filepath.Join(dir, "logs")
			network := fmt.Sprintf("{tag: AcceptAt, contents: %q}", muninnSock)
			nodeArgs := []string{"--connect", muninnSock}
			if mode == "ConnectTo" {
				network = fmt.Sprintf("{tag: ConnectTo, contents: [%q]}", nodeSock)
				nodeArgs = []string{"--listen", nodeSock}
			}
			m := startMuninn(t, dir, fmt.Sprintf(`networkMagic: 764824073
network: %s
logging: [{logRoot: %q, logMode: FileMode, logFormat: ForMachine}]
`, network, root))
			nodeDir := filepath.Join(root, "restarting")

			// First run: stopped while it is still sending.
			first := exec.Command(bin.forwarder, append(nodeArgs, "--name", "restarting", "--host", "run1",
				"--rate", "2000", "--queue-size", "100000")...)
			var out bytes.Buffer
			first.Stdout = &out
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the first run on disk", func() bool { return len(seqsByHost(t, filepath.Dir(nodeDir))["run1"]) > 500 })
			first.Process.Signal(syscall.SIGTERM)
			if err := first.Wait(); err != nil {
				t.Fatalf("first run: %v", err)
			}
			var s1 forwarderSummary
			if err := json.Unmarshal(out.Bytes(), &s1); err != nil {
				t.Fatal(err)
			}

			// Second run, complete.
			s2 := forward(t, append(nodeArgs, "--name", "restarting", "--host", "run2",
				"--rate", "2000", "--count", "3000", "--queue-size", "100000")...)
			m.stop()
			if s2.Discarded != 0 {
				t.Fatalf("second run %+v", s2)
			}
			got := seqsByHost(t, filepath.Dir(nodeDir))
			exactlyOnce(t, "second run", got["run2"], 3000)
			delivered := int(s1.Produced) - s1.Queued
			exactlyOnce(t, "first run", got["run1"], len(got["run1"]))
			// A reply on its way when the node stopped may not have arrived.
			if n := len(got["run1"]); n > delivered || n < delivered-100 {
				t.Fatalf("first run: %d on disk, the node gave up %d", n, delivered)
			}
		})
	}
}
