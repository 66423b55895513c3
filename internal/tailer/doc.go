// Package tailer follows the trace log files under a directory while they
// are written and measures, per node, what arrived: gaps and duplicates in
// the per-node sequence numbers, and the end-to-end latency from the moment
// the load generator enqueued an object to the moment its line became
// readable here.
//
// # Lines
//
// Each complete line ('\n'-terminated) of a file is one toMachine object
// carrying, once each, the keys "seq": (a per-node sequence number from 0),
// "enqueued": (Unix nanoseconds) and "host":"…" (the node). Numbers may be
// padded with spaces. The keys are located with bytes.Index; the line is
// not otherwise parsed, so reading costs about as much as scanning the
// bytes. A line lacking a key, or with a sequence number above
// MaxTrackedSeq, counts as Malformed; empty lines are skipped silently
// (cardano-tracer begins its files with one). A line longer than MaxLine
// counts as one Malformed line and is skipped.
//
// # Files
//
// Every regular file whose name ends in ".json" anywhere under the root is
// followed: cardano-tracer's and Muninn's layout
// (<root>/<node>/node-<time stamp>.json) and the probe's
// (<root>/conn-<n>.json). Symbolic links, such as node.json, are skipped:
// they point at a file that is already followed. inotify watches the root
// and every directory below it, so new directories and files are picked up
// and written data is read at once; a full rescan every Config.Rescan is
// the safety net for missed events and queue overflows. Each file keeps
// its offset and the unterminated rest of its last line. A directory that
// a rescan cannot list (EACCES, EMFILE, EIO…) keeps its files, and the
// directories below it, as they are until a rescan lists it again; each
// such episode is logged once.
//
// An open file is read to its end even after it is deleted. A file that
// disappeared before it could be opened, or whose last line was never
// completed, counts in FilesRemovedUnread. A file the writer closed, or
// that has not grown for a while, is closed here too and reopened at its
// offset when it grows again, so that rotated files do not hold
// descriptors. Truncation and renames within the tree are not handled: a
// renamed file is read again from its start.
//
// # Ownership
//
// Run's goroutine alone owns the files, the directories and the inotify
// descriptor. The counters, bitsets and histograms are guarded by one
// mutex, taken once per chunk read (never across I/O) and by Report and
// ResetLatency.
package tailer
