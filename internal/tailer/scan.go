package tailer

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// rescan walks the whole tree: it watches new directories, follows new
// files, reads every file to its end, ends the files and directories that
// are gone, and closes idle descriptors.
func (t *Tailer) rescan(now time.Time) {
	t.rescanNow = false
	t.gen++
	t.scan(t.cfg.Root, now)
	for path, d := range t.dirs {
		if d.gen != t.gen {
			for _, f := range d.files {
				t.remove(f)
			}
			delete(t.dirs, path)
			if d.watched && t.byWD[d.wd] == d {
				delete(t.byWD, d.wd)
			}
			continue
		}
		for _, f := range d.files {
			switch {
			case f.gen != t.gen:
				t.remove(f)
			case f.fd != nil && now.Sub(f.lastData) >= idleClose:
				t.closeFile(f)
			}
		}
	}
}

// scan walks the tree under top (the root, or a directory that has just
// appeared), watching directories and reading files.
func (t *Tailer) scan(top string, now time.Time) {
	err := filepath.WalkDir(top, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.log.Debug("scan", "dir", path, "err", err)
			}
			return nil
		}
		if de.IsDir() {
			d := t.dirAt(path)
			d.gen = t.gen
			if d.watched {
				return nil
			}
			if err := t.watch(d); err != nil && !d.warned && !errors.Is(err, fs.ErrNotExist) {
				t.log.Warn("directory not watched; only rescans will see it", "dir", path, "err", err)
				d.warned = true
			}
			return nil
		}
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), suffix) {
			return nil // symlinks (node.json) point at files followed anyway
		}
		d := t.dirAt(filepath.Dir(path))
		f := d.files[de.Name()]
		if f == nil {
			fi, err := de.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) { // listed, then gone
					t.mu.Lock()
					t.st.files++
					t.st.removedUnread++
					t.mu.Unlock()
				}
				return nil
			}
			f = t.track(d, de.Name(), fi)
		}
		f.gen = t.gen
		if f.gone {
			return nil
		}
		if f.fd == nil {
			fi, err := de.Info()
			if err != nil || fi.Size() == f.off && inode(fi) == f.ino {
				return nil
			}
		}
		t.readFile(f, now)
		return nil
	})
	if err != nil {
		t.log.Warn("scan", "dir", top, "err", err)
	}
}
