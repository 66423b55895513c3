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
	files    []Entry // FileMode entries, deduplicated
	journals []Entry // JournalMode entries, deduplicated
	rot      *Rotation
	now      func() time.Time
	journal  JournalSender
	log      *slog.Logger
	fs       fileSystem
	retryMin time.Duration
	retryMax time.Duration

	mu     sync.Mutex
	sinks  map[*fileSink]struct{} // open sinks, for pruning; guarded by mu
	closed bool                   // guarded by mu

	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the pruning goroutine returns
	closeOnce sync.Once

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
		now:      cfg.Now,
		journal:  cfg.Journal,
		log:      cfg.Log,
		fs:       cfg.fs,
		retryMin: cfg.RetryMin,
		retryMax: cfg.RetryMax,
		sinks:    make(map[*fileSink]struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if cfg.Rotation != nil {
		r := *cfg.Rotation // the pruner must not share the caller's value
		w.rot = &r
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
	if r := cfg.Rotation; r != nil && r.Frequency <= 0 {
		errs = append(errs, fmt.Errorf("rotation frequency %v: must be positive", r.Frequency))
	}
	seen := make(map[Entry]bool)
	for i, e := range cfg.Entries {
		if e.Format != ForHuman && e.Format != ForMachine {
			errs = append(errs, fmt.Errorf("entry %d: unknown format %v", i, e.Format))
			continue
		}
		switch e.Mode {
		case FileMode:
			if !filepath.IsAbs(e.Root) {
				errs = append(errs, fmt.Errorf("entry %d: log root %q is not absolute", i, e.Root))
				continue
			}
			e.Root = filepath.Clean(e.Root)
		case JournalMode:
			e.Root = ""
		default:
			errs = append(errs, fmt.Errorf("entry %d: unknown mode %v", i, e.Mode))
			continue
		}
		if seen[e] {
			continue
		}
		seen[e] = true
		if e.Mode == FileMode {
			w.files = append(w.files, e)
		} else {
			w.journals = append(w.journals, e)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("logging config: %w", err)
	}
	if len(w.journals) > 0 && w.journal == nil {
		w.journal = systemdJournal{}
		if !journalEnabled() {
			w.log.Warn("journald is not reachable; JournalMode entries will be dropped and counted",
				"count", len(w.journals))
		}
	}
	if w.rot != nil && len(w.files) > 0 && !cfg.manualPrune {
		go w.pruneLoop()
	} else {
		close(w.done)
	}
	return w, nil
}

// Close stops the pruning goroutine and waits for it. It is idempotent.
// Open NodeLogs keep working; the owner closes them.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	<-w.done
	return nil
}

// Stats returns the pruning counters; safe from any goroutine.
func (w *Writer) Stats() WriterStats {
	return WriterStats{PrunePasses: w.passes.Load(), FilesDeleted: w.pruned.Load(), PruneErrors: w.pruneErrors.Load()}
}

// Open starts the logs of one connection. Nothing touches the disk until
// the first non-empty batch. Node.Dir must be one local path component
// when a FileMode entry exists.
func (w *Writer) Open(node Node) (*NodeLog, error) {
	if len(w.files) > 0 {
		if err := checkDir(node.Dir); err != nil {
			return nil, err
		}
	}
	n := &NodeLog{
		w:    w,
		node: node,
		log:  w.log.With("node", node.Name),
	}
	for _, e := range w.files {
		dir := filepath.Join(e.Root, node.Dir)
		ext := e.Format.ext()
		n.files = append(n.files, &fileSink{
			n:       n,
			format:  e.Format,
			ext:     ext,
			dirPath: dir,
			link:    filepath.Join(dir, linkName(ext)),
		})
		n.need[e.Format] = true
	}
	for _, e := range w.journals {
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
