package logging

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"muninn/tracer"
)

// faultFS is the real file system with injected failures.
type faultFS struct {
	osFS
	mu         sync.Mutex
	mkdirFails int // next MkdirAll calls that fail with EACCES
	openFails  int // next OpenFile calls that fail with ENOSPC
	writeFails int // next Write calls that fail with ENOSPC (-1: all)
	partial    int // bytes a failing Write still writes
	truncFails bool
	linkFails  int    // next Symlink calls that fail with ENOSPC
	under      string // when set, writes fail only in files below this directory
}

func (f *faultFS) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n == 0 {
		return false
	}
	if *n > 0 {
		*n--
	}
	return true
}

func (f *faultFS) set(fn func(*faultFS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *faultFS) MkdirAll(path string, perm fs.FileMode) error {
	if f.take(&f.mkdirFails) {
		return &fs.PathError{Op: "mkdir", Path: path, Err: syscall.EACCES}
	}
	return f.osFS.MkdirAll(path, perm)
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (logFile, error) {
	if f.take(&f.openFails) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
	}
	lf, err := f.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{logFile: lf, fs: f}, nil
}

func (f *faultFS) Symlink(oldname, newname string) error {
	if f.take(&f.linkFails) {
		return &os.LinkError{Op: "symlink", Old: oldname, New: newname, Err: syscall.ENOSPC}
	}
	return f.osFS.Symlink(oldname, newname)
}

type faultFile struct {
	logFile
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	under := f.fs.under
	f.fs.mu.Unlock()
	if under != "" && !strings.HasPrefix(f.Name(), under+string(filepath.Separator)) {
		return f.logFile.Write(p)
	}
	if !f.fs.take(&f.fs.writeFails) {
		return f.logFile.Write(p)
	}
	f.fs.mu.Lock()
	k := min(f.fs.partial, len(p))
	f.fs.mu.Unlock()
	n, err := f.logFile.Write(p[:k])
	if err == nil {
		err = &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *faultFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	fail := f.fs.truncFails
	f.fs.mu.Unlock()
	if fail {
		return &fs.PathError{Op: "truncate", Path: f.Name(), Err: syscall.EIO}
	}
	return f.logFile.Truncate(size)
}

func faultWriter(t *testing.T, root string, ffs *faultFS, logs *logBuffer) *Writer {
	t.Helper()
	w, err := New(Config{
		Entries:  []Entry{{Root: root, Format: ForMachine}},
		Log:      logs.logger(),
		RetryMin: 100 * time.Millisecond,
		RetryMax: 400 * time.Millisecond,
		fs:       ffs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWriteRetries: Write blocks through disk faults, backs off
// exponentially, and writes the batch exactly once, resuming a short write
// where it stopped. Runs in fake time.
func TestWriteRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults func(*faultFS)
		errors uint64
		waited time.Duration
		link   uint64
	}{
		{"directory not creatable", func(f *faultFS) { f.mkdirFails = 2 }, 2, 300 * time.Millisecond, 0},
		{"file not creatable", func(f *faultFS) { f.openFails = 4 }, 4, 1100 * time.Millisecond, 0},
		{"short writes", func(f *faultFS) { f.writeFails, f.partial = 3, 10 }, 3, 700 * time.Millisecond, 0},
		{"symlink fails once", func(f *faultFS) { f.linkFails = 1 }, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				ffs := &faultFS{}
				logs := &logBuffer{}
				w := faultWriter(t, root, ffs, logs)
				defer w.Close()
				n, err := w.Open(Node{Name: "n", Dir: "n"})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				ffs.set(tc.faults)
				start := time.Now()
				write(t, n, t13Object(), t14Object())
				if waited := time.Since(start); waited != tc.waited {
					t.Errorf("Write took %v of back-off, want %v", waited, tc.waited)
				}
				write(t, n, t13Object())
				write(t, n, t14Object())

				dir := filepath.Join(root, "n")
				files := logFiles(t, dir, "json")
				if len(files) != 1 {
					t.Fatalf("files %q", files)
				}
				want := t13Machine + "\n" + t14Machine + "\n" + t13Machine + "\n" + t14Machine + "\n"
				if got := readFile(t, filepath.Join(dir, files[0])); got != want {
					t.Errorf("file =\n%s\nwant\n%s", got, want)
				}
				checkLink(t, dir, "json", files[0])
				if st := n.Stats(); st.WriteErrors != tc.errors || st.Batches != 3 || st.LinkErrors != tc.link {
					t.Errorf("Stats = %+v, want %d write errors", st, tc.errors)
				}
				warned, recovered := 0, 0
				if tc.errors > 0 {
					warned, recovered = 1, 1
				}
				if got := logs.count("trace log write failed; retrying until it succeeds"); got != warned {
					t.Errorf("%d failure warnings, want %d:\n%s", got, warned, logs)
				}
				if got := logs.count("trace log write recovered"); got != recovered {
					t.Errorf("%d recovery lines, want %d:\n%s", got, recovered, logs)
				}
			})
		})
	}
}

// TestWriteCancelled: when ctx ends while the disk refuses, Write returns
// ctx.Err() and the partial batch is cut away; if the cut fails, the next
// batch goes to a new file.
func TestWriteCancelled(t *testing.T) {
	t.Parallel()
	for _, truncFails := range []bool{false, true} {
		name := "cut back"
		if truncFails {
			name = "cut fails"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				ffs := &faultFS{}
				logs := &logBuffer{}
				w := faultWriter(t, root, ffs, logs)
				defer w.Close()
				n, err := w.Open(Node{Name: "n", Dir: "n"})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				write(t, n, t13Object())
				ffs.set(func(f *faultFS) { f.writeFails, f.partial, f.truncFails = -1, 7, truncFails })
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err = n.Write(ctx, []tracer.TraceObject{t14Object()})
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Write = %v, want context.DeadlineExceeded", err)
				}
				ffs.set(func(f *faultFS) { f.writeFails, f.truncFails = 0, false })
				write(t, n, t13Object())

				dir := filepath.Join(root, "n")
				files := logFiles(t, dir, "json")
				if !truncFails {
					if got, want := readFile(t, filepath.Join(dir, files[0])), t13Machine+"\n"+t13Machine+"\n"; len(files) != 1 || got != want {
						t.Errorf("files %q, first =\n%s\nwant\n%s", files, got, want)
					}
					return
				}
				if len(files) != 2 {
					t.Fatalf("files %q, want a second file after a failed cut", files)
				}
				if got := readFile(t, filepath.Join(dir, files[1])); got != t13Machine+"\n" {
					t.Errorf("second file = %q", got)
				}
				checkLink(t, dir, "json", files[1])
			})
		})
	}
}

// TestDirectoryRemoved: when the node directory or the current file is
// deleted under a running NodeLog, the next batch goes to a new file (and
// symlink) in a recreated directory.
func TestDirectoryRemoved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		remove func(dir, file string) error
	}{
		{"directory", func(dir, _ string) error { return os.RemoveAll(dir) }},
		{"file", func(_, file string) error { return os.Remove(file) }},
		{"file replaced", func(_, file string) error {
			if err := os.Remove(file); err != nil {
				return err
			}
			return os.WriteFile(file, []byte("someone else's\n"), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			clock := newClock("2026-07-23T08:56:07Z")
			logs := &logBuffer{}
			w := newWriter(t, Config{Entries: []Entry{{Root: root, Format: ForMachine}}, Now: clock.Now, Log: logs.logger()})
			n := openNode(t, w, "n")
			write(t, n, t13Object())
			dir := filepath.Join(root, "n")
			first := filepath.Join(dir, "node-2026-07-23T08-56-07.json")
			if err := tc.remove(dir, first); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second)
			write(t, n, t14Object())
			write(t, n, t13Object())

			files := logFiles(t, dir, "json")
			last := files[len(files)-1]
			if last != "node-2026-07-23T08-56-08.json" {
				t.Fatalf("files %q", files)
			}
			if got, want := readFile(t, filepath.Join(dir, last)), t14Machine+"\n"+t13Machine+"\n"; got != want {
				t.Errorf("new file = %q, want %q", got, want)
			}
			checkLink(t, dir, "json", last)
			if logs.count("trace log file vanished; starting a new one") != 1 {
				t.Errorf("no warning:\n%s", logs)
			}
		})
	}
}

// TestDirectoryRemovedWhileFailing: the forced check before a retry notices
// a deleted directory, and the whole batch goes to a fresh file.
func TestDirectoryRemovedWhileFailing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		ffs := &faultFS{}
		logs := &logBuffer{}
		w := faultWriter(t, root, ffs, logs)
		defer w.Close()
		n, err := w.Open(Node{Name: "n", Dir: "n"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		write(t, n, t13Object())
		ffs.set(func(f *faultFS) { f.writeFails, f.partial = 1, 10 })
		dir := filepath.Join(root, "n")
		done := make(chan error, 1) // capacity 1: the writer never blocks on it
		go func() { done <- n.Write(context.Background(), []tracer.TraceObject{t14Object()}) }()
		synctest.Wait() // Write is waiting to retry
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		files := logFiles(t, dir, "json")
		if len(files) != 1 {
			t.Fatalf("files %q", files)
		}
		if got := readFile(t, filepath.Join(dir, files[0])); got != t14Machine+"\n" {
			t.Errorf("new file = %q", got)
		}
		checkLink(t, dir, "json", files[0])
	})
}

// TestUnwritableRoot uses real permissions: Write blocks while the root is
// read-only and finishes once it is writable again.
func TestUnwritableRoot(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		if err := os.Chmod(root, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(root, 0o755) //nolint:errcheck // best effort for TempDir's cleanup
		if f, err := os.Create(filepath.Join(root, "probe")); err == nil {
			f.Close()
			t.Skip("chmod 0500 does not deny writes here (running as root?)")
		}
		logs := &logBuffer{}
		w := faultWriter(t, root, &faultFS{}, logs)
		defer w.Close()
		n, err := w.Open(Node{Name: "n", Dir: "n"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		done := make(chan error, 1) // capacity 1: the writer never blocks on it
		go func() { done <- n.Write(context.Background(), []tracer.TraceObject{t13Object()}) }()
		synctest.Wait()
		if st := n.Stats(); st.WriteErrors == 0 {
			t.Fatalf("no write error on a read-only root: %+v", st)
		}
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "n")
		files := logFiles(t, dir, "json")
		if len(files) != 1 || readFile(t, filepath.Join(dir, files[0])) != t13Machine+"\n" {
			t.Errorf("files %q", files)
		}
		if !slices.Contains([]int{1}, logs.count("trace log write recovered")) {
			t.Errorf("no recovery line:\n%s", logs)
		}
	})
}

// lockedJournal is a fakeJournal safe to read while a Write runs.
type lockedJournal struct {
	mu sync.Mutex
	j  fakeJournal
}

func (l *lockedJournal) Send(message string, priority int, fields map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.j.Send(message, priority, fields)
}

func (l *lockedJournal) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.j.calls)
}

// TestFailingEntryHoldsOnlyItself: while one entry's disk refuses a
// batch, the other file entry and the journal hold it at once; Write
// blocks (the node is not asked for more) until the failing entry has it
// too, exactly once.
func TestFailingEntryHoldsOnlyItself(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		full, healthy := t.TempDir(), t.TempDir()
		ffs := &faultFS{under: full, writeFails: -1, partial: 7}
		j := &lockedJournal{}
		logs := &logBuffer{}
		w, err := New(Config{
			Entries: []Entry{
				{Root: full, Format: ForMachine},
				{Root: healthy, Format: ForMachine},
				{Mode: JournalMode, Format: ForMachine},
			},
			Journal:  j,
			Log:      logs.logger(),
			RetryMin: 100 * time.Millisecond,
			RetryMax: 400 * time.Millisecond,
			fs:       ffs,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		n, err := w.Open(Node{Name: "n", Dir: "n"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		done := make(chan error, 1)
		go func() { done <- n.Write(context.Background(), []tracer.TraceObject{t13Object(), t14Object()}) }()
		time.Sleep(3 * time.Second) // fake time: many retries
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Write returned %v while a disk refuses the batch", err)
		default:
		}
		want := t13Machine + "\n" + t14Machine + "\n"
		hdir := filepath.Join(healthy, "n")
		files := logFiles(t, hdir, "json")
		if len(files) != 1 || readFile(t, filepath.Join(hdir, files[0])) != want {
			t.Fatalf("healthy entry holds %q, want the batch at once", files)
		}
		if got := j.count(); got != 2 {
			t.Errorf("journal got %d entries while the other disk refused, want 2", got)
		}
		if logs.count("trace log write failed; retrying until it succeeds") != 1 {
			t.Errorf("want one failure warning:\n%s", logs)
		}
		ffs.set(func(f *faultFS) { f.writeFails = 0 })
		if err := <-done; err != nil {
			t.Fatalf("Write: %v", err)
		}
		fdir := filepath.Join(full, "n")
		files = logFiles(t, fdir, "json")
		if len(files) != 1 || readFile(t, filepath.Join(fdir, files[0])) != want {
			t.Errorf("failing entry holds %q after recovery, want the batch once", files)
		}
		if got := readFile(t, filepath.Join(hdir, logFiles(t, hdir, "json")[0])); got != want {
			t.Errorf("healthy entry =\n%s\nwant the batch exactly once", got)
		}
		if got := j.count(); got != 2 {
			t.Errorf("journal got %d entries, want 2 (sent once)", got)
		}
		if st := n.Stats(); st.Batches != 1 || st.WriteErrors == 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

// TestWriteCancelledTwoEntries: when a batch is given up while two
// entries' disks refuse it, both files are cut back to the batch
// boundary, not only the one retrying when ctx ended; the next batch
// follows whole lines in each.
func TestWriteCancelledTwoEntries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		base := t.TempDir()
		tfs := newTrackFS()
		_, n := openTracked(t, tfs, rootEntries(base, "A", "C"))
		writeSeq(t, n, 1, 3)
		tfs.setBad(base, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Write(ctx, []tracer.TraceObject{seqObject(2, 0), seqObject(2, 1)}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Write = %v, want context.DeadlineExceeded", err)
		}
		tfs.setBad("", 0)
		writeSeq(t, n, 3, 2)
		for _, l := range []string{"A", "C"} {
			dir := filepath.Join(base, l, "n")
			got := seqs(t, dir, logFiles(t, dir, "json"))
			want := []seq{{1, 0}, {1, 1}, {1, 2}, {3, 0}, {3, 1}}
			if !slices.Equal(got, want) {
				t.Errorf("%s holds %v, want %v", l, got, want)
			}
		}
	})
}
