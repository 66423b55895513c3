package tailer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// dirMask is what every watched directory reports: files created, written,
// closed after writing, moved in or out and deleted; directories created
// or moved in; the directory's own deletion.
const dirMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_CLOSE_WRITE |
	syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM | syscall.IN_DELETE |
	syscall.IN_DELETE_SELF | syscall.IN_ONLYDIR

// watcher is a non-blocking inotify descriptor behind an *os.File, so that
// the runtime poller waits on it and read deadlines wake the reader: one
// goroutine both waits for events and keeps the rescan period.
type watcher struct {
	fd int      // for inotify_add_watch; f owns and closes it
	f  *os.File // never call f.Fd(): it would make the descriptor blocking
}

func newWatcher() (*watcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	return &watcher{fd: fd, f: os.NewFile(uintptr(fd), "inotify")}, nil
}

// add watches a directory and returns its watch descriptor.
func (w *watcher) add(path string) (int32, error) {
	wd, err := syscall.InotifyAddWatch(w.fd, path, dirMask)
	if err != nil {
		return 0, fmt.Errorf("inotify_add_watch %s: %w", path, err)
	}
	return int32(wd), nil
}

// read waits until deadline, or until ctx is done, for events and reads
// them into buf. It returns 0 and no error when it stopped waiting without
// events. Cancelling ctx must call wake.
func (w *watcher) read(ctx context.Context, buf []byte, deadline time.Time) (int, error) {
	if err := w.f.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("inotify deadline: %w", err)
	}
	// Checked after the deadline is set: a wake that came earlier found
	// ctx done already, a later one overrides the deadline.
	if ctx.Err() != nil {
		return 0, nil
	}
	n, err := w.f.Read(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read inotify: %w", err)
	}
	return n, nil
}

// wake makes a waiting read return at once.
func (w *watcher) wake() error { return w.f.SetReadDeadline(time.Unix(1, 0)) }

func (w *watcher) close() error { return w.f.Close() }

// event is one inotify event. name aliases the read buffer.
type event struct {
	wd   int32
	mask uint32
	name []byte
}

// nextEvent decodes the event at the start of buf and returns the rest.
func nextEvent(buf []byte) (event, []byte, bool) {
	if len(buf) < syscall.SizeofInotifyEvent {
		return event{}, nil, false
	}
	ev := event{
		wd:   int32(binary.NativeEndian.Uint32(buf[0:])),
		mask: binary.NativeEndian.Uint32(buf[4:]),
	}
	n := int(binary.NativeEndian.Uint32(buf[12:]))
	end := syscall.SizeofInotifyEvent + n
	if end > len(buf) {
		return event{}, nil, false
	}
	name := buf[syscall.SizeofInotifyEvent:end]
	for len(name) > 0 && name[len(name)-1] == 0 {
		name = name[:len(name)-1]
	}
	ev.name = name
	return ev, buf[end:], true
}
