package logging

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"

	"muninn/tracer"
)

// maxKeptBuffer is the largest batch buffer a NodeLog keeps between
// batches; a larger one (an unusually big batch) is released.
const maxKeptBuffer = 1 << 20

// NodeLog writes the trace objects of one connection to every configured
// entry. It belongs to one goroutine (the session's sink loop): Write and
// Close must not be called concurrently. Stats may be called from any
// goroutine.
type NodeLog struct {
	w        *Writer
	node     Node
	log      *slog.Logger
	files    []*fileSink
	journals []*journalSink
	need     [2]bool   // formats used by some file entry, indexed by Format
	buf      [2][]byte // per-format batch text, reused
	fields   map[string]string

	gen       *generation // the configuration files and journals follow
	removedBy *generation // set by a sink that gave up because a reload removed its entry
	dirErr    error       // checkDir(node.Dir); file entries need it nil
	dirWarned bool

	closed   bool
	closeErr error

	batches       atomic.Uint64
	objects       atomic.Uint64
	bytes         atomic.Uint64
	writeErrors   atomic.Uint64
	rotations     atomic.Uint64
	filesOpened   atomic.Uint64
	linkErrors    atomic.Uint64
	journalErrors atomic.Uint64
}

// Stats counts what a NodeLog did.
type Stats struct {
	Batches       uint64 // non-empty batches written to every entry
	Objects       uint64 // objects in those batches
	Bytes         uint64 // bytes written to files, all entries together
	WriteErrors   uint64 // failed disk operations (each retry counts)
	Rotations     uint64 // files started because the size limit was reached
	FilesOpened   uint64 // files created, for any reason
	LinkErrors    uint64 // failed symlink updates (retried on the next batch)
	JournalErrors uint64 // journal entries that could not be sent (dropped)
}

// Stats returns the counters; safe from any goroutine.
func (n *NodeLog) Stats() Stats {
	return Stats{
		Batches:       n.batches.Load(),
		Objects:       n.objects.Load(),
		Bytes:         n.bytes.Load(),
		WriteErrors:   n.writeErrors.Load(),
		Rotations:     n.rotations.Load(),
		FilesOpened:   n.filesOpened.Load(),
		LinkErrors:    n.linkErrors.Load(),
		JournalErrors: n.journalErrors.Load(),
	}
}

// Write appends one batch to every entry. An empty batch does nothing.
//
// Write never loses or duplicates the batch because of a disk fault: it
// writes the batch to every entry whose disk takes it (and sends it to the
// journal), then retries the refusing entries with back-off until the
// batch is on disk there too, blocking the caller (and so the requests to
// the node) meanwhile. It returns an error only when ctx ends first
// (ctx.Err(); entries that had finished keep the batch, the others were
// cut back to the batch boundary) or after Close (ErrClosed).
//
// A configuration published by Writer.Reconfigure takes effect here,
// before the batch (see the package documentation, section Reload).
func (n *NodeLog) Write(ctx context.Context, batch []tracer.TraceObject) error {
	if n.closed {
		return ErrClosed
	}
	if g := n.w.cfg.Load(); g != n.gen {
		n.apply(g)
	}
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var rendered [2]bool
	render := func() {
		for f := range n.need {
			if n.need[f] && !rendered[f] {
				n.buf[f] = appendLines(n.buf[f][:0], Format(f), batch)
				rendered[f] = true
			}
		}
	}
	render()
	// Every entry gets one attempt before any waits, so a refusing disk
	// holds up only its own entry: the others, and the journal, hold the
	// batch at once while the failing ones retry.
	var written, failing []*fileSink
	var sent []*journalSink
	for {
		failing = failing[:0]
		for _, s := range n.files {
			if slices.Contains(written, s) {
				continue
			}
			if s.try(n.buf[s.format]) != nil {
				failing = append(failing, s)
				continue
			}
			written = append(written, s)
		}
		for _, j := range n.journals {
			if !slices.Contains(sent, j) {
				n.sendJournal(j, batch)
				sent = append(sent, j)
			}
		}
		removed := false
		for _, s := range failing {
			err := s.retry(ctx, n.buf[s.format])
			if err == nil {
				written = append(written, s)
				continue
			}
			// This sink has cut its part of the batch back. The failing
			// sinks not retried yet may hold a part of it too: cut them
			// back as well, so that every file ends at a batch boundary
			// whether the batch is given up (ctx) or written again from
			// its start (after the reload below).
			for _, o := range failing {
				if !slices.Contains(written, o) {
					o.cutBack(o.off, o.start)
					o.off = 0
				}
			}
			if !errors.Is(err, errEntryRemoved) {
				return err
			}
			// A reload removed the entry whose disk was refusing this
			// batch (the sink cut it back and closed the file). The rest
			// of the batch follows the new configuration: entries that
			// already hold it are skipped, new ones get it.
			removed = true
			break
		}
		if !removed {
			break
		}
		g := n.removedBy
		n.removedBy = nil
		n.apply(g)
		render()
	}
	for f := range n.buf {
		if cap(n.buf[f]) > maxKeptBuffer {
			n.buf[f] = nil
		}
	}
	n.batches.Add(1)
	n.objects.Add(uint64(len(batch)))
	return nil
}

// Close flushes (every batch is already written through) and closes this
// connection's files. It is idempotent and returns the first error.
func (n *NodeLog) Close() error {
	if n.closed {
		return n.closeErr
	}
	n.closed = true
	n.w.unregister(n.files)
	var errs []error
	for _, s := range n.files {
		errs = append(errs, s.close())
	}
	n.closeErr = errors.Join(errs...)
	return n.closeErr
}

// appendLines renders a batch: one line per object, each ending in "\n".
// Text from the node is written as it came, so a multi-line toHuman spans
// several physical lines.
func appendLines(b []byte, f Format, batch []tracer.TraceObject) []byte {
	for i := range batch {
		o := &batch[i]
		if f == ForHuman && o.HasHuman {
			b = append(b, o.Human...)
		} else {
			b = append(b, o.Machine...)
		}
		b = append(b, '\n')
	}
	return b
}

// lineText is the text of one object in format f (d.4).
func lineText(f Format, o *tracer.TraceObject) string {
	if f == ForHuman && o.HasHuman {
		return o.Human
	}
	return o.Machine
}
