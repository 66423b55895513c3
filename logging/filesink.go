package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxNameTries bounds the search for a free file name when files of the
// same second already exist (each try moves the time stamp one second on).
const maxNameTries = 3600

// goneCheckInterval is how often a sink checks, before a batch, that its
// file is still at its path. On a write error it checks before every retry.
const goneCheckInterval = time.Second

var errNoFreeName = errors.New("no free file name")

// errEntryRemoved is returned by fileSink.write when a reload removed the
// sink's entry while the disk was refusing the batch; the sink has cut the
// batch back and closed its file, and NodeLog.removedBy holds the
// generation to switch to.
var errEntryRemoved = errors.New("logging entry removed by a reload")

// fileSink is one NodeLog's output to one FileMode entry: the current file
// of (node directory, format). It is owned by the NodeLog's goroutine; only
// regCurrent and regOpening are shared, with the pruner, under Writer.mu.
type fileSink struct {
	n       *NodeLog
	entry   Entry // the FileMode entry, root cleaned
	format  Format
	ext     string
	dirPath string // <root>/<dir>, absolute
	link    string // <dirPath>/node.<ext>

	f           logFile     // nil until the first batch, and after a drop
	info        fs.FileInfo // identity of f, for the gone check; may be nil
	name        string      // base name of f
	nameTime    time.Time   // time stamp in name
	size        uint64      // bytes in f, as written by us
	linkPending bool        // the symlink does not point at f yet
	lastCheck   time.Time   // last gone check
	dirty       bool        // f ends in a cut batch that could not be truncated away
	off         int         // bytes of the batch in hand already in f
	start       uint64      // size of f before the batch in hand

	failing     bool // in a write-failure streak
	failStart   time.Time
	failCount   int
	linkFailing bool

	regCurrent string // guarded by Writer.mu: base name of the current file
	regOpening bool   // guarded by Writer.mu: a file is being created
}

func (s *fileSink) path() string {
	if s.f == nil {
		return s.dirPath
	}
	return filepath.Join(s.dirPath, s.name)
}

// try makes the first attempt at a batch. Rotation and the check for a
// deleted file happen first, so a batch never straddles two files. On an
// error, the sink remembers how much of buf reached the file, for retry.
func (s *fileSink) try(buf []byte) error {
	if s.f != nil {
		now := s.n.w.now()
		switch {
		case s.dirty:
			s.drop()
		case s.gone(now, false):
			s.n.log.Warn("trace log file vanished; starting a new one", "path", s.path())
			s.drop()
		case s.rotationDue(now):
			s.n.rotations.Add(1)
			s.drop()
		}
	}
	s.off, s.start = 0, s.size
	return s.account(buf, s.attempt(buf))
}

// account counts the outcome of an attempt at buf and returns its error.
func (s *fileSink) account(buf []byte, err error) error {
	if err == nil {
		s.n.bytes.Add(uint64(len(buf)))
		s.recovered()
		return nil
	}
	s.n.writeErrors.Add(1)
	s.failed(err)
	return err
}

// attempt writes what of buf is not yet in the file: s.off bytes are,
// after s.start (the file's size before the batch).
func (s *fileSink) attempt(buf []byte) error {
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
		s.off = 0
	}
	if s.off == 0 {
		s.start = s.size
	}
	if s.linkPending {
		s.updateLink()
	}
	for s.off < len(buf) {
		k, err := s.f.Write(buf[s.off:])
		s.off += k
		s.size += uint64(k)
		if err == nil && k == 0 {
			err = io.ErrShortWrite // no progress: treat as a fault, never spin
		}
		if err != nil {
			return fmt.Errorf("write log file: %w", err)
		}
	}
	return nil
}

// retry goes on with a batch whose first attempt failed, with back-off,
// until it is written, ctx ends (the batch is cut back; ctx.Err()) or a
// reload removes the entry (cut back; errEntryRemoved).
func (s *fileSink) retry(ctx context.Context, buf []byte) error {
	w := s.n.w
	backoff := w.retryMin
	superseded := s.n.gen.superseded // a reload may remove this entry while we wait
	for {
		t := time.NewTimer(backoff)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				s.cutBack(s.off, s.start)
				return ctx.Err()
			case <-superseded:
				g := w.cfg.Load()
				if !g.hasFile(s.entry) {
					t.Stop()
					s.cutBack(s.off, s.start)
					s.n.log.Info("trace log entry removed by a reload while its writes failed; batch cut back",
						"path", s.path(), "count", s.failCount)
					s.failing, s.failCount = false, 0
					s.drop()
					s.n.removedBy = g
					return errEntryRemoved
				}
				superseded = g.superseded // kept: keep waiting, and watch the next reload
			case <-t.C:
				break wait
			}
		}
		backoff = min(2*backoff, w.retryMax)
		if s.f != nil && s.gone(w.now(), true) {
			// The partial batch went to a file nobody will read; the
			// whole batch goes to a fresh file.
			s.cutBack(s.off, s.start)
			s.drop()
			s.off = 0
		}
		if s.account(buf, s.attempt(buf)) == nil {
			return nil
		}
	}
}

// rotationDue reports whether the current file is full. At most one
// rotation per second keeps every name's time stamp at or before the clock.
func (s *fileSink) rotationDue(now time.Time) bool {
	r := s.n.gen.rot
	return r != nil && s.size > 0 && s.size >= r.LimitBytes && now.Unix() > s.nameTime.Unix()
}

// gone reports whether the current file is no longer at its path (file or
// directory deleted, or replaced). Unless forced, it looks at most once per
// goneCheckInterval of the clock.
func (s *fileSink) gone(now time.Time, force bool) bool {
	if s.info == nil {
		return false
	}
	if !force && now.Sub(s.lastCheck) < goneCheckInterval && !now.Before(s.lastCheck) {
		return false
	}
	s.lastCheck = now
	fi, err := s.n.w.fs.Stat(filepath.Join(s.dirPath, s.name))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return !os.SameFile(fi, s.info)
}

// open creates a new file, named from the clock. O_EXCL never truncates a
// file of the same second: the time stamp moves on a second until free.
func (s *fileSink) open() (err error) {
	w := s.n.w
	w.register(s, "", true)
	defer func() {
		current := ""
		if s.f != nil {
			current = s.name
		}
		w.register(s, current, false)
	}()
	if err := w.fs.MkdirAll(s.dirPath, 0o755); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	now := w.now()
	t := time.Unix(now.Unix(), 0).UTC()
	for range maxNameTries {
		name := logName(t, s.ext)
		f, err := w.fs.OpenFile(filepath.Join(s.dirPath, name),
			os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) {
			t = t.Add(time.Second)
			continue
		}
		if err != nil {
			return fmt.Errorf("create log file: %w", err)
		}
		info, err := f.Stat()
		if err != nil {
			info = nil // no gone check for this file
		}
		s.f, s.info, s.name, s.nameTime = f, info, name, t
		s.size, s.dirty, s.linkPending, s.lastCheck = 0, false, true, now
		s.n.filesOpened.Add(1)
		s.n.log.Debug("trace log file opened", "path", s.path())
		return nil
	}
	return fmt.Errorf("create log file in %s: %w", s.dirPath, errNoFreeName)
}

// updateLink points node.<ext> at the current file with an absolute
// target, atomically: a temporary link renamed over the old one. A failure
// is logged and counted, and retried before the next batch; it never holds
// up the data.
func (s *fileSink) updateLink() {
	w := s.n.w
	tmp := s.link + ".tmp"
	target := filepath.Join(s.dirPath, s.name)
	var err error
	for range 3 { // another sink in the same directory may race for tmp
		if err = w.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			break
		}
		err = w.fs.Symlink(target, tmp)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = w.fs.Rename(tmp, s.link)
		}
		break
	}
	if err != nil {
		s.n.linkErrors.Add(1)
		if !s.linkFailing {
			s.linkFailing = true
			s.n.log.Warn("trace log symlink not updated; retrying with the next batch",
				"path", s.link, "err", err)
		}
		return
	}
	s.linkPending = false
	if s.linkFailing {
		s.linkFailing = false
		s.n.log.Info("trace log symlink updated", "path", s.link)
	}
}

// cutBack removes the part of a batch that reached the file, so that the
// file ends at a batch boundary. If that fails, the file is marked dirty
// and the next batch starts a new file.
func (s *fileSink) cutBack(off int, start uint64) {
	if s.f == nil || off == 0 {
		return
	}
	if err := s.f.Truncate(int64(start)); err != nil {
		s.dirty = true
		s.n.log.Warn("trace log file ends in a partial batch", "path", s.path(), "err", err)
		return
	}
	s.size = start
}

// drop closes the current file so that the next attempt opens a new one.
func (s *fileSink) drop() {
	if err := s.close(); err != nil {
		s.n.log.Warn("trace log file close", "path", s.dirPath, "err", err)
	}
}

func (s *fileSink) close() error {
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f, s.info = nil, nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("close log file: %w", err)
	}
	return nil
}

func (s *fileSink) failed(err error) {
	s.failCount++
	if s.failing {
		return
	}
	s.failing = true
	s.failStart = s.n.w.now()
	s.n.log.Warn("trace log write failed; retrying until it succeeds", "path", s.path(), "err", err)
}

func (s *fileSink) recovered() {
	if !s.failing {
		return
	}
	s.n.log.Info("trace log write recovered", "path", s.path(),
		"count", s.failCount, "duration", s.n.w.now().Sub(s.failStart))
	s.failing, s.failCount = false, 0
}
