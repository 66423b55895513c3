package logging

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
)

// Validation errors of New and Reconfigure, for errors.Is.
var (
	ErrNoEntries    = errors.New("no logging entries")
	ErrRelativeRoot = errors.New("log root is not absolute")
)

// generation is one immutable configuration of a Writer. Reconfigure
// publishes a new one through Writer.cfg; a NodeLog compares the published
// pointer with its own before each batch (one atomic load) and switches
// when they differ. Nothing in a generation changes after it is published.
type generation struct {
	files    []Entry       // FileMode entries, deduplicated, roots cleaned
	journals []Entry       // JournalMode entries, deduplicated, Root ""
	rot      *Rotation     // nil: no rotation; a private copy
	journal  JournalSender // nil when there is no JournalMode entry

	// superseded is closed when a newer generation is published, so that
	// a Write waiting out a disk fault notices that its entry was removed.
	superseded chan struct{}
}

func (g *generation) hasFile(e Entry) bool { return slices.Contains(g.files, e) }

// wantsPruner reports whether g needs the pruning goroutine.
func (g *generation) wantsPruner() bool { return g.rot != nil && len(g.files) > 0 }

// newGeneration checks entries and rot exactly as New does and builds the
// generation; on error it returns every problem found. defaultJournal
// reports that the go-systemd sender was chosen because none was given.
func (w *Writer) newGeneration(entries []Entry, rot *Rotation) (g *generation, defaultJournal bool, errs []error) {
	g = &generation{superseded: make(chan struct{})}
	if rot != nil {
		r := *rot // never share the caller's value
		g.rot = &r
		if r.Frequency <= 0 {
			errs = append(errs, fmt.Errorf("rotation frequency %v: must be positive", r.Frequency))
		}
	}
	if len(entries) == 0 {
		errs = append(errs, ErrNoEntries)
	}
	seen := make(map[Entry]bool, len(entries))
	for i, e := range entries {
		if e.Format != ForHuman && e.Format != ForMachine {
			errs = append(errs, fmt.Errorf("entry %d: unknown format %v", i, e.Format))
			continue
		}
		switch e.Mode {
		case FileMode:
			if !filepath.IsAbs(e.Root) {
				errs = append(errs, fmt.Errorf("entry %d: log root %q: %w", i, e.Root, ErrRelativeRoot))
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
			g.files = append(g.files, e)
		} else {
			g.journals = append(g.journals, e)
		}
	}
	if len(g.journals) > 0 {
		g.journal = w.journalCfg
		if g.journal == nil {
			g.journal, defaultJournal = systemdJournal{}, true
		}
	}
	return g, defaultJournal, errs
}

// pruner is one run of the pruning goroutine. Its channels belong to it:
// stop is closed by whoever takes the pruner out of Writer.pruner (Close
// or Reconfigure), done by the goroutine when it returns.
type pruner struct {
	stop  chan struct{}
	reset chan struct{} // capacity 1: "the parameters changed", coalesced
	done  chan struct{}
}

// startPruner starts the pruning goroutine. Called with w.mu held; it does
// no I/O and no channel operation.
func (w *Writer) startPruner() *pruner {
	p := &pruner{stop: make(chan struct{}), reset: make(chan struct{}, 1), done: make(chan struct{})}
	w.pruners.Add(1)
	go w.pruneLoop(p)
	return p
}

// Reconfigure replaces the logging entries and the rotation parameters
// while the Writer runs, without closing any NodeLog. It checks entries
// and rot exactly as New does and, on error, changes nothing. It returns
// ErrClosed after Close.
//
// The new configuration is published at once; each open NodeLog switches
// to it at the start of its next Write, between two batches (see the
// package documentation, section Reload). The pruning goroutine is started
// or stopped as rotation is turned on or off; when it is stopped,
// Reconfigure waits for it to return. Reconfigure is safe to call from any
// goroutine, concurrently with Writes, Open and the pruner.
func (w *Writer) Reconfigure(entries []Entry, rot *Rotation) error {
	g, defaultJournal, errs := w.newGeneration(entries, rot)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logging config: %w", err)
	}
	var stop, reset *pruner
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	old := w.cfg.Load()
	w.cfg.Store(g)
	switch want := g.wantsPruner() && !w.manualPrune; {
	case want && w.pruner == nil:
		w.pruner = w.startPruner()
	case want:
		reset = w.pruner
	case w.pruner != nil:
		stop, w.pruner = w.pruner, nil
	}
	w.mu.Unlock()

	// Channel operations and waiting, with no lock held. Every generation
	// is superseded exactly once, by the Store above under w.mu.
	close(old.superseded)
	if reset != nil {
		select {
		case reset.reset <- struct{}{}:
		default: // a reset is already pending; it will read g
		}
	}
	if stop != nil {
		close(stop.stop)
		<-stop.done
	}
	if defaultJournal && len(old.journals) == 0 && !journalEnabled() {
		w.log.Warn("journald is not reachable; JournalMode entries will be dropped and counted",
			"count", len(g.journals))
	}
	w.log.Debug("trace log configuration replaced", "count", len(g.files)+len(g.journals))
	return nil
}

// apply switches the NodeLog to generation g. It runs on the NodeLog's
// goroutine between batches: entries that remain keep their sink and open
// file; sinks of removed entries are unregistered from the pruner, then
// their files are closed (their symlinks stay); new entries get a sink that
// opens a file on the first batch, as after Open.
func (n *NodeLog) apply(g *generation) {
	old := n.files
	files := make([]*fileSink, 0, len(g.files))
	var added, removed []*fileSink
	if n.dirErr != nil {
		if len(g.files) > 0 && !n.dirWarned {
			n.dirWarned = true
			n.log.Warn("node directory name not usable; FileMode entries are not written for this connection",
				"err", n.dirErr)
		}
	} else {
		for _, e := range g.files {
			i := slices.IndexFunc(old, func(s *fileSink) bool { return s.entry == e })
			if i >= 0 {
				files = append(files, old[i])
				continue
			}
			s := n.newSink(e)
			files = append(files, s)
			added = append(added, s)
		}
	}
	for _, s := range old {
		if !slices.Contains(files, s) {
			removed = append(removed, s)
		}
	}
	n.w.swapSinks(removed, added)
	for _, s := range removed {
		if err := s.close(); err != nil {
			n.log.Warn("trace log file close", "path", s.dirPath, "err", err)
		}
	}
	n.files = files

	journals := make([]*journalSink, 0, len(g.journals))
	for _, e := range g.journals {
		i := slices.IndexFunc(n.journals, func(j *journalSink) bool { return j.format == e.Format })
		if i >= 0 {
			journals = append(journals, n.journals[i]) // keeps its failure streak
		} else {
			journals = append(journals, &journalSink{format: e.Format})
		}
	}
	n.journals = journals

	n.need = [2]bool{}
	for _, s := range n.files {
		n.need[s.format] = true
	}
	for f := range n.buf {
		if !n.need[f] {
			n.buf[f] = nil
		}
	}
	n.gen = g
}

// swapSinks updates the pruner's registry of open sinks.
func (w *Writer) swapSinks(removed, added []*fileSink) {
	if len(removed) == 0 && len(added) == 0 {
		return
	}
	w.mu.Lock()
	for _, s := range removed {
		delete(w.sinks, s)
	}
	for _, s := range added {
		w.sinks[s] = struct{}{}
	}
	w.mu.Unlock()
}
