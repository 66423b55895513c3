package tailer

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	// MaxLine is the longest line kept whole; a longer one is skipped and
	// counted as Malformed.
	MaxLine = 1 << 20
	// readSize is the most new bytes read from a file at once.
	readSize = 256 << 10
	// idleClose is how long an open file may go without growing before
	// its descriptor is closed (it is reopened when it grows).
	idleClose = 10 * time.Second
	// maxRemoved bounds dir.removed.
	maxRemoved = 4096
	// suffix is the ending of the names of the files followed.
	suffix = ".json"
)

// dir is a directory under the root.
type dir struct {
	path    string
	wd      int32
	watched bool
	warned  bool // a failure to watch it has been logged
	gen     uint64
	// unlisted is the generation in which listing it failed: its files
	// were not all seen, so none of them is ended for not being seen (nor
	// are the directories below it). listWarned: that failure has been
	// logged, and the next complete listing will be too.
	unlisted   uint64
	listWarned bool
	files      map[string]*file // by name
	// removed holds the names of files ended here, so that their events
	// still queued (a rescan may end a file before they are read) are not
	// taken for files that came and went unseen. Cleared when it grows
	// past maxRemoved.
	removed map[string]struct{}
}

// file is one followed log file.
type file struct {
	dir      *dir
	name     string
	fd       *os.File // nil while closed
	opened   bool     // it has been open at least once
	ino      uint64
	off      int64  // bytes read
	rem      []byte // the unterminated rest of the last line read
	skipping bool   // inside an over-long line: drop up to the next '\n'
	gone     bool   // removed; no longer in dir.files
	dirty    bool   // in Tailer.dirty
	closed   bool   // the writer closed it (IN_CLOSE_WRITE)
	lastData time.Time
	gen      uint64

	// The node of the last line: files hold one node's lines, so most
	// lines need no map lookup.
	host     *hostStats
	hostName []byte
}

func (f *file) path() string { return filepath.Join(f.dir.path, f.name) }

func (t *Tailer) dirAt(path string) *dir {
	d := t.dirs[path]
	if d == nil {
		d = &dir{path: path, files: make(map[string]*file), removed: make(map[string]struct{})}
		t.dirs[path] = d
	}
	return d
}

// track starts following a regular file and opens it at once, so that it
// can be read to its end even if it is deleted before its data is read.
func (t *Tailer) track(d *dir, name string, fi fs.FileInfo) *file {
	f := &file{dir: d, name: name, ino: inode(fi), gen: t.gen}
	d.files[name] = f
	t.mu.Lock()
	t.st.files++
	t.mu.Unlock()
	t.open(f)
	return f
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// open (re)opens a closed file at its offset. A different file now at the
// path ends the old one and starts the new one from its beginning.
func (t *Tailer) open(f *file) bool {
	fd, err := os.OpenFile(f.path(), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.remove(f)
		} else {
			t.log.Warn("open log file", "file", f.path(), "err", err)
		}
		return false
	}
	fi, err := fd.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		t.log.Debug("not a regular file", "file", f.path(), "err", err)
		t.closeFD(f, fd)
		return false
	}
	if ino := inode(fi); ino != f.ino {
		if f.opened {
			t.replaced(f)
		}
		f.ino = ino
	}
	if f.off > 0 {
		if _, err := fd.Seek(f.off, io.SeekStart); err != nil {
			t.log.Warn("seek log file", "file", f.path(), "err", err)
			t.closeFD(f, fd)
			return false
		}
	}
	f.fd, f.opened, f.closed, f.lastData = fd, true, false, time.Now()
	return true
}

// replaced accounts for the old file at f's path and resets f for the new.
func (t *Tailer) replaced(f *file) {
	t.mu.Lock()
	if len(f.rem) > 0 || f.skipping {
		t.st.removedUnread++
	}
	t.st.files++
	t.mu.Unlock()
	f.off, f.rem, f.skipping = 0, f.rem[:0], false
}

// readFile reads f from its offset to its end.
func (t *Tailer) readFile(f *file, now time.Time) {
	if f.fd == nil && !t.open(f) {
		return
	}
	for {
		n := copy(t.buf, f.rem)
		want := len(t.buf) - n
		m, err := f.fd.Read(t.buf[n:])
		if m > 0 {
			f.off += int64(m)
			f.lastData = now
			t.consume(f, t.buf[:n+m])
		}
		if err != nil && !errors.Is(err, io.EOF) {
			t.log.Warn("read log file", "file", f.path(), "err", err)
		}
		if err != nil || m < want {
			return // a short read of a regular file is its current end
		}
	}
}

// consume counts the complete lines of data and keeps the rest in f.rem.
func (t *Tailer) consume(f *file, data []byte) {
	now := time.Now().UnixNano()
	t.mu.Lock()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		if f.skipping {
			f.skipping = false
			continue
		}
		t.line(f, line, now)
	}
	switch {
	case f.skipping:
		data = nil // still inside an over-long line
	case len(data) > MaxLine:
		t.st.malformed++
		f.skipping = true
		data = nil
	}
	t.mu.Unlock()
	f.rem = append(f.rem[:0], data...)
}

// line counts one line. The caller holds t.mu.
func (t *Tailer) line(f *file, line []byte, now int64) {
	if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
		return
	}
	p, ok := parseLine(line)
	if !ok || p.seq > MaxTrackedSeq {
		t.st.malformed++
		return
	}
	h := f.host
	if h == nil || !bytes.Equal(p.host, f.hostName) {
		h = t.st.host(p.host)
		f.host, f.hostName = h, append(f.hostName[:0], p.host...)
	}
	t.st.record(h, p, now)
}

// remove ends a file that was deleted or moved away: what its open
// descriptor still holds is read first.
func (t *Tailer) remove(f *file) {
	if f.gone {
		return
	}
	f.gone = true
	delete(f.dir.files, f.name)
	if len(f.dir.removed) >= maxRemoved {
		clear(f.dir.removed)
	}
	f.dir.removed[f.name] = struct{}{}
	if f.fd != nil {
		t.readFile(f, time.Now())
		t.closeFile(f)
	}
	t.mu.Lock()
	if !f.opened || len(f.rem) > 0 || f.skipping {
		t.st.removedUnread++
	}
	t.mu.Unlock()
}

func (t *Tailer) closeFile(f *file) {
	if f.fd != nil {
		t.closeFD(f, f.fd)
		f.fd = nil
	}
}

func (t *Tailer) closeFD(f *file, fd *os.File) {
	if err := fd.Close(); err != nil {
		t.log.Debug("close log file", "file", f.path(), "err", err)
	}
}
