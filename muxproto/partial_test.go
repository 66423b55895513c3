package muxproto

import (
	"bytes"
	"testing"
)

// sduBytes is an SDU header for dir and p with a payload of n zero bytes.
func sduBytes(dir Direction, p ProtocolNum, n int) []byte {
	var hb [HeaderSize]byte
	Header{Dir: dir, Proto: p, Length: uint16(n)}.Encode(&hb)
	return append(hb[:], make([]byte, n)...)
}

func TestPartialCap(t *testing.T) {
	const hint, limit = 50_000, 100_000
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: limit}}
	c := &Channel{m: m, proto: ProtoTraceObject, sizeHint: hint}
	peer := func(p ProtocolNum, n int) []byte { return sduBytes(FromInitiator, p, n) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	cases := []struct {
		name        string
		have, rest  int
		ahead       []byte
		limit, want int
	}{
		{"the rest of a reply read with it", 12288, 0,
			cat(peer(ProtoTraceObject, 12288), peer(ProtoTraceObject, 3000)), limit, 12288 + 12288 + 3000},
		{"another channel's SDUs in between are not counted", 12288, 0,
			cat(peer(ProtoEKG, 700), peer(ProtoTraceObject, 3000), peer(ProtoDataPoint, 90)), limit, 12288 + 3000},
		{"our own direction is not the peer's message", 12288, 0,
			cat(sduBytes(FromResponder, ProtoTraceObject, 4000), peer(ProtoTraceObject, 3000)), limit, 12288 + 3000},
		{"a reply larger than the hint", 12288, 0,
			cat(peer(ProtoTraceObject, 12288), peer(ProtoTraceObject, 12288), peer(ProtoTraceObject, 12288),
				peer(ProtoTraceObject, 12288)), limit, 5 * 12288},
		{"nothing read after it: the hint", 12288, 0, nil, limit, hint},
		{"only other channels read after it: the hint", 12288, 0, peer(ProtoEKG, 700), limit, hint},
		{"the SDU itself goes on: the hint", 4096, 8192, nil, limit, hint},
		{"the SDU itself goes on beyond the hint", 4096, 60_000, nil, limit, 64_096},
		{"ahead ends inside a payload: at least the hint", 12288, 0,
			peer(ProtoTraceObject, 3000)[:HeaderSize+100], limit, hint},
		{"ahead ends inside a payload beyond the hint", 12288, 0,
			cat(peer(ProtoTraceObject, 40_000), peer(ProtoTraceObject, 3000)[:HeaderSize+10]), limit, 12288 + 40_000 + 3000},
		{"ahead ends inside a header: at least the hint", 12288, 0,
			cat(peer(ProtoTraceObject, 3000), peer(ProtoTraceObject, 10)[:5]), limit, hint},
		{"never beyond MaxMessageSize", 12288, 0,
			cat(peer(ProtoTraceObject, 60_000), peer(ProtoTraceObject, 60_000)), limit, limit},
		{"never beyond MaxMessageSize, hint or not", 12288, 0, nil, 20_000, 20_000},
	}
	c.unbound = true
	if got := c.partialCap(m, 12288, cat(peer(ProtoTraceObject, 3000)), 0); got != hint {
		t.Errorf("a bound that failed last time: partialCap = %d, want the hint %d", got, hint)
	}
	if c.bound != 12288+3000 {
		t.Errorf("the bound is still noted: %d, want %d", c.bound, 12288+3000)
	}
	c.unbound = false
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m.cfg.MaxMessageSize = tc.limit
			if got := c.partialCap(m, tc.have, tc.ahead, tc.rest); got != tc.want {
				t.Errorf("partialCap = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTakeLearnsBound feeds take messages spread over several SDUs, read
// whole or in parts, and checks the room each is given: the SDUs read
// with its start while that bound holds, and the last spanning length
// once it has failed, until it holds again.
func TestTakeLearnsBound(t *testing.T) {
	m := &Mux{own: FromResponder, cfg: Config{MaxMessageSize: 1 << 20}}
	c := &Channel{m: m, proto: ProtoTraceObject, fr: framer{maxDepth: 8}}
	var got [][]byte
	deliver := func() {
		for {
			msg, ok := c.pop()
			if !ok {
				return
			}
			got = append(got, msg)
		}
	}
	// msg is a CBOR byte string of n bytes in all, split into payloads of
	// at most 12288 bytes.
	msg := func(n int, fill byte) (whole []byte, payloads [][]byte) {
		whole = append([]byte{0x5a, 0, 0, 0, 0}, bytes.Repeat([]byte{fill}, n-5)...)
		whole[1], whole[2], whole[3], whole[4] = byte((n-5)>>24), byte((n-5)>>16), byte((n-5)>>8), byte(n-5)
		for rest := whole; len(rest) > 0; {
			k := min(len(rest), 12288)
			payloads = append(payloads, rest[:k])
			rest = rest[k:]
		}
		return whole, payloads
	}
	// read hands take the payloads of one read: each SDU's payload with
	// the SDUs read after it as ahead.
	read := func(payloads ...[]byte) (caps []int) {
		var buf []byte
		var offs []int
		for _, p := range payloads {
			offs = append(offs, len(buf)+HeaderSize)
			buf = append(buf, sduBytes(FromInitiator, ProtoTraceObject, len(p))...)
			copy(buf[len(buf)-len(p):], p)
		}
		for i, p := range payloads {
			if err := c.take(m, buf[offs[i]:], len(p), 0); err != nil {
				t.Fatal(err)
			}
			caps = append(caps, cap(c.partial))
		}
		deliver()
		return caps
	}
	check := func(what string, gotCap, want int) {
		t.Helper()
		if gotCap != want {
			t.Errorf("%s: room %d, want %d", what, gotCap, want)
		}
	}

	a, pa := msg(30000, 'a') // three SDUs, read at once
	check("a message read whole", read(pa...)[0], 30000)

	b, pb := msg(40000, 'b') // four SDUs, the last read later
	check("a message read in part", read(pb[:3]...)[0], 3*12288)
	read(pb[3])

	cm, pc := msg(20000, 'c') // read whole, but the bound failed last time
	check("after a failed bound: the last spanning length", read(pc...)[0], 40000)

	d, pd := msg(25000, 'd') // the bound held for c, so it is trusted again
	check("after a bound that held", read(pd...)[0], 25000)

	want := [][]byte{a, b, cm, d}
	if len(got) != len(want) {
		t.Fatalf("%d messages delivered, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("message %d differs", i)
		}
	}
}
