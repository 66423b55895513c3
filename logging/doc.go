// Package logging persists the trace objects received from nodes in
// cardano-tracer's layout (BEHAVIOUR.md d and e), so that log shippers
// reading cardano-tracer's files read Muninn's unchanged. It is not
// diagnostic logging.
//
// # Layout
//
// For each FileMode entry, a node's lines go to
//
//	<Root>/<Dir>/node-YYYY-MM-DDTHH-MM-SS.json   (ForMachine)
//	<Root>/<Dir>/node-YYYY-MM-DDTHH-MM-SS.log    (ForHuman)
//	<Root>/<Dir>/node.json, node.log             symlinks to the current file
//
// with the time stamp in UTC from the Writer's clock and absolute symlink
// targets, replaced atomically (node.<ext>.tmp renamed over the link).
// Directories are created with mode 0755 and files with 0644, both less the
// umask. A file is created on the first non-empty batch of a connection, so
// there are no empty files, and every connection (NodeLog) starts a new
// file. Dir is computed by the caller (c.3) and must be one local path
// component; anything else is rejected, so no file can leave its root.
//
// A ForMachine line is toMachine verbatim; a ForHuman line is toHuman when
// the object has one (even an empty one), else toMachine. Text is written
// as it came: a multi-line toHuman spans several lines. Nothing is filtered
// by severity.
//
// # Ownership
//
// A NodeLog belongs to the goroutine that writes a connection's batches, so
// writing and the size-rotation decision take no lock. The Writer owns one
// goroutine, running only while rotation is configured with a FileMode
// entry (started by New or Reconfigure, stopped by Reconfigure or Close),
// which prunes old files Rotation.Frequency after the end of each pass (the
// first pass at once). It copies the list of directories under a mutex and
// does all file I/O without it.
//
// # Rotation
//
// Before each batch, a NodeLog starts a new file if the current one holds
// at least Rotation.LimitBytes and its name's second has passed. The check
// runs per batch rather than every Frequency, so a file overshoots the limit
// by at most about a second of writes instead of a whole interval, and a
// batch is never lost, split or duplicated across a rotation (cardano-tracer
// can lose one). At most one rotation per second keeps file names at or
// before the clock.
//
// Pruning follows cardano-tracer: in each directory that has an open file of
// the entry's format, the newest file and the KeepFiles before it are kept;
// older files whose name time stamp is at least MaxAge old are deleted from
// the oldest on, stopping at the first younger one. Only names of exactly
// the node-<time stamp>.<ext> pattern count (never the symlink, temporary
// links or foreign files), and the current file of any open connection is
// never deleted. An error skips that file and is logged and counted; the
// pass goes on.
//
// # Deliberate differences from cardano-tracer
//
//  1. Every line ends with "\n" and no file starts with an empty line
//     (cardano-tracer writes "\n" followed by the items joined by "\n",
//     issue #3955).
//  2. Two files opened in the same second never truncate each other: files
//     are created with O_EXCL, and if the name exists the time stamp moves
//     on a second at a time until a name is free, so names keep the exact
//     pattern and stay in chronological order.
//  3. Rotation is decided per batch and is atomic with writes (see above).
//  4. Identical logging entries are written once.
//
// # Disk faults
//
// Write does not return on a disk error. Every entry gets one attempt at
// the batch first, and the journal gets it too, so the entries whose disks
// take it hold it at once; then only the refusing entries are retried. For
// each, Write logs the first failure of a streak (with the path, key
// "err"), retries with exponential back-off
// between Config.RetryMin and RetryMax until the batch is written, and logs
// the recovery. A batch that was partly written resumes at the first byte
// that did not reach the file, so nothing is written twice. Once a second
// (by the clock) before a batch, and before every retry, the sink checks
// that its file is still at its path; when the file or the node directory
// was deleted or replaced, it recreates the directory and starts a new file
// and symlink instead of writing into an unlinked inode. While Write
// blocks, the session stops asking the node for traces and the node's own
// queue holds them: that is the backpressure. If ctx ends first, Write
// returns ctx.Err(); the entry in trouble is cut back to the batch
// boundary (or, if that fails, its next batch starts a new file), and
// entries written before it keep the batch.
//
// A failed symlink update is logged, counted and retried before the next
// batch; it does not hold up the data.
//
// # Reload
//
// Writer.Reconfigure replaces the entries and the rotation parameters
// without closing any NodeLog, for a SIGHUP reload. It checks them as New
// does; an invalid configuration is refused as a whole and the running one
// stays. A valid one is an immutable value published atomically; what
// changes, and when:
//
//   - Entries, per NodeLog, at the start of its next Write (between two
//     batches, on the NodeLog's own goroutine, so no lock is held across
//     the file I/O; an empty Write switches too). The file of an entry that
//     no longer exists is closed, everything in it already written, and its
//     symlink is left as it is. An entry that remains keeps its current
//     file. A new entry opens a new file (and moves its symlink) on the
//     first batch, as after Open. Entries are compared after cleaning the
//     root, so "/logs/" and "/logs" are the same entry. JournalMode entries
//     are added and removed the same way. A batch is written in one
//     configuration, whole: it is never split, lost or duplicated across a
//     reload. A NodeLog that has no batch to write keeps its old files
//     open until its next Write or Close.
//   - Rotation.LimitBytes, per NodeLog, at its next size check, i.e. its
//     next batch.
//   - KeepFiles and MaxAge, at the pruner's next pass; a pass in progress
//     finishes with the values it started with. Directories of removed
//     entries are no longer pruned from that pass on.
//   - Frequency, at once: the wait in progress is recomputed, so the next
//     pass is due Frequency after the end of the last one (at once if that
//     is already past).
//   - Turning rotation on (or adding the first FileMode entry while it is
//     on) starts the pruner, whose first pass runs at once; turning it off
//     (or removing the last FileMode entry) stops the pruner, and
//     Reconfigure returns once it has.
//
// One exception to "between batches": a Write that is retrying a batch its
// disk refuses notices a reload at once. If the reload removed the failing
// entry, the part of the batch in that entry's file is cut away, the file
// is closed, and the batch goes on under the new configuration: entries
// that already hold it are not written again, new entries get it. This is
// how a reload moves logging off a full or broken disk without the session
// staying blocked. If the entry remains, the retries go on.
//
// The journal sender, the clock, the retry back-off and the diagnostics
// logger are fixed by New.
//
// # Journal
//
// A JournalMode entry sends one journal entry per object with the fields of
// d.5: SYSLOG_IDENTIFIER (Node.Name), MESSAGE (the line text of the entry's
// format), PRIORITY (Emergency 0 … Debug 7), NAMESPACE (or "noname"),
// THREAD (the digits of the thread id) and TIME. TIME is cardano-tracer's
// "%F %T%12QZ": Haskell's %Q with a width pads the fraction to the width,
// so it always has a dot and exactly twelve digits, e.g.
// "2024-01-01 00:00:01.000000000000Z". When journald is unreachable, New
// warns once at start-up, and entries that cannot be sent are dropped,
// counted (Stats.JournalErrors) and logged once per failure streak; the
// journal never blocks file logging, as journald itself drops under load.
// Journal mode does no rotation.
package logging
