package muxproto_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"muninn/muxproto"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestSDUVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		hex     string
		header  muxproto.Header
		payload string
	}{
		{"T01 responder request", "12345678800200078301f582001864",
			muxproto.Header{Timestamp: 0x12345678, Dir: muxproto.FromResponder, Proto: muxproto.ProtoTraceObject, Length: 7}, "8301f582001864"},
		{"T02 initiator request", "12345678000200078301f582001864",
			muxproto.Header{Timestamp: 0x12345678, Dir: muxproto.FromInitiator, Proto: muxproto.ProtoTraceObject, Length: 7}, "8301f582001864"},
		{"T03 client proposal", "0a0b0c0d000000098200a1011a2d964a09",
			muxproto.Header{Timestamp: 0x0a0b0c0d, Dir: muxproto.FromInitiator, Proto: muxproto.ProtoHandshake, Length: 9}, "8200a1011a2d964a09"},
		{"T03b server accept", "0a0b0c10800000088301011a2d964a09",
			muxproto.Header{Timestamp: 0x0a0b0c10, Dir: muxproto.FromResponder, Proto: muxproto.ProtoHandshake, Length: 8}, "8301011a2d964a09"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			var hb [muxproto.HeaderSize]byte
			tc.header.Encode(&hb)
			if got := append(hb[:], unhex(t, tc.payload)...); !bytes.Equal(got, want) {
				t.Errorf("encode = %x, want %x", got, want)
			}
			h, err := muxproto.DecodeHeader((*[8]byte)(want[:8]))
			if err != nil || h != tc.header {
				t.Errorf("decode = %+v, %v; want %+v", h, err, tc.header)
			}
		})
	}
	_, err := muxproto.DecodeHeader((*[8]byte)(unhex(t, "0000000000020000")))
	if !errors.Is(err, muxproto.ErrShortSDU) {
		t.Errorf("zero-length SDU: err = %v, want ErrShortSDU", err)
	}
}

const t09Text = "ForwardingVersionData mismatch: ForwardingVersionData {networkMagic = NetworkMagic 764824073} /= ForwardingVersionData {networkMagic = NetworkMagic 1}"

func TestHandshakeVectors(t *testing.T) {
	t.Parallel()
	mainnet := muxproto.MagicData(764824073)
	for _, tc := range []struct {
		name string
		hex  string
		msg  muxproto.HandshakeMsg
	}{
		{"T04 propose V1+V2", "8200a2011a2d964a09021a2d964a09", muxproto.ProposeVersions{Versions: []muxproto.VersionParam{{Version: 1, Data: mainnet}, {Version: 2, Data: mainnet}}}},
		{"T05 propose V1", "8200a1011a2d964a09", muxproto.ProposeVersions{Versions: []muxproto.VersionParam{{Version: 1, Data: mainnet}}}},
		{"T06 accept V1", "8301011a2d964a09", muxproto.AcceptVersion{Version: 1, Data: mainnet}},
		{"T07 version mismatch", "820282008101", muxproto.Refuse{Reason: muxproto.RefuseReason{Kind: muxproto.RefuseVersionMismatch, Versions: []uint64{1}}}},
		{"T08 decode error", "820283010178256e6574776f726b4d61676963206f7574206f6620626f756e643a2034323934393637323936",
			muxproto.Refuse{Reason: muxproto.RefuseReason{Kind: muxproto.RefuseDecodeError, Version: 1, Message: "networkMagic out of bound: 4294967296"}}},
		{"T09 refused", "82028302017896" + hex.EncodeToString([]byte(t09Text)),
			muxproto.Refuse{Reason: muxproto.RefuseReason{Kind: muxproto.RefuseRefused, Version: 1, Message: t09Text}}},
		{"T10 query reply", "8203a1011a2d964a09", muxproto.QueryReply{Versions: []muxproto.VersionParam{{Version: 1, Data: mainnet}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tc.hex)
			if got := muxproto.EncodeHandshake(tc.msg); !bytes.Equal(got, want) {
				t.Errorf("encode = %x\nwant     %x", got, want)
			}
			got, err := muxproto.DecodeHandshake(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Errorf("decode = %#v\nwant %#v", got, tc.msg)
			}
		})
	}
}

func TestHandshakeDecodeRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		hex      string
		versions []uint64 // nil: must be rejected
	}{
		{"unknown keys skipped", "8200a3011a2d964a090a00636b6579f6", []uint64{1}},
		{"unknown key before known", "8200a2001a2d964a09011a2d964a09", []uint64{1}},
		{"only unknown versions", "8200a1071a2d964a09", []uint64{}},
		{"non-minimal key", "8200a118011a2d964a09", []uint64{1}},
		{"descending known keys", "8200a2021a2d964a09011a2d964a09", nil},
		{"duplicate known key", "8200a2011a2d964a09011a2d964a09", nil},
		{"indefinite map", "8200bf011a2d964a09ff", nil},
		{"indefinite envelope", "9f00a1011a2d964a09ff", nil},
		{"unknown tag", "8204a1011a2d964a09", nil},
		{"truncated", "8200a2011a2d964a09", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, err := muxproto.DecodeHandshake(unhex(t, tc.hex))
			if tc.versions == nil {
				if !errors.Is(err, muxproto.ErrDecode) {
					t.Fatalf("err = %v, want ErrDecode", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			p := msg.(muxproto.ProposeVersions)
			got := []uint64{}
			for _, v := range p.Versions {
				got = append(got, v.Version)
			}
			if !reflect.DeepEqual(got, tc.versions) {
				t.Errorf("versions = %v, want %v", got, tc.versions)
			}
		})
	}
}
