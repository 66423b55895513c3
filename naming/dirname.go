package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDirNameBytes bounds the length of a [DirName] result: the usual limit
// on one file-name component (NAME_MAX on Linux, macOS and the BSDs).
const MaxDirNameBytes = 255

// hashSuffixLen is the length of "-" plus 16 hex digits.
const hashSuffixLen = 1 + 16

// DirName is the name of a node's log sub-directory under the log root.
//
// As in cardano-tracer (writeTraceObjectsToFile): the NodeName is sanitized
// ([SanitizeName]; this matters for a NodeId fallback such as
// "tmp-forwardersock@0", which becomes "tmp-forwardersock_0"), and only its
// last '/'-separated piece is kept ("node@eu/west" gives "west"). If that
// piece is empty, "." or "..", the [UnicodeSlug] of the NodeName is used.
//
// The result is always exactly one safe path component: non-empty, not "."
// or "..", without '/', NUL or other control characters, valid UTF-8, and at
// most [MaxDirNameBytes] bytes. Where cardano-tracer's choice is not such a
// component, DirName deviates as the package documentation describes (a
// hashed suffix for long or control-character names, "unnamed-<hash>" when
// nothing usable is left). It is deterministic and never panics.
func DirName(nodeName string) string {
	name := lastComponent(SanitizeName(nodeName))
	if name == "" || name == "." || name == ".." {
		name = UnicodeSlug(nodeName)
	}
	if name == "" {
		return "unnamed-" + shortHash(nodeName)
	}
	if isSafeComponent(name) {
		return name
	}
	return safeComponent(name)
}

func isSafeComponent(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > MaxDirNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '/' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// safeComponent rewrites an unsafe component: control characters, invalid
// bytes and '/' become '_', the text is cut at a rune boundary to leave room
// for the suffix, and "-<hash of s>" is appended.
func safeComponent(s string) string {
	limit := MaxDirNameBytes - hashSuffixLen
	var b strings.Builder
	b.Grow(min(len(s), limit) + hashSuffixLen)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if (r == utf8.RuneError && n == 1) || r == '/' || unicode.IsControl(r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			break
		}
		b.WriteRune(r)
	}
	b.WriteByte('-')
	b.WriteString(shortHash(s))
	return b.String()
}

// shortHash is the first 16 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
