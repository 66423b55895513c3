package config

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseAddress reads a forwarding address with cardano-tracer's rule: the
// text after the last ':' must be decimal digits giving 0..65535 and the
// text before it must not be empty, and then it is TCP; otherwise the whole
// string is a Unix socket path. So "/tmp/a:1" is TCP (quirk) and
// "host:70000" and ":3000" are socket paths. IPv6 brackets are kept in
// Host. The empty string, and any string with a NUL byte, is an error. A
// relative socket path stays relative; Parse and Load resolve it.
//
// cardano-tracer reads the digits into a 16-bit word, which (verify) may
// wrap "host:70000" to port 4464; Muninn follows the documented rule and
// takes it as a path.
func ParseAddress(raw string) (Address, error) {
	if raw == "" {
		return Address{}, problemf(ErrAddress, "empty address")
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return Address{}, problemf(ErrAddress, "%q contains a NUL byte", raw)
	}
	if i := strings.LastIndexByte(raw, ':'); i > 0 {
		host, digits := raw[:i], raw[i+1:]
		if port, ok := decimalPort(digits); ok {
			return Address{Raw: raw, Net: "tcp", Addr: joinHostPort(host, port), Host: host, Port: port}, nil
		}
	}
	return Address{Raw: raw, Net: "unix", Addr: raw}, nil
}

// decimalPort accepts one or more ASCII digits (leading zeros allowed, no
// sign, no spaces) whose value is at most 65535.
func decimalPort(s string) (uint16, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return uint16(n), true
}

// joinHostPort gives the form net.Dial takes. A host already in brackets
// is not bracketed again.
func joinHostPort(host string, port uint16) string {
	p := strconv.Itoa(int(port))
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host + ":" + p
	}
	return net.JoinHostPort(host, p)
}

// resolve makes a Unix socket path absolute against workDir.
func (a Address) resolve(workDir string) Address {
	if a.Net == "unix" {
		a.Addr = absPath(workDir, a.Addr)
	}
	return a
}

// absPath makes a non-empty path absolute against workDir and cleans it.
// The empty path stays empty so that Validate can report it.
func absPath(workDir, p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(workDir, p)
}
