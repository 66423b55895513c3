package naming

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Slug is slugify from the Hackage package slugify 0.1.0.2, which
// cardano-tracer uses for a node's HTTP route ("/<slug>") and for the
// __metrics_path__ of /targets. Its steps:
//
//  1. NFKD normalisation, then every non-ASCII character is dropped (so
//     "é" becomes "e");
//  2. lower case;
//  3. only word characters (letters, digits, '_') and separators ('-',
//     '_', whitespace and the control separators '\t' '\n' '\v' '\f' '\r'
//     and 0x1C to 0x1F) are kept: '.', ':', '@', '[' and the like simply
//     vanish without splitting words;
//  4. split on separators, drop empty pieces, join with '-';
//  5. strip leading and trailing '-' and '_'.
//
// The result matches ^([a-z0-9]+(-[a-z0-9]+)*)?$ and Slug(Slug(x)) ==
// Slug(x). It is empty when the name has no ASCII letter or digit after
// NFKD.
func Slug(nodeName string) string {
	d := norm.NFKD.String(nodeName)
	ascii := make([]byte, 0, len(d))
	for i := 0; i < len(d); i++ {
		if d[i] < 0x80 {
			ascii = append(ascii, d[i])
		}
	}
	return slugWords(string(ascii))
}

// UnicodeSlug is slugifyUnicode from slugify 0.1.0.2, the fallback
// cardano-tracer uses for the log directory when the sanitized name has no
// usable last path component (see [DirName]). It is [Slug] with NFKC in
// place of NFKD and without dropping non-ASCII characters: letters and
// numbers of any script are kept ("東京 Node" gives "東京-node"), and the
// separators also include U+0085 and the categories Zs, Zl and Zp.
func UnicodeSlug(nodeName string) string {
	return slugWords(norm.NFKC.String(nodeName))
}

// slugWords is steps 2 to 5 of the slug algorithm.
func slugWords(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSep := false
	add := func(r rune) {
		switch {
		case isSlugSeparator(r):
			pendingSep = true
		case isSlugWordChar(r):
			if pendingSep && b.Len() > 0 {
				b.WriteByte('-')
			}
			pendingSep = false
			b.WriteRune(r)
		}
	}
	for _, r := range s {
		if r == 0x130 {
			// Data.Text.toLower uses the full mapping: U+0130 becomes
			// "i" followed by U+0307 (which is then dropped).
			add('i')
			add(0x307)
			continue
		}
		add(unicode.ToLower(r))
	}
	return strings.Trim(b.String(), "-_")
}

// isSlugSeparator is slugify's isWordSeparator ('_' became a separator in
// 0.1.0.2).
func isSlugSeparator(r rune) bool {
	switch r {
	case '-', '_', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// isSlugWordChar is slugify's isWordChar: '_' and the general categories
// Ll, Lm, Lo, Lu, Lt, Nd, Nl and No, with three code points pinned by the
// package to its Unicode version.
func isSlugWordChar(r rune) bool {
	switch r {
	case '_', 0x1e94b:
		return true
	case 0x119e2, 0x1e14f:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}
