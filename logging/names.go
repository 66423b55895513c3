package logging

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ErrInvalidDir is returned by Writer.Open for a Node.Dir that is not
// exactly one local path component.
var ErrInvalidDir = errors.New("invalid node directory name")

const (
	namePrefix = "node-"
	// nameLayout is cardano-tracer's file time stamp: ISO 8601 in UTC with
	// whole seconds and the colons replaced by dashes.
	nameLayout = "2006-01-02T15-04-05"
)

// ext is the file extension of a format, without the dot.
func (f Format) ext() string {
	if f == ForHuman {
		return "log"
	}
	return "json"
}

// logName is the file name of a log file opened at t (UTC, whole seconds).
func logName(t time.Time, ext string) string {
	return namePrefix + t.UTC().Format(nameLayout) + "." + ext
}

// linkName is the name of the symlink to the current file.
func linkName(ext string) string { return "node." + ext }

// parseLogName reports whether name is a log file of the format with
// extension ext, and the time in its name. Only names that cardano-tracer
// would produce count: the prefix, exactly the time stamp pattern, and the
// extension. The symlink, temporary links and foreign files never count.
func parseLogName(name, ext string) (time.Time, bool) {
	if len(name) != len(namePrefix)+len(nameLayout)+1+len(ext) ||
		!strings.HasPrefix(name, namePrefix) ||
		!strings.HasSuffix(name, ext) ||
		name[len(namePrefix)+len(nameLayout)] != '.' {
		return time.Time{}, false
	}
	stamp := name[len(namePrefix) : len(namePrefix)+len(nameLayout)]
	t, err := time.Parse(nameLayout, stamp)
	if err != nil || t.Format(nameLayout) != stamp {
		return time.Time{}, false
	}
	return t, true
}

// checkDir accepts exactly one local path component, so that nothing a
// caller passes can make a file leave its root.
func checkDir(dir string) error {
	if dir == "" || dir == "." || dir == ".." ||
		strings.ContainsRune(dir, '/') ||
		strings.ContainsRune(dir, filepath.Separator) ||
		strings.ContainsRune(dir, 0) ||
		!filepath.IsLocal(dir) {
		return fmt.Errorf("node directory %q: %w", dir, ErrInvalidDir)
	}
	return nil
}
