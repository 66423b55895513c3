package ekg

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TimestampName is the counter cardano-tracer adds to every node's store:
// the time of the scrape in Unix milliseconds. The writers add it
// themselves; a metric of this name sent by a node is left out, so that
// the tracer's own wins (cardano-tracer would fail to register it).
const TimestampName = "ekg.server_timestamp_ms"

// timestampFamily is TimestampName as a Prometheus name.
const timestampFamily = "ekg_server_timestamp_ms"

// famTable maps a byte of an internal name to the byte of the Prometheus
// name (BEHAVIOUR.md §f.3 step 1): ASCII letters, digits and '_' stay,
// space, '-' and '.' become '_', everything else (0) is deleted. The case
// is kept. It is never written after initialisation.
var famTable = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
			t[c] = byte(c)
		case c == ' ', c == '-', c == '.':
			t[c] = '_'
		}
	}
	return t
}()

// trimSuffix removes, for metricsNoSuffix, the first of "_int",
// "_counter", "_real" that ends name.
func trimSuffix(name string) string {
	for _, suf := range [...]string{"_int", "_counter", "_real"} {
		if strings.HasSuffix(name, suf) {
			return name[:len(name)-len(suf)]
		}
	}
	return name
}

// appendFamily appends the Prometheus name of the internal name: the
// suffix removed when noSuffix, then each byte mapped through famTable.
// The loop maps every byte without a branch, reading the name and writing
// b; only when some byte is to be deleted (never for cardano-node's
// names) does a second pass close the gaps.
func appendFamily(b []byte, name string, noSuffix bool) []byte {
	if noSuffix {
		name = trimSuffix(name)
	}
	n := len(b)
	b = slices.Grow(b, len(name))
	dst := b[n : n+len(name)]
	var zero uint
	for i := 0; i < len(name) && i < len(dst); i++ {
		m := famTable[name[i]]
		dst[i] = m
		zero |= (uint(m) - 1) >> 8 // 1 when m is 0 (the subtraction wraps)
	}
	if zero&1 == 0 {
		return b[:n+len(name)]
	}
	j := 0
	for _, c := range dst {
		if c != 0 {
			dst[j] = c
			j++
		}
	}
	return b[:n+j]
}

// FamilyName returns the Prometheus metric name cardano-tracer derives from
// an internal (EKG) name. It may be empty or start with a digit; the
// writers leave such metrics out (see ValidFamily).
func FamilyName(name string, noSuffix bool) string {
	return string(appendFamily(make([]byte, 0, len(name)), name, noSuffix))
}

// ValidFamily reports whether fam is a valid Prometheus metric name as the
// writers produce them: non-empty and not starting with a digit (the
// other characters are letters, digits and '_' by construction).
func ValidFamily(fam []byte) bool {
	return len(fam) > 0 && (fam[0] < '0' || fam[0] > '9')
}

// validFloat reports whether s is a sample value Prometheus accepts in
// both text formats: Go's float syntax (which includes Inf, Infinity and
// NaN in any case, and Haskell's 4.9871e-2), without the characters
// Prometheus refuses (p, P, _: hexadecimal floats and digit separators),
// and in range.
func validFloat(s string) bool {
	if s == "" || strings.ContainsAny(s, "pP_") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// classifyLabel decides how the exposition writes a label of text s.
func classifyLabel(s string) class {
	if strings.HasPrefix(s, "{") {
		ok, hasNode := validLabelSet(s)
		switch {
		case !ok:
			return clsBad
		case hasNode:
			return clsInfoNode
		}
		return clsInfo
	}
	if validFloat(s) {
		return clsNumber
	}
	return clsBad
}

// validLabelSet checks an info-style label text: a label set followed by
// one space and a value, as cardano-node writes it
// ({version="10.5.1",revision="…"} 1), strict enough that both text
// formats accept the line: label names [a-zA-Z_][a-zA-Z0-9_]*, each at
// most once, values in double quotes with only \\, \" and \n escapes and
// no raw newline, valid UTF-8, no spaces, no trailing comma. hasNode
// reports a node_name label, which /metrics cannot merge with its own.
func validLabelSet(s string) (ok, hasNode bool) {
	if !utf8.ValidString(s) || len(s) < 2 || s[0] != '{' {
		return false, false
	}
	i := 1
	var (
		names [16]string // label names seen, for the duplicate check
		seen  = names[:0]
		many  map[string]bool // past 16 labels (no node sends that many)
		n     int
	)
	for s[i] != '}' {
		if n > 0 {
			if s[i] != ',' {
				return false, false
			}
			i++
		}
		start := i
		for i < len(s) && isNameByte(s[i], i == start) {
			i++
		}
		if i == start || i >= len(s) || s[i] != '=' {
			return false, false
		}
		ln := s[start:i]
		if many == nil {
			if slices.Contains(seen, ln) {
				return false, false
			}
			if seen = append(seen, ln); len(seen) == len(names) {
				many = make(map[string]bool)
				for _, l := range seen {
					many[l] = true
				}
			}
		} else {
			if many[ln] {
				return false, false
			}
			many[ln] = true
		}
		n++
		if ln == "node_name" {
			hasNode = true
		}
		i++ // '='
		if i >= len(s) || s[i] != '"' {
			return false, false
		}
		i++
		for {
			if i >= len(s) {
				return false, false
			}
			c := s[i]
			if c == '"' {
				i++
				break
			}
			if c == '\n' {
				return false, false
			}
			if c == '\\' {
				if i+1 >= len(s) || (s[i+1] != '\\' && s[i+1] != '"' && s[i+1] != 'n') {
					return false, false
				}
				i++
			}
			i++
		}
		if i >= len(s) {
			return false, false
		}
	}
	// s[i] == '}'
	if i+1 >= len(s) || s[i+1] != ' ' {
		return false, false
	}
	return validFloat(s[i+2:]), hasNode
}

func isNameByte(c byte, first bool) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || !first && '0' <= c && c <= '9'
}
