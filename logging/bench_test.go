package logging

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muninn/tracer"
)

// benchBatch is 100 objects of about 500 bytes in each format.
func benchBatch() []tracer.TraceObject {
	batch := make([]tracer.TraceObject, 100)
	for i := range batch {
		batch[i] = tracer.TraceObject{
			Human:    fmt.Sprintf("Chain extended, new tip: %064x at slot %d %s", i, 132457812+i, strings.Repeat("h", 380)),
			HasHuman: true,
			Machine: fmt.Sprintf(`{"at":"2026-07-23T08:56:07.123456789Z","ns":"ChainDB.AddBlockEvent.AddedToCurrentChain","data":{"kind":"AddedToCurrentChain","newtip":"%064x@%d","pad":"%s"},"sev":"Notice","thread":"42","host":"relay1"}`,
				i, 132457812+i, strings.Repeat("m", 230)),
			Namespace: []string{"ChainDB.AddBlockEvent.AddedToCurrentChain"},
			Severity:  tracer.Notice,
			Timestamp: tracer.UTCTime{Sec: 1784796967, Pico: 123456789000},
			Hostname:  "relay1",
			ThreadID:  "42",
		}
	}
	return batch
}

func benchWrite(b *testing.B, f Format) {
	root := b.TempDir()
	w, err := New(Config{Entries: []Entry{{Root: root, Format: f}}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	batch := benchBatch()
	n, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for i := range batch {
		size += len(lineText(f, &batch[i])) + 1
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	ctx := context.Background()
	written := 0
	for b.Loop() {
		if written >= 64<<20 { // keep the temporary file small
			b.StopTimer()
			if err := n.Close(); err != nil {
				b.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(root, "n")); err != nil {
				b.Fatal(err)
			}
			if n, err = w.Open(Node{Name: "n", Dir: "n"}); err != nil {
				b.Fatal(err)
			}
			written = 0
			b.StartTimer()
		}
		if err := n.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		written += size
	}
	b.StopTimer()
	if err := n.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriteBatchMachine(b *testing.B) { benchWrite(b, ForMachine) }
func BenchmarkWriteBatchHuman(b *testing.B)   { benchWrite(b, ForHuman) }

// BenchmarkRotationCheck is the per-batch cost of deciding whether to
// rotate (and whether the file vanished) when nothing has to happen.
func BenchmarkRotationCheck(b *testing.B) {
	root := b.TempDir()
	w, err := New(Config{
		Entries:     []Entry{{Root: root, Format: ForMachine}},
		Rotation:    &Rotation{Frequency: time.Hour, LimitBytes: 1 << 30, KeepFiles: 1, MaxAge: time.Hour},
		manualPrune: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	n, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if err := n.Write(context.Background(), benchBatch()[:1]); err != nil {
		b.Fatal(err)
	}
	s := n.files[0]
	now := w.now()
	s.lastCheck = now
	b.ReportAllocs()
	for b.Loop() {
		if s.dirty || s.gone(now, false) || s.rotationDue(now) {
			b.Fatal("unexpected rotation")
		}
	}
}

// BenchmarkRotate is the cost of one rotation: a new file and symlink.
func BenchmarkRotate(b *testing.B) {
	root := b.TempDir()
	clock := newClock("2026-07-23T08:56:07Z")
	clock.step = time.Second
	w, err := New(Config{
		Entries:     []Entry{{Root: root, Format: ForMachine}},
		Rotation:    &Rotation{Frequency: time.Hour, LimitBytes: 1, KeepFiles: 1, MaxAge: 0},
		Now:         clock.Now,
		manualPrune: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	n, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	batch := benchBatch()[:1]
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := n.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if i++; i%1000 == 0 {
			b.StopTimer()
			w.prunePass()
			b.StartTimer()
		}
	}
}
