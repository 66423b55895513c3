package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// TestResourcesRecord: with resourceFreq set, a Resources record appears
// every period with the process figures.
func TestResourcesRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&out, nil))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { reportResources(ctx, 500*time.Millisecond, log); close(done) }()
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
		if len(lines) != 2 {
			t.Fatalf("%d records after 1.1 s at 500 ms, want 2:\n%s", len(lines), out.String())
		}
		var r map[string]any
		if err := json.Unmarshal(lines[0], &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"cpu", "gcs", "heapAlloc", "rss", "goroutines"} {
			if _, ok := r[k]; !ok || r["msg"] != "Resources" {
				t.Fatalf("record lacks %s: %s", k, lines[0])
			}
		}
	})
}
