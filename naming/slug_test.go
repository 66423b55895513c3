package naming

import "testing"

func TestSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, ascii, unicode string }{
		// BEHAVIOUR.md §c.3 examples (slugs of the NodeName).
		{"TxGenerator", "txgenerator", "txgenerator"},
		{"My_Node_1", "my-node-1", "my-node-1"},
		{"127.0.0.1_30004", "127001-30004", "127001-30004"},
		{"relay1_3001", "relay1-3001", "relay1-3001"},
		{"tmp-forwardersock@0", "tmp-forwardersock0", "tmp-forwardersock0"},
		// Unsanitized names: '.', ':', '@', '[' and '/' vanish without splitting.
		{"My Node:1", "my-node1", "my-node1"},
		{"127.0.0.1:30004", "12700130004", "12700130004"},
		{"[2001:db8::1]:3001", "2001db813001", "2001db813001"},
		{"node_eu/west", "node-euwest", "node-euwest"},
		{"__a__b__", "a-b", "a-b"},
		{"-_-", "", ""},
		{"", "", ""},
		// Separators: whitespace, the ASCII control separators, and in the
		// Unicode variant also U+0085, Zl, Zp.
		{"a\tb\nc", "a-b-c", "a-b-c"},
		{"a\x1cb", "a-b", "a-b"},
		{"a\u0085b", "ab", "a-b"},
		{"a\u2028b", "ab", "a-b"},
		{"a\u3000b", "a-b", "a-b"},
		{"a\x01b", "ab", "ab"},
		// Compatibility normalisation, and ASCII only for Slug.
		{"Crème Brûlée", "creme-brulee", "crème-brûlée"},
		{"ﬁle", "file", "file"},
		{"x²", "x2", "x2"},
		{"½x", "12x", "12x"},
		{"ａｂｃ", "abc", "abc"},
		{"™", "tm", "tm"},
		{"Straße", "strae", "straße"},
		{"İstanbul", "istanbul", "istanbul"},
		{"東京", "", "東京"},
		{"東京 Node", "node", "東京-node"},
		{"東京:1", "1", "東京1"},
		{"😀node", "node", "node"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := Slug(tt.in); got != tt.ascii {
				t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.ascii)
			}
			if got := UnicodeSlug(tt.in); got != tt.unicode {
				t.Errorf("UnicodeSlug(%q) = %q, want %q", tt.in, got, tt.unicode)
			}
		})
	}
}

// TestSlugOfSanitizedName follows a NodeInfo niName through to its route.
func TestSlugOfSanitizedName(t *testing.T) {
	t.Parallel()
	tests := []struct{ niName, nodeName, slug string }{
		{"My Node:1", "My_Node_1", "my-node-1"},
		{"127.0.0.1:30004", "127.0.0.1_30004", "127001-30004"},
		{"TxGenerator", "TxGenerator", "txgenerator"},
	}
	for _, tt := range tests {
		t.Run(tt.niName, func(t *testing.T) {
			t.Parallel()
			name := SanitizeName(tt.niName)
			if name != tt.nodeName {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.niName, name, tt.nodeName)
			}
			if got := Slug(name); got != tt.slug {
				t.Errorf("Slug(%q) = %q, want %q", name, got, tt.slug)
			}
		})
	}
}
