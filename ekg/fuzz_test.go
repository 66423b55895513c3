package ekg_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"muninn/ekg"
	"muninn/muxproto"
)

// FuzzEKGDecode feeds arbitrary bytes to both decoders. Properties: no
// panic; every error wraps muxproto.ErrDecode; an accepted input re-encodes
// to bytes that decode to an equal value, and that encoding is stable.
func FuzzEKGDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add(unhex(f, v.hex))
	}
	for _, s := range []string{
		"8201820081826167820124",                   // definite list
		"820182009f826167820138 04ff",              // non-minimal int
		"8200820180",                               // empty GetMetrics
		"9f008100ff",                               // indefinite envelope
		"820182009f8261678203 00ff",                // MetricValue tag 3
		"820182009f827f6167ff820124ff",             // indefinite text
		"820182009f82616782001b8000000000000000ff", // int64 overflow
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if msg, err := ekg.DecodeRequest(data); err != nil {
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("DecodeRequest error %v does not wrap ErrDecode", err)
			}
		} else {
			enc := ekg.Encode(msg)
			again, err := ekg.DecodeRequest(enc)
			if err != nil {
				t.Fatalf("re-encoded request %x does not decode: %v", enc, err)
			}
			if !reflect.DeepEqual(again, msg) {
				t.Fatalf("request round trip: got %#v, want %#v", again, msg)
			}
			if enc2 := ekg.Encode(again); !bytes.Equal(enc2, enc) {
				t.Fatalf("request encoding unstable: %x then %x", enc, enc2)
			}
		}
		if ms, err := ekg.DecodeResponse(data); err != nil {
			if !errors.Is(err, muxproto.ErrDecode) {
				t.Fatalf("DecodeResponse error %v does not wrap ErrDecode", err)
			}
		} else {
			enc := ekg.Encode(ekg.MsgResp{Metrics: ms})
			again, err := ekg.DecodeResponse(enc)
			if err != nil {
				t.Fatalf("re-encoded response %x does not decode: %v", enc, err)
			}
			if !reflect.DeepEqual(again, ms) {
				t.Fatalf("response round trip: got %#v, want %#v", again, ms)
			}
			if enc2 := ekg.Encode(ekg.MsgResp{Metrics: again}); !bytes.Equal(enc2, enc) {
				t.Fatalf("response encoding unstable: %x then %x", enc, enc2)
			}
		}
	})
}

// FuzzEKGResponseDiff holds the fast response decoders to the reference on
// arbitrary bytes: all accept with equal metrics or all reject, and the
// fast path alone accepts exactly what the reference accepts. The bytes
// are also tried as the items of a metric list, indefinite and definite,
// so that mutations reach past the envelope.
func FuzzEKGResponseDiff(f *testing.F) {
	for _, v := range vectors {
		f.Add(unhex(f, v.hex))
	}
	for _, e := range responseEdges {
		f.Add(unhex(f, e.hex))
	}
	f.Add(ekg.Encode(ekg.MsgResp{Metrics: nodeMetrics()[:8]}))
	f.Add(unhex(f, "826167820124"))
	f.Add(unhex(f, "8263eda080820264f09f9880"))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeResponseAll(t, data)
		indef := append(unhex(t, respPre), data...)
		decodeResponseAll(t, append(indef, 0xff))
		def := append(unhex(t, "8201820081"), data...)
		decodeResponseAll(t, def)
	})
}
