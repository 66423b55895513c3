package naming

import (
	"strings"
	"unicode"
)

// SanitizeName is cardano-tracer's sanitizeNodeName, applied to a node's
// niName: the double quote, the apostrophe, ':', '@' and every Haskell
// whitespace character become '_'; '?' and '*' are deleted; leading and
// trailing characters that are not alphanumeric are stripped. "Alphanumeric" is Haskell's isAlphaNum, which is
// Unicode-aware (general categories L and N), so "東京:1" gives "東京_1".
//
// The result may be empty (e.g. for "***"); cardano-tracer then uses the
// empty string as the NodeName, since only an empty niName falls back to the
// NodeId.
func SanitizeName(niName string) string {
	var b strings.Builder
	b.Grow(len(niName))
	for _, r := range niName {
		switch {
		case r == '"' || r == '\'' || r == ':' || r == '@' || isHaskellSpace(r):
			b.WriteByte('_')
		case r == '?' || r == '*':
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimFunc(b.String(), func(r rune) bool { return !isHaskellAlphaNum(r) })
}

// isHaskellSpace is Data.Char.isSpace: ' ', '\t' to '\r', U+00A0, and above
// U+0377 the general category Zs. Unlike unicode.IsSpace it excludes U+0085,
// U+2028 and U+2029.
func isHaskellSpace(r rune) bool {
	if r <= 0x377 {
		return r == ' ' || (r >= '\t' && r <= '\r') || r == 0xa0
	}
	return unicode.Is(unicode.Zs, r)
}

// isHaskellAlphaNum is Data.Char.isAlphaNum: general categories Lu, Ll, Lt,
// Lm, Lo, Nd, Nl and No.
func isHaskellAlphaNum(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// lastComponent is System.FilePath.Posix.takeFileName: everything after the
// last '/'.
func lastComponent(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}
