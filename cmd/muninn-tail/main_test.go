package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	nodeDir := filepath.Join(root, "load-0003_3001")
	if err := os.Mkdir(nodeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enq := time.Now().Add(-2 * time.Second).UnixNano()
	for _, seq := range []int{0, 1, 1, 3} {
		fmt.Fprintf(&b, `{"at":"2025-01-01T00:00:00Z","ns":"X","data":{"kind":"X","seq":%d,"enqueued":%d},"sev":"Info","thread":"1","host":"load-0003"}`+"\n", seq, enq)
	}
	b.WriteString("not a trace line\n")
	if err := os.WriteFile(filepath.Join(nodeDir, "node-2025-01-01T00-00-00.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"reads and reports", []string{"--root", root, "--duration", "1ms"}, 0},
		{"no root", []string{"--duration", "1ms"}, 2},
		{"bad flag", []string{"--root", root, "--nope"}, 2},
		{"extra argument", []string{"--root", root, "x"}, 2},
		{"missing root", []string{"--root", filepath.Join(root, "nope"), "--duration", "1ms"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if tt.code != 0 {
				return
			}
			var r report
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("%v: %s", err, stdout.String())
			}
			n := r.Nodes["load-0003"]
			if r.Lines != 4 || r.Malformed != 1 || r.Files != 1 || r.Missing != 1 || r.Duplicates != 1 ||
				n.Distinct != 3 || n.MaxSeq != 3 || n.Latency.Count != 4 {
				t.Errorf("report %+v", r)
			}
			// Microseconds: two seconds is 2e6.
			if n.Latency.P50 < 1.98e6 || n.Latency.P50 > 60e6 {
				t.Errorf("p50 %v µs", n.Latency.P50)
			}
		})
	}
}
