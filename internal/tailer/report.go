package tailer

import (
	"slices"
	"time"
)

// Report is a snapshot of everything read so far.
type Report struct {
	// Lines counts well-formed lines (the sum of the nodes' Lines);
	// Malformed those lacking a key or otherwise unusable. ClockSkew counts
	// lines whose enqueue time was after the time they were read; their
	// latency is counted as zero. ResetLatency clears ClockSkew too.
	Lines, Malformed, ClockSkew uint64
	// Files counts every log file followed since Run started, including
	// those removed since. FilesRemovedUnread counts the files that were
	// removed before they could be opened or with their last line
	// unterminated.
	Files, FilesRemovedUnread int
	// Latency covers all nodes.
	Latency Percentiles
	// Nodes is keyed by the lines' host.
	Nodes map[string]NodeReport
	// Missing and Duplicates are the sums over Nodes.
	Missing, Duplicates uint64
}

// NodeReport is one node's part of a Report.
type NodeReport struct {
	// Lines is the node's well-formed lines, Distinct the distinct
	// sequence numbers among them, MaxSeq the highest.
	Lines, Distinct, MaxSeq uint64
	// Missing is MaxSeq+1-Distinct: the sequence numbers not seen below
	// the highest. Objects lost after the last one seen cannot be told.
	Missing uint64
	// Duplicates counts lines whose sequence number had been seen before.
	Duplicates uint64
	Latency    Percentiles
}

// Percentiles summarises latencies: quantiles to within 1 % (see
// histogram), Max exact.
type Percentiles struct {
	Count                    uint64
	P50, P90, P99, P999, Max time.Duration
}

// MaxTrackedSeq is the highest sequence number a node's lines may carry
// (the seen-set of a node grows to MaxTrackedSeq/8 bytes at most); a line
// with a higher one counts as Malformed.
const MaxTrackedSeq = 1<<30 - 1

// hostStats is one node's counters. Guarded by Tailer.mu.
type hostStats struct {
	lines, distinct, dups, maxSeq uint64
	seen                          bitset
	hist                          histogram
}

func (h *hostStats) report() NodeReport {
	r := NodeReport{Lines: h.lines, Distinct: h.distinct, MaxSeq: h.maxSeq, Duplicates: h.dups, Latency: h.hist.percentiles()}
	if h.distinct > 0 {
		r.Missing = h.maxSeq + 1 - h.distinct
	}
	return r
}

// bitset is a growable set of sequence numbers.
type bitset []uint64

// add inserts i and reports whether it was new.
func (b *bitset) add(i uint64) bool {
	w := int(i >> 6)
	if w >= len(*b) {
		*b = slices.Grow(*b, w+1-len(*b))
		*b = (*b)[:cap(*b)]
	}
	m := uint64(1) << (i & 63)
	if (*b)[w]&m != 0 {
		return false
	}
	(*b)[w] |= m
	return true
}

// stats is everything Report returns, guarded by Tailer.mu.
type stats struct {
	lines, malformed, skew uint64
	files, removedUnread   int
	hist                   histogram
	hosts                  map[string]*hostStats
}

func (s *stats) host(name []byte) *hostStats {
	h := s.hosts[string(name)]
	if h == nil {
		h = &hostStats{}
		s.hosts[string(name)] = h
	}
	return h
}

// record counts one well-formed line read at now (Unix nanoseconds).
func (s *stats) record(h *hostStats, p parsed, now int64) {
	s.lines++
	h.lines++
	if h.seen.add(p.seq) {
		h.distinct++
		h.maxSeq = max(h.maxSeq, p.seq)
	} else {
		h.dups++
	}
	lat := now - p.enqueued
	if lat < 0 {
		s.skew++
	}
	s.hist.record(lat)
	h.hist.record(lat)
}

func (s *stats) report() Report {
	r := Report{
		Lines: s.lines, Malformed: s.malformed, ClockSkew: s.skew,
		Files: s.files, FilesRemovedUnread: s.removedUnread,
		Latency: s.hist.percentiles(),
		Nodes:   make(map[string]NodeReport, len(s.hosts)),
	}
	for name, h := range s.hosts {
		n := h.report()
		r.Nodes[name] = n
		r.Missing += n.Missing
		r.Duplicates += n.Duplicates
	}
	return r
}

func (s *stats) resetLatency() {
	s.skew = 0
	s.hist.reset()
	for _, h := range s.hosts {
		h.hist.reset()
	}
}
