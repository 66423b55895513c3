package datapoint

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// NodeInfoName is the DataPoint name under which a node publishes its
// NodeInfo.
const NodeInfoName = "NodeInfo"

// NodeInfo is the node's self-description (PROTOCOL.md §9.4). Name is what
// logs, metrics and routes identify the node by.
type NodeInfo struct {
	Name            string    // niName
	Protocol        string    // niProtocol, "Cardano"
	Version         string    // niVersion
	Commit          string    // niCommit
	StartTime       time.Time // niStartTime, UTC
	SystemStartTime time.Time // niSystemStartTime, UTC
}

// ParseNodeInfo decodes the JSON a node stores under "NodeInfo". The six
// members are required and must be strings; their order does not matter and
// other members are ignored. Times are YYYY-MM-DDTHH:MM:SS, an optional
// fraction, and Z; the fraction keeps nanoseconds and further digits are
// truncated. Errors wrap ErrInvalidNodeInfo.
//
// aeson also accepts forms a node never writes (a numeric offset instead
// of Z, no zone, a space instead of T, no seconds); these are rejected.
func ParseNodeInfo(data []byte) (NodeInfo, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return NodeInfo{}, fmt.Errorf("%w: %w", ErrInvalidNodeInfo, err)
	}
	var ni NodeInfo
	var start, sysStart string
	fields := []struct {
		key string
		dst *string
	}{
		{"niCommit", &ni.Commit},
		{"niName", &ni.Name},
		{"niProtocol", &ni.Protocol},
		{"niStartTime", &start},
		{"niSystemStartTime", &sysStart},
		{"niVersion", &ni.Version},
	}
	for _, f := range fields {
		raw, ok := obj[f.key]
		if !ok {
			return NodeInfo{}, fmt.Errorf("%w: missing %s", ErrInvalidNodeInfo, f.key)
		}
		// A JSON null would decode into a string without complaint.
		if len(raw) == 0 || raw[0] != '"' {
			return NodeInfo{}, fmt.Errorf("%w: %s is not a string", ErrInvalidNodeInfo, f.key)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return NodeInfo{}, fmt.Errorf("%w: %s: %w", ErrInvalidNodeInfo, f.key, err)
		}
	}
	var err error
	if ni.StartTime, err = parseUTCTime(start); err != nil {
		return NodeInfo{}, fmt.Errorf("%w: niStartTime: %w", ErrInvalidNodeInfo, err)
	}
	if ni.SystemStartTime, err = parseUTCTime(sysStart); err != nil {
		return NodeInfo{}, fmt.Errorf("%w: niSystemStartTime: %w", ErrInvalidNodeInfo, err)
	}
	return ni, nil
}

// JSON encodes ni as the node does: keys in alphabetical order, no spaces,
// strings escaped as aeson escapes them, times as aeson writes UTCTime.
func (ni NodeInfo) JSON() []byte {
	b := make([]byte, 0, 256)
	b = appendMember(b, '{', "niCommit", ni.Commit)
	b = appendMember(b, ',', "niName", ni.Name)
	b = appendMember(b, ',', "niProtocol", ni.Protocol)
	b = appendMember(b, ',', "niStartTime", formatUTCTime(ni.StartTime))
	b = appendMember(b, ',', "niSystemStartTime", formatUTCTime(ni.SystemStartTime))
	b = appendMember(b, ',', "niVersion", ni.Version)
	return append(b, '}')
}

func appendMember(b []byte, sep byte, key, value string) []byte {
	b = append(b, sep)
	b = appendJSONString(b, key)
	b = append(b, ':')
	return appendJSONString(b, value)
}

// appendJSONString writes s as aeson does: only ", \ and control
// characters are escaped (\n, \r, \t, otherwise \u00xx); everything else,
// including non-ASCII, is written as UTF-8. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// formatUTCTime writes t in UTC as YYYY-MM-DDTHH:MM:SS, then a fraction
// without trailing zeros when it is not zero, then Z, as aeson does.
func formatUTCTime(t time.Time) string {
	t = t.UTC()
	b := t.AppendFormat(make([]byte, 0, 32), "2006-01-02T15:04:05")
	if ns := t.Nanosecond(); ns != 0 {
		frac := []byte(strconv.Itoa(1_000_000_000 + ns)[1:]) // 9 digits
		for frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		b = append(append(b, '.'), frac...)
	}
	return string(append(b, 'Z'))
}

// parseUTCTime parses YYYY-MM-DDTHH:MM:SS[.fraction]Z strictly. The
// fraction has at least one digit and may be longer than the 12 digits
// aeson writes (aeson accepts that too); digits after the ninth are
// dropped. A leap second (:60), which aeson accepts, becomes the first
// second of the next minute.
func parseUTCTime(s string) (time.Time, error) {
	const base = len("2006-01-02T15:04:05")
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("time %q not in the form YYYY-MM-DDTHH:MM:SS[.fff]Z", s)
	}
	if len(s) < base+1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return bad()
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 60 {
		return bad()
	}
	ns := 0
	if frac := s[base : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) == 1 {
			return bad()
		}
		digits := frac[1:]
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return bad()
			}
			if i < 9 {
				ns = ns*10 + int(digits[i]-'0')
			}
		}
		for i := len(digits); i < 9; i++ {
			ns *= 10
		}
	}
	if time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return bad() // 31 April and the like
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC), nil
}
