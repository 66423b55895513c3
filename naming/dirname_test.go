package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

func TestDirName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// BEHAVIOUR.md §c.3.
		{"relay1_3001", "relay1_3001"},
		{"tmp-forwardersock@0", "tmp-forwardersock_0"},
		{"node@eu/west", "west"},
		{"My_Node_1", "My_Node_1"},
		{"127.0.0.1_30004", "127.0.0.1_30004"},
		{"TxGenerator", "TxGenerator"},
		// NodeId fallbacks.
		{"192168120:41234", "192168120_41234"},
		{"run-cardano-node1sock", "run-cardano-node1sock"},
		{"[2001:db8::1]:3001", "2001_db8__1]_3001"}, // loses the leading '[' only
		{"[::ffff:192168120]:41234", "ffff_192168120]_41234"},
		// Only the last component survives; "." and ".." never do.
		{"x/./y", "y"},
		{"a/..", "a"},
		{"node/", "node"},
		{"/etc/passwd", "passwd"},
		{"../../etc", "etc"},
		// Non-ASCII is kept.
		{"é", "é"},
		{"ü", "ü"},
		{"東京", "東京"},
		{"東京 Node", "東京_Node"},
		{"😀node", "node"},
		// Empty sanitized name: the Unicode slug of the name.
		{"™", "tm"},
		{"㍱", "hpa"},
		// Deviation: nothing usable left.
		{"", "unnamed-" + hash16("")},
		{"../", "unnamed-" + hash16("../")},
		{"/", "unnamed-" + hash16("/")},
		{"..", "unnamed-" + hash16("..")},
		{".", "unnamed-" + hash16(".")},
		{"!!!", "unnamed-" + hash16("!!!")},
		{"😀", "unnamed-" + hash16("😀")},
		{"\x00", "unnamed-" + hash16("\x00")},
		{"\xff", "unnamed-" + hash16("\xff")},
		// Deviation: control characters.
		{"a\x00b", "a_b-" + hash16("a\x00b")},
		{"a\x01b", "a_b-" + hash16("a\x01b")},
		{"a\x1bb", "a_b-" + hash16("a\x1bb")},
		{"a\x7fb", "a_b-" + hash16("a\x7fb")},
		{"a\u0085b", "a_b-" + hash16("a\u0085b")},
		{"x/a\x1cb", "a_b-" + hash16("a\x1cb")},
		// Whitespace controls are sanitized to '_' upstream already.
		{"a\tb\nc", "a_b_c"},
		// Invalid UTF-8 reads as U+FFFD.
		{"a\xffb", "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := DirName(tt.in)
			if got != tt.want {
				t.Errorf("DirName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafeComponent(t, tt.in, got)
		})
	}
}

func TestDirNameLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 10000)
	got := DirName(long)
	want := strings.Repeat("a", MaxDirNameBytes-17) + "-" + hash16(long)
	if got != want {
		t.Errorf("DirName(10000 × a) = %q, want %q", got, want)
	}
	checkSafeComponent(t, long, got)

	// Distinct names stay distinct, even when they differ only past the cut.
	other := long[:9999] + "b"
	if DirName(other) == got {
		t.Errorf("DirName collides for names differing in the last byte")
	}

	// Exactly at the limit: unchanged. One byte more: shortened.
	at := strings.Repeat("x", MaxDirNameBytes)
	if DirName(at) != at {
		t.Errorf("DirName of a %d-byte name changed", MaxDirNameBytes)
	}
	if d := DirName(at + "x"); len(d) != MaxDirNameBytes || d == at {
		t.Errorf("DirName of a %d-byte name = %q", MaxDirNameBytes+1, d)
	}

	// Multi-byte runes are never split.
	wide := strings.Repeat("東", 1000)
	d := DirName(wide)
	checkSafeComponent(t, wide, d)
	if !strings.HasPrefix(d, strings.Repeat("東", (MaxDirNameBytes-17)/3)) {
		t.Errorf("DirName(1000 × 東) = %q", d)
	}

	// A long name whose sanitized form is empty goes through the slug.
	tms := strings.Repeat("™", 5000)
	d = DirName(tms)
	checkSafeComponent(t, tms, d)
	if want := strings.Repeat("tm", 119) + "-" + hash16(strings.Repeat("tm", 5000)); d != want {
		t.Errorf("DirName(5000 × ™) = %q, want %q", d, want)
	}
}

func TestDirNameHostile(t *testing.T) {
	t.Parallel()
	names := []string{
		"", ".", "..", "...", "../", "/", "//", "/..", "../..", "./.", "a/../..", "\x00", "\x00/..",
		"a\x00", "..\x00..", "\n", "\r\n", "\t..\t", " / ", "a/b/", "a/\x01", "\u202e..", "..\u2028",
		"é", "ü", "東京", "😀", "\U0001F1FA\U0001F1F8", "ǅ", "İ", "\ufffd", "\xff\xfe", "\xed\xa0\x80",
		"!!!", "---", "___", "***", "???", "\"'@:", strings.Repeat("/", 300), strings.Repeat(".", 300),
		strings.Repeat("a/", 5000), strings.Repeat("é", 5000), strings.Repeat("\x01", 5000),
		strings.Repeat("a", 10000), strings.Repeat("😀a", 3000),
	}
	for _, n := range names {
		d := DirName(n)
		checkSafeComponent(t, n, d)
		if DirName(n) != d {
			t.Errorf("DirName(%q) is not deterministic", n)
		}
	}
}

func checkSafeComponent(t *testing.T, in, d string) {
	t.Helper()
	switch {
	case d == "" || d == "." || d == "..":
		t.Errorf("DirName(%q) = %q", in, d)
	case len(d) > MaxDirNameBytes:
		t.Errorf("DirName(%q) has %d bytes", in, len(d))
	case !utf8.ValidString(d):
		t.Errorf("DirName(%q) = %q is not UTF-8", in, d)
	case strings.ContainsRune(d, '/') || strings.ContainsRune(d, filepath.Separator):
		t.Errorf("DirName(%q) = %q has a separator", in, d)
	case !filepath.IsLocal(d) || filepath.Base(d) != d:
		t.Errorf("DirName(%q) = %q is not one local component", in, d)
	case strings.IndexFunc(d, unicode.IsControl) >= 0:
		t.Errorf("DirName(%q) = %q has a control character", in, d)
	}
}
