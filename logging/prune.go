package logging

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// pruneLoop runs a pruning pass at once and then Rotation.Frequency after
// the end of each pass, until p.stop is closed (by Close, or by a
// Reconfigure that turns rotation off). The parameters are read from the
// current generation before each pass and each wait; a reset (Reconfigure)
// recomputes the wait in progress, so a new Frequency counts from the end
// of the last pass. It is the Writer's only goroutine; a stopped one may
// still finish its pass while a concurrent Reconfigure starts the next
// (harmless: deleting a file already deleted is ignored).
func (w *Writer) pruneLoop(p *pruner) {
	defer w.pruners.Done()
	defer close(p.done)
	for {
		w.prunePass()
		last := time.Now()
	wait:
		for {
			var (
				t    *time.Timer
				tick <-chan time.Time // nil (never ready) without rotation
			)
			if r := w.cfg.Load().rot; r != nil {
				t = time.NewTimer(r.Frequency - time.Since(last))
				tick = t.C
			}
			select {
			case <-p.stop:
				if t != nil {
					t.Stop()
				}
				return
			case <-p.reset:
				if t != nil {
					t.Stop()
				}
			case <-tick:
				break wait
			}
		}
	}
}

// pruneKey is one directory and format with an open file: what
// cardano-tracer visits in a pass (step 1 of e). Directories without an
// open file of that format (disconnected nodes, earlier runs, foreign
// directories) are left alone, as cardano-tracer does.
type pruneKey struct{ dir, ext string }

// prunePass applies the age and count rules (step 4 of e) to every
// directory that has an open file. The list of directories is copied under
// the lock; all file I/O happens without it.
func (w *Writer) prunePass() {
	g := w.cfg.Load()
	if g.rot == nil {
		return // rotation was just turned off; the loop is being stopped
	}
	now := w.now()
	w.mu.Lock()
	keys := make([]pruneKey, 0, len(w.sinks))
	for s := range w.sinks {
		// A sink of an entry that a reload removed is pruned no more, even
		// before its NodeLog switches.
		if (s.regCurrent != "" || s.regOpening) && g.hasFile(s.entry) {
			keys = append(keys, pruneKey{s.dirPath, s.ext})
		}
	}
	w.mu.Unlock()
	slices.SortFunc(keys, func(a, b pruneKey) int {
		return strings.Compare(a.dir+"\x00"+a.ext, b.dir+"\x00"+b.ext)
	})
	keys = slices.Compact(keys)
	for _, k := range keys {
		w.pruneDir(k, now, g.rot)
	}
	w.passes.Add(1)
}

type nameAge struct {
	name string
	t    time.Time
}

func (w *Writer) pruneDir(k pruneKey, now time.Time, rot *Rotation) {
	ents, err := w.fs.ReadDir(k.dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.pruneErrors.Add(1)
			w.log.Warn("trace log pruning: list directory", "path", k.dir, "err", err)
		}
		return
	}
	var files []nameAge
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if t, ok := parseLogName(e.Name(), k.ext); ok {
			files = append(files, nameAge{e.Name(), t})
		}
	}
	// Names sort chronologically; the newest is the current file, and the
	// next KeepFiles are kept whatever their age.
	slices.SortFunc(files, func(a, b nameAge) int { return strings.Compare(a.name, b.name) })
	keep := 1 + uint64(rot.KeepFiles)
	if uint64(len(files)) <= keep {
		return
	}
	candidates := files[:uint64(len(files))-keep]

	// Read the current files after listing: a file in the listing cannot
	// become current later (files are created with O_EXCL), except while a
	// sink is creating one, and then this directory waits for the next pass.
	var current []string
	opening := false
	w.mu.Lock()
	for s := range w.sinks {
		if s.dirPath == k.dir && s.ext == k.ext {
			opening = opening || s.regOpening
			if s.regCurrent != "" {
				current = append(current, s.regCurrent)
			}
		}
	}
	w.mu.Unlock()
	if opening {
		return
	}
	for _, f := range candidates { // oldest first
		if slices.Contains(current, f.name) {
			continue // another connection's current file: never deleted
		}
		if now.Sub(f.t) < rot.MaxAge {
			break
		}
		p := filepath.Join(k.dir, f.name)
		if err := w.fs.Remove(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.pruneErrors.Add(1)
				w.log.Warn("trace log pruning: delete file", "path", p, "err", err)
			}
			continue
		}
		w.pruned.Add(1)
		w.log.Debug("trace log file deleted", "path", p)
	}
}
