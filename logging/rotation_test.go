package logging

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"muninn/tracer"
)

// seqObject carries its batch and position in toMachine, padded to vary
// line lengths.
func seqObject(b, o int) tracer.TraceObject {
	return tracer.TraceObject{
		Machine: fmt.Sprintf(`{"b":%d,"o":%d,"pad":%q}`, b, o, strings.Repeat("x", (b*7+o*13)%90)),
	}
}

type seq struct{ B, O int }

// TestRotationUnderLoad writes many batches with a small size limit, with
// the pruning goroutine running alongside, and checks that every object is
// on disk exactly once, in order, that every file starts at a batch
// boundary and ends with a complete line, and that the symlink points at
// the newest file.
func TestRotationUnderLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		keepFiles uint32
		maxAge    time.Duration
	}{
		{"keep everything", 1 << 20, 1000 * time.Hour},
		{"prune while writing", 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			clock := newClock("2026-07-23T08:56:07Z")
			clock.step = 300 * time.Millisecond // every reading moves time on
			const limit = 1500
			w := newWriter(t, Config{
				Entries: []Entry{{Root: root, Format: ForMachine}},
				Rotation: &Rotation{Frequency: time.Millisecond, LimitBytes: limit,
					KeepFiles: tc.keepFiles, MaxAge: tc.maxAge},
				Now: clock.Now,
			})
			n := openNode(t, w, "n")
			const batches = 600 // about 120 rotations
			var want []seq
			starts := map[seq]bool{}
			for b := range batches {
				batch := make([]tracer.TraceObject, 1+b%9)
				for o := range batch {
					batch[o] = seqObject(b, o)
					want = append(want, seq{b, o})
				}
				starts[seq{b, 0}] = true
				write(t, n, batch...)
			}
			if r := n.Stats().Rotations; r < 100 {
				t.Fatalf("%d rotations under load, want at least 100", r)
			}
			w.prunePass()                     // at least one pass after the last rotation
			if err := w.Close(); err != nil { // stop pruning before looking
				t.Fatal(err)
			}

			dir := filepath.Join(root, "n")
			files := logFiles(t, dir, "json")
			if len(files) < 3 {
				t.Fatalf("only %d files: no rotation", len(files))
			}
			var got []seq
			for i, f := range files {
				text := readFile(t, filepath.Join(dir, f))
				if !strings.HasSuffix(text, "\n") {
					t.Errorf("%s does not end with a complete line", f)
				}
				if i < len(files)-1 && len(text) < limit {
					t.Errorf("%s rotated at %d bytes, below the limit", f, len(text))
				}
				for j, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
					var s seq
					if err := json.Unmarshal([]byte(line), &s); err != nil {
						t.Fatalf("%s line %d %q: %v", f, j+1, line, err)
					}
					if j == 0 && !starts[s] {
						t.Errorf("%s starts inside a batch, at %+v", f, s)
					}
					got = append(got, s)
				}
			}
			if tc.keepFiles > 1000 {
				if !slices.Equal(got, want) {
					t.Errorf("objects on disk differ from objects written: %d vs %d", len(got), len(want))
				}
			} else {
				if len(got) == 0 || !slices.Equal(got, want[len(want)-len(got):]) {
					t.Errorf("surviving files do not hold the newest objects in order (%d objects)", len(got))
				}
				if len(files) != int(tc.keepFiles)+1 || w.Stats().FilesDeleted == 0 {
					t.Errorf("%d files left, %+v; want %d", len(files), w.Stats(), tc.keepFiles+1)
				}
			}
			checkLink(t, dir, "json", files[len(files)-1])
			if st := n.Stats(); st.Rotations == 0 || st.Objects != uint64(len(want)) || st.Batches != batches {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestRotationWaitsForNextSecond: a full file is replaced only once its
// name's second has passed, so names never run ahead of the clock.
func TestRotationWaitsForNextSecond(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	clock := newClock("2026-07-23T08:56:07Z")
	w := newWriter(t, Config{
		Entries:  []Entry{{Root: root, Format: ForMachine}},
		Rotation: &Rotation{Frequency: time.Hour, LimitBytes: 1, KeepFiles: 10, MaxAge: time.Hour},
		Now:      clock.Now,
		fs:       osFS{},
	})
	n := openNode(t, w, "n")
	write(t, n, t13Object())
	write(t, n, t14Object()) // same second: same file
	clock.Advance(time.Second)
	write(t, n, t14Object())
	dir := filepath.Join(root, "n")
	files := logFiles(t, dir, "json")
	if want := []string{"node-2026-07-23T08-56-07.json", "node-2026-07-23T08-56-08.json"}; !slices.Equal(files, want) {
		t.Fatalf("files %q, want %q", files, want)
	}
	if got := readFile(t, filepath.Join(dir, files[1])); got != t14Machine+"\n" {
		t.Errorf("new file = %q", got)
	}
	checkLink(t, dir, "json", files[1])
	if st := n.Stats(); st.Rotations != 1 || st.FilesOpened != 2 {
		t.Errorf("Stats = %+v", st)
	}
}
