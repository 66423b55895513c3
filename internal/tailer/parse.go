package tailer

import (
	"bytes"
	"math"
)

var (
	keySeq      = []byte(`"seq":`)
	keyEnqueued = []byte(`"enqueued":`)
	keyHost     = []byte(`"host":"`)
)

// parsed is what a line carries for the tailer.
type parsed struct {
	seq      uint64
	enqueued int64 // Unix nanoseconds
	host     []byte
}

// parseLine finds the three keys of a load-generator line. host aliases
// line.
//
// Both numbers' keys contain a 'q', a rare letter in these lines, so one
// vectorised scan for 'q' finds them; the host is looked for from the end,
// where the node writes it. bytes.Index for each key would stop at every
// '"' (a third of a second per million lines more).
func parseLine(line []byte) (parsed, bool) {
	var p parsed
	var haveSeq, haveEnq bool
	for off := 0; !haveSeq || !haveEnq; {
		i := bytes.IndexByte(line[off:], 'q')
		if i < 0 {
			return p, false
		}
		i += off
		off = i + 1
		switch {
		case !haveSeq && i >= 3 && bytes.HasPrefix(line[i-3:], keySeq):
			v, ok := parseUint(line[i-3+len(keySeq):])
			if !ok {
				return p, false
			}
			p.seq, haveSeq = v, true
		case !haveEnq && i >= 3 && bytes.HasPrefix(line[i-3:], keyEnqueued):
			v, ok := parseInt(line[i-3+len(keyEnqueued):])
			if !ok {
				return p, false
			}
			p.enqueued, haveEnq = v, true
		}
	}
	i := lastKey(line, keyHost, 1)
	if i < 0 {
		return p, false
	}
	host := line[i+len(keyHost):]
	j := bytes.IndexByte(host, '"')
	if j <= 0 {
		return p, false
	}
	p.host = host[:j]
	return p, true
}

// lastKey returns the index of the last occurrence of key in line, found
// by looking back for key's byte at index k (bytes.LastIndex hashes every
// byte it passes), or -1.
func lastKey(line, key []byte, k int) int {
	for end := len(line); ; {
		i := bytes.LastIndexByte(line[:end], key[k])
		if i < k {
			return -1
		}
		if bytes.HasPrefix(line[i-k:], key) {
			return i - k
		}
		end = i
	}
}

// parseUint reads a decimal number after optional spaces. It stops at the
// first byte that is not a digit and fails on no digits or on overflow.
func parseUint(b []byte) (uint64, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	start := i
	var v uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		// 19 digits cannot overflow; only longer numbers pay the check.
		if i-start >= 19 && v > (math.MaxUint64-uint64(d))/10 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	return v, i > start
}

// parseInt is parseUint with an optional minus sign.
func parseInt(b []byte) (int64, bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	u, ok := parseUint(b[i:])
	if !ok || len(b) > i && (b[i] == ' ' || b[i] == '\t') {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
