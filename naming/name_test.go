package naming

import "testing"

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"relay1_3001", "relay1_3001"},
		{"My Node:1", "My_Node_1"},
		{"127.0.0.1:30004", "127.0.0.1_30004"},
		{"tmp-forwardersock@0", "tmp-forwardersock_0"},
		{"node@eu/west", "node_eu/west"},
		{`a"b'c:d@e f`, "a_b_c_d_e_f"},
		{"?*x*?", "x"},
		{"a?b*c", "abc"},
		{"--node--", "node"},
		{"  relay  ", "relay"},
		{"[2001:db8::1]:3001", "2001_db8__1]_3001"},
		// Haskell's isSpace: \t..\r, U+00A0 and Zs become '_' ...
		{"a\tb\nc\vd\fe\rf", "a_b_c_d_e_f"},
		{"a\u00a0b\u3000c\u2000d", "a_b_c_d"},
		// ... but not U+0085, U+2028, U+2029 or U+001C (unlike unicode.IsSpace).
		{"a\u0085b\u2028c\u2029d\x1ce", "a\u0085b\u2028c\u2029d\x1ce"},
		// isAlphaNum is Unicode-aware.
		{"東京:1", "東京_1"},
		{"½x", "½x"},
		{"Crème Brûlée", "Crème_Brûlée"},
		{"😀node😀", "node"},
		{"™", ""},
		{"***", ""},
		{"", ""},
		{"\x00", ""},
		{"a\x00b", "a\x00b"},
		{"\x0eH", "H"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := SanitizeName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := SanitizeName(got); again != got {
				t.Errorf("SanitizeName not idempotent: %q -> %q", got, again)
			}
		})
	}
}
