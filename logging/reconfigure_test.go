package logging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"muninn/tracer"
)

// trackFS is the real file system that knows which log files are open, so
// that a test can tell a closed file from a leaked descriptor, and that can
// make one root refuse everything (ENOSPC), writing partial bytes first.
type trackFS struct {
	osFS
	mu      sync.Mutex
	open    map[string]int // path -> open handles
	bad     string         // a root whose operations fail; "" none
	partial int            // bytes a failing Write still writes
}

func newTrackFS() *trackFS { return &trackFS{open: make(map[string]int)} }

func (f *trackFS) setBad(root string, partial int) {
	f.mu.Lock()
	f.bad, f.partial = root, partial
	f.mu.Unlock()
}

// refuses reports whether p is under the failing root, and the partial
// bytes to write.
func (f *trackFS) refuses(p string) (bool, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bad != "" && (p == f.bad || strings.HasPrefix(p, f.bad+string(filepath.Separator))), f.partial
}

// openFiles lists the open log files, sorted.
func (f *trackFS) openFiles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p, k := range f.open {
		for range k {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (f *trackFS) MkdirAll(path string, perm fs.FileMode) error {
	if bad, _ := f.refuses(path); bad {
		return &fs.PathError{Op: "mkdir", Path: path, Err: syscall.ENOSPC}
	}
	return f.osFS.MkdirAll(path, perm)
}

func (f *trackFS) OpenFile(name string, flag int, perm fs.FileMode) (logFile, error) {
	if bad, _ := f.refuses(name); bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
	}
	lf, err := f.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.open[name]++
	f.mu.Unlock()
	return &trackFile{logFile: lf, fs: f, path: name}, nil
}

type trackFile struct {
	logFile
	fs     *trackFS
	path   string
	closed bool // owned by the sink's goroutine
}

func (f *trackFile) Write(p []byte) (int, error) {
	bad, partial := f.fs.refuses(f.path)
	if !bad {
		return f.logFile.Write(p)
	}
	n, err := f.logFile.Write(p[:min(partial, len(p))])
	if err == nil {
		err = &fs.PathError{Op: "write", Path: f.path, Err: syscall.ENOSPC}
	}
	return n, err
}

func (f *trackFile) Close() error {
	if !f.closed {
		f.closed = true
		f.fs.mu.Lock()
		if f.fs.open[f.path]--; f.fs.open[f.path] == 0 {
			delete(f.fs.open, f.path)
		}
		f.fs.mu.Unlock()
	}
	return f.logFile.Close()
}

func reconfigure(t testing.TB, w *Writer, entries []Entry, rot *Rotation) {
	t.Helper()
	if err := w.Reconfigure(entries, rot); err != nil {
		t.Fatalf("Reconfigure: %v", err)
	}
}

// seqs reads the seq objects of files (in order) in dir.
func seqs(t testing.TB, dir string, files []string) []seq {
	t.Helper()
	var out []seq
	for _, f := range files {
		text := readFile(t, filepath.Join(dir, f))
		for line := range strings.Lines(text) {
			var s seq
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatalf("%s: %q: %v", f, line, err)
			}
			out = append(out, s)
		}
	}
	return out
}

// writeSeq writes batch b of k objects and returns what it wrote.
func writeSeq(t testing.TB, n *NodeLog, b, k int) []seq {
	t.Helper()
	batch := make([]tracer.TraceObject, k)
	want := make([]seq, k)
	for o := range batch {
		batch[o], want[o] = seqObject(b, o), seq{b, o}
	}
	write(t, n, batch...)
	return want
}

// TestReconfigureEntries: a NodeLog switches entries between batches; a
// removed entry's file is closed and its symlink left alone, a new entry
// opens a new file on the next batch, a kept entry keeps its file, and
// every object is written exactly once, in order.
func TestReconfigureEntries(t *testing.T) {
	t.Parallel()
	rootA, rootB := t.TempDir(), t.TempDir()
	dirA, dirB := filepath.Join(rootA, "n"), filepath.Join(rootB, "n")
	clock := newClock("2026-07-23T08:56:07Z")
	tfs := newTrackFS()
	w := newWriter(t, Config{Entries: []Entry{{Root: rootA, Format: ForMachine}}, Now: clock.Now, fs: tfs})
	n := openNode(t, w, "n")

	var want []seq
	for b := range 5 {
		want = append(want, writeSeq(t, n, b, 1+b%3)...)
	}
	firstA := logFiles(t, dirA, "json")
	if len(firstA) != 1 {
		t.Fatalf("files in A: %q", firstA)
	}
	reconfigure(t, w, []Entry{{Root: rootB + "/", Format: ForHuman}}, nil)
	if got := tfs.openFiles(); !slices.Equal(got, []string{filepath.Join(dirA, firstA[0])}) {
		t.Errorf("before the next batch, open files = %q; want A's file still open", got)
	}
	clock.Advance(time.Second)
	for b := 5; b < 10; b++ {
		want = append(want, writeSeq(t, n, b, 1+b%3)...)
	}
	filesB := logFiles(t, dirB, "log")
	if len(filesB) != 1 || fileExists(filepath.Join(dirB, "node.json")) {
		t.Fatalf("B holds %q", dirNames(t, dirB))
	}
	if got := tfs.openFiles(); !slices.Equal(got, []string{filepath.Join(dirB, filesB[0])}) {
		t.Errorf("open files = %q; want only B's", got)
	}
	if got := logFiles(t, dirA, "json"); !slices.Equal(got, firstA) {
		t.Errorf("A holds %q after its entry was removed", got)
	}
	checkLink(t, dirA, "json", firstA[0]) // left as it was
	checkLink(t, dirB, "log", filesB[0])
	got := append(seqs(t, dirA, firstA), seqs(t, dirB, filesB)...)
	if !slices.Equal(got, want) {
		t.Errorf("objects across A and B:\n%v\nwant\n%v", got, want)
	}
	if a := seqs(t, dirA, firstA); a[len(a)-1].B != 4 {
		t.Errorf("A ends at batch %d, want 4", a[len(a)-1].B)
	}

	// Add A back next to B: A starts a new file (and moves its symlink),
	// B keeps its file.
	clock.Advance(time.Second)
	reconfigure(t, w, []Entry{{Root: rootB, Format: ForHuman}, {Root: rootA, Format: ForMachine}}, nil)
	tail := writeSeq(t, n, 10, 2)
	filesA := logFiles(t, dirA, "json")
	if len(filesA) != 2 || filesA[0] != firstA[0] {
		t.Fatalf("A holds %q", filesA)
	}
	checkLink(t, dirA, "json", filesA[1])
	if got := seqs(t, dirA, filesA[1:]); !slices.Equal(got, tail) {
		t.Errorf("A's new file holds %v, want %v", got, tail)
	}
	if got := logFiles(t, dirB, "log"); !slices.Equal(got, filesB) {
		t.Errorf("B holds %q; want its file kept", got)
	}
	if got := seqs(t, dirB, filesB); !slices.Equal(got[len(got)-2:], tail) {
		t.Errorf("B's file ends with %v, want %v", got[len(got)-2:], tail)
	}
	if got := len(tfs.openFiles()); got != 2 {
		t.Errorf("%d open files, want 2", got)
	}

	// An empty Write switches too: dropping A closes its file and takes
	// its sink out of the pruner's registry.
	reconfigure(t, w, []Entry{{Root: rootB, Format: ForHuman}}, nil)
	write(t, n)
	if got := tfs.openFiles(); !slices.Equal(got, []string{filepath.Join(dirB, filesB[0])}) {
		t.Errorf("after an empty Write, open files = %q", got)
	}
	w.mu.Lock()
	registered := len(w.sinks)
	w.mu.Unlock()
	if registered != 1 {
		t.Errorf("%d sinks registered for pruning, want 1", registered)
	}
	if st := n.Stats(); st.Batches != 11 || st.FilesOpened != 3 || st.WriteErrors != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if got := tfs.openFiles(); len(got) != 0 {
		t.Errorf("open after Close: %q", got)
	}
}

// TestReconfigureLimitBytes: a new limit applies to the next batch's size
// check; so does turning rotation off and on.
func TestReconfigureLimitBytes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "n")
	entries := []Entry{{Root: root, Format: ForMachine}}
	rot := func(limit uint64) *Rotation {
		return &Rotation{Frequency: time.Hour, LimitBytes: limit, KeepFiles: 100, MaxAge: 1000 * time.Hour}
	}
	clock := newClock("2026-07-23T08:56:07Z")
	w := newWriter(t, Config{Entries: entries, Rotation: rot(1 << 20), Now: clock.Now, manualPrune: true})
	n := openNode(t, w, "n")
	for i, step := range []struct {
		name   string
		reload bool
		rot    *Rotation
		files  int // after the step's batch
	}{
		{"large limit", false, nil, 1},
		{"lowered limit rotates", true, rot(1), 2},
		{"small limit rotates again", false, nil, 3},
		{"raised limit stops rotating", true, rot(1 << 20), 3},
		{"still not rotating", false, nil, 3},
		{"rotation off", true, nil, 3},
		{"rotation on with a small limit", true, rot(1), 4},
	} {
		if step.reload {
			reconfigure(t, w, entries, step.rot)
		}
		clock.Advance(time.Second) // a rotation needs the name's second to pass
		want := writeSeq(t, n, i, 2)
		files := logFiles(t, dir, "json")
		if len(files) != step.files {
			t.Fatalf("%s: %d files, want %d", step.name, len(files), step.files)
		}
		if got := seqs(t, dir, files); !slices.Equal(got[len(got)-2:], want) {
			t.Errorf("%s: last objects %v, want %v", step.name, got[len(got)-2:], want)
		}
		checkLink(t, dir, "json", files[len(files)-1])
	}
	if st := n.Stats(); st.Rotations != 3 {
		t.Errorf("Stats = %+v, want 3 rotations", st)
	}
}

// TestReconfigurePruner: new Frequency, KeepFiles and MaxAge are used by
// the running pruner, in fake time.
func TestReconfigurePruner(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, "n")
		entries := []Entry{{Root: root, Format: ForMachine}}
		rot := Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: 100, MaxAge: time.Hour}
		w, err := New(Config{Entries: entries, Rotation: &rot})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		n, err := w.Open(Node{Name: "n", Dir: "n"})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		write(t, n, t13Object())
		start := time.Now()
		current := logName(start, "json")
		old3h, old2h := logName(start.Add(-3*time.Hour), "json"), logName(start.Add(-2*time.Hour), "json")
		touch(t, filepath.Join(dir, old3h))
		touch(t, filepath.Join(dir, old2h))
		passes := func() uint64 { synctest.Wait(); return w.Stats().PrunePasses }
		if p := passes(); p != 1 {
			t.Fatalf("%d passes at start-up, want 1", p)
		}

		// A shorter Frequency shortens the wait in progress: the next pass
		// is due a minute after the first, not an hour.
		time.Sleep(10 * time.Second)
		rot.Frequency = time.Minute
		reconfigure(t, w, entries, &rot)
		if p := passes(); p != 1 {
			t.Fatalf("a reload ran a pass that was not due (%d passes)", p)
		}
		time.Sleep(49 * time.Second)
		if p := passes(); p != 1 {
			t.Fatalf("%d passes at +59s, want 1", p)
		}
		time.Sleep(time.Second)
		if p := passes(); p != 2 {
			t.Fatalf("%d passes at +60s, want 2", p)
		}
		if got := logFiles(t, dir, "json"); len(got) != 3 {
			t.Fatalf("KeepFiles 100 deleted files: %q", got)
		}

		// KeepFiles and MaxAge: the next pass deletes what is older than
		// 150 minutes, and stops at the first younger file.
		rot.KeepFiles, rot.MaxAge = 0, 150*time.Minute
		reconfigure(t, w, entries, &rot)
		if got := logFiles(t, dir, "json"); len(got) != 3 {
			t.Fatalf("pruned before the next pass: %q", got)
		}
		time.Sleep(time.Minute)
		if p := passes(); p != 3 {
			t.Fatalf("%d passes, want 3", p)
		}
		if got, want := logFiles(t, dir, "json"), []string{old2h, current}; !slices.Equal(got, want) {
			t.Fatalf("after MaxAge 150m: %q, want %q", got, want)
		}
		rot.MaxAge = time.Hour
		reconfigure(t, w, entries, &rot)
		time.Sleep(time.Minute)
		if p := passes(); p != 4 {
			t.Fatalf("%d passes, want 4", p)
		}
		if got, want := logFiles(t, dir, "json"), []string{current}; !slices.Equal(got, want) {
			t.Fatalf("after MaxAge 1h: %q, want %q", got, want)
		}

		// A longer Frequency applies to the wait in progress too.
		time.Sleep(30 * time.Second)
		rot.Frequency = time.Hour
		reconfigure(t, w, entries, &rot)
		time.Sleep(59 * time.Minute) // the next pass is due an hour after the last
		if p := passes(); p != 4 {
			t.Fatalf("%d passes before the hour, want 4", p)
		}
		time.Sleep(30 * time.Second)
		if p := passes(); p != 5 {
			t.Fatalf("%d passes on the hour, want 5", p)
		}
		// A Frequency already overdue runs the next pass at once.
		time.Sleep(30 * time.Minute)
		rot.Frequency = 10 * time.Minute
		reconfigure(t, w, entries, &rot)
		if p := passes(); p != 6 {
			t.Fatalf("%d passes after an overdue Frequency, want 6", p)
		}
		if st := w.Stats(); st.FilesDeleted != 2 || st.PruneErrors != 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

// TestReconfigurePruneRemovedEntry: from the pass after a reload, the
// directories of a removed entry are not pruned, even while a NodeLog that
// has not switched yet still has its file open.
func TestReconfigurePruneRemovedEntry(t *testing.T) {
	t.Parallel()
	rootA, rootB := t.TempDir(), t.TempDir()
	a, b := Entry{Root: rootA, Format: ForMachine}, Entry{Root: rootB, Format: ForMachine}
	rot := &Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: 0, MaxAge: time.Hour}
	clock := newClock("2026-07-23T08:00:00Z")
	w := newWriter(t, Config{Entries: []Entry{a, b}, Rotation: rot, Now: clock.Now, manualPrune: true})
	n := openNode(t, w, "n")
	old := logName(clock.Now().Add(-3*time.Hour), "json")
	for _, root := range []string{rootA, rootB} {
		touch(t, filepath.Join(root, "n", old))
		touch(t, filepath.Join(root, "n", logName(clock.Now().Add(-2*time.Hour), "json")))
	}
	write(t, n, t13Object())
	reconfigure(t, w, []Entry{a}, rot) // n has not switched: B's file is still open
	w.prunePass()
	if got := logFiles(t, filepath.Join(rootA, "n"), "json"); len(got) != 1 {
		t.Errorf("A not pruned: %q", got)
	}
	if got := logFiles(t, filepath.Join(rootB, "n"), "json"); len(got) != 3 {
		t.Errorf("B, removed by the reload, pruned: %q", got)
	}
}

// safeJournal is a JournalSender for concurrent NodeLogs.
type safeJournal struct {
	mu   sync.Mutex
	msgs map[string][]string // by SYSLOG_IDENTIFIER
}

func (j *safeJournal) Send(message string, _ int, fields map[string]string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.msgs == nil {
		j.msgs = make(map[string][]string)
	}
	id := fields["SYSLOG_IDENTIFIER"]
	j.msgs[id] = append(j.msgs[id], message)
	return nil
}

func (j *safeJournal) messages(id string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.msgs[id])
}

// TestReconfigureRotationOnOff: turning rotation on starts the pruner,
// turning it off (or leaving no FileMode entry) stops it. The Writer is
// deliberately not closed: synctest.Test fails if a pruning goroutine is
// left behind in the bubble.
func TestReconfigureRotationOnOff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		files := []Entry{{Root: root, Format: ForMachine}}
		journalOnly := []Entry{{Mode: JournalMode, Format: ForHuman}}
		rot := &Rotation{Frequency: time.Minute, LimitBytes: 1 << 20, KeepFiles: 1, MaxAge: time.Hour}
		w, err := New(Config{Entries: files, Journal: &safeJournal{}})
		if err != nil {
			t.Fatal(err)
		}
		running := func() bool {
			synctest.Wait()
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.pruner != nil
		}
		passes := func() uint64 { synctest.Wait(); return w.Stats().PrunePasses }
		time.Sleep(time.Hour)
		if running() || passes() != 0 {
			t.Fatalf("pruning without rotation: %+v", w.Stats())
		}
		var want uint64
		for _, step := range []struct {
			name    string
			entries []Entry
			rot     *Rotation
			running bool
		}{
			{"on", files, rot, true},
			{"off", files, nil, false},
			{"on again", files, rot, true},
			{"no file entry left", journalOnly, rot, false},
			{"a file entry again", append(slices.Clone(journalOnly), files...), rot, true},
			{"off at the end", files, nil, false},
		} {
			reconfigure(t, w, step.entries, step.rot)
			if got := running(); got != step.running {
				t.Fatalf("%s: pruner running = %v, want %v", step.name, got, step.running)
			}
			if step.running {
				want++ // the first pass runs at once
				if p := passes(); p != want {
					t.Fatalf("%s: %d passes, want %d", step.name, p, want)
				}
				time.Sleep(time.Minute)
				want++
			} else {
				time.Sleep(time.Hour)
			}
			if p := passes(); p != want {
				t.Fatalf("%s: %d passes, want %d", step.name, p, want)
			}
		}
	})
}

// TestReconfigureInvalid: an invalid configuration is refused as New
// refuses it, and the running one stays in force.
func TestReconfigureInvalid(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "n")
	entries := []Entry{{Root: root, Format: ForMachine}}
	rot := &Rotation{Frequency: time.Hour, LimitBytes: 1 << 20, KeepFiles: 1, MaxAge: time.Hour}
	w := newWriter(t, Config{Entries: entries, Rotation: rot})
	n := openNode(t, w, "n")
	write(t, n, t13Object())
	g, p := w.cfg.Load(), w.pruner
	for _, tc := range []struct {
		name    string
		entries []Entry
		rot     *Rotation
		is      error
	}{
		{"relative root", []Entry{{Root: "logs", Format: ForHuman}}, rot, ErrRelativeRoot},
		{"relative root among good ones", append(slices.Clone(entries), Entry{Root: "./x"}), rot, ErrRelativeRoot},
		{"empty entries", []Entry{}, rot, ErrNoEntries},
		{"nil entries", nil, nil, ErrNoEntries},
		{"unknown format", []Entry{{Root: root, Format: 9}}, rot, nil},
		{"unknown mode", []Entry{{Root: root, Mode: 9}}, rot, nil},
		{"zero frequency", entries, &Rotation{LimitBytes: 1}, nil},
	} {
		err := w.Reconfigure(tc.entries, tc.rot)
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: Reconfigure = %v, want an error (%v)", tc.name, err, tc.is)
		}
		// The same checks as New: compare the two errors with each other.
		nw, nerr := New(Config{Entries: tc.entries, Rotation: tc.rot})
		if nerr == nil {
			nw.Close()
		}
		if nerr == nil || err == nil || nerr.Error() != err.Error() {
			t.Errorf("%s: New = %v, Reconfigure = %v; want the same error", tc.name, nerr, err)
		}
		if w.cfg.Load() != g || w.pruner != p {
			t.Fatalf("%s: the running configuration changed", tc.name)
		}
	}
	write(t, n, t14Object())
	if files := logFiles(t, dir, "json"); len(files) != 1 || readFile(t, filepath.Join(dir, files[0])) != t13Machine+"\n"+t14Machine+"\n" {
		t.Errorf("files %q", files)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Reconfigure(entries, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Reconfigure after Close = %v, want ErrClosed", err)
	}
}

// TestReconfigureWhileDiskFails: a Write retrying a batch that its disk
// refuses notices a reload at once. If the failing entry was removed, the
// batch goes to the new configuration (never twice to an entry that has
// it); if it stayed, the retries go on. Runs in fake time.
func TestReconfigureWhileDiskFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before []string // roots by letter, ForMachine
		after  []string
		heal   bool // the disk recovers after the reload
		want   map[string][]int
		every  bool // every root's disk fails, not only A's
	}{
		{"failing root replaced", []string{"A"}, []string{"B"}, false, map[string][]int{"A": {1}, "B": {2}}, false},
		{"after a root that has the batch", []string{"C", "A"}, []string{"C", "B"}, false, map[string][]int{"A": {1}, "B": {2}, "C": {1, 2}}, false},
		{"before a root that gets the batch", []string{"A", "C"}, []string{"C", "B"}, false, map[string][]int{"A": {1}, "B": {2}, "C": {1, 2}}, false},
		{"failing root kept", []string{"A"}, []string{"A", "B"}, true, map[string][]int{"A": {1, 2}}, false},
		// Both roots hold a part of the batch when the reload comes: the
		// one kept must not keep its part under the whole batch, nor the
		// one removed end in a part of a line.
		{"two failing roots, one removed", []string{"A", "C"}, []string{"C"}, true, map[string][]int{"A": {1}, "C": {1, 2}}, true},
		{"two failing roots, both removed", []string{"A", "C"}, []string{"B"}, true, map[string][]int{"A": {1}, "B": {2}, "C": {1}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				base := t.TempDir()
				tfs := newTrackFS()
				w, n := openTracked(t, tfs, rootEntries(base, tc.before...))
				writeSeq(t, n, 1, 3)
				if tc.every {
					tfs.setBad(base, 5)
				} else {
					tfs.setBad(filepath.Join(base, "A"), 5)
				}
				done := make(chan error, 1) // capacity 1: the writer never blocks on it
				go func() {
					done <- n.Write(context.Background(), []tracer.TraceObject{seqObject(2, 0), seqObject(2, 1)})
				}()
				synctest.Wait() // waiting to retry
				reconfigure(t, w, rootEntries(base, tc.after...), nil)
				synctest.Wait()
				if tc.heal {
					select {
					case err := <-done:
						t.Fatalf("Write returned (%v) although its entry stayed", err)
					default:
					}
					tfs.setBad("", 0)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				for _, l := range []string{"A", "B", "C"} {
					dir := filepath.Join(base, l, "n")
					var got []int
					if fileExists(dir) {
						for _, s := range seqs(t, dir, logFiles(t, dir, "json")) {
							if s.O == 0 {
								got = append(got, s.B)
							}
						}
					}
					if !slices.Equal(got, tc.want[l]) {
						t.Errorf("%s holds batches %v, want %v", l, got, tc.want[l])
					}
				}
				for _, p := range tfs.openFiles() {
					if strings.HasPrefix(p, filepath.Join(base, "A")) && !tc.heal {
						t.Errorf("%s still open", p)
					}
				}
				if st := n.Stats(); st.Batches != 2 || st.WriteErrors == 0 {
					t.Errorf("Stats = %+v", st)
				}
			})
		})
	}
}

// rootEntries are ForMachine entries for the roots named by letter under
// base.
func rootEntries(base string, letters ...string) []Entry {
	var out []Entry
	for _, l := range letters {
		out = append(out, Entry{Root: filepath.Join(base, l), Format: ForMachine})
	}
	return out
}

// openTracked opens node "n" on a Writer over tfs with entries, retrying
// from 100 ms to 1 s; both are closed when the test ends.
func openTracked(t *testing.T, tfs *trackFS, entries []Entry) (*Writer, *NodeLog) {
	t.Helper()
	w, err := New(Config{Entries: entries, fs: tfs, RetryMin: 100 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	n, err := w.Open(Node{Name: "n", Dir: "n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return w, n
}

// nodeObject is object o of batch b of node k.
func nodeObject(k, b, o int) tracer.TraceObject {
	return tracer.TraceObject{Machine: fmt.Sprintf(`{"k":%d,"b":%d,"o":%d,"pad":%q}`, k, b, o, strings.Repeat("x", (b*7+o*13)%60))}
}

// checkWholeBatches checks that got holds whole batches (batch b has
// size(b) objects), each at most once, in increasing order; with all,
// every batch.
func checkWholeBatches(t *testing.T, what string, got []seq, batches int, size func(int) int, all bool) {
	t.Helper()
	if all {
		var full []seq
		for b := range batches {
			for o := range size(b) {
				full = append(full, seq{b, o})
			}
		}
		if !slices.Equal(got, full) {
			t.Errorf("%s: %d objects, not every batch once in order (%d objects)", what, len(got), len(full))
		}
		return
	}
	last := -1
	for i := 0; i < len(got); {
		b := got[i].B
		if b <= last || b >= batches {
			t.Errorf("%s: batch %d after batch %d", what, b, last)
			return
		}
		for o := range size(b) {
			if i+o >= len(got) || got[i+o] != (seq{b, o}) {
				t.Errorf("%s: batch %d is not whole at object %d", what, b, o)
				return
			}
		}
		i += size(b)
		last = b
	}
}

// TestReconfigureConcurrent: several NodeLogs write while Reconfigure
// switches entries, the journal and rotation on and off, with the pruner
// running. Entry A is in every configuration and holds every object once,
// in order; the others hold whole batches, each at most once, in order.
func TestReconfigureConcurrent(t *testing.T) {
	t.Parallel()
	rootA, rootB := t.TempDir(), t.TempDir()
	a := Entry{Root: rootA, Format: ForMachine}
	b := Entry{Root: rootB, Format: ForHuman}
	j := Entry{Mode: JournalMode, Format: ForMachine}
	small := &Rotation{Frequency: time.Millisecond, LimitBytes: 600, KeepFiles: 1 << 20, MaxAge: 1000 * time.Hour}
	large := &Rotation{Frequency: time.Millisecond, LimitBytes: 1 << 20, KeepFiles: 1 << 20, MaxAge: 1000 * time.Hour}
	configs := []struct {
		entries []Entry
		rot     *Rotation
	}{
		{[]Entry{a}, small},
		{[]Entry{a, b}, small},
		{[]Entry{b, a, j}, nil},
		{[]Entry{j, a}, large},
		{[]Entry{a, b, j}, small},
		{[]Entry{a}, nil},
	}
	clock := newClock("2026-07-23T08:56:07Z")
	clock.step = 300 * time.Millisecond
	journal := &safeJournal{}
	w := newWriter(t, Config{Entries: configs[0].entries, Rotation: configs[0].rot, Now: clock.Now, Journal: journal})

	const nodes, batches = 4, 120
	size := func(b int) int { return 1 + b%5 }
	stop := make(chan struct{})
	var reloads atomic.Int64
	reloaded := make(chan struct{})
	go func() { // the reloader: owned by this test, ends when stop is closed
		defer close(reloaded)
		for i := 1; ; i++ {
			if i > 2*len(configs) { // at least two rounds, whenever the writers end
				select {
				case <-stop:
					return
				default:
				}
			}
			c := configs[i%len(configs)]
			if err := w.Reconfigure(c.entries, c.rot); err != nil {
				t.Errorf("Reconfigure: %v", err)
				return
			}
			reloads.Add(1)
		}
	}()
	var wg sync.WaitGroup
	for k := range nodes {
		wg.Go(func() {
			dir := fmt.Sprintf("n%d", k)
			n, err := w.Open(Node{Name: dir, Dir: dir})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			defer n.Close()
			for b := range batches {
				batch := make([]tracer.TraceObject, size(b))
				for o := range batch {
					batch[o] = nodeObject(k, b, o)
				}
				if err := n.Write(context.Background(), batch); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-reloaded
	if err := w.Close(); err != nil { // stop pruning before looking
		t.Fatal(err)
	}

	parse := func(what string, lines []string, k int) []seq {
		var out []seq
		for _, line := range lines {
			var s struct{ K, B, O int }
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatalf("%s: %q: %v", what, line, err)
			}
			if s.K != k {
				t.Fatalf("%s: object of node %d", what, s.K)
			}
			out = append(out, seq{s.B, s.O})
		}
		return out
	}
	readLines := func(root string, k int, ext string) []string {
		dir := filepath.Join(root, fmt.Sprintf("n%d", k))
		if !fileExists(dir) {
			return nil
		}
		var lines []string
		for _, f := range logFiles(t, dir, ext) {
			text := readFile(t, filepath.Join(dir, f))
			if !strings.HasSuffix(text, "\n") {
				t.Errorf("%s/%s does not end with a complete line", dir, f)
			}
			for l := range strings.Lines(text) {
				lines = append(lines, strings.TrimSuffix(l, "\n"))
			}
		}
		return lines
	}
	rotated := false
	for k := range nodes {
		checkWholeBatches(t, fmt.Sprintf("A n%d", k), parse("A", readLines(rootA, k, "json"), k), batches, size, true)
		checkWholeBatches(t, fmt.Sprintf("B n%d", k), parse("B", readLines(rootB, k, "log"), k), batches, size, false)
		checkWholeBatches(t, fmt.Sprintf("journal n%d", k), parse("journal", journal.messages(fmt.Sprintf("n%d", k)), k), batches, size, false)
		rotated = rotated || len(logFiles(t, filepath.Join(rootA, fmt.Sprintf("n%d", k)), "json")) > 1
	}
	// How much the reloads interleaved with the batches is up to the
	// scheduler (typically hundreds of reloads, most runs with rotations);
	// the assertions above hold whatever the interleaving.
	t.Logf("%d reloads, rotation in A: %v", reloads.Load(), rotated)
}

// TestReconfigureUnusableDir: a NodeLog opened under a journal-only
// configuration with a Dir that is not one path component writes no file
// when a reload adds a FileMode entry; it warns once and keeps journaling.
func TestReconfigureUnusableDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	journal := &safeJournal{}
	logs := &logBuffer{}
	journalOnly := []Entry{{Mode: JournalMode, Format: ForMachine}}
	w := newWriter(t, Config{Entries: journalOnly, Journal: journal, Log: logs.logger()})
	n, err := w.Open(Node{Name: "evil", Dir: "../x"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	reconfigure(t, w, append(slices.Clone(journalOnly), Entry{Root: root, Format: ForMachine}), nil)
	write(t, n, t13Object())
	write(t, n, t14Object())
	if names := dirNames(t, root); len(names) != 0 {
		t.Errorf("root holds %q", names)
	}
	if got := journal.messages("evil"); !slices.Equal(got, []string{t13Machine, t14Machine}) {
		t.Errorf("journal got %q", got)
	}
	if got := logs.count("node directory name not usable; FileMode entries are not written for this connection"); got != 1 {
		t.Errorf("%d warnings, want 1:\n%s", got, logs)
	}
}
