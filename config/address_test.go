package config

import (
	"errors"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want Address // Raw is filled in from raw
	}{
		{"0.0.0.0:34567", Address{Net: "tcp", Addr: "0.0.0.0:34567", Host: "0.0.0.0", Port: 34567}},
		{"/tmp/forwarder.sock", Address{Net: "unix", Addr: "/tmp/forwarder.sock"}},
		{"/tmp/a:1", Address{Net: "tcp", Addr: "/tmp/a:1", Host: "/tmp/a", Port: 1}}, // quirk
		{"host:70000", Address{Net: "unix", Addr: "host:70000"}},
		{":3000", Address{Net: "unix", Addr: ":3000"}},
		{"[::1]:3000", Address{Net: "tcp", Addr: "[::1]:3000", Host: "[::1]", Port: 3000}}, // brackets kept in Host
		{"::1:3000", Address{Net: "tcp", Addr: "[::1]:3000", Host: "::1", Port: 3000}},
		{"relay.example.org:3001", Address{Net: "tcp", Addr: "relay.example.org:3001", Host: "relay.example.org", Port: 3001}},
		{"host:0", Address{Net: "tcp", Addr: "host:0", Host: "host", Port: 0}},
		{"host:65535", Address{Net: "tcp", Addr: "host:65535", Host: "host", Port: 65535}},
		{"host:00080", Address{Net: "tcp", Addr: "host:80", Host: "host", Port: 80}},
		{"host:", Address{Net: "unix", Addr: "host:"}},
		{"host:+80", Address{Net: "unix", Addr: "host:+80"}},
		{"host: 80", Address{Net: "unix", Addr: "host: 80"}},
		{"host:-1", Address{Net: "unix", Addr: "host:-1"}},
		{"host:8o", Address{Net: "unix", Addr: "host:8o"}},
		{"tracer.sock", Address{Net: "unix", Addr: "tracer.sock"}},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Raw = tc.raw
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.raw {
				t.Errorf("String() = %q", got.String())
			}
		})
	}
	for _, bad := range []string{"", "/tmp/a\x00b"} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddress(%q) = %v, want ErrAddress", bad, err)
		}
	}
}
