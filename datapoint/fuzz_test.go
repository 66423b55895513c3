package datapoint_test

import (
	"bytes"
	"errors"
	"testing"

	"muninn/datapoint"
	"muninn/muxproto"
)

// FuzzDataPointDecode feeds arbitrary bytes to both decoders. Every error
// wraps muxproto.ErrDecode; every accepted message re-encodes to bytes that
// decode to an equal value, and that re-encoding is stable.
func FuzzDataPointDecode(f *testing.F) {
	for _, v := range requestVectors {
		f.Add(unhex(f, v.hex))
	}
	for _, v := range acceptedRequests {
		f.Add(unhex(f, v.hex))
	}
	for _, v := range replyVectors {
		f.Add(unhex(f, v.hex))
	}
	for _, v := range acceptedReplies {
		f.Add(unhex(f, v.hex))
	}
	f.Add(unhex(f, "82039f826145 81427b7d ff"))
	f.Add(unhex(f, "82039f826145 9f5fffff ff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := datapoint.DecodeRequest(data); err != nil {
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("DecodeRequest error does not wrap ErrDecode: %v", err)
			}
		} else {
			enc := datapoint.Encode(m)
			m2, err := datapoint.DecodeRequest(enc)
			if err != nil {
				t.Fatalf("re-encoded request %x does not decode: %v", enc, err)
			}
			if !equalMessages(m, m2) {
				t.Fatalf("request changed in a round trip: %#v, then %#v", m, m2)
			}
			if enc2 := datapoint.Encode(m2); !bytes.Equal(enc, enc2) {
				t.Fatalf("unstable encoding: %x, then %x", enc, enc2)
			}
		}
		if items, err := datapoint.DecodeReply(data); err != nil {
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("DecodeReply error does not wrap ErrDecode: %v", err)
			}
		} else {
			enc := datapoint.Encode(datapoint.MsgReply{Items: items})
			items2, err := datapoint.DecodeReply(enc)
			if err != nil {
				t.Fatalf("re-encoded reply %x does not decode: %v", enc, err)
			}
			if !equalItems(items, items2) {
				t.Fatalf("reply changed in a round trip: %+v, then %+v", items, items2)
			}
			if enc2 := datapoint.Encode(datapoint.MsgReply{Items: items2}); !bytes.Equal(enc, enc2) {
				t.Fatalf("unstable encoding: %x, then %x", enc, enc2)
			}
		}
	})
}

// FuzzNodeInfo: ParseNodeInfo never panics, its errors wrap
// ErrInvalidNodeInfo, and an accepted value survives JSON() and a second
// parse unchanged, with JSON() stable from then on.
func FuzzNodeInfo(f *testing.F) {
	f.Add([]byte(t26JSON))
	f.Add([]byte(nodeInfoWithStart(`"2024-01-01T00:00:00.5Z"`)))
	f.Add([]byte(nodeInfoWithStart(`"2016-12-31T23:59:60.123456789123Z"`)))
	f.Add([]byte(`{"niCommit":"","niName":"a\"b\\c\nd\u00e9\u0001","niProtocol":"","niStartTime":"1970-01-01T00:00:00Z","niSystemStartTime":"1970-01-01T00:00:00Z","niVersion":"","x":[null]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ni, err := datapoint.ParseNodeInfo(data)
		if err != nil {
			if !errors.Is(err, datapoint.ErrInvalidNodeInfo) {
				t.Fatalf("error does not wrap ErrInvalidNodeInfo: %v", err)
			}
			return
		}
		js := ni.JSON()
		ni2, err := datapoint.ParseNodeInfo(js)
		if err != nil {
			t.Fatalf("JSON() output %s does not parse: %v", js, err)
		}
		if !equalNodeInfo(ni, ni2) {
			t.Fatalf("NodeInfo changed in a round trip: %+v, then %+v", ni, ni2)
		}
		if js2 := ni2.JSON(); !bytes.Equal(js, js2) {
			t.Fatalf("unstable JSON: %s, then %s", js, js2)
		}
	})
}
