package tracer

import (
	"fmt"
	"math"
	"time"
)

// Severity of a trace object, in the node's order.
type Severity uint8

// Severities with their CBOR indices.
const (
	Debug Severity = iota
	Info
	Notice
	Warning
	Error
	Critical
	Alert
	Emergency
)

var severityNames = [...]string{"Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// ParseSeverity parses a severity word as the node writes it.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if n == s {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// DetailLevel of a trace object.
type DetailLevel uint8

// Detail levels with their CBOR indices.
const (
	DMinimal DetailLevel = iota
	DNormal
	DDetailed
	DMaximum
)

var detailNames = [...]string{"DMinimal", "DNormal", "DDetailed", "DMaximum"}

func (d DetailLevel) String() string {
	if int(d) < len(detailNames) {
		return detailNames[d]
	}
	return fmt.Sprintf("DetailLevel(%d)", uint8(d))
}

// UTCTime is a timestamp as Haskell's UTCTime travels: whole seconds since
// the epoch and picoseconds. It keeps all twelve fraction digits so that a
// re-encoded object is byte-identical to what the node sent.
type UTCTime struct {
	Sec  int64
	Pico uint64 // normally < 10^12; Haskell carries larger values into Sec
}

const picosPerSecond = 1_000_000_000_000

// TimeOf converts a time.Time.
func TimeOf(t time.Time) UTCTime {
	return UTCTime{Sec: t.Unix(), Pico: uint64(t.Nanosecond()) * 1000}
}

// Time converts to time.Time, dropping sub-nanosecond digits.
func (u UTCTime) Time() time.Time {
	sec := u.Sec
	pico := u.Pico
	if pico >= picosPerSecond {
		carry := pico / picosPerSecond
		if carry > math.MaxInt64 || sec > math.MaxInt64-int64(carry) {
			return time.Unix(math.MaxInt64, 0)
		}
		sec += int64(carry)
		pico %= picosPerSecond
	}
	return time.Unix(sec, int64(pico/1000)).UTC()
}

// TraceObject is one trace message as a node forwards it.
type TraceObject struct {
	// Human is the human-readable rendering; valid when HasHuman.
	Human    string
	HasHuman bool
	// Machine is the JSON rendering, written verbatim to ForMachine logs.
	Machine string
	// Namespace as sent: one dotted element from current nodes, several
	// segments from older ones.
	Namespace []string
	Severity  Severity
	Detail    DetailLevel
	Timestamp UTCTime
	Hostname  string
	ThreadID  string
}

// NamespaceString joins the namespace as cardano-tracer does: segments are
// joined with dots; a single element is used as it is.
func (o *TraceObject) NamespaceString() string {
	switch len(o.Namespace) {
	case 0:
		return ""
	case 1:
		return o.Namespace[0]
	}
	n := len(o.Namespace) - 1
	for _, s := range o.Namespace {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for i, s := range o.Namespace {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, s...)
	}
	return string(b)
}
