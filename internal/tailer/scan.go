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
// are gone, and closes idle descriptors. A directory that could not be
// listed keeps its files and the directories below it until a rescan
// lists it.
func (t *Tailer) rescan(now time.Time) {
	t.rescanNow = false
	t.gen++
	t.scan(t.cfg.Root, now)
	for path, d := range t.dirs {
		seen := d.gen == t.gen
		if !seen && !t.underUnlisted(path) {
			for _, f := range d.files {
				t.remove(f)
			}
			delete(t.dirs, path)
			if d.watched && t.byWD[d.wd] == d {
				delete(t.byWD, d.wd)
			}
			continue
		}
		listed := seen && d.unlisted != t.gen
		if listed && d.listWarned {
			d.listWarned = false
			t.log.Info("directory listed again", "dir", path)
		}
		for _, f := range d.files {
			switch {
			case f.gen != t.gen && listed:
				t.remove(f)
			case f.fd != nil && now.Sub(f.lastData) >= idleClose:
				t.closeFile(f)
			}
		}
	}
}

// underUnlisted reports whether a directory the rescan did not see lies
// below one that it could not list, so that it may well still be there.
// The nearest ancestor the rescan saw decides.
func (t *Tailer) underUnlisted(path string) bool {
	if t.unlisted != t.gen {
		return false // every directory seen was listed
	}
	for p := filepath.Dir(path); ; p = filepath.Dir(p) {
		if a := t.dirs[p]; a != nil && a.gen == t.gen {
			return a.unlisted == t.gen
		}
		if p == t.cfg.Root || p == filepath.Dir(p) {
			return false
		}
	}
}

// unlistable records that the directory at path could not be listed in
// this generation, and logs it once until it is listed again.
func (t *Tailer) unlistable(path string, err error) {
	d := t.dirAt(path)
	d.gen, d.unlisted, t.unlisted = t.gen, t.gen, t.gen
	if !d.listWarned {
		d.listWarned = true
		t.log.Warn("directory not listed; its files are kept until it is", "dir", path, "err", err)
	}
}

// scan walks the tree under top (the root, or a directory that has just
// appeared), watching directories and reading files.
func (t *Tailer) scan(top string, now time.Time) {
	err := t.walk(top, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			// top could not be read, or a directory (de) not listed: a
			// directory that is gone is not an error, and its files
			// are ended as they should be.
			if !errors.Is(err, fs.ErrNotExist) && (de == nil || de.IsDir()) {
				t.unlistable(path, err)
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
