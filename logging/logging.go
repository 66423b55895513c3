package logging

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Format is what a log line holds (cardano-tracer's logFormat).
type Format uint8

// Formats.
const (
	// ForHuman writes toHuman when the object has one, else toMachine, to
	// .log files.
	ForHuman Format = iota
	// ForMachine writes toMachine verbatim to .json files.
	ForMachine
)

func (f Format) String() string {
	switch f {
	case ForHuman:
		return "ForHuman"
	case ForMachine:
		return "ForMachine"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Mode is where lines go (cardano-tracer's logMode).
type Mode uint8

// Modes.
const (
	FileMode Mode = iota
	JournalMode
)

func (m Mode) String() string {
	switch m {
	case FileMode:
		return "FileMode"
	case JournalMode:
		return "JournalMode"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Entry is one logging entry of the configuration.
type Entry struct {
	Root   string // absolute; ignored in JournalMode
	Mode   Mode
	Format Format
}

// Rotation holds cardano-tracer's rotation parameters.
type Rotation struct {
	// Frequency is the interval between pruning passes (rpFrequencySecs).
	Frequency time.Duration
	// LimitBytes: a new file is started before a batch when the current
	// one holds at least this many bytes (rpLogLimitBytes).
	LimitBytes uint64
	// KeepFiles older files are always kept on top of the current one
	// (rpKeepFilesNum).
	KeepFiles uint32
	// MaxAge: older files whose name is at least this old are deleted
	// (rpMaxAgeMinutes or rpMaxAgeHours).
	MaxAge time.Duration
}

// Config configures a Writer.
type Config struct {
	Entries []Entry
	// Rotation nil means no rotation: one file per connection, never
	// deleted.
	Rotation *Rotation
	// Now is the clock for file names, rotation and pruning ages.
	// Default time.Now.
	Now func() time.Time
	// Journal receives JournalMode entries. Default: journald through
	// go-systemd.
	Journal JournalSender
	// Log receives diagnostics. Default: discarded.
	Log *slog.Logger
	// RetryMin and RetryMax bound the exponential back-off while the disk
	// refuses a write. Defaults 100 ms and 10 s.
	RetryMin, RetryMax time.Duration

	fs          fileSystem // test seam; default osFS
	manualPrune bool       // tests: no pruning goroutine, call prunePass
}

// Defaults for Config.
const (
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 10 * time.Second
)

// ErrClosed is returned when writing through a closed NodeLog or opening
// one on a closed Writer.
var ErrClosed = errors.New("logging: closed")

// Node identifies one connection's logs.
type Node struct {
	// Name is the NodeName, used as the journal's SYSLOG_IDENTIFIER.
	Name string
	// Dir is the node's directory under each root: exactly one path
	// component, computed by the caller (BEHAVIOUR.md c.3).
	Dir string
}

// Writer persists trace objects for all nodes. It owns the pruning
// goroutine; each connection gets its own NodeLog from Open.
type Writer struct {
	// cfg is the current configuration, replaced as a whole by
	// Reconfigure; never nil after New.
	cfg atomic.Pointer[generation]

	now         func() time.Time
	journalCfg  JournalSender // Config.Journal; nil means go-systemd
	log         *slog.Logger
	fs          fileSystem
	retryMin    time.Duration
	retryMax    time.Duration
	manualPrune bool

	mu     sync.Mutex
	sinks  map[*fileSink]struct{} // open sinks, for pruning; guarded by mu
	closed bool                   // guarded by mu
	pruner *pruner                // the running pruning goroutine or nil; guarded by mu

	pruners sync.WaitGroup // every pruning goroutine ever started

	passes      atomic.Uint64
	pruned      atomic.Uint64
	pruneErrors atomic.Uint64
}

// WriterStats counts the pruning goroutine's work.
type WriterStats struct {
	PrunePasses  uint64
	FilesDeleted uint64
	PruneErrors  uint64
}

// New checks cfg and starts the pruning goroutine when cfg.Rotation is
// set. Identical entries are written once. When a JournalMode entry is
// configured with the default sender and journald is not reachable, New
// logs a warning; journal entries that cannot be sent are then dropped and
// counted (NodeLog.Stats), never blocking file logging.
func New(cfg Config) (*Writer, error) {
	w := &Writer{
		now:         cfg.Now,
		journalCfg:  cfg.Journal,
		log:         cfg.Log,
		fs:          cfg.fs,
		retryMin:    cfg.RetryMin,
		retryMax:    cfg.RetryMax,
		manualPrune: cfg.manualPrune,
		sinks:       make(map[*fileSink]struct{}),
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("component", "logging")
	if w.fs == nil {
		w.fs = osFS{}
	}
	if w.retryMin <= 0 {
		w.retryMin = DefaultRetryMin
	}
	if w.retryMax <= 0 {
		w.retryMax = DefaultRetryMax
	}
	var errs []error
	if w.retryMax < w.retryMin {
		errs = append(errs, fmt.Errorf("retry back-off: max %v below min %v", w.retryMax, w.retryMin))
	}
	g, defaultJournal, gerrs := w.newGeneration(cfg.Entries, cfg.Rotation)
	if err := errors.Join(append(errs, gerrs...)...); err != nil {
		return nil, fmt.Errorf("logging config: %w", err)
	}
	w.cfg.Store(g)
	if defaultJournal && !journalEnabled() {
		w.log.Warn("journald is not reachable; JournalMode entries will be dropped and counted",
			"count", len(g.journals))
	}
	if g.wantsPruner() && !w.manualPrune {
		w.pruner = w.startPruner()
	}
	return w, nil
}

// Close stops the pruning goroutine and waits for it. It is idempotent.
// Open NodeLogs keep working; the owner closes them.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	p := w.pruner
	w.pruner = nil
	w.mu.Unlock()
	if p != nil {
		close(p.stop)
	}
	w.pruners.Wait() // also one that a concurrent Reconfigure is stopping
	return nil
}

// Stats returns the pruning counters; safe from any goroutine.
func (w *Writer) Stats() WriterStats {
	return WriterStats{PrunePasses: w.passes.Load(), FilesDeleted: w.pruned.Load(), PruneErrors: w.pruneErrors.Load()}
}

// Open starts the logs of one connection. Nothing touches the disk until
// the first non-empty batch. Node.Dir must be one local path component
// when a FileMode entry exists; a NodeLog opened without one and with an
// unusable Dir writes no files after a reload adds FileMode entries (it
// warns once).
func (w *Writer) Open(node Node) (*NodeLog, error) {
	g := w.cfg.Load()
	n := &NodeLog{
		w:      w,
		node:   node,
		log:    w.log.With("node", node.Name),
		dirErr: checkDir(node.Dir),
		gen:    g,
	}
	if len(g.files) > 0 && n.dirErr != nil {
		return nil, n.dirErr
	}
	for _, e := range g.files {
		n.files = append(n.files, n.newSink(e))
		n.need[e.Format] = true
	}
	for _, e := range g.journals {
		n.journals = append(n.journals, &journalSink{format: e.Format})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	for _, s := range n.files {
		w.sinks[s] = struct{}{}
	}
	return n, nil
}

// newSink makes the (not yet registered) sink of file entry e.
func (n *NodeLog) newSink(e Entry) *fileSink {
	dir := filepath.Join(e.Root, n.node.Dir)
	ext := e.Format.ext()
	return &fileSink{
		n:       n,
		entry:   e,
		format:  e.Format,
		ext:     ext,
		dirPath: dir,
		link:    filepath.Join(dir, linkName(ext)),
	}
}

// register records s's current file (or that it is creating one) for the
// pruner. No I/O happens under the lock.
func (w *Writer) register(s *fileSink, current string, opening bool) {
	w.mu.Lock()
	s.regCurrent = current
	s.regOpening = opening
	w.mu.Unlock()
}

func (w *Writer) unregister(sinks []*fileSink) {
	w.mu.Lock()
	for _, s := range sinks {
		delete(w.sinks, s)
	}
	w.mu.Unlock()
}
