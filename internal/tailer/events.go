package tailer

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// watch adds an inotify watch on d.
func (t *Tailer) watch(d *dir) error {
	wd, err := t.w.add(d.path)
	if err != nil {
		return err
	}
	d.wd, d.watched = wd, true
	t.byWD[wd] = d
	return nil
}

func (t *Tailer) handleEvents(buf []byte) {
	for {
		ev, rest, ok := nextEvent(buf)
		if !ok {
			return
		}
		buf = rest
		t.handle(ev)
	}
}

func (t *Tailer) handle(ev event) {
	if ev.mask&syscall.IN_Q_OVERFLOW != 0 {
		t.log.Warn("inotify queue overflowed; rescanning")
		t.rescanNow = true
		return
	}
	d := t.byWD[ev.wd]
	if d == nil {
		return
	}
	if ev.mask&(syscall.IN_DELETE_SELF|syscall.IN_IGNORED) != 0 {
		if ev.mask&syscall.IN_IGNORED != 0 {
			delete(t.byWD, ev.wd)
			d.watched = false
		}
		t.rescanNow = true
		return
	}
	if len(ev.name) == 0 {
		return
	}
	if ev.mask&syscall.IN_ISDIR != 0 {
		switch {
		case ev.mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0:
			t.scan(filepath.Join(d.path, string(ev.name)), time.Now())
		case ev.mask&syscall.IN_MOVED_FROM != 0:
			t.rescanNow = true
		}
		return
	}
	if !bytes.HasSuffix(ev.name, []byte(suffix)) {
		return
	}
	f := d.files[string(ev.name)]
	switch {
	case ev.mask&(syscall.IN_DELETE|syscall.IN_MOVED_FROM) != 0:
		if f != nil {
			t.remove(f)
		}
	case f == nil:
		t.consider(d, string(ev.name), ev.mask&syscall.IN_CREATE != 0)
	default:
		if ev.mask&syscall.IN_CLOSE_WRITE != 0 {
			f.closed = true
		}
		t.markDirty(f)
	}
}

func (t *Tailer) markDirty(f *file) {
	if !f.dirty {
		f.dirty = true
		t.dirty = append(t.dirty, f)
	}
}

// readDirty reads every file that had events.
func (t *Tailer) readDirty() {
	for i, f := range t.dirty {
		t.dirty[i] = nil
		f.dirty = false
		if f.gone {
			continue
		}
		t.readFile(f, time.Now())
		if f.closed && f.fd != nil {
			t.closeFile(f) // at its end; reopened if it is written again
		}
	}
	t.dirty = t.dirty[:0]
}

// consider starts following a name an event reported, if it is a regular
// file. A name created and gone before it could be looked at counts as a
// file removed unread, unless it is a file already ended here (its events
// were still queued). It may also have been a link, but links are rarely
// deleted so soon after they are made.
func (t *Tailer) consider(d *dir, name string, created bool) {
	fi, err := os.Lstat(filepath.Join(d.path, name))
	if errors.Is(err, fs.ErrNotExist) {
		if _, ended := d.removed[name]; created && !ended {
			t.mu.Lock()
			t.st.files++
			t.st.removedUnread++
			t.mu.Unlock()
		}
		return
	}
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	f := t.track(d, name, fi)
	t.markDirty(f)
}
