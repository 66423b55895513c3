package naming

import (
	"net"
	"net/netip"
	"testing"
)

// The expected values below were checked against GHC's own show and the
// network package's Show SockAddr (BEHAVIOUR.md §c.1).

func TestNodeIDUnixAccept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path    string
		counter uint64
		printed string
		nodeID  string
	}{
		{"/tmp/forwarder.sock", 0, `LocalAddress "/tmp/forwarder.sock@0"`, "tmp-forwardersock@0"},
		{"/tmp/forwarder.sock", 1, `LocalAddress "/tmp/forwarder.sock@1"`, "tmp-forwardersock@1"},
		{"/tmp/forwarder.sock", 18446744073709551615, `LocalAddress "/tmp/forwarder.sock@18446744073709551615"`, "tmp-forwardersock@18446744073709551615"},
		{"forwarder.sock", 0, `LocalAddress "forwarder.sock@0"`, "forwardersock@0"},
		// "pipe" vanishes wherever it occurs.
		{"/tmp/pipeline.sock", 3, `LocalAddress "/tmp/pipeline.sock@3"`, "tmp-linesock@3"},
		{"/run/cardano/pipe/x.sock", 0, `LocalAddress "/run/cardano/pipe/x.sock@0"`, "run-cardanoxsock@0"},
		{`\\.\pipe\forwarder`, 0, `LocalAddress "\\\\.\\pipe\\forwarder@0"`, "forwarder@0"},
		{"/tmp/LocalAddress.sock", 0, `LocalAddress "/tmp/LocalAddress.sock@0"`, "tmp-sock@0"},
		// "--" is deleted, so doubled dashes and quotes disappear.
		{"/tmp/a--b.sock", 0, `LocalAddress "/tmp/a--b.sock@0"`, "tmp-absock@0"},
		{`/tmp/a"b.sock`, 0, `LocalAddress "/tmp/a\"b.sock@0"`, "tmp-absock@0"},
		{"/tmp/a b.sock", 0, `LocalAddress "/tmp/a b.sock@0"`, "tmp-a-bsock@0"},
		{"/tmp/-x-.sock", 0, `LocalAddress "/tmp/-x-.sock@0"`, "tmpx-sock@0"},
		{"/tmp/a\nb.sock", 0, `LocalAddress "/tmp/a\nb.sock@0"`, "tmp-a-nbsock@0"},
		// Haskell escapes: decimal for non-ASCII, "\&" before a digit.
		{"/tmp/é1.sock", 0, `LocalAddress "/tmp/\233\&1.sock@0"`, "tmp233-&1sock@0"},
		// Code points above U+00FF keep their low byte, as the network
		// package's bind/getsockname round trip does (東 is U+6771, 京 U+4EAC).
		{"/tmp/東京.sock", 0, `LocalAddress "/tmp/q\172.sock@0"`, "tmp-q-172sock@0"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			printed := AcceptUnixPeer(tt.path, tt.counter)
			if printed != tt.printed {
				t.Errorf("AcceptUnixPeer(%q, %d) = %q, want %q", tt.path, tt.counter, printed, tt.printed)
			}
			if got := NodeID(printed); got != tt.nodeID {
				t.Errorf("NodeID(%q) = %q, want %q", printed, got, tt.nodeID)
			}
		})
	}
}

func TestShowLocalAddressEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"", `LocalAddress ""`},
		{"\x00", `LocalAddress "\NUL"`},
		{"a\x01b", `LocalAddress "a\SOHb"`},
		{"\x0eH", `LocalAddress "\SO\&H"`},
		{"\x0e\x0f", `LocalAddress "\SO\SI"`},
		{"\a\b\t\n\v\f\r", `LocalAddress "\a\b\t\n\v\f\r"`},
		{"\x1b\x1f", `LocalAddress "\ESC\US"`},
		{"\x7f1", `LocalAddress "\DEL1"`},
		{`a\b`, `LocalAddress "a\\b"`},
		{`'"`, `LocalAddress "'\""`},
		{"é1", `LocalAddress "\233\&1"`},
		{"éx", `LocalAddress "\233x"`},
		{"\u00ff", `LocalAddress "\255"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := ShowLocalAddress(tt.path); got != tt.want {
				t.Errorf("ShowLocalAddress(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestNodeIDTCP(t *testing.T) {
	t.Parallel()
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	tests := []struct {
		name    string
		printed string
		want    string
		nodeID  string
	}{
		{"ipv4", TCPPeer(tcp("192.168.1.20:41234")), "192.168.1.20:41234", "192168120:41234"},
		{"ipv4 as 16 bytes", TCPPeer(&net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 41234}), "192.168.1.20:41234", "192168120:41234"},
		{"ipv4-mapped on ipv4 listener", TCPPeer(tcp("[::ffff:192.168.1.20]:41234")), "192.168.1.20:41234", "192168120:41234"},
		{"ipv4 on ipv6 listener", TCPPeerOnIPv6Listener(tcp("192.168.1.20:41234")), "[::ffff:192.168.1.20]:41234", "[::ffff:192168120]:41234"},
		{"ipv6", TCPPeer(tcp("[2001:db8::1]:3001")), "[2001:db8::1]:3001", "[2001:db8::1]:3001"},
		{"ipv6 on ipv6 listener", TCPPeerOnIPv6Listener(tcp("[2001:db8::1]:3001")), "[2001:db8::1]:3001", "[2001:db8::1]:3001"},
		{"loopback", TCPPeer(tcp("[::1]:3001")), "[::1]:3001", "[::1]:3001"},
		{"zone dropped", TCPPeer(&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 3001, Zone: "eth0"}), "[fe80::1]:3001", "[fe80::1]:3001"},
		{"not tcp, parsable", TCPPeer(fakeAddr("10.0.0.5:3000")), "10.0.0.5:3000", "10005:3000"},
		{"not tcp, unparsable", TCPPeer(&net.UnixAddr{Name: "/x.sock", Net: "unix"}), "/x.sock", "xsock"},
		{"nil", TCPPeer(nil), "", ""},
		{"nil on ipv6 listener", TCPPeerOnIPv6Listener(nil), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.printed != tt.want {
				t.Errorf("printed %q, want %q", tt.printed, tt.want)
			}
			if got := NodeID(tt.printed); got != tt.nodeID {
				t.Errorf("NodeID(%q) = %q, want %q", tt.printed, got, tt.nodeID)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

func TestShowSockAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"0.0.0.0:0", "0.0.0.0:0"},
		{"255.255.255.255:65535", "255.255.255.255:65535"},
		{"[::]:1", "[::]:1"},
		{"[::1]:1", "[::1]:1"},
		{"[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80"},
		{"[::ffff:0.0.0.0]:80", "[::ffff:0.0.0.0]:80"},
		// IPv4-compatible (deprecated) form, as glibc's inet_ntop.
		{"[::1.2.3.4]:80", "[::1.2.3.4]:80"},
		{"[::0.1.0.0]:80", "[::0.1.0.0]:80"},
		{"[::2]:80", "[::2]:80"},
		{"[::ffff]:80", "[::ffff]:80"},
		{"[2001:DB8::A]:80", "[2001:db8::a]:80"},
		// A single zero field is not compressed.
		{"[2001:db8:0:1:1:1:1:1]:80", "[2001:db8:0:1:1:1:1:1]:80"},
		// The longest run wins; on a tie, the first.
		{"[2001:0:0:1:0:0:0:1]:80", "[2001:0:0:1::1]:80"},
		{"[2001:db8:0:0:1:0:0:1]:80", "[2001:db8::1:0:0:1]:80"},
		{"[1:0:0:0:0:0:0:0]:80", "[1::]:80"},
		{"[fe80::1%eth0]:80", "[fe80::1]:80"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := ShowSockAddr(netip.MustParseAddrPort(tt.in)); got != tt.want {
				t.Errorf("ShowSockAddr(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := ShowSockAddr(netip.AddrPort{}); got != "" {
		t.Errorf("ShowSockAddr(invalid) = %q, want \"\"", got)
	}
}

func TestNodeIDDialled(t *testing.T) {
	t.Parallel()
	tests := []struct{ address, printed, nodeID string }{
		{"/run/cardano/node1.sock", `LocalAddress "/run/cardano/node1.sock"`, "run-cardano-node1sock"},
		{"10.0.0.5:3000", "10.0.0.5:3000", "10005:3000"},
		{"[::1]:3000", "[::1]:3000", "[::1]:3000"},
		{"::1:3000", "[::1]:3000", "[::1]:3000"},
		{"fe80::1%eth0:3000", "[fe80::1]:3000", "[fe80::1]:3000"},
		{"::ffff:10.0.0.5:3000", "[::ffff:10.0.0.5]:3000", "[::ffff:10005]:3000"},
		// Not HOST:PORT: a socket path.
		{"node.sock", `LocalAddress "node.sock"`, "nodesock"},
		{":3000", `LocalAddress ":3000"`, ":3000"},
		{"/tmp/a:b", `LocalAddress "/tmp/a:b"`, "tmp-a:b"},
		{"/tmp/a:99999", `LocalAddress "/tmp/a:99999"`, "tmp-a:99999"},
		{"/tmp/a:+1", `LocalAddress "/tmp/a:+1"`, "tmp-a:+1"},
		// A host name: Haskell would print the resolved address.
		{"relay.example:3001", "relay.example:3001", "relayexample:3001"},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			t.Parallel()
			printed := Dialled(tt.address)
			if printed != tt.printed {
				t.Errorf("Dialled(%q) = %q, want %q", tt.address, printed, tt.printed)
			}
			if got := NodeID(printed); got != tt.nodeID {
				t.Errorf("NodeID(%q) = %q, want %q", printed, got, tt.nodeID)
			}
		})
	}
	if got, want := DialledUnix("/run/cardano/node1.sock"), Dialled("/run/cardano/node1.sock"); got != want {
		t.Errorf("DialledUnix = %q, Dialled = %q", got, want)
	}
}

func TestNodeIDCleanup(t *testing.T) {
	t.Parallel()
	tests := []struct{ printed, want string }{
		{"", ""},
		{"-", ""},
		{"--", ""},
		{"---", ""},
		{"----", ""},
		{"-a-", "a"},
		{"a---b", "a-b"},
		{"a----b", "ab"},
		{"pi.pe", ""},
		{"pipipepe", "pipe"},
		{"LocalLocalAddressAddress", "LocalAddress"},
		{`a\b/c"d e`, "a-b-c-d-e"},
	}
	for _, tt := range tests {
		t.Run(tt.printed, func(t *testing.T) {
			t.Parallel()
			if got := NodeID(tt.printed); got != tt.want {
				t.Errorf("NodeID(%q) = %q, want %q", tt.printed, got, tt.want)
			}
		})
	}
}
