package logging

import (
	"io/fs"
	"os"
)

// fileSystem is the seam between the package and the disk. Production code
// uses osFS; tests wrap it to inject faults (ENOSPC, EACCES, short writes)
// at exact points.
type fileSystem interface {
	MkdirAll(path string, perm fs.FileMode) error
	// OpenFile opens a log file; flags always include O_CREATE|O_EXCL.
	OpenFile(name string, flag int, perm fs.FileMode) (logFile, error)
	Stat(name string) (fs.FileInfo, error)
	Symlink(oldname, newname string) error
	Rename(oldpath, newpath string) error
	Remove(name string) error
	ReadDir(name string) ([]fs.DirEntry, error)
}

// logFile is the part of *os.File a sink uses.
type logFile interface {
	// Write follows io.Writer: on error, n bytes were still written.
	Write(p []byte) (n int, err error)
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Name() string
	Close() error
}

type osFS struct{}

func (osFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (logFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil interface
	}
	return f, nil
}

func (osFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFS) Symlink(oldname, newname string) error      { return os.Symlink(oldname, newname) }
func (osFS) Rename(oldpath, newpath string) error       { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                   { return os.Remove(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
