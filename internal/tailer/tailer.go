package tailer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Tailer.
type Config struct {
	// Root is the directory whose log files are followed.
	Root string
	// Rescan is the period of the full rescan that catches what inotify
	// missed. Default 200 ms.
	Rescan time.Duration
	// Log receives diagnostics. Default: discarded.
	Log *slog.Logger
}

// DefaultRescan is Config.Rescan's default.
const DefaultRescan = 200 * time.Millisecond

var (
	// ErrNotDir: the root is not a directory.
	ErrNotDir = errors.New("not a directory")
	// ErrAlreadyRun: Run was called a second time.
	ErrAlreadyRun = errors.New("tailer already run")
)

// Tailer follows the log files under a root directory. See the package
// documentation.
type Tailer struct {
	cfg     Config
	log     *slog.Logger
	started atomic.Bool

	mu sync.Mutex // guards st
	st stats

	// Owned by Run's goroutine.
	w     *watcher
	buf   []byte          // file reads: a remainder plus new data
	evbuf []byte          // inotify reads
	dirs  map[string]*dir // by path
	byWD  map[int32]*dir
	dirty []*file // files with events since the last read, each once
	gen   uint64  // rescan generation
	// unlisted is the last generation in which a directory could not be
	// listed (see dir.unlisted).
	unlisted uint64
	// walk is filepath.WalkDir; tests replace it to make listings fail.
	walk func(root string, fn fs.WalkDirFunc) error
	// rescanNow asks for a full rescan before the period is up: the event
	// queue overflowed, or a watched directory went away.
	rescanNow bool
}

// New checks cfg and returns a Tailer; Run starts it.
func New(cfg Config) (*Tailer, error) {
	if cfg.Root == "" {
		return nil, errors.New("tailer config: Root is empty")
	}
	if cfg.Rescan < 0 {
		return nil, fmt.Errorf("tailer config: Rescan %v is negative", cfg.Rescan)
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = DefaultRescan
	}
	cfg.Root = filepath.Clean(cfg.Root)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tailer{
		cfg:   cfg,
		log:   log.With("component", "tailer"),
		st:    stats{hosts: make(map[string]*hostStats)},
		buf:   make([]byte, MaxLine+readSize),
		evbuf: make([]byte, 64<<10),
		dirs:  make(map[string]*dir),
		byWD:  make(map[int32]*dir),
		walk:  filepath.WalkDir,
	}, nil
}

// Run follows the files until ctx is done, then reads everything once more
// to its end and returns nil. It fails if the root is missing or inotify
// cannot be used. Run may be called once.
func (t *Tailer) Run(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	info, err := os.Stat(t.cfg.Root)
	if err != nil {
		return fmt.Errorf("tailer root: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("tailer root %s: %w", t.cfg.Root, ErrNotDir)
	}
	// WalkDir does not follow a root that is a link.
	if t.cfg.Root, err = filepath.EvalSymlinks(t.cfg.Root); err != nil {
		return fmt.Errorf("tailer root: %w", err)
	}
	if t.w, err = newWatcher(); err != nil {
		return fmt.Errorf("tailer: %w", err)
	}
	defer t.closeAll()
	stop := context.AfterFunc(ctx, func() {
		if err := t.w.wake(); err != nil {
			t.log.Debug("wake inotify reader", "err", err)
		}
	})
	defer stop()
	root := t.dirAt(t.cfg.Root)
	if err := t.watch(root); err != nil {
		return fmt.Errorf("tailer: %w", err)
	}
	t.log.Info("following", "dir", t.cfg.Root)
	t.rescan(time.Now())
	next := time.Now().Add(t.cfg.Rescan)
	for ctx.Err() == nil {
		n, err := t.w.read(ctx, t.evbuf, next)
		if err != nil {
			return fmt.Errorf("tailer: %w", err)
		}
		t.handleEvents(t.evbuf[:n])
		t.readDirty()
		if now := time.Now(); t.rescanNow || !now.Before(next) {
			t.rescan(now)
			next = now.Add(t.cfg.Rescan)
		}
	}
	t.rescan(time.Now())
	r := t.Report()
	t.log.Info("stopped", "count", r.Lines, "files", r.Files)
	return nil
}

// Report returns a consistent snapshot of the counters.
func (t *Tailer) Report() Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.report()
}

// ResetLatency clears the latency histograms and ClockSkew, typically at
// the end of a warm-up. Sequence state and line counts are kept.
func (t *Tailer) ResetLatency() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.resetLatency()
}

// closeAll closes every file and the watcher when Run returns.
func (t *Tailer) closeAll() {
	for _, d := range t.dirs {
		for _, f := range d.files {
			t.closeFile(f)
		}
	}
	if err := t.w.close(); err != nil {
		t.log.Debug("close inotify", "err", err)
	}
}
