package tailer

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// failingWalk is filepath.WalkDir, except that while fail is set, listing
// the directory target fails as os.ReadDir fails on a directory it may
// not read: the directory is reported, then the error, then nothing in it.
// Unlike a mode of 000, it fails for root too.
type failingWalk struct {
	root, target string
	fail         atomic.Bool
	failed       atomic.Int64 // listings of target that failed
	walks        atomic.Int64 // walks of root begun
}

func (w *failingWalk) walk(top string, fn fs.WalkDirFunc) error {
	if top == w.root {
		w.walks.Add(1)
	}
	return filepath.WalkDir(top, func(path string, de fs.DirEntry, err error) error {
		if err != nil || path != w.target || !w.fail.Load() {
			return fn(path, de, err)
		}
		if err := fn(path, de, nil); err != nil {
			return err
		}
		w.failed.Add(1)
		if err := fn(path, de, &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}); err != nil {
			return err
		}
		return fs.SkipDir
	})
}

// dirLogs counts, by level, the log records about one directory.
type dirLogs struct {
	dir string
	mu  sync.Mutex
	n   map[slog.Level]int
}

func (h *dirLogs) Enabled(context.Context, slog.Level) bool { return true }
func (h *dirLogs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *dirLogs) WithGroup(string) slog.Handler            { return h }

func (h *dirLogs) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "dir" && a.Value.String() == h.dir {
			h.mu.Lock()
			h.n[r.Level]++
			h.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

func (h *dirLogs) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[l]
}

// A directory that cannot be listed for a few rescans keeps its files,
// and those below it, at their offsets: nothing is read twice once it can
// be listed again. Each failure episode is logged once, and so is its end.
func TestUnlistedDirectoryKeepsFiles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, fail string }{
		{"its own directory", "load-0001"},
		{"the root", "."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			nodeDir := filepath.Join(root, "load-0001")
			mkdir(t, nodeDir)
			file := filepath.Join(nodeDir, "node-1.json")
			appendFile(t, file, lines("load-0001", 0, 3))

			w := &failingWalk{root: root, target: filepath.Join(root, tt.fail)}
			logs := &dirLogs{dir: w.target, n: map[slog.Level]int{}}
			tl, err := New(Config{Root: root, Rescan: 20 * time.Millisecond, Log: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			tl.walk = w.walk
			h := follow(t, tl)
			h.waitFor("the first lines", linesAre(3))
			infos := logs.count(slog.LevelInfo) // "following" names the root

			for episode := 1; episode <= 2; episode++ {
				from := w.failed.Load()
				w.fail.Store(true)
				// Three failed listings: the rescans of the first two
				// have ended.
				h.waitFor("failed listings", func(Report) bool { return w.failed.Load() >= from+3 })
				w.fail.Store(false)
				// The second walk after that began after the first had
				// ended, and that one listed the directory.
				walks := w.walks.Load()
				h.waitFor("a listing", func(Report) bool { return w.walks.Load() >= walks+2 })
				if n := logs.count(slog.LevelWarn); n != episode {
					t.Errorf("episode %d: %d warnings", episode, n)
				}
				if n := logs.count(slog.LevelInfo) - infos; n != episode {
					t.Errorf("episode %d: %d notes of the end", episode, n)
				}
			}
			appendFile(t, file, lines("load-0001", 3, 5))
			h.waitFor("the new lines", linesAre(5))
			r := h.stop()
			if r.Lines != 5 || r.Duplicates != 0 || r.Files != 1 || r.FilesRemovedUnread != 0 {
				t.Errorf("lines %d, duplicates %d, files %d, removed unread %d; want 5, 0, 1, 0",
					r.Lines, r.Duplicates, r.Files, r.FilesRemovedUnread)
			}
		})
	}
}
