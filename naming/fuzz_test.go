package naming

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var fuzzSeeds = []string{
	"", ".", "..", "../", "/", "\x00", "a\x00b", "a\x01b", "\xff", "relay1_3001", "tmp-forwardersock@0",
	"node@eu/west", "My Node:1", "127.0.0.1:30004", "TxGenerator", "[2001:db8::1]:3001", "é", "ü",
	"東京 Node", "😀", "™", "ﬁle", "İstanbul", "a\u0085b\u2028c", "!!!", "-_-", "/tmp/forwarder.sock",
	"\\\\.\\pipe\\x", "LocalLocalAddressAddress", "\x0eH", "é1",
	strings.Repeat("a", 300), strings.Repeat("™", 200),
}

// FuzzDirName: the result is one safe, bounded, deterministic path
// component, equal to cardano-tracer's choice whenever that is safe.
func FuzzDirName(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d := DirName(name)
		checkSafeComponent(t, name, d)
		if again := DirName(name); again != d {
			t.Fatalf("DirName(%q) = %q, then %q", name, d, again)
		}
		upstream := lastComponent(SanitizeName(name))
		if upstream == "" || upstream == "." || upstream == ".." {
			upstream = UnicodeSlug(name)
		}
		if isSafeComponent(upstream) && d != upstream {
			t.Fatalf("DirName(%q) = %q, want upstream %q", name, d, upstream)
		}
	})
}

var slugPattern = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*)?$`)

// FuzzSlug: only [a-z0-9] words joined by single '-', idempotent; the
// Unicode slug has words of letters and numbers only and no edge '-' or '_'.
func FuzzSlug(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := Slug(name)
		if !slugPattern.MatchString(s) {
			t.Fatalf("Slug(%q) = %q", name, s)
		}
		if again := Slug(s); again != s {
			t.Fatalf("Slug(%q) = %q, Slug(%q) = %q", name, s, s, again)
		}
		u := UnicodeSlug(name)
		if strings.HasPrefix(u, "-") || strings.HasSuffix(u, "-") || strings.Contains(u, "--") ||
			strings.ContainsRune(u, '_') {
			t.Fatalf("UnicodeSlug(%q) = %q", name, u)
		}
		for _, r := range u {
			if r != '-' && !isSlugWordChar(r) {
				t.Fatalf("UnicodeSlug(%q) = %q holds %U", name, u, r)
			}
		}
	})
}

// FuzzNodeID: the printed form of a Unix peer is ASCII, and its NodeId
// is printable ASCII without the characters the clean-up replaces or "--",
// and keeps the "@<counter>" suffix.
func FuzzNodeID(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, uint64(0))
	}
	f.Fuzz(func(t *testing.T, path string, counter uint64) {
		printed := AcceptUnixPeer(path, counter)
		id := NodeID(printed)
		for _, r := range printed {
			if r > unicode.MaxASCII || r < ' ' || r == 0x7f {
				t.Fatalf("AcceptUnixPeer(%q) = %q holds %U", path, printed, r)
			}
		}
		if strings.ContainsAny(id, `./\" `) || strings.Contains(id, "--") {
			t.Fatalf("NodeID(%q) = %q", printed, id)
		}
		if !strings.HasSuffix(id, "@"+strconv.FormatUint(counter, 10)) {
			t.Fatalf("NodeID(%q) = %q lacks the counter", printed, id)
		}
		_ = NodeID(path) // any input: no panic
		_ = Dialled(path)
	})
}
