package logging

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func touch(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 23, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) string { return logName(now.Add(-d), "json") }
	// Synthetic files in the node's directory, oldest first.
	aged := []string{ago(5 * time.Hour), ago(4 * time.Hour), ago(3 * time.Hour), ago(2 * time.Hour),
		ago(90 * time.Minute), ago(30 * time.Minute), ago(20 * time.Minute)}
	current := logName(now, "json")
	foreign := []string{"node-garbage.json", ago(9*time.Hour) + ".gz", "node-2026-7-23T01-00-00.json",
		"other.txt", logName(now.Add(-9*time.Hour), "log")}
	for _, tc := range []struct {
		name   string
		keep   uint32
		maxAge time.Duration
		kept   []string // of aged
	}{
		{"keep 2 of the rest", 2, time.Hour, aged[5:]},
		{"stop at the first younger file", 0, time.Hour, aged[5:]},
		{"keep more than there are", 10, 0, aged},
		{"max age 0", 1, 0, aged[6:]},
		{"everything younger", 0, 6 * time.Hour, aged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "a")
			for _, f := range append(slices.Clone(aged), foreign...) {
				touch(t, filepath.Join(dir, f))
			}
			if err := os.Mkdir(filepath.Join(dir, ago(10*time.Hour)), 0o755); err != nil { // a directory named like a log file
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(dir, aged[0]), filepath.Join(dir, ago(11*time.Hour))); err != nil {
				t.Fatal(err)
			}
			// A directory without an open NodeLog is never touched.
			other := filepath.Join(root, "b")
			for _, f := range aged {
				touch(t, filepath.Join(other, f))
			}
			clock := newClock(now.Format(time.RFC3339))
			w := newWriter(t, Config{
				Entries:     []Entry{{Root: root, Format: ForMachine}},
				Rotation:    &Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: tc.keep, MaxAge: tc.maxAge},
				Now:         clock.Now,
				manualPrune: true,
			})
			n := openNode(t, w, "a")
			write(t, n, t13Object())
			w.prunePass()

			want := append(slices.Clone(tc.kept), foreign...)
			want = append(want, current, "node.json", ago(10*time.Hour), ago(11*time.Hour))
			slices.Sort(want)
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("left\n%q\nwant\n%q", got, want)
			}
			if got := dirNames(t, other); !slices.Equal(got, aged) {
				t.Errorf("directory without a NodeLog changed: %q", got)
			}
			if st := w.Stats(); st.FilesDeleted != uint64(len(aged)-len(tc.kept)) || st.PruneErrors != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestPruneSparesOpenFiles: another connection's current file is never
// deleted, however old, and the directory is pruned only while a file is
// open in it.
func TestPruneSparesOpenFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	clock := newClock("2026-07-23T08:00:00Z")
	w := newWriter(t, Config{
		Entries:     []Entry{{Root: root, Format: ForMachine}, {Root: root, Format: ForHuman}},
		Rotation:    &Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: 0, MaxAge: time.Hour},
		Now:         clock.Now,
		manualPrune: true,
	})
	a := openNode(t, w, "n")
	write(t, a, t13Object())
	clock.Advance(3 * time.Hour)
	b, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, b, t14Object())
	dir := filepath.Join(root, "n")
	first, second := "node-2026-07-23T08-00-00", "node-2026-07-23T11-00-00"
	w.prunePass()
	for _, ext := range []string{"json", "log"} {
		if got := logFiles(t, dir, ext); !slices.Equal(got, []string{first + "." + ext, second + "." + ext}) {
			t.Errorf("%s: open files pruned: %q", ext, got)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	w.prunePass()
	for _, ext := range []string{"json", "log"} {
		if got := logFiles(t, dir, ext); !slices.Equal(got, []string{second + "." + ext}) {
			t.Errorf("%s: closed old file not pruned: %q", ext, got)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, "node-2026-07-23T01-00-00.json"))
	w.prunePass() // no open file in the directory: left alone
	if got := logFiles(t, dir, "json"); len(got) != 2 {
		t.Errorf("directory without open files pruned: %q", got)
	}
}

// TestPruneLoop runs the goroutine in fake time: the first pass at once,
// then one every Frequency, until Close.
func TestPruneLoop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		w, err := New(Config{
			Entries:  []Entry{{Root: root, Format: ForMachine}},
			Rotation: &Rotation{Frequency: time.Minute, LimitBytes: 1 << 20, KeepFiles: 0, MaxAge: time.Hour},
		})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := w.Stats(); st.PrunePasses != 1 {
			t.Fatalf("%d passes at start-up, want 1", st.PrunePasses)
		}
		n, err := w.Open(Node{Name: "n", Dir: "n"})
		if err != nil {
			t.Fatal(err)
		}
		write(t, n, t13Object())
		dir := filepath.Join(root, "n")
		start := time.Now()
		oldest := logName(start.Add(-2*time.Hour), "json")
		aging := logName(start.Add(-58*time.Minute), "json")
		touch(t, filepath.Join(dir, oldest))
		touch(t, filepath.Join(dir, aging))

		time.Sleep(time.Minute - time.Second) // fake time: the next pass is due at +1m
		synctest.Wait()
		if got := logFiles(t, dir, "json"); len(got) != 3 {
			t.Fatalf("pruned before the pass was due: %q", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := logFiles(t, dir, "json"); !slices.Equal(got, []string{aging, logName(start, "json")}) {
			t.Errorf("after the second pass: %q", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := logFiles(t, dir, "json"); !slices.Equal(got, []string{logName(start, "json")}) {
			t.Errorf("after the third pass: %q", got)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.FilesDeleted != 2 || st.PrunePasses != 3 {
			t.Errorf("Stats = %+v", st)
		}
	})
}
