package naming

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// NodeID applies cardano-tracer's clean-up (connIdToNodeId) to a peer address
// as Haskell's show prints it, in this order: remove "LocalAddress", then
// every ".", then every "pipe"; replace '\', '/', '"' and ' ' with '-';
// delete every "--" (left to right, without overlaps, not repeated); drop
// one trailing and one leading '-'.
//
// The printed form comes from [AcceptUnixPeer], [DialledUnix], [TCPPeer],
// [TCPPeerOnIPv6Listener], [ShowSockAddr] or [Dialled]. For example
// NodeID(AcceptUnixPeer("/tmp/forwarder.sock", 0)) is "tmp-forwardersock@0".
func NodeID(printed string) string {
	s := strings.ReplaceAll(printed, "LocalAddress", "")
	s = strings.ReplaceAll(s, ".", "")
	s = strings.ReplaceAll(s, "pipe", "")
	s = strings.ReplaceAll(s, `\`, "-")
	s = strings.ReplaceAll(s, "/", "-")
	s = strings.ReplaceAll(s, `"`, "-")
	s = strings.ReplaceAll(s, " ", "-")
	s = strings.ReplaceAll(s, "--", "")
	s = strings.TrimSuffix(s, "-")
	return strings.TrimPrefix(s, "-")
}

// AcceptUnixPeer is the printed peer address of the counter-th connection
// (from 0, per listening socket) accepted on a Unix socket bound at
// listenPath. ouroboros-network gives such a peer the synthetic address
// "<listenPath>@<counter>", where listenPath is the name getsockname returns,
// i.e. the path exactly as bound (a relative path stays relative). The
// result is `LocalAddress "<listenPath>@<counter>"` with Haskell string
// escapes; see [ShowLocalAddress].
func AcceptUnixPeer(listenPath string, counter uint64) string {
	return ShowLocalAddress(listenPath + "@" + strconv.FormatUint(counter, 10))
}

// DialledUnix is the printed peer address of a connection the tracer dialled
// (ConnectTo) to a Unix socket: getpeername's answer, which is the path the
// node bound, normally the configured path.
func DialledUnix(path string) string {
	return ShowLocalAddress(path)
}

// ShowLocalAddress prints ouroboros-network's LocalAddress the way Haskell's
// show does (Show via Quiet): `LocalAddress "<path>"`, the path written as a
// Haskell string literal.
//
// The network package stores a Unix socket path one byte per Char, keeping
// the low 8 bits of each code point when binding (castCharToCChar) and
// reading bytes back as Latin-1 (peekCAString). Each rune of path is
// truncated the same way, so a non-ASCII path prints as cardano-tracer, which
// binds that truncated name, would print it.
func ShowLocalAddress(path string) string {
	return showLocalAddress(path, 0xff)
}

// showLocalAddress keeps the bits of mask of each rune of path.
func showLocalAddress(path string, mask rune) string {
	rs := make([]rune, 0, len(path))
	for _, r := range path {
		rs = append(rs, r&mask)
	}
	var b strings.Builder
	b.WriteString("LocalAddress ")
	writeHaskellString(&b, rs)
	return b.String()
}

// asciiNames are the names Haskell's showLitChar uses for C0 controls.
var asciiNames = [32]string{
	"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL",
	"BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI",
	"DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB",
	"CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
}

// writeHaskellString writes rs as GHC's show for String does: in double
// quotes, with showLitString's escapes (including the "\&" that separates a
// numeric escape from a following digit, and "\SO" from a following 'H').
func writeHaskellString(b *strings.Builder, rs []rune) {
	b.WriteByte('"')
	for i, c := range rs {
		var next rune = -1
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c > 0x7f:
			b.WriteByte('\\')
			b.WriteString(strconv.Itoa(int(c)))
			if next >= '0' && next <= '9' {
				b.WriteString(`\&`)
			}
		case c == 0x7f:
			b.WriteString(`\DEL`)
		case c == '\\':
			b.WriteString(`\\`)
		case c >= ' ':
			b.WriteRune(c)
		default:
			writeControlEscape(b, c, next)
		}
	}
	b.WriteByte('"')
}

func writeControlEscape(b *strings.Builder, c, next rune) {
	switch c {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	case 0x0e:
		b.WriteString(`\SO`)
		if next == 'H' {
			b.WriteString(`\&`)
		}
	default:
		b.WriteByte('\\')
		b.WriteString(asciiNames[c])
	}
}

// ShowSockAddr prints a TCP endpoint the way Haskell's network package shows
// a SockAddr: an IPv4 address (ap.Addr().Is4()) as SockAddrInet,
// "a.b.c.d:port"; any IPv6 address, IPv4-mapped ones included, as
// SockAddrInet6, "[addr]:port" with the address in glibc inet_ntop form
// (lower-case hex, the first longest run of two or more zero fields as "::",
// "::ffff:a.b.c.d" for IPv4-mapped and "::a.b.c.d" for IPv4-compatible
// addresses). The zone is not printed. An invalid ap prints as "".
func ShowSockAddr(ap netip.AddrPort) string {
	a := ap.Addr()
	port := strconv.FormatUint(uint64(ap.Port()), 10)
	switch {
	case a.Is4():
		return showIPv4(a.As4()) + ":" + port
	case a.Is6():
		return "[" + showIPv6(a.As16()) + "]:" + port
	default:
		return ""
	}
}

// TCPPeer is the printed peer address of a TCP connection accepted on an
// IPv4 listening socket, or dialled to an IPv4 address: IPv4 and
// IPv4-mapped peers print as "a.b.c.d:port", IPv6 peers as "[addr]:port".
// cardano-tracer listens on IPv4 when its host resolves to an IPv4 address
// (the usual "0.0.0.0"). A Go listener on "0.0.0.0" is dual-stack and
// reports IPv4 peers as IPv4-mapped addresses; this function prints them as
// IPv4, as Haskell's AF_INET socket would.
//
// An addr that is not a *net.TCPAddr is parsed from addr.String(); if that
// fails, addr.String() is returned as is.
func TCPPeer(addr net.Addr) string {
	ap, ok := addrPort(addr)
	if !ok {
		return addrString(addr)
	}
	return ShowSockAddr(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
}

// TCPPeerOnIPv6Listener is [TCPPeer] for a tracer whose AcceptAt host
// resolves to an IPv6 address such as "::": that socket is dual-stack, so
// Haskell sees an IPv4 client as IPv4-mapped and prints
// "[::ffff:a.b.c.d]:port".
func TCPPeerOnIPv6Listener(addr net.Addr) string {
	ap, ok := addrPort(addr)
	if !ok {
		return addrString(addr)
	}
	a := ap.Addr()
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	return ShowSockAddr(netip.AddrPortFrom(a, ap.Port()))
}

// Dialled is the printed peer address of a connection the tracer dialled
// (ConnectTo) to address, a configured ADDRESS string (BEHAVIOUR.md §b.3):
//
//   - an IP literal with a port ("10.0.0.5:3000", "[::1]:3000", or the
//     tracer's own "::1:3000", split at the last colon) prints as
//     [ShowSockAddr] does;
//   - a string that is not HOST:PORT is a Unix socket path ([DialledUnix]);
//   - HOST:PORT with a host name: Haskell prints the address the name
//     resolved to, which this function cannot know. Pass the connection's
//     remote address to [TCPPeer] instead. As a fallback the string is
//     returned unchanged.
func Dialled(address string) string {
	if ap, err := netip.ParseAddrPort(address); err == nil {
		return ShowSockAddr(ap)
	}
	i := strings.LastIndexByte(address, ':')
	if i <= 0 {
		return DialledUnix(address)
	}
	port, err := strconv.ParseUint(address[i+1:], 10, 16)
	if err != nil || !isDecimal(address[i+1:]) {
		return DialledUnix(address)
	}
	if a, err := netip.ParseAddr(address[:i]); err == nil {
		return ShowSockAddr(netip.AddrPortFrom(a.WithZone(""), uint16(port)))
	}
	return address
}

func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func addrPort(addr net.Addr) (netip.AddrPort, bool) {
	if addr == nil {
		return netip.AddrPort{}, false
	}
	if t, ok := addr.(*net.TCPAddr); ok && t != nil {
		ap := t.AddrPort()
		return ap, ap.IsValid()
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return ap, err == nil
}

func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

func showIPv4(b [4]byte) string {
	return strconv.Itoa(int(b[0])) + "." + strconv.Itoa(int(b[1])) + "." +
		strconv.Itoa(int(b[2])) + "." + strconv.Itoa(int(b[3]))
}

// showIPv6 follows network's showHostAddress6, which matches glibc's
// inet_ntop.
func showIPv6(b [16]byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	zeroTo := func(n int) bool {
		for _, x := range w[:n] {
			if x != 0 {
				return false
			}
		}
		return true
	}
	if zeroTo(5) && w[5] == 0xffff {
		return "::ffff:" + showIPv4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if zeroTo(6) && w[6] != 0 {
		return "::" + showIPv4([4]byte{b[12], b[13], b[14], b[15]})
	}
	// The first longest run of zero fields.
	best, bestLen, run := 0, 0, 0
	for i, x := range w {
		if x != 0 {
			run = 0
			continue
		}
		run++
		if run > bestLen {
			best, bestLen = i-run+1, run
		}
	}
	hex := func(ws []uint16) string {
		parts := make([]string, len(ws))
		for i, x := range ws {
			parts[i] = strconv.FormatUint(uint64(x), 16)
		}
		return strings.Join(parts, ":")
	}
	if bestLen > 1 {
		return hex(w[:best]) + "::" + hex(w[best+bestLen:])
	}
	return hex(w[:])
}
