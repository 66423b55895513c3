package muxproto

import "testing"

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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m.cfg.MaxMessageSize = tc.limit
			if got := c.partialCap(m, tc.have, tc.ahead, tc.rest); got != tc.want {
				t.Errorf("partialCap = %d, want %d", got, tc.want)
			}
		})
	}
}
