package ekg

import (
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Format is a Prometheus exposition format.
type Format uint8

// The formats cardano-tracer negotiates (BEHAVIOUR.md §f.2).
const (
	OpenMetrics Format = iota // application/openmetrics-text;version=1.0.0
	Text004                   // text/plain;version=0.0.4
)

// ContentType returns the Content-Type header value cardano-tracer sends
// for f.
func (f Format) ContentType() string {
	if f == OpenMetrics {
		return "application/openmetrics-text;version=1.0.0;charset=utf-8"
	}
	return "text/plain;version=0.0.4;charset=utf-8"
}

func (f Format) String() string {
	if f == OpenMetrics {
		return "OpenMetrics"
	}
	return "text 0.0.4"
}

// Exposition writes cardano-tracer's Prometheus exposition of snapshots
// (BEHAVIOUR.md §f.3), with Muninn's documented improvements:
//
//   - a label holding a number (the node's _real metrics) gets
//     "# TYPE n gauge"; cardano-tracer writes no TYPE line;
//   - an info-style label ({k="v",…} v) is typed info only in OpenMetrics;
//     under text 0.0.4 it is typed gauge (value and labels kept), because
//     Prometheus fails a whole text-format scrape on "# TYPE n info";
//   - a sample that cannot be written validly is left out instead of
//     breaking the scrape: a name that gives an empty Prometheus name or
//     one starting with a digit, a name that gives the tracer's own
//     ekg_server_timestamp_ms, a second name giving an already written
//     Prometheus name (a.b and a_b), a label that is neither a number nor
//     a well-formed label set followed by a number (see validLabelSet);
//     Skipped counts them;
//   - HELP text is escaped (\\ and \n; in OpenMetrics also \").
//
// Samples come in the snapshot's order (sorted by internal name) rather
// than cardano-tracer's hash order, so output is deterministic. Writing
// allocates nothing when b has room (the help cache may allocate the first
// time it sees a name).
//
// The zero Exposition writes names with their suffixes and no help.
type Exposition struct {
	NoSuffix bool  // metricsNoSuffix: drop a final _int, _counter or _real
	Help     *Help // metricsHelp; nil for none

	// Skipped, if not nil, is increased by the number of samples each call
	// leaves out (see above).
	Skipped *atomic.Uint64
}

func (e *Exposition) skipped(n uint64) {
	if n > 0 && e.Skipped != nil {
		e.Skipped.Add(n)
	}
}

// typeName is the TYPE of a sample of class c in format f; "" means the
// sample is not written.
func typeName(c class, f Format) string {
	switch c {
	case clsCounter:
		return "counter"
	case clsGauge, clsNumber:
		return "gauge"
	case clsInfo, clsInfoNode:
		if f == OpenMetrics {
			return "info"
		}
		return "gauge"
	}
	return ""
}

// Append appends the exposition of one node's snapshot in format f:
// for each metric its TYPE line, a HELP line when Help has a text for it,
// and the sample; then the tracer's counter ekg_server_timestamp_ms with
// now in Unix milliseconds; then "# EOF", which cardano-tracer writes in
// both formats. A nil snap is empty.
func (e *Exposition) Append(b []byte, snap *Snapshot, f Format, now time.Time) []byte {
	var skipped uint64
	if snap != nil {
		skip := snap.skips(e.NoSuffix)
		help := snap.helpIndex(e.Help)
		for i := range snap.samples {
			if len(skip) > 0 && skip[0] == uint32(i) {
				skip = skip[1:]
				skipped++
				continue
			}
			sm := snap.samples[i]
			typ := typeName(sm.cls, f)
			if typ == "" {
				skipped++
				continue
			}
			name := snap.name(i)
			b = append(b, "# TYPE "...)
			start := len(b)
			b = appendFamily(b, name, e.NoSuffix)
			end := len(b)
			b = append(b, ' ')
			b = append(b, typ...)
			b = append(b, '\n')
			if help != nil && help[i] >= 0 {
				b = append(b, "# HELP "...)
				b = append(b, b[start:end]...)
				b = append(b, ' ')
				b = append(b, e.Help.escapedAt(int(help[i]), f)...)
				b = append(b, '\n')
			}
			b = append(b, b[start:end]...)
			switch sm.cls {
			case clsCounter, clsGauge:
				b = append(b, ' ')
				b = strconv.AppendInt(b, sm.val, 10)
			case clsNumber:
				b = append(b, ' ')
				b = append(b, snap.texts[sm.val]...)
			default: // info: the label text carries the labels and the value
				b = append(b, snap.texts[sm.val]...)
			}
			b = append(b, '\n')
		}
	}
	e.skipped(skipped)
	b = append(b, "# TYPE "+timestampFamily+" counter\n"...)
	if txt, ok := e.Help.escaped(TimestampName, f); ok {
		b = append(b, "# HELP "+timestampFamily+" "...)
		b = append(b, txt...)
		b = append(b, '\n')
	}
	b = append(b, timestampFamily+" "...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, '\n')
	return AppendEOF(b)
}

// AppendEOF appends "# EOF\n", the last line of an exposition.
func AppendEOF(b []byte) []byte { return append(b, "# EOF\n"...) }

// appendLabelValue appends s escaped as a label value (the same in both
// formats): backslash, double quote and newline escaped, each invalid
// UTF-8 byte replaced by U+FFFD.
func appendLabelValue(b []byte, s string) []byte { return appendEscaped(b, s, true) }

// appendEscaped appends s with backslash and newline escaped, the double
// quote too when quote is set, and each invalid UTF-8 byte replaced by
// U+FFFD: the escaping of label values and HELP texts.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		default:
			b = append(b, c)
		}
		i++
	}
	return b
}
